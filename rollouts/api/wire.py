"""Wire (JSON) mapping for the API models: one source of truth for names, omitempty and schema.

Every model field is declared with :func:`field`, which records in attrs metadata

* the wire (camelCase) name — Python attributes are snake_case;
* whether Go marks it ``omitempty`` (absent when zero) or always serializes it;
* whether the generated CRD schema lists it as ``required`` and any extra OpenAPI keywords
  (``default``, ``enum``, ``maxItems``, ``pattern`` ...), consumed by :mod:`rollouts.api.schema`.

Round-trip rules (why they are what they are):

* **Unknown keys are kept.** Each model stores keys it does not recognise in ``_extra`` and merges
  them back on dump, so a field added by a newer client survives a read-modify-write by us.
* **Loaded objects dump back as they were read.** A model built by :func:`from_dict` remembers which
  known keys were present (``_present``); those are emitted even when zero (``gracePeriodSeconds: 0``
  stays ``0``) and always-serialized fields that were absent stay absent unless they became non-zero.
  Without this, reading a user's YAML and writing it back would add ``disabled: false``/``pause: {}``.
* **Objects built in Python follow Go ``encoding/json``.** omitempty fields are dropped when zero,
  the others are always written (``currentStepIndex: 0``), exactly like the upstream controller.
* ``None`` always means "absent" (a nil pointer); ``null`` on input for a non-pointer field is ignored
  as Go does.

Editing a decoded object without losing those rules (a zero value meant to be written, a key meant
to go) is :mod:`rollouts.api.edit`.

Decoding is strict about JSON types (a string where an int is expected is a :class:`DecodeError`
naming the field path), because silently coercing would hide user mistakes the webhook must report.
"""

from __future__ import annotations

import copy
import functools
import inspect
import json
import types
import typing
from collections.abc import Mapping
from typing import Any

import attrs
import cattrs

from rollouts.api.intstr import IntOrString

_META_KEY = "rollouts.api.wire"

#: Marker type for free-form JSON objects (``x-kubernetes-preserve-unknown-fields``), e.g. snapshots.
RawObject = dict[str, Any]


@attrs.frozen
class WireMeta:
    """How one attribute appears on the wire and in the CRD schema."""

    name: str  # camelCase JSON key
    omitempty: bool  # Go omitempty: absent when zero (for objects built in Python)
    required: bool  # listed in the schema's ``required``
    doc: str  # becomes the schema ``description``
    schema: Mapping[str, Any]  # extra OpenAPI keywords merged into the generated schema


def field(
    wire: str,
    *,
    omitempty: bool = False,
    required: bool = False,
    doc: str = "",
    schema: Mapping[str, Any] | None = None,
    default: Any = None,
    factory: Any = None,
) -> Any:
    """Declare a model attribute. ``factory`` wins over ``default`` (use it for structs/lists)."""
    meta = {_META_KEY: WireMeta(wire, omitempty, required, doc, dict(schema or {}))}
    if factory is not None:
        return attrs.field(factory=factory, metadata=meta, kw_only=True)
    return attrs.field(default=default, metadata=meta, kw_only=True)


class DecodeError(ValueError):
    """A JSON value has the wrong type for its field. ``path`` is like ``spec.steps[0].replicas``."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path or '<root>'}: {message}")
        self.path = path
        self.message = message


@attrs.define(kw_only=True)
class WireModel:
    """Base of every API struct. Subclasses declare fields with :func:`field` only."""

    # Unknown wire keys → raw JSON values; merged back verbatim on dump (never overrides a known key).
    _extra: dict[str, Any] = attrs.field(factory=dict, repr=False, alias="extra")
    # Known wire keys present when decoded; None for objects built in Python (Go semantics apply).
    _present: frozenset[str] | None = attrs.field(default=None, eq=False, repr=False, alias="present")


@attrs.frozen
class FieldInfo:
    attr: str
    alias: str
    meta: WireMeta
    type: Any
    # ``X | None`` fields are Go pointers: omitempty drops only nil, so a non-None zero (``batchPartition: 0``,
    # ``weight: 0``, ``canary: {}``) is always written.
    pointer: bool


_F = typing.TypeVar("_F", bound=typing.Callable[..., Any])


def _cache_by_class(fn: _F) -> _F:
    """``functools.cache``, typed as ``fn``'s own signature: mypy rejects ``type[SomeModel]`` as an unhashable
    argument of a cache wrapper (attrs models set ``__hash__ = None`` on instances), though classes hash fine."""
    return typing.cast(_F, functools.cache(fn))


@_cache_by_class
def wire_fields(cls: type) -> tuple[FieldInfo, ...]:
    """The wire fields of a model class, in declaration (= Go struct) order."""
    hints = typing.get_type_hints(cls)
    out = []
    for a in attrs.fields(cls):
        meta = a.metadata.get(_META_KEY)
        if meta is not None:
            tp = hints[a.name]
            out.append(FieldInfo(a.name, a.alias or a.name, meta, tp, unwrap_optional(tp)[1]))
    return tuple(out)


def is_model(tp: Any) -> bool:
    return inspect.isclass(tp) and issubclass(tp, WireModel)


def unwrap_optional(tp: Any) -> tuple[Any, bool]:
    """``X | None`` → (X, True); anything else → (tp, False)."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(tp)) == 2:
            return args[0], True
    return tp, False


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _json_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int | float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return type(v).__name__


