"""BatchRelease executor (batch-release.md §2.1, §2.4, §2.5): status sync, then phase steps.

:func:`execute` mutates a copy of the status and returns a requeue delay; the control plane (one per
workload kind) performs the workload I/O. Each call makes at most one transition; :func:`run` chains
calls while they leave the workload alone, and the caller writes the status once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from rollouts.api import keys
from rollouts.api.common import RolloutCondition
from rollouts.api.decode import batch_release as batch_release_model
from rollouts.api.edit import set_field, with_fields
from rollouts.api.v1beta1.batchrelease import BatchRelease, BatchReleaseCanaryStatus, BatchReleaseStatus
from rollouts.api.wire import to_dict
from rollouts.controllers.batchrelease import brstatus
from rollouts.controllers.batchrelease import deployment as dep
from rollouts.controllers.batchrelease.brstatus import Status, model_of, write_back
from rollouts.release.plan import plan_hash
from runtime.kube.errors import BadRequest

#: Upstream requeues 2 s after most transitions.
REQUEUE_SECONDS = 2.0
#: Cycle guard for :func:`run`: Upgrading → Verifying → Ready → next batch's Upgrading is the longest
#: chain that does not write the workload.
MAX_CHAINED_TRANSITIONS = 6

PREPARING, PROGRESSING, FINALIZING, COMPLETED = "Preparing", "Progressing", "Finalizing", "Completed"
UPGRADING, VERIFYING, READY = "Upgrading", "Verifying", "Ready"


def initial_status() -> dict[str, Any]:
    """§2.1 reset status, as the wire dict (``brstatus.initial`` is the model)."""
    return to_dict(brstatus.initial())


def _fmt(now: datetime) -> str:
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")


def sync_status(
    batch_release: BatchRelease | Mapping[str, Any], status: Status, event: str, info: dep.WorkloadInfo | None,
    *, plan_digest: str | None = None,
) -> bool:
    """§2.4 ordered cases; returns False when this round must stop after writing the status.

    ``status`` is the :class:`BatchReleaseStatus` this reconcile edits and writes (a wire dict is
    decoded and edited in place); the BatchRelease is read through its model (a wire dict is decoded
    here, at the edge). ``plan_digest`` is the plan's hash when the caller has it already
    (``decode.SpecCache.plan_hash``); it is computed otherwise."""
    st = model_of(status)
    go_on = _sync(batch_release_model(batch_release), st, event, info, plan_digest)
    write_back(st, status)
    return go_on


def _sync(
    br: BatchRelease, st: BatchReleaseStatus, event: str, info: dep.WorkloadInfo | None, plan_digest: str | None,
) -> bool:
    plan = br.spec.release_plan
    phase = st.phase
    cs = brstatus.canary(st)
    new_hash = plan_digest if plan_digest is not None else plan_hash(plan)
    if phase == COMPLETED:
        set_field(st, "message", "release plan has been completed, will do nothing")
        return False
    if _deleting(br) or phase == FINALIZING or plan.batch_partition is None:
        set_field(st, "phase", FINALIZING)
    elif new_hash != st.observed_release_plan_hash and phase == PROGRESSING:
        same_id = plan.rollout_id == st.observed_rollout_id
        set_field(cs, "current_batch", min(plan.batch_partition or 0, len(plan.batches) - 1) if same_id else 0)
        brstatus.to_upgrading(cs)
        set_field(st, "observed_rollout_id", plan.rollout_id)
        set_field(st, "observed_release_plan_hash", new_hash)
    elif cs.current_batch >= len(plan.batches) and phase == PROGRESSING:
        brstatus.reset(st)
    elif event == dep.HAS_GONE and phase not in ("Initial", ""):
        set_field(st, "phase", FINALIZING)
    elif event == dep.REPLICAS_CHANGED and phase == PROGRESSING:
        brstatus.to_upgrading(cs)
        set_field(st, "observed_workload_replicas", info.replicas if info else -1)
    elif event == dep.POD_TEMPLATE_CHANGED and phase == PROGRESSING:
        set_field(st, "update_revision", info.update_revision if info else "")
        return False
    elif event == dep.STILL_RECONCILING:
        return False
    # Case 10 runs after case 3 in the same round: upstream stops after a status change and meets
    # case 10 in the next round; we go on acting in this one, and must not run a batch of a rollback
    # whose no-need-update pods are not counted yet (it would label pods that never changed).
    if st.phase == PROGRESSING and _rollback_in_batch_pending(br, st, event):
        if not _restart_for_rollback(br, st, info):
            return False
    # After a reset ``cs`` is the replaced canary status (as the dict code's was): the counts below
    # are not written in that round.
    if info is not None:
        set_field(cs, "updated_replicas", info.updated)
        set_field(cs, "updated_ready_replicas", info.updated_ready)
    if not st.observed_release_plan_hash:
        set_field(st, "observed_release_plan_hash", new_hash)
    set_field(st, "observed_rollout_id", plan.rollout_id)
    return True


def _deleting(br: BatchRelease) -> bool:
    return bool(br.metadata.get("deletionTimestamp"))


def _rollback_in_batch_pending(br: BatchRelease, st: BatchReleaseStatus, event: str) -> bool:
    """§2.4 case 10: a rollback in batches whose no-need-update pods are not counted yet."""
    return (event == dep.ROLLBACK_IN_BATCH or keys.ROLLBACK_IN_BATCH_ANNOTATION in br.annotations) \
        and brstatus.no_need_update(st) is None


def _restart_for_rollback(br: BatchRelease, st: BatchReleaseStatus, info: dep.WorkloadInfo | None) -> bool:
    """Back to Preparing so Initialize counts the no-need-update pods; False: wait (stop this round).

    Only once the workload really is back on one revision and the Rollout asked for it: before
    that, a rollback seen by the BatchRelease alone is the Rollout's to handle (quick rollback)."""
    annotated = keys.ROLLBACK_IN_BATCH_ANNOTATION in br.annotations
    if info is None or not annotated or info.stable_revision != info.update_revision:
        return False
    cs = brstatus.canary(st)
    set_field(st, "phase", PREPARING)
    brstatus.to_upgrading(cs)
    set_field(st, "update_revision", info.update_revision)
    return True


