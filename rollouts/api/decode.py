"""The edge where the domain decodes our own objects: a wire dict becomes its v1beta1 model once.

Controllers and the pure machines hold whatever the informer gave them (a dict) or what an earlier
step already decoded (a model); these helpers make both the model without decoding twice. Decoding
is strict: DecodeError names the malformed field path (docs/domain.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rollouts.api.v1beta1.batchrelease import BatchRelease
from rollouts.api.v1beta1.rollout import Rollout
from rollouts.api.wire import from_dict

__all__ = ["as_batch_release", "as_rollout"]


def as_rollout(rollout: Rollout | Mapping[str, Any]) -> Rollout:
    """A v1beta1 Rollout model; a wire dict is decoded without its ``status`` (the Rollout machine edits
    the status dict; decoding it would be wasted work)."""
    if isinstance(rollout, Rollout):
        return rollout
    return from_dict(Rollout, {k: v for k, v in rollout.items() if k != "status"})


def as_batch_release(br: BatchRelease | Mapping[str, Any] | None) -> BatchRelease | None:
    """A v1beta1 BatchRelease model (``None`` stays ``None``); a model passes through."""
    if br is None or isinstance(br, BatchRelease):
        return br
    return from_dict(BatchRelease, br)


def batch_release(br: BatchRelease | Mapping[str, Any]) -> BatchRelease:
    """:func:`as_batch_release` for a BatchRelease that is there (attrs converter of the controls)."""
    out = as_batch_release(br)
    assert out is not None
    return out
