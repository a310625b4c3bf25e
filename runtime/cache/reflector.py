"""The reflector: list, then watch from the list's resourceVersion, forever.

The infinite loop (:meth:`Reflector.run`) is deliberately trivial; each iteration is one call to
:meth:`Reflector.step`, which performs *one* list or *one* watch and decides what comes next. Tests
drive ``step`` directly against scripted streams.

Decisions, in one place (:meth:`Reflector.step`):

============================  =====================================================================
outcome                       next step
============================  =====================================================================
list succeeded                watch from the list's resourceVersion
watch ended cleanly           watch again from the last resourceVersion seen (events or bookmarks);
                              if it ended almost at once with no event, back off first (a server
                              closing every watch immediately must not become a hot loop)
410 Gone (watch)              relist at once: our resourceVersion was compacted away; the relist
                              turns deletes we never saw into tombstones
watch inactivity timeout      re-watch from the last resourceVersion at once (half-open connection)
429 TooManyRequests           wait ``Retry-After`` (or back off), then retry the same step
anything else                 back off (0.8 s → 30 s, jittered), retry the same step: a broken
                              connection resumes the watch from the last resourceVersion without
                              paying for a relist; a failed list is retried as a list
============================  =====================================================================

The initial list is a consistent (quorum) read, paginated (500 per page): it costs etcd a little
more than client-go's ``resourceVersion=0`` list from the watch cache, but it cannot go back in time
after a restart against a lagging API server.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from typing import Any, Protocol

import attrs
import structlog

from ..backoff import Backoff, BackoffSettings
from ..clock import REAL_CLOCK, Clock
from ..kube.errors import Gone, TooManyRequests
from ..kube.resources import Resource
from ..kube.watch import WatchEvent, WatchInactivityTimeout

__all__ = ["Reflector", "ReflectorSettings", "ReflectorSink", "ListWatcher"]

log = structlog.get_logger("runtime.reflector")


class ReflectorSink(Protocol):
    """Where the reflector delivers what it learns (the informer)."""

    def replace(self, items: list[dict[str, Any]], resource_version: str | None) -> None:
        """A full list: the complete current state."""

    def apply(self, event: WatchEvent) -> None:
        """One ADDED / MODIFIED / DELETED event (bookmarks are not delivered)."""


class ListWatcher(Protocol):
    """The two client calls a reflector makes (KubeClient satisfies this)."""

    async def list(self, res: Resource, namespace: str | None = None, **kw: Any) -> dict: ...

    def watch(self, res: Resource, namespace: str | None = None, **kw: Any) -> Any: ...


@attrs.frozen
class ReflectorSettings:
    """Timing of list/watch."""

    backoff: BackoffSettings = BackoffSettings()
    """Delay between failed attempts (0.8 s → 30 s, jitter 1.0, as client-go's reflector)."""
    min_watch_timeout: int = 300
    """Each watch asks the server to end it after a random 1–2× this many seconds (client-go: 5 min),
    so watches are spread out and re-established regularly (load-balancer re-spreading)."""
    list_page_size: int = 500
    """Objects per list page: bounds the memory of one response for big collections."""
    short_watch: float = 1.0
    """A watch that ends within this many seconds with no event counts as a failure (backs off)."""


class Reflector:
    """Keeps a :class:`ReflectorSink` in step with one collection on the API server."""

    def __init__(
        self, client: ListWatcher, resource: Resource, sink: ReflectorSink, *, namespace: str | None = None,
        label_selector: str | None = None, field_selector: str | None = None,
        settings: ReflectorSettings = ReflectorSettings(), clock: Clock = REAL_CLOCK,
        rng: random.Random | None = None,
    ) -> None:
        self.client, self.resource, self.sink = client, resource, sink
        self.namespace, self.label_selector, self.field_selector = namespace, label_selector, field_selector
        self.settings = settings
        self._clock = clock
        self._rng = rng or random.Random()
        self._backoff = Backoff(settings.backoff, clock=clock, rng=self._rng)
        self.resource_version: str | None = None
        """Last resourceVersion seen (from the list, an event or a bookmark); None → must relist."""
        self.lists = 0
        """Number of successful lists (tests and metrics: a relist is visible here)."""
        self._log = log.bind(resource=str(resource), namespace=namespace)

    async def run(self) -> None:
        """List and watch until cancelled."""
        while True:
            await self.step()

    async def step(self) -> None:
        """One list or one watch, then whatever wait the outcome calls for (see module table)."""
        listing = self.resource_version is None
        try:
            if listing:
                await self._list()
            else:
                await self._watch()
        except asyncio.CancelledError:
            raise
        except Gone as e:
            self._log.info("resourceVersion expired, relisting", rv=self.resource_version, error=str(e))
            self.resource_version = None
            if listing:
                await self._backoff.sleep()
        except WatchInactivityTimeout as e:
            # Presumed half-open connection (or a quiet resource without bookmarks): re-watch from
            # the same resourceVersion at once; nothing failed on the server side.
            self._log.info("watch inactive, re-watching", rv=self.resource_version, error=str(e))
        except TooManyRequests as e:
            self._log.info("throttled by the API server", retry_after=e.retry_after)
            await (self._clock.sleep(e.retry_after) if e.retry_after else self._backoff.sleep())
        except Exception as e:  # noqa: BLE001 - every failure is retried; the loop must not die
            delay = self._backoff.next_delay()
            self._log.warning("list/watch failed, backing off", step="list" if listing else "watch",
                              error=repr(e), delay=round(delay, 3))
            await self._clock.sleep(delay)

    async def _list(self) -> None:
        result = await self.client.list(self.resource, self.namespace, label_selector=self.label_selector,
                                        field_selector=self.field_selector, limit=self.settings.list_page_size)
        rv = (result.get("metadata") or {}).get("resourceVersion")
        self.sink.replace(result.get("items") or [], rv)
        self.resource_version = rv or None
        self.lists += 1

    def _watch_timeout(self) -> int:
        base = self.settings.min_watch_timeout
        return int(base * (1.0 + self._rng.random()))

    async def _watch(self) -> None:
        started = self._clock.monotonic()
        received = 0
        stream = self.client.watch(self.resource, self.namespace, resource_version=self.resource_version,
                                   timeout_seconds=self._watch_timeout(), label_selector=self.label_selector,
                                   field_selector=self.field_selector, allow_bookmarks=True)
        try:
            async for event in stream:
                received += 1
                self.handle_event(event)
        finally:
            await stream.aclose()
        if received == 0 and self._clock.monotonic() - started < self.settings.short_watch:
            await self._backoff.sleep()

    def handle_event(self, event: WatchEvent) -> None:
        """Deliver one event and remember its resourceVersion."""
        rv = event.resource_version
        if event.type != "BOOKMARK":
            self.sink.apply(event)
        if rv:
            self.resource_version = rv


def resource_version_of(obj: Mapping[str, Any]) -> str | None:
    return (obj.get("metadata") or {}).get("resourceVersion")
