"""Editing decoded API models so they encode as the wire dict the edit stands for (issue 10).

A model decoded by :func:`rollouts.api.wire.from_dict` writes back exactly the keys it was read with,
plus non-zero values. Code that edits one and writes it back (the Rollout status the machine edits
every round) must therefore say when a *zero* value is meant to be written (``conditions: []``,
``rolloutHash: ""``, ``observedGeneration: 0``) and when a key is meant to go (the merge patch then
deletes it). Each helper is the model form of one dict operation:

* :func:`set_field` — ``d[key] = value`` (the key is written even when the value is zero);
* :func:`clear_field` — ``d.pop(key)``;
* :func:`has_field` / :func:`get_field` — ``key in d`` / ``d.get(key)``;
* :func:`is_empty` — ``not d``;
* :func:`with_fields` — a dict literal ``{"key": value, ...}``;
* :func:`copy_model` — ``json_copy(d)``.

Plain attribute assignment is only right for values that are never zero. Split from ``wire.py`` for
size; it reads the encoder's own emit rule (``wire._should_emit``) so the two cannot disagree.
"""

from __future__ import annotations

import copy
import functools
import typing
from typing import Any

import attrs

from rollouts.api.intstr import IntOrString
from rollouts.api.wire import FieldInfo, WireModel, _cache_by_class, _should_emit, wire_fields


@_cache_by_class
def _wire_names(cls: type) -> dict[str, str]:
    """attribute → wire name of a model class."""
    return {f.attr: f.meta.name for f in wire_fields(cls)}


@_cache_by_class
def _fields_by_attr(cls: type) -> dict[str, FieldInfo]:
    return {f.attr: f for f in wire_fields(cls)}


def _emitted(obj: WireModel) -> frozenset[str]:
    """The known wire keys :func:`to_dict` would write for ``obj`` now (its presence, made explicit)."""
    return frozenset(f.meta.name for f in wire_fields(type(obj)) if _should_emit(obj, f, getattr(obj, f.attr)))


#: Edits through :func:`set_field` / :func:`clear_field` that may have changed an object's wire form,
#: since import; it only grows. Read with :func:`edit_count` around a synchronous computation: an
#: unchanged count proves nothing was edited through these helpers (a counted edit may still have
#: been a no-op, so a changed count proves nothing). ``settle`` uses it to skip encoding a round that
#: wrote nothing.
_edits = 0

_SCALARS = frozenset({str, int, bool, float, type(None)})


def edit_count() -> int:
    return _edits


def set_field(obj: WireModel, attr: str, value: Any) -> None:
    """``obj.attr = value``, written on encode even when zero (the dict code's ``d[key] = value``).

    An object built in Python (Go semantics) first has its presence made explicit, so the fields it
    would have written keep being written."""
    global _edits
    old = getattr(obj, attr)
    setattr(obj, attr, value)
    present = obj._present
    name = _wire_names(type(obj))[attr]
    if present is None:
        obj._present = _emitted(obj) | {name}
        _edits += 1
    elif name not in present:
        obj._present = present | {name}
        _edits += 1
    elif old is not value and not (type(value) in _SCALARS and type(old) is type(value) and old == value):
        _edits += 1  # models and lists always count: their ``==`` ignores presence


@_cache_by_class
def _defaults(cls: type) -> dict[str, typing.Callable[[], Any]]:
    """attribute → a function returning its default (a fresh one for factories)."""
    out: dict[str, typing.Callable[[], Any]] = {}
    for a in attrs.fields(cls):
        d = a.default
        out[a.name] = d.factory if isinstance(d, attrs.Factory) else functools.partial(lambda v: v, d)  # type: ignore[arg-type]
    return out


def clear_field(obj: WireModel, attr: str) -> None:
    """Remove ``attr`` (the dict code's ``d.pop(key)``): reset to its default and not written on encode."""
    global _edits
    default = _defaults(type(obj))[attr]()
    present = obj._present if obj._present is not None else _emitted(obj)
    setattr(obj, attr, default)
    obj._present = present - {_wire_names(type(obj))[attr]}
    _edits += 1


def has_field(obj: WireModel, attr: str) -> bool:
    """Whether encoding ``obj`` writes ``attr`` (the dict code's ``key in d``)."""
    v = getattr(obj, attr)
    present = obj._present
    if present is not None and v is not None and _wire_names(type(obj))[attr] in present:
        return True  # the common case, without the general rule's lookups
    return _should_emit(obj, _fields_by_attr(type(obj))[attr], v)


def get_field(obj: WireModel, attr: str) -> Any:
    """The value the wire form holds for ``attr``, ``None`` when absent (the dict code's ``d.get(key)``)."""
    return getattr(obj, attr) if has_field(obj, attr) else None


def is_empty(obj: WireModel | None) -> bool:
    """The wire form is ``{}`` or absent (the dict code's ``not d``): decoded without keys or ``None``."""
    if obj is None:
        return True
    return obj._present is not None and not obj._present and not obj._extra and not _emitted(obj)


M = typing.TypeVar("M", bound=WireModel)


def with_fields(cls: type[M], **values: Any) -> M:
    """A model whose wire form is exactly ``values`` (as if decoded from them): zero values included,
    fields not named absent. What the dict code's literal ``{"key": value, ...}`` wrote."""
    obj: Any = object.__new__(cls)  # as the decoder builds objects (no validators or hooks on models)
    for name, make in _defaults(cls).items():
        setattr(obj, name, values[name] if name in values else make())
    names = _wire_names(cls)
    obj._present = frozenset(names[k] for k in values)
    return typing.cast(M, obj)


_IMMUTABLE_TYPES = (str, int, bool, str | None, int | None, bool | None, IntOrString, IntOrString | None)


@_cache_by_class
def _copy_plan(cls: type) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(slots holding immutable values: shared, slots to copy deeply) of a model class."""
    hints = typing.get_type_hints(cls)
    names = [a.name for a in attrs.fields(cls)]
    shared = tuple(n for n in names if hints.get(n) in _IMMUTABLE_TYPES or n == "_present")
    return shared, tuple(n for n in names if n not in shared)


def _copy_value(v: Any) -> Any:
    t = type(v)
    if t is str or t is int or t is bool or v is None or t is float:
        return v
    if isinstance(v, WireModel):
        return copy_model(v)
    if t is list:
        return [_copy_value(x) for x in v]
    if t is dict:
        return {k: _copy_value(x) for k, x in v.items()}
    if t is IntOrString or t is frozenset:
        return v  # immutable
    return copy.deepcopy(v)


def copy_model(obj: M) -> M:
    """A deep copy of a model, presence and unknown fields included; several times faster than
    ``copy.deepcopy`` (no memo, no reduce protocol), for the status a chained round starts from."""
    cls = type(obj)
    new = object.__new__(cls)
    shared, deep = _copy_plan(cls)
    for name in shared:
        setattr(new, name, getattr(obj, name))
    for name in deep:
        setattr(new, name, _copy_value(getattr(obj, name)))
    return new


def replace_fields(obj: M, new: M) -> None:
    """Make ``obj`` encode as ``new`` does, in place (the dict code's ``d.clear(); d.update(new)``):
    every slot, presence and unknown keys included, is taken from ``new``."""
    global _edits
    for a in attrs.fields(type(obj)):
        setattr(obj, a.name, getattr(new, a.name))
    _edits += 1