async def execute(
    batch_release: BatchRelease | Mapping[str, Any], status: Status, control: dep.DeploymentControl,
    now: datetime,
) -> float | None:
    """§2.5: one step of the phase machine; returns a requeue delay (None: wait for events)."""
    st = model_of(status)
    requeue = await _execute(batch_release_model(batch_release), st, control, now)
    write_back(st, status)
    return requeue


async def _execute(
    br: BatchRelease, st: BatchReleaseStatus, control: dep.DeploymentControl, now: datetime
) -> float | None:
    phase = st.phase or PREPARING
    if phase not in (PREPARING, PROGRESSING, FINALIZING, COMPLETED):
        phase = PREPARING
    if phase == PREPARING:
        if await control.initialize(st):
            set_field(st, "phase", PROGRESSING)
        return REQUEUE_SECONDS
    if phase == FINALIZING:
        if await control.finalize():
            set_field(st, "phase", COMPLETED)
        return REQUEUE_SECONDS
    if phase == PROGRESSING:
        return await _progressing(br, st, control, now)
    return None


async def run(
    batch_release: BatchRelease | Mapping[str, Any], status: Status, control: dep.DeploymentControl,
    now: datetime, workload_writes: Callable[[], int],
) -> float | None:
    """:func:`execute` back to back until a transition writes the workload or a state repeats.

    Why: one transition per reconcile meant a status write and a watch round trip between
    "upgrade done" and "verify", and between "ready" and the next batch. A transition that did not
    write the workload leaves every input of the next one as it was, so the next one may run at once.
    One that did write must end the chain: the next check would read the workload from before the
    write (a batch that looks not ready, a partition that looks unapplied). A state seen before in
    this chain ends it too, and so does falling back from Verifying or Ready to Upgrading: that
    transition carries the reason the batch is not ready, which must be written, not spun past.
    ``workload_writes`` counts the control plane's workload writes so far (Pod label patches excluded).
    """
    br = batch_release_model(batch_release)  # decoded once for the whole chain
    st = model_of(status)
    seen: set[tuple[Any, ...]] = set()
    requeue: float | None = None
    for _ in range(MAX_CHAINED_TRANSITIONS):
        key = _state_key(st)
        seen.add(key)
        before = workload_writes()
        requeue = await _execute(br, st, control, now)
        after = _state_key(st)
        if workload_writes() != before or after in seen or _fell_back(key, after):
            break
    write_back(st, status)
    return requeue