class _PathError(Exception):
    """A decode failure on its way up to :func:`from_dict`, collecting path segments innermost first.

    Why not raise :class:`DecodeError` directly: its message needs the full path, and building path
    strings for every field decoded (the old way) cost more than the decoding on the webhook's hot
    path. Segments are only collected when something is actually wrong.
    """

    def __init__(self, message: str, exc_type: type[Exception] = DecodeError) -> None:
        super().__init__(message)
        self.message = message
        self.exc_type = exc_type
        self.segments: list[str | int] = []

    def finish(self) -> Exception:
        path = ""
        for seg in reversed(self.segments):
            path = _join(path, seg)
        if self.exc_type is DecodeError:
            return DecodeError(path, self.message)
        return self.exc_type(f"{self.message} at {path}")


Decoder = typing.Callable[[Any], Any]


@functools.cache
def _decoder(tp: Any) -> Decoder:
    """A decode function for JSON values of type ``tp``, built once per type (the type analysis —
    ``get_origin``/``unwrap_optional``/``is_model`` — used to run for every value decoded)."""
    inner, optional = unwrap_optional(tp)
    if optional:
        dec = _decoder(inner)
        return lambda v: None if v is None else dec(v)
    if tp is Any:
        return _json_copy
    if is_model(tp):
        return functools.partial(_decode_model, tp)  # its plan is built on first use (recursive types)
    origin = typing.get_origin(tp)
    if origin is list:
        return functools.partial(_decode_list, _decoder(typing.get_args(tp)[0]))
    if origin is dict:
        return functools.partial(_decode_dict, _decoder(typing.get_args(tp)[1]))
    return _SCALARS.get(tp) or functools.partial(_unsupported, tp)


