"""The indexed object store behind an informer (client-go ``cache.Indexer``).

Objects are keyed ``namespace/name`` (``name`` for cluster-scoped ones) and kept frozen (see
:mod:`runtime.cache.frozen`). Secondary indices map an *index value* to the set of keys whose object
produces it; they are maintained on every write so ``by_index`` is a dict lookup. Two indices are
always present: ``namespace`` and ``owner-uid`` (every ``ownerReferences[].uid``), which is what a
controller needs to find the ReplicaSets of a Deployment or the Pods of a ReplicaSet.

There is no locking: the store is only touched from the event loop that runs the informer.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from ..labels import matches as label_matches

__all__ = [
    "Store", "IndexFunc", "object_key", "split_key", "namespace_index", "owner_uid_index",
    "NAMESPACE_INDEX", "OWNER_UID_INDEX", "LABELS_INDEX", "label_index", "DeletedFinalStateUnknown",
    "matches_labels",
]

IndexFunc = Callable[[Mapping[str, Any]], Iterable[str]]
NAMESPACE_INDEX = "namespace"
OWNER_UID_INDEX = "owner-uid"
LABELS_INDEX = "labels"
"""Optional index (:func:`label_index`) that :meth:`Store.list` uses for ``labels=``: with it, listing the
pods of one workload reads the pods carrying its labels instead of every pod of the namespace (at
10,000 Deployments in one namespace the scan was 92 % of the manager's time in a release burst). It
costs one set entry per label per object, so it is added only where such lists are hot (the pods)."""


def object_key(obj: Mapping[str, Any]) -> str:
    """``namespace/name`` or ``name`` (client-go ``MetaNamespaceKeyFunc``)."""
    if isinstance(obj, DeletedFinalStateUnknown):
        return obj.key
    meta = obj.get("metadata") or {}
    ns, name = meta.get("namespace"), meta.get("name")
    if not name:
        raise ValueError(f"object has no metadata.name: {dict(meta)!r}")
    return f"{ns}/{name}" if ns else name


def split_key(key: str) -> tuple[str | None, str]:
    """Inverse of :func:`object_key`: ``(namespace or None, name)``."""
    ns, sep, name = key.partition("/")
    return (ns, name) if sep else (None, ns)


def namespace_index(obj: Mapping[str, Any]) -> list[str]:
    ns = (obj.get("metadata") or {}).get("namespace")
    return [ns] if ns else []


def owner_uid_index(obj: Mapping[str, Any]) -> list[str]:
    return [ref["uid"] for ref in (obj.get("metadata") or {}).get("ownerReferences") or [] if ref.get("uid")]


def label_index(obj: Mapping[str, Any]) -> list[str]:
    """Every ``key=value`` label of the object: the optional :data:`LABELS_INDEX`."""
    return [f"{k}={v}" for k, v in ((obj.get("metadata") or {}).get("labels") or {}).items()]


def matches_labels(obj: Mapping[str, Any], selector: Mapping[str, str] | None) -> bool:
    """Equality-based label match (``matchLabels``); an empty/None selector matches everything."""
    if not selector:
        return True
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return all(labels.get(k) == v for k, v in selector.items())


@attrs.frozen
class DeletedFinalStateUnknown:
    """Tombstone handed to delete handlers when a delete was missed while disconnected.

    The reflector noticed on relist that ``key`` is gone, but never saw the DELETED event, so
    ``obj`` is the last state it knew, which may be stale. Handlers that need the object must
    accept both a dict and this (see :func:`runtime.controller.handlers.unwrap_tombstone`).
    """

    key: str
    """Store key of the deleted object."""
    obj: Mapping[str, Any]
    """Last known state (possibly stale)."""


class Store:
    """Key → frozen object, with secondary indices."""

    def __init__(self, indexers: Mapping[str, IndexFunc] | None = None) -> None:
        self._items: dict[str, Mapping[str, Any]] = {}
        self._indexers: dict[str, IndexFunc] = {NAMESPACE_INDEX: namespace_index, OWNER_UID_INDEX: owner_uid_index}
        self._indexers.update(indexers or {})
        # Invariant: for every index name n and key k in _items, k is in _indices[n][v] exactly for
        # the values v in _indexers[n](_items[k]); empty value sets are removed.
        self._indices: dict[str, dict[str, set[str]]] = {n: {} for n in self._indexers}

    # writes (informer only) --------------------------------------------------------------------
    def put(self, key: str, obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """Insert or replace; returns the previous object."""
        old = self._items.get(key)
        if old is not None:
            self._unindex(key, old)
        self._items[key] = obj
        self._index(key, obj)
        return old

    def remove(self, key: str) -> Mapping[str, Any] | None:
        old = self._items.pop(key, None)
        if old is not None:
            self._unindex(key, old)
        return old

    def add_indexers(self, indexers: Mapping[str, IndexFunc]) -> None:
        """Add indices (existing objects are indexed immediately)."""
        for name, fn in indexers.items():
            if name in self._indexers:
                raise ValueError(f"indexer {name!r} already exists")
            self._indexers[name] = fn
            self._indices[name] = {}
            for key, obj in self._items.items():
                for value in fn(obj):
                    self._indices[name].setdefault(value, set()).add(key)

    def _index(self, key: str, obj: Mapping[str, Any]) -> None:
        for name, fn in self._indexers.items():
            for value in fn(obj):
                self._indices[name].setdefault(value, set()).add(key)

    def _unindex(self, key: str, obj: Mapping[str, Any]) -> None:
        for name, fn in self._indexers.items():
            index = self._indices[name]
            for value in fn(obj):
                keys = index.get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del index[value]

    # reads -------------------------------------------------------------------------------------
    def get_by_key(self, key: str) -> Mapping[str, Any] | None:
        return self._items.get(key)

    def get(self, name: str, namespace: str | None = None) -> Mapping[str, Any] | None:
        """The cached object, or None. Read-only: ``thaw`` it before changing it."""
        return self._items.get(f"{namespace}/{name}" if namespace else name)

    def list(self, namespace: str | None = None, *, labels: Mapping[str, str] | None = None,
             selector: Mapping[str, Any] | None = None,
             where: Callable[[Mapping[str, Any]], bool] | None = None) -> list[Mapping[str, Any]]:
        """Objects, optionally in one namespace, with ``labels`` (equality), matching a
        ``metav1.LabelSelector`` dict ``selector`` (``{}`` matches all) and a predicate ``where``."""
        if selector is not None:
            wanted = selector
            extra = where
            where = lambda o: label_matches(wanted, (o.get("metadata") or {}).get("labels")) and (  # noqa: E731
                extra is None or extra(o))
        objs: Iterable[Mapping[str, Any]]
        if labels and namespace and LABELS_INDEX in self._indices:  # same order as the namespace scan: by key
            objs = (self._items[k] for k in self._labelled(labels, namespace))
        elif namespace:
            objs = (self._items[k] for k in self.index_keys(NAMESPACE_INDEX, namespace))
        else:
            objs = self._items.values()
        return [o for o in objs if matches_labels(o, labels) and (where is None or where(o))]

    def _labelled(self, labels: Mapping[str, str], namespace: str) -> builtins.list[str]:
        """Sorted keys of the objects in ``namespace`` carrying every label, from :data:`LABELS_INDEX`."""
        index = self._indices[LABELS_INDEX]
        sets = sorted((index.get(f"{k}={v}", set()) for k, v in labels.items()), key=len)
        prefix = f"{namespace}/"
        return sorted(k for k in sets[0].intersection(*sets[1:]) if k.startswith(prefix))

    # ``builtins.list`` below: inside this class body ``list`` names the method above.
    def keys(self) -> builtins.list[str]:
        return list(self._items)

    def index_keys(self, index: str, value: str) -> builtins.list[str]:
        if index not in self._indices:
            raise KeyError(f"no indexer named {index!r}; known: {sorted(self._indices)}")
        return sorted(self._indices[index].get(value, ()))

    def by_index(self, index: str, value: str) -> builtins.list[Mapping[str, Any]]:
        """Objects whose index function produced ``value`` (e.g. ``by_index("owner-uid", uid)``)."""
        return [self._items[k] for k in self.index_keys(index, value)]

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def check_invariants(self) -> None:
        """Recompute every index from scratch and compare (tests)."""
        for name, fn in self._indexers.items():
            expected: dict[str, set[str]] = {}
            for key, obj in self._items.items():
                for value in fn(obj):
                    expected.setdefault(value, set()).add(key)
            assert expected == self._indices[name], f"index {name!r} out of date"
