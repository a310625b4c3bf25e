"""Helpers for testing controllers without an API server.

* :func:`populated_informer`: an informer whose cache already holds given objects and reports
  synced, for unit tests of reconcilers that read from listers;
* :class:`FakeListWatcher`: scripted ``list``/``watch`` answers (exceptions included) to drive a
  real :class:`~runtime.cache.SharedInformer` through relists, 410s and broken streams;
* :class:`ScriptedSource`: a scripted watch byte stream for :func:`runtime.kube.watch.stream_events`;
* :class:`CancelSwallower`: a task body that loses its first cancellations (Python 3.11's
  ``wait_for`` race), for the stop paths of :mod:`runtime.tasks`.

These are real runtime objects fed scripted inputs, not mocks of the runtime; integration tests
against the local control plane remain the reference.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping
from typing import Any

from .cache.informer import InformerSettings, SharedInformer
from .cache.store import IndexFunc
from .clock import REAL_CLOCK, Clock
from .kube.errors import ConnectionFailed
from .kube.resources import Resource
from .kube.watch import WatchEvent, parse_event

__all__ = ["FakeListWatcher", "ScriptedSource", "HANG", "populated_informer", "CancelSwallower"]

HANG = object()
"""ScriptedSource marker: block until closed (a half-open connection)."""


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


class FakeListWatcher:
    """Scripted ``list``/``watch``; ``lists`` and ``watches`` are consumed in order.

    A list entry is a list result dict or an exception. A watch entry is a sequence of
    WatchEvent / raw JSON lines (bytes) / exceptions, or an exception raised when the watch opens.
    A watch script that runs out ends the stream cleanly; with no watch scripted the watch blocks
    (a healthy idle watch). Every call is recorded in ``calls``.
    """

    def __init__(self) -> None:
        self.lists: list[Any] = []
        self.watches: list[Any] = []
        self.calls: list[tuple[str, dict]] = []

    async def list(self, res: Resource, namespace: str | None = None, **kw: Any) -> dict:
        self.calls.append(("list", kw))
        if not self.lists:
            raise ConnectionFailed("no list scripted")
        result = self.lists.pop(0)
        if isinstance(result, BaseException):
            raise result
        return json.loads(json.dumps(result))

    async def watch(self, res: Resource, namespace: str | None = None, **kw: Any):
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


def populated_informer(
    resource: Resource, objects: Iterable[Mapping[str, Any]], *, namespace: str | None = None,
    indexers: Mapping[str, IndexFunc] | None = None, clock: Clock = REAL_CLOCK,
) -> SharedInformer:
    """An informer holding ``objects`` (frozen, transformed) and reporting synced; never started.

    Call ``informer.apply(WatchEvent(...))`` to change its contents during a test.
    """
    informer = SharedInformer(FakeListWatcher(), resource, namespace=namespace,
                              settings=InformerSettings(resync_period=0), clock=clock, indexers=indexers)
    informer.replace([json.loads(json.dumps(o)) for o in objects], "1")
    return informer


class CancelSwallower:
    """``await CancelSwallower(n)()`` sleeps until cancelled ``n + 1`` times: the first ``n`` cancels
    are swallowed, as a task does whose ``asyncio.wait_for`` lost one (CPython gh-86296)."""

    def __init__(self, swallow: int = 1) -> None:
        self.swallow = swallow
        self.cancels = 0
        """Cancellations received so far."""

    async def __call__(self) -> None:
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                self.cancels += 1
                if self.cancels > self.swallow:
                    raise
