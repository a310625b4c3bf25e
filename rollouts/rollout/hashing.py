"""Rollout plan hash — annotation ``rollouts.kruise.io/hash`` (rollout-lifecycle.md §3.1).

The hash decides whether a strategy edit is a "plan change" (which recalculates the current step).
Upstream hashes the Go ``encoding/json`` bytes of the strategy with pauses emptied and
failureThreshold removed, so that tuning pause durations / thresholds mid-release is *not* a plan
change. To interoperate with objects annotated by the Go controller we reproduce the encoding:
declared field order, omitempty rules, sorted map keys, compact, HTML-safe escaping.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from rollouts.api import keys
from rollouts.api.v1beta1.rollout import BlueGreenStrategy, CanaryStrategy, Rollout
from rollouts.api.wire import from_dict, go_dict, go_json_text
from rollouts.release.template_hash import compute_template_hash, safe_encode_string

__all__ = [
    "HASH_ANNOTATION",
    "rollout_plan_hash",
    "plan_hash",
    "go_json",
    "strategy_for_hash",
    "compute_template_hash",
    "safe_encode_hex",
]

HASH_ANNOTATION = keys.ROLLOUT_HASH_ANNOTATION

#: Go ``json.Marshal`` text of ordered JSON data (kept under this name for callers of this module).
go_json = go_json_text


def strategy_for_hash(
    strategy: Mapping[str, Any] | CanaryStrategy | BlueGreenStrategy, *, blue_green: bool = False
) -> dict[str, Any]:
    """The strategy as Go encodes it (declared field order, omitempty, sorted maps, unknown fields
    dropped: :func:`rollouts.api.wire.go_dict`), with ``failureThreshold`` dropped and every pause emptied.

    The field order and omitempty rules come from the model's declarations, the one place the
    schema is written down; a wire dict is decoded first (DecodeError names a malformed field).
    """
    model: CanaryStrategy | BlueGreenStrategy
    if isinstance(strategy, CanaryStrategy | BlueGreenStrategy):
        model = strategy
    elif blue_green:
        model = from_dict(BlueGreenStrategy, strategy)
    else:
        model = from_dict(CanaryStrategy, strategy)
    ordered = go_dict(model)
    ordered.pop("failureThreshold", None)
    for step in ordered.get("steps") or []:
        step["pause"] = {}  # pause is the last field of a step and always encoded: its position is kept
    return ordered


def safe_encode_hex(hex_digest: str) -> str:
    """SafeEncodeString applied to the hex digest (each hex char c → alphabet[ord(c) % 27])."""
    return safe_encode_string(hex_digest)


def plan_hash(rollout: Rollout) -> str:
    """Value of ``rollouts.kruise.io/hash`` for a Rollout model (64 chars of SAFE_ALPHABET)."""
    strategy = rollout.spec.strategy
    active: CanaryStrategy | BlueGreenStrategy = (
        strategy.blue_green if strategy.blue_green is not None else strategy.canary or CanaryStrategy()
    )
    digest = hashlib.sha256(go_json(strategy_for_hash(active)).encode()).hexdigest()
    return safe_encode_hex(digest)


def rollout_plan_hash(rollout: Mapping[str, Any] | Rollout) -> str:
    """:func:`plan_hash` of a v1beta1 Rollout wire dict (decoded here, at the edge) or model."""
    if isinstance(rollout, Rollout):
        return plan_hash(rollout)
    return plan_hash(from_dict(Rollout, {k: v for k, v in rollout.items() if k != "status"}))
