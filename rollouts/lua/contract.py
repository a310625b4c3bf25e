"""What each script family receives as ``obj`` and what its result must look like.

Ingress scripts (lua-contract.md §4.2–§4.3) get the canary Ingress's annotations, the weight as a
*string* (``"-1"`` when the step has no traffic), the step's matches, the canary Service and the
request header modifier, and return the complete annotation map (string values only).

Custom-provider scripts (§5.2–§5.3) get ``data`` (the pre-release ``spec``/``labels``/
``annotations`` snapshot), ``canaryWeight``/``stableWeight`` as numbers (−1/101 without traffic),
matches, both Service names and the modifier, and return ``{spec, labels, annotations}``.

Empty values are left out of ``obj`` (Go's ``omitempty``): scripts nil-check them. Matches and the
modifier are passed in wire form (:func:`rollouts.api.dump` of the step's models).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from rollouts.lua.sandbox import LuaFailure, LuaResult

__all__ = ["CustomObjectState", "custom_input", "custom_output", "ingress_annotations", "ingress_input"]


def _put(obj: dict[str, Any], key: str, value: Any) -> None:
    if value:
        obj[key] = value


def ingress_input(
    *, annotations: Mapping[str, str] | None, weight: int | None, matches: Sequence[Mapping] | None,
    canary_service: str, header_modifier: Mapping | None = None,
) -> dict[str, Any]:
    """``obj`` of an Ingress script; ``weight`` None means the step sets no traffic (``"-1"``)."""
    obj: dict[str, Any] = {"weight": "-1" if weight is None else str(weight), "canaryService": canary_service}
    _put(obj, "annotations", dict(annotations or {}))
    _put(obj, "matches", [dict(m) for m in matches or []])
    _put(obj, "requestHeaderModifier", dict(header_modifier or {}))
    return obj


def ingress_annotations(result: LuaResult) -> dict[str, str] | LuaFailure:
    """The canary Ingress annotations an Ingress script returned (empty table → none)."""
    if isinstance(result, LuaFailure):
        return result
    return _string_map(result.value, "the returned annotations", script=result.script)


def _string_map(value: Any, what: str, *, script: str) -> dict[str, str] | LuaFailure:
    if value is None:
        return {}
    if not isinstance(value, dict):
        return LuaFailure(script, "output", f"{what} must be a table of strings, got {_kind(value)}")
    for key, item in value.items():
        if not isinstance(item, str):
            return LuaFailure(script, "output", f"{what}: value of {key!r} must be a string, got {_kind(item)}; "
                                                "wrap it in tostring()")
    return value


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    names: dict[type, str] = {dict: "table", list: "array", str: "string"}
    return names.get(type(value), type(value).__name__)


def custom_input(
    *, data: Mapping[str, Any], canary_weight: int | None, stable_service: str, canary_service: str,
    matches: Sequence[Mapping] | None = None, header_modifier: Mapping | None = None,
) -> dict[str, Any]:
    """``obj`` of a custom-provider script; ``canary_weight`` None means no traffic (−1, stable 101)."""
    weight = -1 if canary_weight is None else canary_weight
    snapshot: dict[str, Any] = {}
    for field in ("spec", "labels", "annotations"):
        _put(snapshot, field, data.get(field))
    obj: dict[str, Any] = {"data": snapshot, "canaryWeight": weight, "stableWeight": 100 - weight,
                           "stableService": stable_service, "canaryService": canary_service}
    _put(obj, "matches", [dict(m) for m in matches or []])
    _put(obj, "requestHeaderModifier", dict(header_modifier or {}))
    return obj


@attrs.frozen
class CustomObjectState:
    """What a custom-provider script wants the object to become (absent → None / empty)."""

    spec: Any
    labels: dict[str, str]
    annotations: dict[str, str]


def custom_output(result: LuaResult) -> CustomObjectState | LuaFailure:
    """Decode ``{spec, labels, annotations}``; labels and annotations must map strings to strings."""
    if isinstance(result, LuaFailure):
        return result
    value, script = result.value or {}, result.script
    if not isinstance(value, dict):
        return LuaFailure(script, "output", f"expected a table {{spec, labels, annotations}}, got {_kind(value)}")
    labels = _string_map(value.get("labels"), "labels", script=script)
    if isinstance(labels, LuaFailure):
        return labels
    annotations = _string_map(value.get("annotations"), "annotations", script=script)
    if isinstance(annotations, LuaFailure):
        return annotations
    return CustomObjectState(value.get("spec"), labels, annotations)
