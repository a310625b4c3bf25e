"""The dict-based plan hash as it was before issue 10 (hand-written Go field tables), kept verbatim as
an oracle: the model-based hash in ``rollouts.rollout.hashing`` must give the same bytes.

Original docstring: Rollout plan hash — annotation ``rollouts.kruise.io/hash`` (rollout-lifecycle.md §3.1).

The hash decides whether a strategy edit is a "plan change" (which recalculates the current step).
Upstream hashes the Go ``encoding/json`` bytes of the strategy with pauses emptied and
failureThreshold removed, so that tuning pause durations / thresholds mid-release is *not* a plan
change. To interoperate with objects annotated by the Go controller we reproduce the encoding:
declared field order, omitempty rules, sorted map keys, compact, HTML-safe escaping.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from rollouts.api import keys
from rollouts.release.template_hash import compute_template_hash, safe_encode_string

__all__ = [
    "HASH_ANNOTATION",
    "rollout_plan_hash",
    "go_json",
    "strategy_for_hash",
    "compute_template_hash",
    "safe_encode_hex",
]

HASH_ANNOTATION = keys.ROLLOUT_HASH_ANNOTATION

# Field specs: (json name, kind) where kind is one of
#   "req"  always emitted (non-omitempty),
#   "ptr"  emitted unless None (pointer / omitempty pointer),
#   "zero" omitempty on a value type: omitted when None, "", 0, False, [] or {},
#   or a nested spec tuple ("obj"/"list", fields) for structs.
_HTTP_HEADER = (("name", "req"), ("value", "req"))
_HEADER_FILTER = (("set", ("list", _HTTP_HEADER)), ("add", ("list", _HTTP_HEADER)), ("remove", "zero"))
_HEADER_MATCH = (("type", "ptr"), ("name", "req"), ("value", "req"))
_PATH_MATCH = (("type", "ptr"), ("value", "ptr"))
_MATCH = (
    ("path", ("obj", _PATH_MATCH)),
    ("headers", ("list", _HEADER_MATCH)),
    ("queryParams", ("list", _HEADER_MATCH)),
)
_PAUSE = (("duration", "ptr"),)
_STEP = (
    ("traffic", "ptr"),
    ("requestHeaderModifier", ("obj", _HEADER_FILTER)),
    ("matches", ("list", _MATCH)),
    ("replicas", "ptr"),
    ("pause", ("always", _PAUSE)),
)
_TRAFFIC_ROUTING = (
    ("service", "req"),
    ("gracePeriodSeconds", "zero"),
    ("ingress", ("obj", (("classType", "zero"), ("name", "req")))),
    ("gateway", ("obj", (("httpRouteName", "ptr"),))),
    ("customNetworkRefs", ("list", (("apiVersion", "req"), ("kind", "req"), ("name", "req")))),
)
_POD_TEMPLATE_METADATA = (("annotations", "zero"), ("labels", "zero"))
CANARY_FIELDS = (
    ("steps", ("list", _STEP)),
    ("trafficRoutings", ("list", _TRAFFIC_ROUTING)),
    ("failureThreshold", "ptr"),
    ("patchPodTemplateMetadata", ("obj", _POD_TEMPLATE_METADATA)),
    ("enableExtraWorkloadForCanary", "zero"),
    ("trafficRoutingRef", "zero"),
    ("disableGenerateCanaryService", "zero"),
)
BLUE_GREEN_FIELDS = (
    ("steps", ("list", _STEP)),
    ("trafficRoutings", ("list", _TRAFFIC_ROUTING)),
    ("failureThreshold", "ptr"),
    ("trafficRoutingRef", "zero"),
    ("disableGenerateCanaryService", "zero"),
)


def _is_zero(value: Any) -> bool:
    return value is None or value is False or value == 0 and not isinstance(value, str) or value in ("", [], {})


def _order(value: Any, fields: tuple) -> dict[str, Any]:
    """Re-build ``value`` (a dict) in Go field order applying omitempty; unknown keys are dropped."""
    out: dict[str, Any] = {}
    src = value or {}
    for name, kind in fields:
        v = src.get(name)
        if kind == "req":
            out[name] = v if v is not None else ""
        elif kind == "ptr":
            if v is not None:
                out[name] = v
        elif kind == "zero":
            if not _is_zero(v):
                out[name] = v
        elif kind[0] == "always":
            out[name] = _order(v, kind[1])
        elif kind[0] == "obj":
            if v is not None:
                out[name] = _order(v, kind[1])
        elif kind[0] == "list":
            if v:
                out[name] = [_order(item, kind[1]) for item in v]
    return out


def go_json(value: Any) -> str:
    """Go ``json.Marshal`` text for already-ordered data: compact, sorted map keys, HTML-safe."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def strategy_for_hash(strategy: Mapping[str, Any], *, blue_green: bool = False) -> dict[str, Any]:
    """The strategy with ``failureThreshold`` dropped and every pause emptied, in Go field order."""
    data = dict(strategy)
    data["failureThreshold"] = None
    data["steps"] = [{**step, "pause": {}} for step in (data.get("steps") or [])]
    ordered = _order(data, BLUE_GREEN_FIELDS if blue_green else CANARY_FIELDS)
    meta = ordered.get("patchPodTemplateMetadata")
    if meta:
        for key in ("annotations", "labels"):
            if key in meta:
                meta[key] = dict(sorted(meta[key].items()))
    return ordered


def safe_encode_hex(hex_digest: str) -> str:
    """SafeEncodeString applied to the hex digest (each hex char c → alphabet[ord(c) % 27])."""
    return safe_encode_string(hex_digest)


def rollout_plan_hash(rollout: Mapping[str, Any]) -> str:
    """Value of ``rollouts.kruise.io/hash`` for a v1beta1 Rollout dict (64 chars of SAFE_ALPHABET)."""
    strategy = (rollout.get("spec") or {}).get("strategy") or {}
    if strategy.get("blueGreen") is not None:
        ordered = strategy_for_hash(strategy["blueGreen"], blue_green=True)
    else:
        ordered = strategy_for_hash(strategy.get("canary") or {})
    digest = hashlib.sha256(go_json(ordered).encode()).hexdigest()
    return safe_encode_hex(digest)