def _state_key(st: BatchReleaseStatus) -> tuple[Any, ...]:
    cs = st.canary_status
    return st.phase, cs.current_batch, cs.batch_state


def _fell_back(before: tuple[Any, ...], after: tuple[Any, ...]) -> bool:
    """Verifying/Ready → Upgrading of the same batch: the batch is not ready, and the status now
    says why. Chaining on (Upgrading → Verifying) would drop that message before it is written."""
    return before[:2] == after[:2] and before[2] in (VERIFYING, READY) and after[2] == UPGRADING


async def _progressing(
    br: BatchRelease, st: BatchReleaseStatus, control: dep.DeploymentControl, now: datetime
) -> float | None:
    cs = brstatus.canary(st)
    state = cs.batch_state or UPGRADING
    if state == UPGRADING:
        try:
            upgraded = await control.upgrade_batch(st)
        except BadRequest as e:
            _set_progressing(st, e.message or str(e), now)
            return REQUEUE_SECONDS
        if upgraded:
            brstatus.drop(st, "message")
            _set_conditions(st, brstatus.drop_progressing(st))
            set_field(cs, "batch_state", VERIFYING)
        return REQUEUE_SECONDS
    reason = await control.batch_ready(st)
    if state == VERIFYING:
        if reason is None:
            set_field(cs, "batch_ready_time", _fmt(now))
            set_field(cs, "batch_state", READY)
            brstatus.drop(st, "message")
        else:
            set_field(cs, "batch_state", UPGRADING)
            set_field(st, "message", f"batch {cs.current_batch + 1} is not ready: {reason}")
        return REQUEUE_SECONDS
    if state == READY:
        return _ready(br, st, cs, reason)
    set_field(cs, "batch_state", UPGRADING)
    return REQUEUE_SECONDS


def _ready(br: BatchRelease, st: BatchReleaseStatus, cs: BatchReleaseCanaryStatus, reason: str | None) -> float | None:
    """A Ready batch: back to Upgrading when it stopped being ready, else on to the next allowed batch."""
    current = cs.current_batch
    if reason is not None:
        brstatus.to_upgrading(cs)
        set_field(st, "message", f"batch {current + 1} is not ready: {reason}")
        return REQUEUE_SECONDS
    partition = br.spec.release_plan.batch_partition
    if partition is None or partition > current:
        set_field(cs, "current_batch", current + 1)
        set_field(cs, "batch_state", UPGRADING)
        brstatus.drop(cs, "batch_ready_time")
        return REQUEUE_SECONDS
    return None


def _set_conditions(st: BatchReleaseStatus, conditions: list[RolloutCondition]) -> None:
    """``status["conditions"] = conditions``, or no key at all when there are none."""
    if conditions:
        set_field(st, "conditions", conditions)
    else:
        brstatus.drop(st, "conditions")


def _set_progressing(st: BatchReleaseStatus, message: str, now: datetime) -> None:
    """§2.5: a BadRequest from UpgradeBatch becomes condition Progressing/InRolling and the message."""
    conditions = brstatus.drop_progressing(st)
    conditions.append(with_fields(RolloutCondition, type="Progressing", status="True", reason="InRolling",
                                  message=message, last_transition_time=_fmt(now), last_update_time=_fmt(now)))
    set_field(st, "conditions", conditions)
    set_field(st, "message", message)
