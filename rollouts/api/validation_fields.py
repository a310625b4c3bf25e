"""Fields a Rollout does not have — named, with where they probably belong.

Why this exists: hand-written YAML goes wrong by indentation more often than by value. The seed's
A/B example (seeds/004) puts ``apiVersion/kind/name`` beside an empty ``workloadRef:`` instead of under
it, ``trafficRoutings`` under ``strategy`` instead of ``strategy.canary``, and writes a header match
with ``key:`` instead of ``name:``. The API server alone answers such a Rollout with ``strict decoding
error: unknown field "spec.objectRef.apiVersion", ...`` (``kubectl apply`` asks for strict field
validation) or silently drops the fields (``--validate=false``, older clients) and then complains
about something else. Neither says what to write instead.

So the v1alpha1 Rollout CRD keeps unknown fields at the nodes where such mistakes land
(``rollouts.api.crdgen.KEEP_UNKNOWN_FIELDS``) and the validating webhook explains them here:
every key the model does not know is reported with the most likely intended place, found by

1. a known other spelling (``key`` → ``name`` in a header match; ``traffic`` ↔ ``weight`` between
   the versions; ``workloadRef`` at the top of a v1alpha1 spec);
2. the same key one or two levels *down* (``objectRef.apiVersion`` → ``objectRef.workloadRef.apiVersion``;
   ``strategy.trafficRoutings`` → ``strategy.canary.trafficRoutings``), preferring a branch the
   object already has;
3. the same key one or two levels *up* (indented too deep);
4. a close spelling among the keys allowed there (``trafficRouting`` → ``trafficRoutings``);

and otherwise with the list of keys allowed there. Fields inside free-form objects
(``x-kubernetes-preserve-unknown-fields`` in the model itself, string maps) are never reported.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from functools import cache
from typing import Any, Final

import attrs

from rollouts.api import v1alpha1 as a
from rollouts.api import v1beta1 as b
from rollouts.api.field_errors import FieldError, required, unknown
from rollouts.api.schema import root_schema

__all__ = ["unknown_field_errors", "header_name_errors"]

#: (key written, key meant, why) — spellings that a close-match search would not find.
#: A rename applies only where the meant key is a field and is not already set.
RENAMES: Final[tuple[tuple[str, str, str], ...]] = (
    ("key", "name", "a header match is written name, type and value"),
    ("traffic", "weight", 'v1alpha1 steps give the traffic share as weight: 5 (traffic: "5%" is v1beta1)'),
    ("weight", "traffic", 'v1beta1 steps give the traffic share as traffic: "5%" (weight: 5 is v1alpha1)'),
    ("header", "headers", "headers is a list of {name, type, value}"),
)
#: How far down or up to look for the same key (two levels cover objectRef.workloadRef and
#: strategy.canary; further finds unrelated fields with common names such as ``name``).
SEARCH_DEPTH: Final = 2


@attrs.frozen
class _Node:
    """One object in the document being walked: its wire path, schema and value."""

    path: str
    schema: dict[str, Any]
    value: dict[str, Any]


@cache
def _spec_schema(cls: type) -> dict[str, Any]:
    return root_schema(cls, "")["properties"]["spec"]


def _props(schema: dict[str, Any]) -> dict[str, Any]:
    return schema.get("properties") or {}


def _closed(schema: dict[str, Any]) -> bool:
    """An object whose keys are exactly its ``properties`` (not a map, not free-form)."""
    return (schema.get("type") == "object" and "properties" in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields") and "additionalProperties" not in schema)


_Found = tuple[_Node, tuple[_Node, ...]]


def _walk(value: Any, schema: dict[str, Any], path: str, up: tuple[_Node, ...]) -> Iterator[_Found]:
    """Every closed object of ``value`` with its ancestors (innermost last)."""
    if isinstance(value, dict) and _closed(schema):
        node = _Node(path, schema, value)
        yield node, up
        for key, sub in _props(schema).items():
            if key in value:
                yield from _walk(value[key], sub, f"{path}.{key}", (*up, node))
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            yield from _walk(item, schema["items"], f"{path}[{i}]", up)


def _below(node: _Node, key: str) -> list[str]:
    """Paths under ``node`` (objects only, up to SEARCH_DEPTH) where ``key`` is a field; present ones first."""
    found: list[tuple[bool, str]] = []
    frontier: list[tuple[str, dict[str, Any], Any]] = [(node.path, node.schema, node.value)]
    for _ in range(SEARCH_DEPTH):
        nxt = []
        for path, schema, value in frontier:
            for child, sub in _props(schema).items():
                if sub.get("type") != "object" or not _props(sub):
                    continue
                here = isinstance(value, dict) and isinstance(value.get(child), dict)
                if key in _props(sub):
                    found.append((not here, f"{path}.{child}.{key}"))
                nxt.append((f"{path}.{child}", sub, value.get(child) if here else None))
        frontier = nxt
    return [p for _, p in sorted(found)]


def _above(up: tuple[_Node, ...], key: str) -> str | None:
    for anc in reversed(up[-SEARCH_DEPTH:]):
        if key in _props(anc.schema):
            return f"{anc.path}.{key}"
    return None


@attrs.frozen
class _Hint:
    """Where an unknown key probably belongs: ``guess`` ("did you mean ...?"), ``fix`` (what to do),
    and for an indentation fix the child object it belongs under (``under``), so that several keys
    bound for the same place share one instruction."""

    guess: str
    fix: str
    under: str = ""


def _hint(node: _Node, up: tuple[_Node, ...], key: str) -> _Hint:
    """Where ``key`` (unknown at ``node``) was probably meant to go, and how to get it there."""
    allowed = list(_props(node.schema))
    for written, meant, why in RENAMES:
        if key == written and meant in allowed and meant not in node.value:
            return _Hint(f"did you mean {node.path}.{meant}?", f"rename {key} to {meant}: {why}")
    if below := _below(node, key):
        under = below[0].removeprefix(node.path + ".").rsplit(".", 1)[0]
        return _Hint(f"did you mean {' or '.join(below)}?", "", under)
    if (above := _above(up, key)) is not None:
        return _Hint(f"did you mean {above}?", f"{key} is indented too deep; move it there")
    if close := difflib.get_close_matches(key, allowed, n=1, cutoff=0.75):
        return _Hint(f"did you mean {node.path}.{close[0]}?", f"rename {key} to {close[0]}")
    return _Hint("", f"remove it; the fields of {node.path} are {', '.join(allowed)}")


def _errors(found: list[tuple[_Node, str, _Hint]]) -> list[FieldError]:
    """One error per unknown key; keys of one object bound for the same child share the instruction
    ("indent apiVersion/kind/name under workloadRef"), which is the one thing the user has to do."""
    together: dict[tuple[str, str], list[str]] = {}
    for node, key, hint in found:
        if hint.under:
            together.setdefault((node.path, hint.under), []).append(key)
    out = []
    for node, key, hint in found:
        fix = hint.fix
        if hint.under:
            fix = f"indent {'/'.join(together[(node.path, hint.under)])} under {hint.under}"
        out.append(unknown(f"{node.path}.{key}", f"{hint.guess} {fix}".strip()))
    return out


def unknown_field_errors(obj: dict[str, Any]) -> list[FieldError]:
    """Every key of ``spec`` the Rollout model (of the object's version) does not have, with a fix."""
    cls = a.Rollout if str(obj.get("apiVersion", "")).endswith("/v1alpha1") else b.Rollout
    found = [(node, key, _hint(node, up, key))
             for node, up in _walk(obj.get("spec"), _spec_schema(cls), "spec", ())
             for key in node.value if key not in _props(node.schema)]
    return _errors(found)


def header_name_errors(obj: dict[str, Any]) -> list[FieldError]:
    """A v1alpha1 header match without ``name`` (its CRD leaves ``name`` to us, see the module doc)."""
    errs: list[FieldError] = []
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    for node, _ in _walk(spec, _spec_schema(a.Rollout), "spec", ()):
        # With ``key:`` written instead, unknown_field_errors already says to rename it.
        if node.path.rsplit(".", 1)[-1].startswith("headers[") and not {"name", "key"} & node.value.keys():
            errs.append(required(f"{node.path}.name", "a header match needs the header name; add name: "
                                                      "<header>, e.g. name: user-agent"))
    return errs
