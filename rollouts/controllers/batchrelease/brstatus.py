"""The BatchRelease status as the model the executor and the control planes edit (issue 10).

The reconciler decodes the stored status once (:func:`decode`), the executor and the controls edit
that :class:`BatchReleaseStatus` through ``rollouts.api.edit`` (so every key the dict code wrote,
zero values included, is still written), and the reconciler encodes it once for the one merge patch.
:func:`model_of` / :func:`dict_adapter` let the public entry points still take the wire dict
(the unit tables call them with dicts): decode, edit the model, encode back into the same dict.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from rollouts.api.edit import clear_field, edit_count, get_field, has_field, replace_fields, set_field, with_fields
from rollouts.api.v1beta1.batchrelease import BatchReleaseCanaryStatus, BatchReleaseStatus
from rollouts.api.wire import WireModel, from_dict, to_dict

Status = BatchReleaseStatus | dict[str, Any]
R = TypeVar("R")


def stored(br: Mapping[str, Any]) -> dict[str, Any]:
    """The BatchRelease's stored wire status, ``{}`` when absent: what the status patch is computed
    against (the reconciler's edge reads it here and nowhere else)."""
    status = br.get("status")
    return {} if status is None else status


def decode(wire: Mapping[str, Any]) -> BatchReleaseStatus:
    """The stored wire status as the model; a malformed field is named by the decoder
    (``status.<field>``: the reconcile stops there, as for a malformed spec)."""
    return from_dict(BatchReleaseStatus, wire)


def model_of(status: Status) -> BatchReleaseStatus:
    return status if isinstance(status, BatchReleaseStatus) else decode(status)  # a dict caller (unit tables)


def write_back(model: BatchReleaseStatus, status: Status) -> None:
    """Encode an edited model into the wire dict it was decoded from (in place), for dict callers."""
    if isinstance(status, dict):
        status.clear()
        status.update(to_dict(model))


def dict_adapter(fn: Callable[..., Awaitable[R]]) -> Callable[..., Awaitable[R]]:
    """A control-plane method ``(self, status, ...)`` that also accepts the wire dict (edited in place)."""
    @functools.wraps(fn)
    async def wrapper(self: Any, status: Status, *args: Any, **kwargs: Any) -> R:
        st = model_of(status)
        out = await fn(self, st, *args, **kwargs)
        write_back(st, status)
        return out
    return wrapper


def initial() -> BatchReleaseStatus:
    """§2.1 reset status: exactly the keys the dict literal had."""
    return with_fields(BatchReleaseStatus, phase="Preparing", stable_revision="", update_revision="",
                       observed_release_plan_hash="", observed_workload_replicas=-1,
                       canary_status=with_fields(BatchReleaseCanaryStatus, current_batch=0))


def reset(st: BatchReleaseStatus) -> None:
    """``status.clear(); status.update(initial_status())`` on the model."""
    replace_fields(st, initial())


def canary(st: BatchReleaseStatus) -> BatchReleaseCanaryStatus:
    """``status.setdefault("canaryStatus", {})``."""
    if not has_field(st, "canary_status"):
        set_field(st, "canary_status", with_fields(BatchReleaseCanaryStatus))
    return st.canary_status


def no_need_update(st: BatchReleaseStatus) -> int | None:
    """``canaryStatus.noNeedUpdateReplicas``, ``None`` when absent (the count is not taken yet)."""
    return get_field(st.canary_status, "no_need_update_replicas") if has_field(st, "canary_status") else None


def to_upgrading(cs: BatchReleaseCanaryStatus) -> None:
    """Back to (or on to) Upgrading: the batch is no longer ready."""
    drop(cs, "batch_ready_time")
    set_field(cs, "batch_state", "Upgrading")


def drop_progressing(st: BatchReleaseStatus) -> list[Any]:
    """The conditions without Progressing (the dict code's filter over ``status.get("conditions") or []``)."""
    return [c for c in st.conditions if c.type != "Progressing"]


def record_revisions(st: BatchReleaseStatus, stable: str, update: str, replicas: int) -> None:
    """Initialize's record of the workload it claimed (``stableRevision``, ``updateRevision``,
    ``observedWorkloadReplicas``; written even when empty or zero, as the dict code did)."""
    set_field(st, "stable_revision", stable)
    set_field(st, "update_revision", update)
    set_field(st, "observed_workload_replicas", replicas)


def start(st: BatchReleaseStatus) -> None:
    """``status.update(initial_status())``: a status without a phase starts as the §2.1 reset."""
    init = initial()
    for a in ("phase", "stable_revision", "update_revision", "observed_release_plan_hash",
              "observed_workload_replicas", "canary_status"):
        set_field(st, a, getattr(init, a))


def encode(st: BatchReleaseStatus, wire: dict[str, Any], mark: int) -> dict[str, Any]:
    """The wire form of ``st``, decoded from (or last written as) ``wire`` when ``edit_count()`` was
    ``mark``: ``wire`` itself when nothing was edited since (no encode; edits from other reconciles
    in between only cost an encode), else the encoding."""
    return wire if edit_count() == mark else to_dict(st)


def drop(obj: WireModel, attr: str) -> None:
    """``d.pop(key, None)``: ``clear_field`` only when the wire form holds the key (most transitions
    pop an absent ``batchReadyTime`` or ``message``; skipping them is a third of a chained round)."""
    if has_field(obj, attr):
        clear_field(obj, attr)
