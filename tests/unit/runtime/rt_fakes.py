"""Scripted stand-ins for the API server used by runtime unit tests."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from runtime.kube.errors import ApiError, ConnectionFailed
from runtime.kube.watch import WatchEvent, parse_event

HANG = object()  # script marker: block until closed


class ScriptedSource:
    """A ByteSource replaying chunks; exceptions in the script are raised; HANG blocks until close()."""

    def __init__(self, *script: Any) -> None:
        self._script = list(script)
        self._closed = asyncio.Event()

    async def read(self) -> bytes:
        if self._closed.is_set():
            raise ConnectionFailed("closed")
        if not self._script:
            return b""
        step = self._script.pop(0)
        if step is HANG:
            await self._closed.wait()
            raise ConnectionFailed("closed while reading")
        if isinstance(step, BaseException):
            raise step
        return step

    def close(self) -> None:
        self._closed.set()


def obj(name: str, rv: str, ns: str | None = "default", **extra: Any) -> dict:
    meta = {"name": name, "resourceVersion": rv, "uid": f"uid-{name}"}
    if ns:
        meta["namespace"] = ns
    meta.update(extra.pop("metadata", {}))
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, **extra}


def line(kind: str, o: dict) -> bytes:
    return json.dumps({"type": kind, "object": o}).encode() + b"\n"


class FakeListWatcher:
    """Scripted ``list``/``watch``. ``lists`` and ``watches`` are queues of responses/streams.

    A list entry is a dict (the list result) or an exception. A watch entry is a list of
    WatchEvent / raw lines / exceptions, or an exception raised when the watch is opened.
    When a watch script runs out of entries the stream ends cleanly; when the watch queue is empty
    the watch blocks until cancelled (a healthy idle watch).
    """

    def __init__(self) -> None:
        self.lists: list[Any] = []
        self.watches: list[Any] = []
        self.calls: list[tuple[str, dict]] = []

    async def list(self, res, namespace=None, **kw) -> dict:
        self.calls.append(("list", kw))
        if not self.lists:
            raise ConnectionFailed("no list scripted")
        result = self.lists.pop(0)
        if isinstance(result, BaseException):
            raise result
        return json.loads(json.dumps(result))

    async def watch(self, res, namespace=None, **kw):
        self.calls.append(("watch", kw))
        if not self.watches:
            await asyncio.Event().wait()
        script = self.watches.pop(0)
        if isinstance(script, BaseException):
            raise script
        for step in script:
            await asyncio.sleep(0)
            if isinstance(step, BaseException):
                raise step
            if isinstance(step, bytes):
                yield parse_event(step)
            else:
                yield WatchEvent(step.type, json.loads(json.dumps(step.object)))


def status(code: int, reason: str, message: str = "", **details: Any) -> dict:
    body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code, "reason": reason,
            "message": message or reason}
    if details:
        body["details"] = details
    return body


__all__ = ["ScriptedSource", "HANG", "obj", "line", "FakeListWatcher", "status", "ApiError"]


class MemoryApi:
    """In-memory get/create/update with resourceVersion conflicts (enough for leases)."""

    def __init__(self) -> None:
        self.objects: dict[tuple, dict] = {}
        self.rv = 0
        self.partitioned: set[str] = set()  # identities whose requests fail

    def _key(self, res, name, ns):
        return (res.plural, ns, name)

    async def get(self, res, name, namespace=None):
        await asyncio.sleep(0)
        from runtime.kube.errors import NotFound
        o = self.objects.get(self._key(res, name, namespace))
        if o is None:
            raise NotFound(name)
        return json.loads(json.dumps(o))

    async def create(self, res, body, namespace=None):
        await asyncio.sleep(0)
        from runtime.kube.errors import AlreadyExists
        key = self._key(res, body["metadata"]["name"], namespace or body["metadata"].get("namespace"))
        if key in self.objects:
            raise AlreadyExists("exists")
        self.rv += 1
        body = json.loads(json.dumps(body))
        body["metadata"]["resourceVersion"] = str(self.rv)
        self.objects[key] = body
        return json.loads(json.dumps(body))

    async def update(self, res, body):
        await asyncio.sleep(0)
        from runtime.kube.errors import Conflict
        meta = body["metadata"]
        key = self._key(res, meta["name"], meta.get("namespace"))
        current = self.objects[key]
        if meta.get("resourceVersion") != current["metadata"]["resourceVersion"]:
            raise Conflict("stale")
        self.rv += 1
        body = json.loads(json.dumps(body))
        body["metadata"]["resourceVersion"] = str(self.rv)
        self.objects[key] = body
        return json.loads(json.dumps(body))


class PartitionableClient:
    """Wraps a MemoryApi; while ``down`` every call raises ConnectionFailed."""

    def __init__(self, api: MemoryApi) -> None:
        self.api = api
        self.down = False

    def __getattr__(self, name):
        target = getattr(self.api, name)

        async def call(*a, **kw):
            if self.down:
                raise ConnectionFailed("partitioned")
            return await target(*a, **kw)
        return call
