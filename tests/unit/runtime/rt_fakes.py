"""Scripted stand-ins for the API server used by runtime unit tests."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from runtime.kube.errors import ApiError, ConnectionFailed
from runtime.testing import HANG, ScriptedSource  # noqa: E402,F401 - re-exported for tests


def obj(name: str, rv: str, ns: str | None = "default", **extra: Any) -> dict:
    meta = {"name": name, "resourceVersion": rv, "uid": f"uid-{name}"}
    if ns:
        meta["namespace"] = ns
    meta.update(extra.pop("metadata", {}))
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, **extra}


def line(kind: str, o: dict) -> bytes:
    return json.dumps({"type": kind, "object": o}).encode() + b"\n"


from runtime.testing import FakeListWatcher  # noqa: E402,F401


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
