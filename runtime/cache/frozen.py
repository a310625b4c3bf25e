"""Read-only JSON objects for the informer cache: deep-frozen, not copied on read.

The cache hands the *same* object to every handler and every reconciler. If one of them mutated it
(``obj["metadata"]["labels"]["x"] = ...`` before sending an update), every other reader would see a
state the API server never had: the classic client-go bug "do not mutate objects from the lister".
Go can only ask politely; here objects are frozen once, when they enter the cache, so a mutation
raises ``TypeError`` at the line that attempted it.

Why frozen subclasses of ``dict``/``list`` rather than copies on every read: reads vastly outnumber
writes in a controller and a deep copy of a Deployment costs tens of microseconds; freezing costs one
pass at ingestion and nothing afterwards. Why subclasses rather than ``MappingProxyType``/tuples:
``isinstance(x, dict)``, ``json.dumps``, ``==`` against plain dicts/lists, cattrs structuring and
``.get`` all keep working, and ``__slots__ = ()`` adds no per-object memory.

To change an object, take a mutable copy: ``thaw(obj)`` (or ``copy.deepcopy(obj)``, which does the
same), edit it, send it. Limits: ``dict.__setitem__(obj, ...)`` called on the base class bypasses the
guard; nobody does that by accident.
"""

from __future__ import annotations

from typing import Any, NoReturn

__all__ = ["FrozenDict", "FrozenList", "freeze", "thaw", "is_frozen"]


def _readonly(self: Any, *args: Any, **kwargs: Any) -> NoReturn:
    raise TypeError(
        f"objects from the informer cache are read-only ({type(self).__name__}); "
        "take a mutable copy with runtime.cache.thaw(obj) (or copy.deepcopy) before changing it"
    )


class FrozenDict(dict):
    """A ``dict`` whose mutating methods raise TypeError. Hashable by identity only (like dict: not)."""

    __slots__ = ()
    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = __ior__ = _readonly

    def __deepcopy__(self, memo: dict) -> dict:
        return thaw(self)

    def __copy__(self) -> dict:
        return dict(self)

    def __reduce__(self) -> tuple:
        return (_rebuild_dict, (dict(self),))

    def copy(self) -> dict:
        """Shallow mutable copy (nested values stay frozen); use :func:`thaw` for a deep one."""
        return dict(self)


class FrozenList(list):
    """A ``list`` whose mutating methods raise TypeError."""

    __slots__ = ()
    __setitem__ = __delitem__ = __iadd__ = __imul__ = append = extend = insert = pop = remove = clear = \
        sort = reverse = _readonly

    def __deepcopy__(self, memo: dict) -> list:
        return thaw(self)

    def __copy__(self) -> list:
        return list(self)

    def __reduce__(self) -> tuple:
        return (_rebuild_list, (list(self),))

    def copy(self) -> list:
        return list(self)


def _rebuild_dict(d: dict) -> FrozenDict:
    return FrozenDict(d)


def _rebuild_list(items: list) -> FrozenList:
    return FrozenList(items)


def freeze(obj: Any) -> Any:
    """Deep-freeze a JSON value (dicts and lists; scalars are immutable already). Idempotent."""
    if isinstance(obj, FrozenDict | FrozenList):
        return obj
    if isinstance(obj, dict):
        return FrozenDict({k: freeze(v) for k, v in obj.items()})
    if isinstance(obj, list):
        return FrozenList([freeze(v) for v in obj])
    return obj


def thaw(obj: Any) -> Any:
    """A deep, fully mutable plain-``dict``/``list`` copy of a (possibly frozen) JSON value."""
    if isinstance(obj, dict):
        return {k: thaw(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [thaw(v) for v in obj]
    return obj


def is_frozen(obj: Any) -> bool:
    return isinstance(obj, FrozenDict | FrozenList)
