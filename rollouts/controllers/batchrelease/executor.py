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
from rollouts.api.decode import batch_release as batch_release_model
from rollouts.api.v1beta1.batchrelease import BatchRelease
from rollouts.controllers.batchrelease import deployment as dep
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
    """§2.1 reset status."""
    return {
        "phase": PREPARING,
        "stableRevision": "",
        "updateRevision": "",
        "observedReleasePlanHash": "",
        "observedWorkloadReplicas": -1,
        "canaryStatus": {"currentBatch": 0},
    }


def _fmt(now: datetime) -> str:
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")


def sync_status(
    batch_release: BatchRelease | Mapping[str, Any], status: dict[str, Any], event: str, info: dep.WorkloadInfo | None,
    *, plan_digest: str | None = None,
) -> bool:
    """§2.4 ordered cases; returns False when this round must stop after writing the status.

    ``status`` is the status wire dict this reconcile edits and writes; the BatchRelease itself is read
    through its model (a wire dict is decoded here, at the edge). ``plan_digest`` is the plan's hash
    when the caller has it already (``decode.SpecCache.plan_hash``); it is computed otherwise."""
    br = batch_release_model(batch_release)
    plan = br.spec.release_plan
    phase = status.get("phase")
    cs = status.setdefault("canaryStatus", {})
    new_hash = plan_digest if plan_digest is not None else plan_hash(plan)
    if phase == COMPLETED:
        status["message"] = "release plan has been completed, will do nothing"
        return False
    if _deleting(br) or phase == FINALIZING or plan.batch_partition is None:
        status["phase"] = FINALIZING
    elif new_hash != status.get("observedReleasePlanHash") and phase == PROGRESSING:
        same_id = plan.rollout_id == status.get("observedRolloutID", "")
        cs["currentBatch"] = min(plan.batch_partition or 0, len(plan.batches) - 1) if same_id else 0
        cs.pop("batchReadyTime", None)
        cs["batchState"] = UPGRADING
        status["observedRolloutID"] = plan.rollout_id
        status["observedReleasePlanHash"] = new_hash
    elif int(cs.get("currentBatch", 0)) >= len(plan.batches) and phase == PROGRESSING:
        status.clear()
        status.update(initial_status())
    elif event == dep.HAS_GONE and phase not in ("Initial", "", None):
        status["phase"] = FINALIZING
    elif event == dep.REPLICAS_CHANGED and phase == PROGRESSING:
        cs.pop("batchReadyTime", None)
        cs["batchState"] = UPGRADING
        status["observedWorkloadReplicas"] = info.replicas if info else -1
    elif event == dep.POD_TEMPLATE_CHANGED and phase == PROGRESSING:
        status["updateRevision"] = info.update_revision if info else ""
        return False
    elif event == dep.STILL_RECONCILING:
        return False
    # Case 10 runs after case 3 in the same round: upstream stops after a status change and meets
    # case 10 in the next round; we go on acting in this one, and must not run a batch of a rollback
    # whose no-need-update pods are not counted yet (it would label pods that never changed).
    if status.get("phase") == PROGRESSING and _rollback_in_batch_pending(br, cs, event):
        if not _restart_for_rollback(br, status, info):
            return False
    if info is not None:
        cs["updatedReplicas"] = info.updated
        cs["updatedReadyReplicas"] = info.updated_ready
    if not status.get("observedReleasePlanHash"):
        status["observedReleasePlanHash"] = new_hash
    status["observedRolloutID"] = plan.rollout_id
    return True


def _deleting(br: BatchRelease) -> bool:
    return bool(br.metadata.get("deletionTimestamp"))


def _rollback_in_batch_pending(br: BatchRelease, cs: Mapping[str, Any], event: str) -> bool:
    """§2.4 case 10: a rollback in batches whose no-need-update pods are not counted yet."""
    return (event == dep.ROLLBACK_IN_BATCH or keys.ROLLBACK_IN_BATCH_ANNOTATION in br.annotations) \
        and cs.get("noNeedUpdateReplicas") is None


def _restart_for_rollback(br: BatchRelease, status: dict[str, Any], info: dep.WorkloadInfo | None) -> bool:
    """Back to Preparing so Initialize counts the no-need-update pods; False: wait (stop this round).

    Only once the workload really is back on one revision and the Rollout asked for it: before
    that, a rollback seen by the BatchRelease alone is the Rollout's to handle (quick rollback)."""
    annotated = keys.ROLLBACK_IN_BATCH_ANNOTATION in br.annotations
    if info is None or not annotated or info.stable_revision != info.update_revision:
        return False
    cs = status.setdefault("canaryStatus", {})
    status["phase"] = PREPARING
    cs.pop("batchReadyTime", None)
    cs["batchState"] = UPGRADING
    status["updateRevision"] = info.update_revision
    return True


