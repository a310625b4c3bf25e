"""One informer per (resource, namespace, selectors), shared by every controller that asks.

Sharing matters: two controllers watching Pods must not hold two caches and two watches. The
factory hands out the same :class:`SharedInformer` for the same key, starts everything created so
far with :meth:`start`, and waits for all of them with :meth:`wait_for_cache_sync`.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..clock import REAL_CLOCK, Clock
from ..kube.resources import Resource
from .informer import InformerSettings, Keep, SharedInformer, wait_for_cache_sync
from .reflector import ListWatcher
from .store import IndexFunc

__all__ = ["SharedInformerFactory"]


class SharedInformerFactory:
    """Creates, shares, starts and stops informers."""

    def __init__(
        self, client: ListWatcher, *, namespace: str | None = None, settings: InformerSettings = InformerSettings(),  # noqa: B008
        clock: Clock = REAL_CLOCK,
    ) -> None:
        self.client = client
        self.namespace = namespace
        """Default namespace for namespaced resources (None: all namespaces)."""
        self.settings = settings
        self._clock = clock
        self._informers: dict[tuple, SharedInformer] = {}

    def informer(
        self, resource: Resource, *, namespace: str | None = None, label_selector: str | None = None,
        field_selector: str | None = None, indexers: Mapping[str, IndexFunc] | None = None,
        keep: Keep | None = None,
    ) -> SharedInformer:
        """The shared informer for this key, created on first use (extra ``indexers`` are added).

        ``keep`` (a client-side filter, see :class:`SharedInformer`) is part of the key: a filtered
        informer is never handed to a caller that asked for the unfiltered one."""
        ns = (namespace or self.namespace) if resource.namespaced else None
        key = (resource, ns, label_selector, field_selector, keep)
        inf = self._informers.get(key)
        if inf is None:
            inf = SharedInformer(self.client, resource, namespace=ns, label_selector=label_selector,
                                 field_selector=field_selector, settings=self.settings, clock=self._clock,
                                 keep=keep)
            self._informers[key] = inf
        if indexers:
            inf.store.add_indexers({n: f for n, f in indexers.items() if n not in inf.store._indexers})
        return inf

    @property
    def informers(self) -> list[SharedInformer]:
        return list(self._informers.values())

    def start(self) -> None:
        """Start every informer not yet running (safe to call again after adding more)."""
        for inf in self._informers.values():
            inf.start()

    async def wait_for_cache_sync(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109
        return await wait_for_cache_sync(*self._informers.values(), timeout=timeout)

    async def stop(self) -> None:
        for inf in reversed(list(self._informers.values())):
            await inf.stop()
