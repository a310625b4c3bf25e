"""Event handlers that only compute keys and enqueue (all work happens in reconcilers).

Each helper is an :class:`~runtime.cache.EventHandler` bound to a queue. Deletes may carry a
:class:`~runtime.cache.DeletedFinalStateUnknown` tombstone; :func:`unwrap_tombstone` turns it back
into the last known object so mapping functions see a dict in every case.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ..cache.store import DeletedFinalStateUnknown
from ..reconcile import Request
from .predicates import Predicate

__all__ = [
    "unwrap_tombstone", "request_for", "EnqueueRequestForObject", "EnqueueRequestForOwner",
    "EnqueueRequestsFromMapFunc", "owner_requests",
]

Obj = Mapping[str, Any]
MapFunc = Callable[[Obj], Iterable[Request]]


def unwrap_tombstone(obj: Any) -> Obj:
    return obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj


def request_for(obj: Obj) -> Request:
    meta = obj.get("metadata") or {}
    return Request(meta.get("namespace") or None, meta["name"])


def owner_requests(obj: Obj, *, kind: str, group: str | None = None, controller_only: bool = True) -> list[Request]:
    """Requests for the owners of ``obj`` of ``kind`` (and API ``group``, if given).

    ``controller_only`` keeps only the reference with ``controller: true`` (at most one), which is
    what "enqueue the Deployment that owns this ReplicaSet" means.
    """
    meta = obj.get("metadata") or {}
    out = []
    for ref in meta.get("ownerReferences") or []:
        if ref.get("kind") != kind or (controller_only and not ref.get("controller")):
            continue
        if group is not None and ref.get("apiVersion", "").rpartition("/")[0] != group:
            continue
        out.append(Request(meta.get("namespace") or None, ref["name"]))
    return out


class EnqueueRequestsFromMapFunc:
    """Enqueue whatever ``map_fn(obj)`` returns; on update both the old and new object are mapped
    (a label change may move an object from one owner's selector to another's)."""

    def __init__(self, queue: Any, map_fn: MapFunc, *, predicates: Sequence[Predicate] = ()) -> None:
        self.queue, self.map_fn, self.predicates = queue, map_fn, tuple(predicates)

    def _enqueue(self, obj: Obj) -> None:
        for request in self.map_fn(obj):
            self.queue.add(request)

    def on_add(self, obj: Obj) -> None:
        if all(p.create(obj) for p in self.predicates):
            self._enqueue(obj)

    def on_update(self, old: Obj, new: Obj) -> None:
        if all(p.update(old, new) for p in self.predicates):
            self._enqueue(old)
            self._enqueue(new)

    def on_delete(self, obj: Any) -> None:
        obj = unwrap_tombstone(obj)
        if all(p.delete(obj) for p in self.predicates):
            self._enqueue(obj)


class EnqueueRequestForObject(EnqueueRequestsFromMapFunc):
    """Enqueue the object itself (the primary resource of a controller)."""

    def __init__(self, queue: Any, *, predicates: Sequence[Predicate] = ()) -> None:
        super().__init__(queue, lambda o: [request_for(o)], predicates=predicates)

    def on_update(self, old: Obj, new: Obj) -> None:
        if all(p.update(old, new) for p in self.predicates):
            self._enqueue(new)


class EnqueueRequestForOwner(EnqueueRequestsFromMapFunc):
    """Enqueue the controlling owner of ``kind`` (e.g. the Rollout owning a BatchRelease)."""

    def __init__(self, queue: Any, *, kind: str, group: str | None = None, controller_only: bool = True,
                 predicates: Sequence[Predicate] = ()) -> None:
        super().__init__(queue, lambda o: owner_requests(o, kind=kind, group=group, controller_only=controller_only),
                         predicates=predicates)
