"""The edge where the domain decodes our own objects: a wire dict becomes its v1beta1 model once.

Controllers and the pure machines hold whatever the informer gave them (a dict) or what an earlier
step already decoded (a model); these helpers make both the model without decoding twice. Decoding
is strict: DecodeError names the malformed field path (docs/domain.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rollouts.api.v1beta1.batchrelease import BatchRelease, BatchReleaseStatus
from rollouts.api.v1beta1.rollout import Rollout, RolloutStatus
from rollouts.api.wire import from_dict, wire_fields

__all__ = ["EXECUTOR_STATUS_FIELDS", "as_batch_release", "as_rollout", "batch_release_for_executor", "rollout_phase"]

#: The stored-status fields the BatchRelease controls read from the model (``deployment.workload_info``,
#: ``observed_workload_replicas``, ``stored_revisions``, the native DaemonSet partition annotation).
#: ``tests/unit/api/test_decode_executor.py`` checks that the batchrelease package reads no other.
EXECUTOR_STATUS_FIELDS = frozenset({"observed_workload_replicas", "update_revision", "stable_revision"})
_EXECUTOR_STATUS_WIRE = tuple(f.meta.name for f in wire_fields(BatchReleaseStatus) if f.attr in EXECUTOR_STATUS_FIELDS)


def as_rollout(rollout: Rollout | Mapping[str, Any]) -> Rollout:
    """A v1beta1 Rollout model; a wire dict is decoded without its ``status`` (the Rollout machine edits
    the status dict; decoding it would be wasted work)."""
    if isinstance(rollout, Rollout):
        return rollout
    return from_dict(Rollout, {k: v for k, v in rollout.items() if k != "status"})


def rollout_phase(rollout: Rollout | Mapping[str, Any]) -> str:
    """``status.phase`` of a Rollout ("" when it has no status yet). A wire dict has only its status
    decoded: :func:`as_rollout` leaves the status out, and the webhooks need just this field of it."""
    if isinstance(rollout, Rollout):
        return rollout.status.phase if rollout.status is not None else ""
    status = rollout.get("status")
    return "" if status is None else from_dict(RolloutStatus, status).phase


def as_batch_release(br: BatchRelease | Mapping[str, Any] | None) -> BatchRelease | None:
    """A v1beta1 BatchRelease model (``None`` stays ``None``); a model passes through."""
    if br is None or isinstance(br, BatchRelease):
        return br
    return from_dict(BatchRelease, br)


def batch_release_for_executor(br: BatchRelease | Mapping[str, Any]) -> BatchRelease:
    """The BatchRelease reconciler's edge: metadata and spec decoded in full, of the stored status only
    :data:`EXECUTOR_STATUS_FIELDS` (presence kept); a model passes through.

    Why: the executor edits and writes the status as the wire dict it copied from the informer, so
    the model's status is read for three fields only; decoding the rest (conditions, canary status)
    was two thirds of the decode and made the executor round 1.5-1.8x the dict code
    (bench/RESULTS.md). The returned model's ``status`` is therefore partial: encode the dict, not it.
    """
    if isinstance(br, BatchRelease):
        return br
    body = {k: v for k, v in br.items() if k != "status"}
    stored = br.get("status")
    if isinstance(stored, dict):
        body["status"] = {k: stored[k] for k in _EXECUTOR_STATUS_WIRE if k in stored}
    elif stored is not None:
        body["status"] = stored  # let the decoder name the malformed value
    return from_dict(BatchRelease, body)


def batch_release(br: BatchRelease | Mapping[str, Any]) -> BatchRelease:
    """:func:`as_batch_release` for a BatchRelease that is there (attrs converter of the controls)."""
    out = as_batch_release(br)
    assert out is not None
    return out
