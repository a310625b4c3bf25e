"""A checker for Kubernetes *structural* schemas (apiextensions "Specifying a structural schema").

Returns human-readable violations; an empty list means the schema is structural. Implements the
rules our generator could break: a non-empty ``type`` on every node (except int-or-string nodes and
preserve-unknown-fields nodes), ``anyOf`` only as the int-or-string pattern, ``items`` for arrays,
``properties`` xor ``additionalProperties``, ``required`` naming real properties, list-map keys that
are required or defaulted scalars, set items scalar, defaults of the declared type.
"""

from __future__ import annotations

from typing import Any

TYPES = {"object", "array", "string", "integer", "number", "boolean"}
SCALARS = {"string", "integer", "number", "boolean"}
_PY_TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "object": dict, "array": list}


def violations(node: Any, path: str = "") -> list[str]:
    if not isinstance(node, dict):
        return [f"{path}: schema node must be an object"]
    out: list[str] = []
    int_or_string = node.get("x-kubernetes-int-or-string") is True
    preserve = node.get("x-kubernetes-preserve-unknown-fields") is True
    if int_or_string:
        if "type" in node:
            out.append(f"{path}: int-or-string node must not declare a type")
        if node.get("anyOf") not in (None, [{"type": "integer"}, {"type": "string"}]):
            out.append(f"{path}: int-or-string anyOf must be exactly [integer, string]")
    elif node.get("type") not in TYPES:
        if not (preserve and "type" not in node):
            out.append(f"{path}: missing or invalid type {node.get('type')!r}")
    elif "anyOf" in node or "oneOf" in node or "allOf" in node:
        out.append(f"{path}: anyOf/oneOf/allOf only allowed for int-or-string")
    out += _check_object(node, path)
    out += _check_array(node, path)
    if "default" in node and node.get("type") in _PY_TYPES:
        expected = _PY_TYPES[node["type"]]
        is_bool = isinstance(node["default"], bool)
        if not isinstance(node["default"], expected) or (node["type"] == "integer" and is_bool):
            out.append(f"{path}: default {node['default']!r} is not a {node['type']}")
        if "enum" in node and node["default"] not in node["enum"]:
            out.append(f"{path}: default {node['default']!r} not in enum")
    return out


def _check_object(node: dict, path: str) -> list[str]:
    out: list[str] = []
    props = node.get("properties")
    if props is not None and "additionalProperties" in node:
        out.append(f"{path}: properties and additionalProperties are mutually exclusive")
    if props is not None and node.get("type") != "object":
        out.append(f"{path}: properties on a non-object")
    for name in node.get("required", []):
        if props is None or name not in props:
            out.append(f"{path}: required {name!r} is not a property")
    for name, child in (props or {}).items():
        out += violations(child, f"{path}.{name}")
    if isinstance(node.get("additionalProperties"), dict):
        out += violations(node["additionalProperties"], f"{path}[*]")
    return out


def _check_array(node: dict, path: str) -> list[str]:
    if node.get("type") != "array":
        return []
    items = node.get("items")
    if not isinstance(items, dict):
        return [f"{path}: array without items schema"]
    out = violations(items, f"{path}[]")
    list_type = node.get("x-kubernetes-list-type")
    if list_type == "set" and items.get("type") not in SCALARS:
        out.append(f"{path}: set items must be scalar")
    if list_type == "map":
        keys = node.get("x-kubernetes-list-map-keys") or []
        if not keys:
            out.append(f"{path}: list-map without keys")
        for key in keys:
            prop = (items.get("properties") or {}).get(key)
            if prop is None or prop.get("type") not in SCALARS:
                out.append(f"{path}: list-map key {key!r} must be a scalar property")
            elif key not in items.get("required", []) and "default" not in prop:
                out.append(f"{path}: list-map key {key!r} must be required or defaulted")
    return out
