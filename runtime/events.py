"""Kubernetes Events (core/v1) with client-side aggregation, written in the background.

``recorder.event(obj, "Normal", "Progressing", "upgraded batch 1: ready 3/5")`` returns at once:
reconcilers must not slow down (or fail) because the events API is slow. A single background task
writes events in order; the buffer is bounded and drops (with a log line) when full, as client-go's
broadcaster does, because losing an event is better than blocking a controller.

Aggregation: the same (object, type, reason, message) within ``aggregation_window`` (10 min, as
client-go's ``EventCorrelator``) bumps ``count`` and ``lastTimestamp`` of the existing Event with a
merge patch instead of creating a new object, so a reconcile loop that repeats a warning does not
flood etcd.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

import attrs
import structlog

from .clock import REAL_CLOCK, Clock
from .kube.errors import ApiError, NotFound
from .kube.resources import EVENTS

__all__ = ["EventRecorder", "EventSettings", "EventSink", "NORMAL", "WARNING"]

log = structlog.get_logger("runtime.events")
NORMAL, WARNING = "Normal", "Warning"


class EventSink(Protocol):
    """What a reconciler needs to report an Event: :meth:`EventRecorder.event` (tests record calls)."""

    def event(self, obj: Mapping[str, Any], type_: str, reason: str, message: str) -> None:
        ...


@attrs.frozen
class EventSettings:
    """Behaviour of the recorder."""

    component: str = "kruise-rollout"
    """``source.component`` / ``reportingComponent`` of every event."""
    host: str = attrs.field(factory=socket.gethostname)
    """``source.host``; the pod name in a cluster."""
    aggregation_window: float = 600.0
    """Identical events within this many seconds update one Event (count++) instead of a new one."""
    buffer: int = 1000
    """Events waiting to be written before new ones are dropped."""


@attrs.define
class _Seen:
    name: str
    namespace: str
    count: int
    first_seen: float


class EventRecorder:
    """Non-blocking event recorder; run :meth:`run` (the manager does) to write events out."""

    def __init__(self, client: Any, *, settings: EventSettings | None = None, clock: Clock = REAL_CLOCK) -> None:
        self.client = client
        self.settings = settings or EventSettings()
        self._clock = clock
        self._queue: asyncio.Queue[tuple] = asyncio.Queue(maxsize=self.settings.buffer)
        # key (uid/kind/ns/name, type, reason, message) -> the Event we wrote for it
        self._seen: dict[tuple, _Seen] = {}
        self.dropped = 0

    def event(self, obj: Mapping[str, Any], type_: str, reason: str, message: str) -> None:
        """Queue an event about ``obj`` (any object with apiVersion/kind/metadata). Never blocks."""
        try:
            self._queue.put_nowait((obj, type_, reason, message[:1024]))
        except asyncio.QueueFull:
            self.dropped += 1
            log.warning("event buffer full, dropping event", reason=reason)

    async def run(self) -> None:
        """Write queued events until cancelled."""
        while True:
            item = await self._queue.get()
            try:
                await self._write(*item)
            except ApiError as e:
                log.warning("could not write event", error=str(e), reason=item[2])
            finally:
                self._queue.task_done()

    @property
    def pending(self) -> int:
        """Events queued but not yet written."""
        return self._queue.qsize()

    async def flush(self) -> None:
        """Wait until every queued event has been written (tests, shutdown)."""
        await self._queue.join()

    async def _write(self, obj: Mapping[str, Any], type_: str, reason: str, message: str) -> None:
        meta = obj.get("metadata") or {}
        involved = {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"), "name": meta.get("name"),
                    "namespace": meta.get("namespace"), "uid": meta.get("uid"),
                    "resourceVersion": meta.get("resourceVersion")}
        key = (meta.get("uid"), obj.get("kind"), meta.get("namespace"), meta.get("name"), type_, reason, message)
        now_text = self._clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        seen = self._seen.get(key)
        if seen and self._clock.monotonic() - seen.first_seen < self.settings.aggregation_window:
            try:
                await self.client.patch(EVENTS, seen.name, {"count": seen.count + 1, "lastTimestamp": now_text},
                                        seen.namespace)
                seen.count += 1
                return
            except NotFound:
                pass  # expired by the API server's event TTL: create a new one
        namespace = meta.get("namespace") or "default"
        stamp = f"{int(self._clock.now().timestamp() * 1e9):x}"
        body = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{meta.get('name')}.{stamp}", "namespace": namespace},
            "involvedObject": {k: v for k, v in involved.items() if v},
            "type": type_, "reason": reason, "message": message, "count": 1,
            "firstTimestamp": now_text, "lastTimestamp": now_text,
            "source": {"component": self.settings.component, "host": self.settings.host},
            "reportingComponent": self.settings.component, "reportingInstance": self.settings.host,
        }
        created = await self.client.create(EVENTS, body, namespace)
        self._seen[key] = _Seen(created["metadata"]["name"], namespace, 1, self._clock.monotonic())
        self._expire()

    def _expire(self) -> None:
        """Forget aggregation entries older than the window (bounds memory)."""
        cutoff = self._clock.monotonic() - self.settings.aggregation_window
        for key in [k for k, s in self._seen.items() if s.first_seen < cutoff]:
            del self._seen[key]


if TYPE_CHECKING:

    def _recorder_is_an_event_sink(recorder: EventRecorder) -> EventSink:
        """mypy proves here that the recorder satisfies the protocol (never called)."""
        return recorder
