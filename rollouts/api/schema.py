"""OpenAPI v3 (structural) schemas generated from the attrs models — the CRDs' single source of truth.

Type → schema mapping (mirrors controller-gen):

=====================  ==================================================================
``str`` / ``bool``     ``{type: string}`` / ``{type: boolean}``
``int``                ``{type: integer}`` (+ ``format`` from the field, e.g. int32)
``IntOrString``        ``anyOf [integer, string]`` + ``x-kubernetes-int-or-string: true``
``dict[str, str]``     ``{type: object, additionalProperties: {type: string}}``
``RawObject``          ``{type: object, x-kubernetes-preserve-unknown-fields: true}``
``list[X]``            ``{type: array, items: <X>}``
``X | None``           same as ``X`` (optional = not in ``required``)
WireModel subclass     ``{type: object, properties, required}`` (+ class ``__schema_extra__``)
=====================  ==================================================================

Per-field ``schema`` metadata (``default``, ``enum``, ``maxItems``, ``pattern``, list-map markers...)
is merged on top, and ``doc`` becomes ``description``. Root objects get the usual ``apiVersion``,
``kind`` and an opaque ``metadata: {type: object}``.
"""

from __future__ import annotations

import typing
from typing import Any

from rollouts.api.intstr import IntOrString
from rollouts.api.wire import FieldInfo, is_model, unwrap_optional, wire_fields

_ROOT_DOCS = {
    "apiVersion": "APIVersion defines the versioned schema of this representation of an object.",
    "kind": "Kind is a string value representing the REST resource this object represents.",
}


def type_schema(tp: Any) -> dict[str, Any]:
    """Schema of a Python type used in the models."""
    inner, _ = unwrap_optional(tp)
    tp = inner
    if is_model(tp):
        return model_schema(tp)
    if tp is IntOrString:
        return {"anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": True}
    if tp is str:
        return {"type": "string"}
    if tp is bool:
        return {"type": "boolean"}
    if tp is int:
        return {"type": "integer"}
    origin = typing.get_origin(tp)
    if origin is list:
        (item,) = typing.get_args(tp)
        return {"type": "array", "items": type_schema(item)}
    if origin is dict:
        _, val = typing.get_args(tp)
        if val is Any:
            return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        return {"type": "object", "additionalProperties": type_schema(val)}
    raise TypeError(f"no schema mapping for {tp!r}")


def field_schema(f: FieldInfo) -> dict[str, Any]:
    out = type_schema(f.type)
    if f.meta.doc:
        out["description"] = f.meta.doc
    out.update(f.meta.schema)
    return out


def model_schema(cls: type) -> dict[str, Any]:
    """Object schema for a model class (properties in wire-name order; ``required`` sorted)."""
    props: dict[str, Any] = {}
    req: list[str] = []
    for f in wire_fields(cls):
        props[f.meta.name] = field_schema(f)
        if f.meta.required:
            req.append(f.meta.name)
    out: dict[str, Any] = {"type": "object", "properties": props}
    if req:
        out["required"] = sorted(req)
    out.update(getattr(cls, "__schema_extra__", {}))
    return out


def root_schema(cls: type, description: str) -> dict[str, Any]:
    """Schema of a top-level kind: apiVersion/kind/metadata plus the model's spec and status."""
    props: dict[str, Any] = {}
    for f in wire_fields(cls):
        name = f.meta.name
        if name in _ROOT_DOCS:
            props[name] = {"type": "string", "description": _ROOT_DOCS[name]}
        elif name == "metadata":
            props[name] = {"type": "object"}
        else:
            props[name] = field_schema(f)
    return {"type": "object", "description": description, "properties": props}
