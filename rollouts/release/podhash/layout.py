"""The Go type layout of ``v1.PodTemplateSpec``, loaded from the generated ``layout.json``.

Why a generated file: Kubernetes' pod-template hash is FNV-32a over a go-spew dump of the Go value,
so every field of every nested type, in declaration order, with its Go type name (``v1.Probe``,
``resource.int64Amount``) and even unexported internals (``resource.Quantity``'s ``i``/``d``/``s``,
``time.Time``'s ``wall``/``ext``/``loc``) is part of the hashed text. ``tools/podhash`` reads all
of that with reflect from the pinned k8s.io/api module (``make hash-layout``); this module only
compiles the JSON into :class:`GoType` objects and precomputes what is constant per type: the dump
of its zero value, which is most of any real template's dump.

Vocabulary: a *type id* is the layout's unique key (``k8s.io/api/core/v1.Probe``, ``*bool``);
``GoType.name`` is what go-spew prints (``v1.Probe``: package name, not path).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

import attrs

LAYOUT_FILE = "layout.json"

#: Kinds the renderer implements; the generator refuses any other (floats, arrays, interfaces, ...).
SCALAR_KINDS = frozenset({"bool", "string", "int", "int8", "int16", "int32", "int64",
                          "uint", "uint8", "uint16", "uint32", "uint64"})
INT_RANGES = {
    "int8": (-(2**7), 2**7 - 1), "int16": (-(2**15), 2**15 - 1), "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1), "int": (-(2**63), 2**63 - 1),
    "uint8": (0, 2**8 - 1), "uint16": (0, 2**16 - 1), "uint32": (0, 2**32 - 1),
    "uint64": (0, 2**64 - 1), "uint": (0, 2**64 - 1),
}


@attrs.define(eq=False)
class GoField:
    """One struct field: ``label`` is the ``Name:`` prefix spew writes before the value."""

    name: str
    type_id: str
    json: str
    inline: bool
    label: str
    index: int
    type: GoType = attrs.field(default=None, repr=False)  # set right after all types exist
    #: ``label`` followed by the zero value's typed dump: what an absent field prints.
    zero_item: str = ""


@attrs.define(eq=False)
class GoType:
    """One Go type of the layout, with its zero-value dump precomputed.

    ``zero_typed`` is the dump of the zero value as a struct field prints it (type in parentheses
    first), ``zero_untyped`` as a slice element or map value prints it. ``zero_ptr_depth`` is the
    smallest depth, relative to where the value is printed, at which printing the zero value calls
    go-spew's ``formatPtr`` (which forgets remembered pointers at that depth or deeper); ``None``
    when it never does. ``json_routes`` maps a JSON key to the path of Go field names that
    ``encoding/json`` decodes it into (more than one field when promoted from an inline struct).
    """

    id: str
    kind: str
    name: str
    elem: GoType | None = None
    key: GoType | None = None
    fields: list[GoField] = attrs.field(factory=list)
    json_unmarshaler: bool = False
    text_unmarshaler: bool = False
    json_routes: dict[str, tuple[GoField, ...]] = attrs.field(factory=dict)
    zero_typed: str = ""
    zero_untyped: str = ""
    zero_ptr_depth: int | None = None
    paren_name: str = ""
    #: Render plans of this struct by the tuple of fields present (see ``spew.Printer._struct``).
    plans: dict[tuple[str, ...], list[str | GoField]] = attrs.field(factory=dict, repr=False)


@attrs.frozen
class Layout:
    """All types reachable from the root, by id, and the generator's header (module versions)."""

    header: Mapping[str, str]
    root: GoType
    types: Mapping[str, GoType]

    def type(self, type_id: str) -> GoType:
        return self.types[type_id]


