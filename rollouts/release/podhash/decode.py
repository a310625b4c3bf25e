"""JSON → Go value, as Kubernetes' JSON decoding (``sigs.k8s.io/json``, i.e. ``encoding/json`` with
case-sensitive keys) fills a fresh ``v1.PodTemplateSpec``.

The Go value model the renderer (:mod:`.spew`) prints:

- struct → ``dict`` of Go field name → value; a missing field is the zero value (most are);
- pointer → ``None`` for nil, else the pointee's value (the layout has no pointer to pointer,
  slice or map, so ``None`` is never ambiguous);
- slice / map → ``None`` for nil, else ``list`` / ``dict``: ``[]`` and ``{}`` decode to *empty,
  non-nil* values, ``null`` and an absent key to nil — go-spew prints the two differently;
- string / bool / integers → Python ``str`` / ``bool`` / ``int``.

``encoding/json`` rules reproduced: unknown keys are ignored; ``null`` leaves a non-pointer field at
its zero value and sets a pointer, slice or map to nil; keys of inline embedded structs
(``Volume.VolumeSource``, ``Probe.ProbeHandler``) are promoted; ``[]byte`` comes from base64. Types
with their own ``UnmarshalJSON`` (listed in the layout) have hand-written counterparts here, and
:func:`check_handlers` proves at load time that none is missing.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from rollouts.release.podhash.gotime import TimeError, unmarshal_time
from rollouts.release.podhash.layout import INT_RANGES, GoType, Layout
from rollouts.release.podhash.quantity import QuantityError, unmarshal_quantity


class DecodeError(ValueError):
    """The template does not decode into the Go type (the API server would have refused it)."""


def _int_or_string(raw: Any) -> dict[str, Any]:
    """``intstr.IntOrString.UnmarshalJSON``: a JSON string → Type 1, anything else → Type 0."""
    if raw is None:
        return {}
    if isinstance(raw, str):
        return {"Type": 1, "StrVal": raw}
    if isinstance(raw, int) and not isinstance(raw, bool) and -(2**31) <= raw < 2**31:
        return {"Type": 0, "IntVal": raw}
    raise DecodeError(f"int-or-string {raw!r} is neither a string nor an int32")


def _go_json_string(s: str) -> str:
    """A string as Go's ``encoding/json`` encoder writes it (HTML-safe escapes, ``\\u00XX``)."""
    out = ['"']
    for ch in s:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in "\n\r\t":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch])
        elif code < 0x20 or ch in "<>&\u2028\u2029":
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def go_json_compact(value: Any) -> str:
    """Compact JSON of an already-parsed value, spelled as the API server (Go) writes it.

    ``FieldsV1.UnmarshalJSON`` keeps the raw bytes of its value, which the Python side no longer
    has; re-encoding in key order with Go's escaping gives the same bytes for what Go encoders
    produce (floats are written with ``repr``, exact for the usual short forms).
    """
    if isinstance(value, dict):
        return "{" + ",".join(_go_json_string(k) + ":" + go_json_compact(v) for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(go_json_compact(v) for v in value) + "]"
    if isinstance(value, str):
        return _go_json_string(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def _fields_v1(raw: Any) -> dict[str, Any]:
    """``metav1.FieldsV1.UnmarshalJSON``: the raw JSON bytes of the value, nil for ``null``."""
    if raw is None:
        return {}
    return {"Raw": list(go_json_compact(raw).encode("utf-8"))}


#: Hand-written ``UnmarshalJSON`` counterparts, by layout type id.
CUSTOM_DECODERS: dict[str, Callable[[Any], Any]] = {
    "k8s.io/apimachinery/pkg/api/resource.Quantity": unmarshal_quantity,
    "k8s.io/apimachinery/pkg/apis/meta/v1.Time": unmarshal_time,
    "k8s.io/apimachinery/pkg/util/intstr.IntOrString": _int_or_string,
    "k8s.io/apimachinery/pkg/apis/meta/v1.FieldsV1": _fields_v1,
}


def decoded_custom_types(layout: Layout) -> set[str]:
    """Ids of types with their own JSON decoding that JSON decoding of the root can reach."""
    found: set[str] = set()
    seen: set[str] = set()

    def visit(t: GoType) -> None:
        if t.id in seen:
            return
        seen.add(t.id)
        if t.json_unmarshaler or (t.text_unmarshaler and t.kind != "struct"):
            found.add(t.id)
            return
        for child in (t.elem, t.key):
            if child is not None:
                visit(child)
        for f in t.fields:
            if f.json or f.inline:
                visit(f.type)

    visit(layout.root)
    return found


def check_handlers(layout: Layout) -> None:
    """Fail loudly if the layout needs a custom decoder this module does not have."""
    missing = decoded_custom_types(layout) - set(CUSTOM_DECODERS)
    if missing:
        raise DecodeError(f"no Python UnmarshalJSON counterpart for {sorted(missing)}: add one to CUSTOM_DECODERS")


def _zero(t: GoType) -> Any:
    if t.kind in ("ptr", "slice", "map"):
        return None
    if t.kind == "struct":
        return {}
    if t.kind == "string":
        return ""
    return False if t.kind == "bool" else 0


def decode(t: GoType, raw: Any, path: str) -> Any:
    """Decode parsed JSON ``raw`` into a Go value of type ``t`` (``path`` names it in errors)."""
    custom = CUSTOM_DECODERS.get(t.id)
    if custom is not None:
        try:
            return custom(raw)
        except (QuantityError, TimeError, DecodeError) as e:
            raise DecodeError(f"{path}: {e}") from None
    if raw is None:
        return _zero(t)
    kind = t.kind
    if kind == "ptr":
        return decode(t.elem, raw, path)  # type: ignore[arg-type]
    if kind == "struct":
        return _decode_struct(t, raw, path)
    if kind == "slice":
        return _decode_slice(t, raw, path)
    if kind == "map":
        if not isinstance(raw, dict):
            raise DecodeError(f"{path}: expected a JSON object for {t.name}, got {type(raw).__name__}")
        elem = t.elem
        return {k: decode(elem, v, f"{path}[{k}]") for k, v in raw.items()}  # type: ignore[arg-type]
    return _decode_scalar(t, raw, path)


def _decode_struct(t: GoType, raw: Any, path: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise DecodeError(f"{path}: expected a JSON object for {t.name}, got {type(raw).__name__}")
    out: dict[str, Any] = {}
    routes = t.json_routes
    for key, value in raw.items():
        route = routes.get(key)
        if route is None:
            continue
        holder = out
        for inline in route[:-1]:  # promoted through inline embedded structs
            holder = holder.setdefault(inline.name, {})
        field = route[-1]
        holder[field.name] = decode(field.type, value, f"{path}.{key}" if path else key)
    return out


def _decode_slice(t: GoType, raw: Any, path: str) -> list[Any]:
    elem = t.elem
    assert elem is not None
    if elem.kind == "uint8" and isinstance(raw, str):
        try:
            return list(base64.b64decode(raw, validate=True))
        except binascii.Error:
            raise DecodeError(f"{path}: {raw!r} is not base64 for {t.name}") from None
    if not isinstance(raw, list):
        raise DecodeError(f"{path}: expected a JSON array for {t.name}, got {type(raw).__name__}")
    return [decode(elem, v, f"{path}[{i}]") for i, v in enumerate(raw)]


def _decode_scalar(t: GoType, raw: Any, path: str) -> Any:
    kind = t.kind
    if kind == "string":
        if isinstance(raw, str):
            return raw
    elif kind == "bool":
        if isinstance(raw, bool):
            return raw
    elif isinstance(raw, int) and not isinstance(raw, bool):
        low, high = INT_RANGES[kind]
        if low <= raw <= high:
            return raw
        raise DecodeError(f"{path}: {raw} overflows {t.name}")
    raise DecodeError(f"{path}: {raw!r} is not a valid {t.name}")