def _decode_list(item: Decoder, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise _PathError(f"expected an array, got {_json_type(value)}")
    out = []
    for i, v in enumerate(value):
        try:
            out.append(item(v))
        except _PathError as e:
            e.segments.append(i)
            raise
    return out


def _decode_dict(item: Decoder, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _PathError(f"expected an object, got {_json_type(value)}")
    out = {}
    for k, v in value.items():
        try:
            out[str(k)] = item(v)
        except _PathError as e:
            e.segments.append(str(k))
            raise
    return out


def _json_copy(v: Any) -> Any:
    """``copy.deepcopy`` specialised for what ``json.loads`` yields (plain dicts, lists, scalars)."""
    t = type(v)
    if t is str or t is int or t is bool or t is float or v is None:
        return v
    if t is dict:
        return {k: _json_copy(x) for k, x in v.items()}
    if t is list:
        return [_json_copy(x) for x in v]
    return copy.deepcopy(v)


def json_copy(v: Any) -> Any:
    """A deep copy of JSON data (what ``json.loads`` yields), several times faster than ``copy.deepcopy``."""
    return _json_copy(v)


def _decode_intstr(value: Any) -> IntOrString:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _PathError(f"expected an integer or a string, got {_json_type(value)}")
    return IntOrString(value)


def _decode_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _PathError(f"expected a boolean, got {_json_type(value)}")
    return value


def _decode_int(value: Any) -> int:
    if isinstance(value, float) and value.is_integer():
        # Some decoders yield 3.0 for an integral number; keep it as 3 rather than reject it.
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _PathError(f"expected an integer, got {_json_type(value)}")
    return value


def _decode_str(value: Any) -> str:
    if not isinstance(value, str):
        raise _PathError(f"expected a string, got {_json_type(value)}")
    return value


def _unsupported(tp: Any, _value: Any) -> Any:
    raise _PathError(f"unsupported model type {tp!r}", TypeError)


_SCALARS: dict[Any, Decoder] = {IntOrString: _decode_intstr, bool: _decode_bool, int: _decode_int, str: _decode_str}


_FieldPlan = tuple[str, str, bool, Decoder, typing.Callable[[], Any] | None, Any, type | None]
_MISSING = object()
#: Field types whose JSON values decode to themselves (checked inline: no decoder call per field).
_SELF_DECODING = {str: str, int: int, bool: bool, str | None: str, int | None: int, bool | None: bool}


@functools.cache
def _plan(cls: type) -> tuple[tuple[_FieldPlan, ...], frozenset[str], tuple[tuple[str, Any, Any], ...]]:
    """Per model class: (wire name, attribute, is pointer, decoder, default factory or None, default,
    the JSON type decoding to itself or None) per field, the known wire names, and the other
    attributes with their defaults (``_extra`` excepted)."""
    defaults = {a.name: a.default for a in attrs.fields(cls)}

    def default(attr: str) -> tuple[typing.Callable[[], Any] | None, Any]:
        d = defaults[attr]
        return (d.factory, None) if isinstance(d, attrs.Factory) else (None, d)  # type: ignore[arg-type]

    fields = tuple((f.meta.name, f.attr, f.pointer, _decoder(f.type), *default(f.attr), _SELF_DECODING.get(f.type))
                   for f in wire_fields(cls))
    wire = {f.attr for f in wire_fields(cls)} | {"_extra"}
    others = tuple((n, *default(n)) for n in defaults if n not in wire)
    return fields, frozenset(f[0] for f in fields), others


def _decode_model(cls: type, d: Any) -> Any:
    """Decode one object. Builds the instance slot by slot instead of through ``__init__`` (models
    have no validators or post-init hooks) and sets scalars of the right JSON type without a decoder
    call: together they halve the cost of decoding a Rollout status, which happens every reconcile."""
    if not isinstance(d, dict):
        raise _PathError(f"expected an object, got {_json_type(d)}")
    fields, known, others = _plan(cls)
    obj: Any = object.__new__(cls)
    for name, attr, pointer, dec, factory, const, same in fields:  # declaration order: the first bad field is reported
        v = d.get(name, _MISSING)
        if type(v) is same:
            setattr(obj, attr, v)
        elif v is _MISSING or (v is None and not pointer):  # absent, or Go: null leaves a non-pointer at zero
            setattr(obj, attr, const if factory is None else factory())
        else:
            try:
                setattr(obj, attr, dec(v))
            except _PathError as e:
                e.segments.append(name)
                raise
    for attr, factory, const in others:
        setattr(obj, attr, const if factory is None else factory())
    present = known.intersection(d)
    obj._extra = {} if len(present) == len(d) else {k: _json_copy(v) for k, v in d.items() if k not in known}
    obj._present = present
    return obj


def _decode(tp: Any, value: Any) -> Any:
    try:
        return _decoder(tp)(value)
    except _PathError as e:
        raise e.finish() from None


def string_map(v: Any) -> dict[str, str]:
    """The ``str → str`` entries of a raw JSON map (labels/annotations); ``{}`` for anything else.

    ObjectMeta is kept raw, so code reading annotations must not trust its shape.
    """
    if not isinstance(v, dict):
        return {}
    return {k: x for k, x in v.items() if isinstance(k, str) and isinstance(x, str)}


def is_zero(v: Any) -> bool:
    """Go zero value test used for omitempty (structs are zero when every field is)."""
    if v is None or v is False or v == 0 and isinstance(v, int) or v == "":
        return True
    if isinstance(v, list | dict):
        return not v
    if isinstance(v, IntOrString):
        # Go's zero IntOrString is {Type: Int, IntVal: 0}; without this a decoded ``{}`` batch came
        # back as ``{"canaryReplicas": 0}`` (found by tests/unit/api/test_roundtrip_properties.py).
        return v.value == 0 and v.is_int
    if isinstance(v, WireModel):
        # A non-nil pointer member (``duration: 0``) makes the struct non-zero.
        return not v._extra and all(
            getattr(v, f.attr) is None if f.pointer else is_zero(getattr(v, f.attr)) for f in wire_fields(type(v))
        )
    return False


def _omits(f: FieldInfo, v: Any) -> bool:
    """Go omitempty: drops zero scalars, strings, slices and maps — never a (non-pointer) struct."""
    return f.meta.omitempty and not isinstance(v, WireModel | IntOrString)


def _unstructure(v: Any) -> Any:
    t = type(v)
    if t is str or t is int or t is bool or v is None or t is float:
        return v  # immutable JSON scalars (most values): no deepcopy call
    if isinstance(v, WireModel):
        return _unstructure_model(v)
    if isinstance(v, IntOrString):
        return v.value
    if isinstance(v, list):
        return [_unstructure(x) for x in v]
    if isinstance(v, dict):
        return {k: _unstructure(x) for k, x in v.items()}
    return copy.deepcopy(v)


def _should_emit(obj: WireModel, f: FieldInfo, v: Any) -> bool:
    if v is None:
        return False
    if f.pointer:
        return True
    present = obj._present
    if present is not None and f.meta.name in present:
        return True
    if is_zero(v):
        return present is None and not _omits(f, v)
    return True


@_cache_by_class
def _encode_plan(cls: type) -> tuple[tuple[str, str, bool, FieldInfo], ...]:
    """Per model class: (wire name, attribute, is pointer, field) in declaration order."""
    return tuple((f.meta.name, f.attr, f.pointer, f) for f in wire_fields(cls))


def _unstructure_model(obj: WireModel) -> dict[str, Any]:
    """Encode one object: :func:`_should_emit` per field, inlined for the common cases (a pointer,
    a key that was present, a non-zero value) because the Rollout status is encoded every reconcile."""
    out: dict[str, Any] = {}
    present = obj._present
    for name, attr, pointer, f in _encode_plan(type(obj)):
        v = getattr(obj, attr)
        if v is None:
            continue
        if (not pointer and (present is None or name not in present)
                and (present is not None or _omits(f, v)) and is_zero(v)):
            continue  # is_zero last: on a struct it walks every member, and a new struct is emitted anyway
        t = type(v)
        out[name] = v if t is str or t is int or t is bool or t is float else _unstructure(v)
    for k, v in obj._extra.items():
        out.setdefault(k, _json_copy(v))
    return out


def _go_value(v: Any) -> Any:
    if isinstance(v, WireModel):
        return go_dict(v)
    if isinstance(v, IntOrString):
        return v.value
    if isinstance(v, list):
        return [_go_value(x) for x in v]
    if isinstance(v, dict):
        return {k: _go_value(v[k]) for k in sorted(v)}  # Go sorts map keys
    return _json_copy(v)


def go_dict(obj: WireModel) -> dict[str, Any]:
    """What Go's ``encoding/json`` would produce for the struct: declared field order, omitempty
    applied, presence ignored, unknown fields dropped (a Go struct has nowhere to keep them)."""
    out: dict[str, Any] = {}
    for f in wire_fields(type(obj)):
        v = getattr(obj, f.attr)
        if v is None or (not f.pointer and _omits(f, v) and is_zero(v)):
            continue
        out[f.meta.name] = _go_value(v)
    return out


_GO_HTML_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def go_json(obj: WireModel) -> str:
    """Compact Go ``json.Marshal`` text of ``obj`` (HTML-safe escaping, UTF-8), for hashes that must
    match the Go controller byte for byte (rollout-lifecycle.md §3.1, batch-release.md §2.3)."""
    return go_json_text(go_dict(obj))


def go_json_text(value: Any) -> str:
    """Go ``json.Marshal`` text of JSON data already in Go's order (e.g. an edited :func:`go_dict`)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    for raw, escaped in _GO_HTML_ESCAPES.items():
        text = text.replace(raw, escaped)
    return text


def _make_converter() -> cattrs.Converter:
    c = cattrs.Converter()
    c.register_structure_hook_func(is_model, lambda d, t: _decode(t, d))
    c.register_unstructure_hook_func(is_model, _unstructure_model)
    c.register_structure_hook(IntOrString, lambda d, _t: _decode(IntOrString, d))
    c.register_unstructure_hook(IntOrString, lambda v: v.value)
    return c


#: The converter every layer should use for API models (hooks: rename, extras, omitempty).
converter = _make_converter()

T = typing.TypeVar("T")


def from_dict(cls: type[T], d: Mapping[str, Any]) -> T:
    """Decode a JSON object into model ``cls``. Raises :class:`DecodeError` on type mismatches."""
    return typing.cast(T, _decode(cls, d))


def is_present(obj: WireModel, attr: str) -> bool:
    """Whether a decoded object carried the field ``attr`` on the wire (zero or not); for an object
    built in Python, whether the field is non-zero. For code that must tell "absent" from "0"."""
    f = next(f for f in wire_fields(type(obj)) if f.attr == attr)
    if obj._present is not None:
        return f.meta.name in obj._present
    return not is_zero(getattr(obj, attr))


def to_dict(obj: WireModel) -> dict[str, Any]:
    """Encode a model to a JSON-ready dict (new object; unknown fields merged back)."""
    return _unstructure_model(obj)


def mark_new(obj: WireModel) -> WireModel:
    """Forget decode-time presence recursively so ``obj`` dumps with pure Go semantics."""
    obj._present = None
    for f in wire_fields(type(obj)):
        v = getattr(obj, f.attr)
        for x in v if isinstance(v, list) else [v]:
            if isinstance(x, WireModel):
                mark_new(x)
    return obj
