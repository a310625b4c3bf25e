"""Canary / partition step machine (rollout-lifecycle.md §6.1, §6.2, §6.5, §6.6, §7).

One call runs one reconcile round of the ``InRolling`` "normal rolling" branch: it mutates the
sub-status dict (``status.canaryStatus``) and appends intended actions to a :class:`Round`. Each
round performs at most one state transition (plus the documented fall-throughs), because the
status write itself triggers the next reconcile; timed waits request a requeue instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import attrs

from rollouts.api import keys
from rollouts.release.plan import release_plan_hash
from rollouts.rollout import actions as act
from rollouts.rollout import model as m
from rollouts.rollout.conditions import set_progressing_message

#: Upstream's default recheck (traffic routing, finalising, initializing wait, inconsistent status).
DEFAULT_RECHECK_SECONDS = 3.0
#: The BatchRelease executor's requeue period; we poll the BR no faster than this.
BATCH_RELEASE_REQUEUE_SECONDS = 2.0


@attrs.define
class Round:
    """Accumulates the effects of one reconcile round."""

    actions: list[act.Action] = attrs.field(factory=list)
    #: Earliest requested recheck in seconds (``None``: rely on watch events).
    requeue_after: float | None = None

    def requeue(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        self.requeue_after = seconds if self.requeue_after is None else min(self.requeue_after, seconds)


def step_message(i: int, n: int, what: str) -> str:
    return f"Rollout is in step({i}/{n}), and {what}"


def batch_release_message(br: Mapping[str, Any]) -> str:
    """Sub-status message mirroring the BatchRelease ("BatchRelease is at state Ready, rollout-id X, step K")."""
    status = br.get("status") or {}
    cs = status.get("canaryStatus") or {}
    msg = (
        f"BatchRelease is at state {cs.get('batchState', '')}, "
        f"rollout-id {status.get('observedRolloutID', '')}, step {int(cs.get('currentBatch', 0)) + 1}"
    )
    if status.get("message"):
        msg += f", {status['message']}"
    return msg


def desired_batch_release(
    rollout: Mapping[str, Any], sub: Mapping[str, Any], rollback_in_batch: bool
) -> dict[str, Any]:
    """The BatchRelease the Rollout wants for its current step (§7); name == Rollout name."""
    meta = rollout.get("metadata") or {}
    canary = m.canary(rollout)
    extra = bool(canary.get("enableExtraWorkloadForCanary"))
    plan: dict[str, Any] = {
        "batches": [{"canaryReplicas": s.get("replicas")} for s in m.steps(rollout)],
        "batchPartition": int(sub.get("currentStepIndex", 1)) - 1,
        "rolloutID": sub.get("observedRolloutID", ""),
        "rollingStyle": "Canary" if extra else "Partition",
        "enableExtraWorkloadForCanary": extra,
    }
    if canary.get("failureThreshold") is not None:
        plan["failureThreshold"] = canary["failureThreshold"]
    if canary.get("patchPodTemplateMetadata") is not None:
        plan["patchPodTemplateMetadata"] = canary["patchPodTemplateMetadata"]
    body: dict[str, Any] = {
        "apiVersion": "rollouts.kruise.io/v1beta1",
        "kind": "BatchRelease",
        "metadata": {
            "name": meta.get("name"),
            "namespace": meta.get("namespace"),
            "ownerReferences": [
                {
                    "apiVersion": "rollouts.kruise.io/v1beta1",
                    "kind": "Rollout",
                    "name": meta.get("name"),
                    "uid": meta.get("uid"),
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {"workloadRef": dict(m.spec(rollout).get("workloadRef") or {}), "releasePlan": plan},
    }
    anns = (meta.get("annotations") or {}).get(keys.ROLLBACK_IN_BATCH_ANNOTATION)
    if rollback_in_batch and anns is not None:
        body["metadata"]["annotations"] = {keys.ROLLBACK_IN_BATCH_ANNOTATION: anns}
    return body


def _normalise(value: Any) -> Any:
    """Drop ``None``/empty entries so defaulted and omitted fields compare equal."""
    if isinstance(value, Mapping):
        return {k: _normalise(v) for k, v in value.items() if v not in (None, "", False, {}, [])}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return value


def batch_release_differs(observed: Mapping[str, Any], desired: Mapping[str, Any]) -> bool:
    obs_anns = (observed.get("metadata") or {}).get("annotations") or {}
    want_anns = (desired.get("metadata") or {}).get("annotations") or {}
    return _normalise(observed.get("spec")) != _normalise(desired.get("spec")) or obs_anns != want_anns


def batch_release_ready(br: Mapping[str, Any], step_index: int) -> bool:
    """The BR saw the latest plan, its generation, and the batch for this step is Ready (§6.2 StepUpgrade)."""
    meta = br.get("metadata") or {}
    status = br.get("status") or {}
    cs = status.get("canaryStatus") or {}
    plan = (br.get("spec") or {}).get("releasePlan") or {}
    return (
        status.get("observedReleasePlanHash") == release_plan_hash(plan)
        and int(meta.get("generation", 0)) == int(status.get("observedGeneration", -1))
        and cs.get("batchState") == "Ready"
        and int(cs.get("currentBatch", 0)) + 1 >= step_index
    )


def prologue(rollout: Mapping[str, Any], status: dict[str, Any], obs: m.Observation, rnd: Round, now: datetime) -> bool:
    """§6.1 steps 1–4; returns False when the round must stop here."""
    sub = status[m.SUB_STATUS]
    br = obs.batch_release
    if br is not None:
        cs = (br.get("status") or {}).get("canaryStatus") or {}
        sub["canaryReplicas"] = int(cs.get("updatedReplicas", 0))
        sub["canaryReadyReplicas"] = int(cs.get("updatedReadyReplicas", 0))
        sub["message"] = batch_release_message(br)
        plan_id = ((br.get("spec") or {}).get("releasePlan") or {}).get("rolloutID", "")
        if sub.get("observedRolloutID", "") != plan_id:
            rnd.actions.append(act.PatchBatchReleaseRolloutID(sub.get("observedRolloutID", "")))
    if not sub.get("podTemplateHash"):
        sub["podTemplateHash"] = obs.workload.pod_template_hash
    if do_step_jump(rollout, sub, obs.workload.replicas, now):
        return False
    steps = m.steps(rollout)
    index = int(sub.get("currentStepIndex", 1))
    current = steps[index - 1] if 1 <= index <= len(steps) else {}
    if m.has_traffic_routings(rollout) and not m.step_has_traffic(current):
        rnd.actions.append(act.FinaliseTrafficRouting())
        if not obs.traffic_done:
            rnd.requeue(DEFAULT_RECHECK_SECONDS)
            return False
    return True


def do_step_jump(rollout: Mapping[str, Any], sub: dict[str, Any], replicas: int, now: datetime) -> bool:
    """§6.6: honour a user-edited ``nextStepIndex``; True if a jump happened (round ends)."""
    steps = m.steps(rollout)
    n = len(steps)
    index = int(sub.get("currentStepIndex", 1))
    target = int(sub.get("nextStepIndex", m.natural_next(index, n)))
    if target == m.natural_next(index, n) or not 1 <= target <= n:
        return False
    sub["currentStepIndex"] = target
    sub["nextStepIndex"] = m.natural_next(target, n)
    same = m.step_replicas(steps[target - 1], replicas) == int(sub.get("canaryReplicas", 0))
    sub["currentStepState"] = m.STEP_TRAFFIC_ROUTING if same else m.BEFORE_STEP_UPGRADE
    sub["lastUpdateTime"] = m.format_time(now)
    return True


def recalculate_target(
    rollout: Mapping[str, Any], batch_release: Mapping[str, Any] | None, index: int, replicas: int
) -> int:
    """§6.5 target step: first candidate (current index first) whose replicas ≥ what the BR released.

    Upstream quirk kept: if no step qualifies, the *last candidate examined* wins (with the current
    index last in the list that is the second-to-last step).
    """
    steps = m.steps(rollout)
    if batch_release is None:
        return 1
    plan = (batch_release.get("spec") or {}).get("releasePlan") or {}
    batches = plan.get("batches") or []
    part = plan.get("batchPartition")
    part = 0 if part is None else int(part)
    current = m.step_replicas({"replicas": batches[part].get("canaryReplicas")}, replicas) if part < len(batches) else 0
    candidates = ([index] if 1 <= index <= len(steps) else []) + [i for i in range(1, len(steps) + 1) if i != index]
    for i in candidates:
        if m.step_replicas(steps[i - 1], replicas) >= current:
            return i
    return candidates[-1] if candidates else 1


def recalculate_step(
    rollout: Mapping[str, Any], sub: dict[str, Any], obs: m.Observation, hash_value: str, now: datetime
) -> None:
    """§6.5: after a plan change pick the step matching what the BatchRelease already released."""
    index = int(sub.get("currentStepIndex", 1))
    target = recalculate_target(rollout, obs.batch_release, index, obs.workload.replicas)
    sub["lastUpdateTime"] = m.format_time(now)
    sub["rolloutHash"] = hash_value
    if target == int(sub.get("nextStepIndex", 0)):
        sub["currentStepState"] = m.STEP_READY
        return
    sub["nextStepIndex"] = target
    do_step_jump(rollout, sub, obs.workload.replicas, now)


def run_step(rollout: Mapping[str, Any], status: dict[str, Any], obs: m.Observation, rnd: Round, now: datetime) -> None:
    """§6.2 per-state behaviour for one round (after the prologue)."""
    sub = status[m.SUB_STATUS]
    steps = m.steps(rollout)
    n = len(steps)
    index = int(sub.get("currentStepIndex", 1))
    step = steps[index - 1] if 1 <= index <= n else {}
    state = sub.get("currentStepState")
    if state == m.BEFORE_STEP_UPGRADE:
        if m.step_has_traffic(step) and not _stable_service_ready(rollout, sub, obs, rnd, index, step):
            return
        sub["currentStepState"] = m.STEP_UPGRADE
        sub["lastUpdateTime"] = m.format_time(now)
        if not m.step_has_traffic(step):
            return
        state = m.STEP_UPGRADE
    if state == m.STEP_UPGRADE:
        _step_upgrade(rollout, status, obs, rnd, now, index, n, step)
    elif state == m.STEP_TRAFFIC_ROUTING:
        if m.step_has_traffic(step):
            rnd.actions.append(act.DoTrafficRouting(index))
        if not m.step_has_traffic(step) or obs.traffic_done:
            sub["currentStepState"] = m.STEP_METRICS_ANALYSIS
            sub["lastUpdateTime"] = m.format_time(now)
        rnd.requeue(DEFAULT_RECHECK_SECONDS)
    elif state == m.STEP_METRICS_ANALYSIS:
        sub["currentStepState"] = m.STEP_PAUSED
    elif state == m.STEP_PAUSED:
        _step_paused(rollout, status, rnd, now, index, n, step)
    elif state == m.STEP_READY:
        if index < n:
            sub["currentStepIndex"] = index + 1
            sub["nextStepIndex"] = m.natural_next(index + 1, n)
            sub["currentStepState"] = m.BEFORE_STEP_UPGRADE
        else:
            sub["currentStepState"] = m.COMPLETED
        sub["lastUpdateTime"] = m.format_time(now)


def _stable_service_ready(
    rollout: Mapping[str, Any],
    sub: Mapping[str, Any],
    obs: m.Observation,
    rnd: Round,
    index: int,
    step: Mapping[str, Any],
) -> bool:
    """BeforeStepUpgrade for a traffic step: fix the stable Service selector first (§6.2).

    Partition style at full size restores the selector (ingress-nginx bug bypass: the stable
    backend must never become empty); step 1 pins it to the stable revision so new pods never get
    unrouted traffic. Returns False while the caller must wait.
    """
    canary = m.canary(rollout)
    wanted: list[act.Action] = []
    full = m.step_replicas(step, obs.workload.replicas) >= obs.workload.replicas
    if not m.uses_extra_workload(rollout) and full:
        wanted.append(act.RestoreStableService())
    if index == 1 and not canary.get("disableGenerateCanaryService") and m.has_traffic_routings(rollout):
        wanted.append(act.PatchStableService("pod-template-hash", str(sub.get("stableRevision", ""))))
    if not wanted:
        return True
    rnd.actions.extend(wanted)
    if not obs.stable_service_done:
        rnd.requeue(DEFAULT_RECHECK_SECONDS)
        return False
    return True


def _step_upgrade(
    rollout: Mapping[str, Any],
    status: dict[str, Any],
    obs: m.Observation,
    rnd: Round,
    now: datetime,
    index: int,
    n: int,
    step: Mapping[str, Any],
) -> None:
    sub = status[m.SUB_STATUS]
    set_progressing_message(status, step_message(index, n, "upgrade workload to new version"), now)
    # §6: the annotation travels to the BatchRelease only while the workload is rolling back.
    desired = desired_batch_release(rollout, sub, obs.rollback_in_batch and obs.workload.in_rollback)
    br = obs.batch_release
    if br is None:
        rnd.actions.append(act.CreateBatchRelease(desired))
        return
    if batch_release_differs(br, desired):
        rnd.actions.append(act.UpdateBatchRelease(desired))
        return
    if not batch_release_ready(br, index):
        rnd.requeue(BATCH_RELEASE_REQUEUE_SECONDS)
        return
    rnd.actions.append(act.EmitEvent("Progressing", f"upgrade step({index}) canary pods with new versions done"))
    sub["podTemplateHash"] = obs.workload.pod_template_hash
    sub["lastUpdateTime"] = m.format_time(now)
    partition_style = not m.uses_extra_workload(rollout)
    if partition_style and m.step_replicas(step, obs.workload.replicas) >= obs.workload.replicas:
        sub["currentStepState"] = m.STEP_METRICS_ANALYSIS
    else:
        sub["currentStepState"] = m.STEP_TRAFFIC_ROUTING


def _step_paused(
    rollout: Mapping[str, Any],
    status: dict[str, Any],
    rnd: Round,
    now: datetime,
    index: int,
    n: int,
    step: Mapping[str, Any],
) -> None:
    sub = status[m.SUB_STATUS]
    full_release = index == n and step.get("replicas") == "100%"
    duration = (step.get("pause") or {}).get("duration")
    if not full_release:
        if duration is None:
            set_progressing_message(
                status, step_message(index, n, "you need manually confirm to enter the next step"), now
            )
            return
        what = f"wait duration({duration} seconds) to enter the next step"
        set_progressing_message(status, step_message(index, n, what), now)
        since = m.parse_time(sub.get("lastUpdateTime")) or now
        due = since + timedelta(seconds=int(duration))
        if now < due:
            rnd.requeue((due - now).total_seconds())
            return
    sub["lastUpdateTime"] = m.format_time(now)
    sub["currentStepState"] = m.STEP_READY