def _compile_types(raw_types: Mapping[str, Any]) -> dict[str, GoType]:
    types: dict[str, GoType] = {}
    for tid, t in raw_types.items():
        fields = [GoField(name=f["name"], type_id=f["type"], json=f.get("json", ""), inline=bool(f.get("inline")),
                          label=f["name"] + ":", index=i) for i, f in enumerate(t.get("fields", []))]
        types[tid] = GoType(id=tid, kind=t["kind"], name=t["name"], fields=fields,
                            json_unmarshaler=bool(t.get("json_unmarshaler")),
                            text_unmarshaler=bool(t.get("text_unmarshaler")), paren_name="(" + t["name"] + ")")
    for tid, t in raw_types.items():
        gt = types[tid]
        gt.elem = types[t["elem"]] if "elem" in t else None
        gt.key = types[t["key"]] if "key" in t else None
        for f in gt.fields:
            f.type = types[f.type_id]
    return types


def _check_supported(t: GoType) -> None:
    """Refuse shapes the value model cannot represent (``None`` must mean a nil pointer)."""
    if t.kind == "ptr" and t.elem is not None and t.elem.kind in ("ptr", "slice", "map"):
        raise ValueError(f"layout type {t.id}: pointer to {t.elem.kind} is not supported by the value model")
    if t.kind == "map" and t.key is not None and t.key.kind != "string":
        raise ValueError(f"layout type {t.id}: map keys of kind {t.key.kind} are not supported (string only)")
    if t.kind not in SCALAR_KINDS | {"ptr", "slice", "map", "struct"}:
        raise ValueError(f"layout type {t.id}: kind {t.kind} is not supported")


def _json_routes(t: GoType) -> dict[str, tuple[GoField, ...]]:
    """encoding/json's field resolution: own fields first, then promoted ones from inline structs."""
    routes: dict[str, tuple[GoField, ...]] = {}
    for f in t.fields:
        if f.json:
            routes[f.json] = (f,)
    for f in t.fields:
        if f.inline:
            for key, path in _json_routes(f.type).items():
                if key in routes and len(routes[key]) == len(path) + 1:
                    raise ValueError(f"layout type {t.id}: JSON key {key!r} is ambiguous between inline fields")
                routes.setdefault(key, (f, *path))
    return routes


def _zero(t: GoType, memo: dict[str, tuple[str, int | None]]) -> tuple[str, int | None]:
    """Untyped zero dump of ``t`` and the relative depth of its first ``formatPtr`` call."""
    if t.id in memo:
        return memo[t.id]
    if t.kind == "ptr" or t.kind in ("slice", "map"):
        result: tuple[str, int | None] = ("<nil>", 0 if t.kind == "ptr" else None)
    elif t.kind == "string":
        result = ("", None)
    elif t.kind == "bool":
        result = ("false", None)
    elif t.kind in SCALAR_KINDS:
        result = ("0", None)
    else:
        parts, depths = [], []
        for f in t.fields:
            body, d = _zero(f.type, memo)
            parts.append(f.label + f.type.paren_name + body)
            if d is not None:
                depths.append(d + 1)
        result = ("{" + " ".join(parts) + "}", min(depths) if depths else None)
    memo[t.id] = result
    return result


def compile_layout(raw: Mapping[str, Any]) -> Layout:
    """Compile a parsed ``layout.json`` (see module doc)."""
    types = _compile_types(raw["types"])
    memo: dict[str, tuple[str, int | None]] = {}
    for t in types.values():
        _check_supported(t)
        if t.kind == "struct":
            t.json_routes = _json_routes(t)
        body, t.zero_ptr_depth = _zero(t, memo)
        t.zero_untyped = body
        t.zero_typed = t.paren_name + body
    for t in types.values():
        for f in t.fields:
            f.zero_item = f.label + f.type.zero_typed
    return Layout(header=dict(raw["header"]), root=types[raw["root"]], types=types)


@cache
def load_layout() -> Layout:
    """The committed layout (parsed once per process)."""
    text = resources.files(__package__).joinpath(LAYOUT_FILE).read_text(encoding="utf-8")
    return compile_layout(json.loads(text))
