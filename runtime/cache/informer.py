"""The shared informer: one reflector, one store, many handlers.

Objects enter through :meth:`SharedInformer.replace` (a full list) or :meth:`SharedInformer.apply`
(a watch event); both run the transform (by default drops ``metadata.managedFields`` and the
last-applied annotation, see :mod:`runtime.cache.transform`; one informer may add its own with
:meth:`SharedInformer.set_transform`), freeze the result (see
:mod:`runtime.cache.frozen`), update the store, then push notifications to every handler.

Unlike client-go there is no DeltaFIFO between reflector and store: DeltaFIFO exists to hand
deltas across goroutines, and here the reflector, store and dispatch all run on one event loop,
so the store is updated synchronously and handler queues provide the decoupling.

Deletes missed while disconnected: on relist, keys in the store but not in the list are removed and
handlers receive a :class:`~runtime.cache.store.DeletedFinalStateUnknown` tombstone.
Relisted objects whose resourceVersion did not change produce no notification.

Resync: every ``resync_period`` the informer replays ``on_update(obj, obj)`` for every cached object
to handlers registered with ``resync=True``. It makes no API call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any, cast

import attrs
import structlog

from ..clock import REAL_CLOCK, Clock
from ..kube.resources import Resource
from ..kube.watch import WatchEvent
from ..tasks import cancel_and_wait
from .frozen import freeze
from .handlers import EventHandler, Registration
from .reflector import ListWatcher, Reflector, ReflectorSettings
from .store import DeletedFinalStateUnknown, IndexFunc, Store, object_key
from .transform import Transform, chain, drop_managed_fields, strip_bookkeeping

__all__ = ["SharedInformer", "InformerSettings", "drop_managed_fields", "strip_bookkeeping", "wait_for_cache_sync"]

log = structlog.get_logger("runtime.informer")
Keep = Callable[[Mapping[str, Any]], bool]
"""A client-side object filter (:class:`SharedInformer` ``keep``): True keeps the object."""


@attrs.frozen
class InformerSettings:
    """Behaviour shared by every informer of a factory."""

    resync_period: float = 10 * 3600.0
    """Seconds between resyncs (0 disables). controller-runtime's 10 h: a safety net for
    reconcilers with bugs in their watches, not a substitute for requeue_after."""
    transform: Transform | None = strip_bookkeeping
    """Applied to each object (a fresh mutable dict) before it is frozen and cached, in every
    informer of the factory (an informer's own :meth:`SharedInformer.set_transform` runs after it)."""
    reflector: ReflectorSettings = ReflectorSettings()
    """List/watch timing and back-off."""


class SharedInformer:
    """Cache + notifications for one (resource, namespace, selectors) tuple."""

    def __init__(
        self, client: ListWatcher, resource: Resource, *, namespace: str | None = None,
        label_selector: str | None = None, field_selector: str | None = None,
        settings: InformerSettings = InformerSettings(), clock: Clock = REAL_CLOCK,
        indexers: Mapping[str, IndexFunc] | None = None, keep: Keep | None = None,
    ) -> None:
        """``keep``: a client-side filter for what no server selector can say (e.g. a set of
        namespaces); objects it rejects are never cached, and one that stops matching is seen as
        deleted. It runs after the transform."""
        self.resource = resource
        self.keep = keep
        self.namespace = namespace
        self.settings = settings
        self._clock = clock
        self.store = Store(indexers)
        self.reflector = Reflector(client, resource, self, namespace=namespace, label_selector=label_selector,
                                   field_selector=field_selector, settings=settings.reflector, clock=clock)
        self._transform = settings.transform
        self._registrations: list[Registration] = []
        self._synced = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    # handlers ----------------------------------------------------------------------------------
    def add_handler(self, handler: EventHandler, *, resync: bool = True, name: str | None = None) -> Registration:
        """Register a handler; if the informer already has objects they are replayed as adds."""
        reg = Registration(handler, resync=resync, name=name or f"{self.resource}#{len(self._registrations)}")
        self._registrations.append(reg)
        if self._synced.is_set():
            for obj in self.store.list():
                reg.push("add", obj)
            reg.mark_synced()
        if self._tasks:
            reg.start()
        return reg

    def remove_handler(self, reg: Registration) -> None:
        reg.stop()
        self._registrations.remove(reg)

    def _notify(self, *notification: Any) -> None:
        for reg in self._registrations:
            reg.push(*notification)

    def set_transform(self, transform: Transform) -> None:
        """Add this informer's own transform (after the factory's default; client-go ``SetTransform``).

        Only before the informer starts: objects already cached would otherwise keep fields the
        new transform drops, and two readers of the same cache could see different shapes.
        A shared informer has one transform; a second call replaces the first.
        """
        if self.running or len(self.store):
            raise RuntimeError(f"set_transform on informer {self.resource} after it started; "
                               "set it where the informer is created, before the manager starts")
        self._transform = chain(self.settings.transform, transform)

    # sink for the reflector --------------------------------------------------------------------
    def _prepare(self, obj: dict[str, Any]) -> Mapping[str, Any]:
        if self._transform is not None:
            obj = self._transform(obj)
        return freeze(obj)

    def replace(self, items: list[dict[str, Any]], resource_version: str | None) -> None:
        """Make the store equal to ``items``; notify adds, changed objects and tombstoned deletes."""
        seen: set[str] = set()
        for raw in items:
            obj = self._prepare(raw)
            if self.keep is not None and not self.keep(obj):
                continue
            key = object_key(obj)
            seen.add(key)
            old = self.store.put(key, obj)
            if old is None:
                self._notify("add", obj)
            elif _rv(old) != _rv(obj):
                self._notify("update", old, obj)
        for key in [k for k in self.store.keys() if k not in seen]:
            # cast: ``key`` was just listed by store.keys(), so remove() returns the object, not None.
            old = cast(Mapping[str, Any], self.store.remove(key))
            self._notify("delete", DeletedFinalStateUnknown(key, old))
        if not self._synced.is_set():
            self._synced.set()
            for reg in self._registrations:
                reg.mark_synced()

    def apply(self, event: WatchEvent) -> None:
        obj = self._prepare(event.object)
        key = object_key(obj)
        if event.type != "DELETED" and self.keep is not None and not self.keep(obj):
            # It no longer matches (or never did): gone from this informer's point of view.
            if (old := self.store.remove(key)) is not None:
                self._notify("delete", old)
            return
        if event.type == "DELETED":
            if self.keep is not None and self.store.get_by_key(key) is None:
                return
            self.store.remove(key)
            self._notify("delete", obj)
            return
        old = self.store.put(key, obj)
        if old is None:
            self._notify("add", obj)
        else:
            self._notify("update", old, obj)

    def resync(self) -> None:
        """Replay every cached object as ``on_update(obj, obj)`` to resync-enabled handlers."""
        for obj in self.store.list():
            for reg in self._registrations:
                if reg.resync:
                    reg.push("update", obj, obj)

    # lifecycle ---------------------------------------------------------------------------------
    def has_synced(self) -> bool:
        """True once the first list is in the store."""
        return self._synced.is_set()

    async def wait_for_sync(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109
        """Wait for the first list (and for every handler to process it); False on timeout."""
        async def synced() -> None:
            await self._synced.wait()
            for reg in list(self._registrations):
                await reg.wait_synced()
        try:
            await asyncio.wait_for(synced(), timeout)
            return True
        except TimeoutError:
            return False

    def start(self) -> None:
        """Start the reflector, the resync loop and every handler task (idempotent)."""
        if self._tasks:
            return
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self.reflector.run(), name=f"reflector-{self.resource}"))
        if self.settings.resync_period > 0:
            self._tasks.append(loop.create_task(self._resync_loop(), name=f"resync-{self.resource}"))
        for reg in self._registrations:
            reg.start()

    @property
    def running(self) -> bool:
        return bool(self._tasks)

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks)
        self._tasks.clear()
        for reg in self._registrations:
            reg.stop()

    async def _resync_loop(self) -> None:
        while True:
            await self._clock.sleep(self.settings.resync_period)
            if self.has_synced():
                self.resync()


def _rv(obj: Mapping[str, Any]) -> str | None:
    return (obj.get("metadata") or {}).get("resourceVersion")


async def wait_for_cache_sync(*informers: SharedInformer, timeout: float | None = None) -> bool:  # noqa: ASYNC109
    """Wait until every informer has synced; False if ``timeout`` seconds pass first."""
    results = await asyncio.gather(*(inf.wait_for_sync(timeout) for inf in informers))
    return all(results)
