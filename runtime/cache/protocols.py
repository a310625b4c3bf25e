"""What a reconciler needs from an informer, as ``Protocol``s (read-only views of the cache).

Why: reconcilers read cached objects through ``informer.store`` and must never write to the store
(the reflector owns it). Typing their dependencies with these read-only views lets mypy check the
calls and keeps scripted test doubles (a bare :class:`~runtime.cache.store.Store` behind a
``store`` attribute) as valid as the real :class:`~runtime.cache.informer.SharedInformer`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .informer import SharedInformer
    from .store import Store

__all__ = ["CacheReader", "IndexedReader", "Informer", "IndexedInformer", "SyncedInformer"]


class CacheReader(Protocol):
    """The read side of :class:`~runtime.cache.store.Store` (objects are frozen: do not mutate)."""

    def get(self, name: str, namespace: str | None = None) -> Mapping[str, Any] | None:
        ...

    def list(self, namespace: str | None = None, *, labels: Mapping[str, str] | None = None,
             selector: Mapping[str, Any] | None = None,
             where: Callable[[Mapping[str, Any]], bool] | None = None) -> list[Mapping[str, Any]]:
        ...


class IndexedReader(CacheReader, Protocol):
    """A :class:`CacheReader` with secondary indices: the per-event lookups that must not scan a
    namespace (workload → Rollout, Pod → ReplicaSet → BatchRelease) go through ``by_index``."""

    def by_index(self, index: str, value: str) -> list[Mapping[str, Any]]:
        ...


class Informer(Protocol):
    """Anything holding a cache of one resource (an informer, or a store in a test)."""

    @property
    def store(self) -> CacheReader:
        ...


class IndexedInformer(Protocol):
    """An informer whose store answers ``by_index``."""

    @property
    def store(self) -> IndexedReader:
        ...


class SyncedInformer(Informer, Protocol):
    """An informer that can say whether its first list has arrived (until then, read the server)."""

    def has_synced(self) -> bool:
        ...


if TYPE_CHECKING:

    def _store_is_a_cache_reader(store: Store) -> CacheReader:
        """mypy proves here that the real store and informer satisfy the protocols (never called)."""
        return store

    def _store_is_an_indexed_reader(store: Store) -> IndexedReader:
        return store

    def _shared_informer_is_an_indexed_informer(informer: SharedInformer) -> IndexedInformer:
        return informer

    def _shared_informer_is_a_synced_informer(informer: SharedInformer) -> SyncedInformer:
        return informer