async def execute(
    batch_release: BatchRelease | Mapping[str, Any], status: dict[str, Any], control: dep.DeploymentControl,
    now: datetime,
) -> float | None:
    """§2.5: one step of the phase machine; returns a requeue delay (None: wait for events)."""
    br = batch_release_model(batch_release)
    phase = status.get("phase") or PREPARING
    if phase not in (PREPARING, PROGRESSING, FINALIZING, COMPLETED):
        phase = PREPARING
    if phase == PREPARING:
        if await control.initialize(status):
            status["phase"] = PROGRESSING
        return REQUEUE_SECONDS
    if phase == FINALIZING:
        if await control.finalize():
            status["phase"] = COMPLETED
        return REQUEUE_SECONDS
    if phase == PROGRESSING:
        return await _progressing(br, status, control, now)
    return None


async def run(
    batch_release: BatchRelease | Mapping[str, Any], status: dict[str, Any], control: dep.DeploymentControl,
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
    seen: set[tuple[Any, ...]] = set()
    requeue: float | None = None
    for _ in range(MAX_CHAINED_TRANSITIONS):
        key = _state_key(status)
        seen.add(key)
        before = workload_writes()
        requeue = await execute(br, status, control, now)
        after = _state_key(status)
        if workload_writes() != before or after in seen or _fell_back(key, after):
            break
    return requeue


def _state_key(status: Mapping[str, Any]) -> tuple[Any, ...]:
    cs = status.get("canaryStatus") or {}
    return status.get("phase"), cs.get("currentBatch"), cs.get("batchState")


def _fell_back(before: tuple[Any, ...], after: tuple[Any, ...]) -> bool:
    """Verifying/Ready → Upgrading of the same batch: the batch is not ready, and the status now
    says why. Chaining on (Upgrading → Verifying) would drop that message before it is written."""
    return before[:2] == after[:2] and before[2] in (VERIFYING, READY) and after[2] == UPGRADING


async def _progressing(
    br: BatchRelease, status: dict[str, Any], control: dep.DeploymentControl, now: datetime
) -> float | None:
    cs = status.setdefault("canaryStatus", {})
    state = cs.get("batchState") or UPGRADING
    plan = br.spec.release_plan
    if state == UPGRADING:
        try:
            upgraded = await control.upgrade_batch(status)
        except BadRequest as e:
            _set_progressing(status, e.message or str(e), now)
            return REQUEUE_SECONDS
        if upgraded:
            status.pop("message", None)
            status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != "Progressing"]
            if not status["conditions"]:
                status.pop("conditions")
            cs["batchState"] = VERIFYING
        return REQUEUE_SECONDS
    reason = await control.batch_ready(status)
    current = int(cs.get("currentBatch", 0))
    if state == VERIFYING:
        if reason is None:
            cs["batchReadyTime"] = _fmt(now)
            cs["batchState"] = READY
            status.pop("message", None)
        else:
            cs["batchState"] = UPGRADING
            status["message"] = f"batch {current + 1} is not ready: {reason}"
        return REQUEUE_SECONDS
    if state == READY:
        if reason is not None:
            cs.pop("batchReadyTime", None)
            cs["batchState"] = UPGRADING
            status["message"] = f"batch {current + 1} is not ready: {reason}"
            return REQUEUE_SECONDS
        partition = plan.batch_partition
        if partition is None or partition > current:
            cs["currentBatch"] = current + 1
            cs["batchState"] = UPGRADING
            cs.pop("batchReadyTime", None)
            return REQUEUE_SECONDS
        return None
    cs["batchState"] = UPGRADING
    return REQUEUE_SECONDS


def _set_progressing(status: dict[str, Any], message: str, now: datetime) -> None:
    """§2.5: a BadRequest from UpgradeBatch becomes condition Progressing/InRolling and the message."""
    conditions = [c for c in status.get("conditions") or [] if c.get("type") != "Progressing"]
    conditions.append({"type": "Progressing", "status": "True", "reason": "InRolling", "message": message,
                       "lastTransitionTime": _fmt(now), "lastUpdateTime": _fmt(now)})
    status["conditions"] = conditions
    status["message"] = message
