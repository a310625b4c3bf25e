"""Canary / partition / blue-green step machine (rollout-lifecycle.md §6.1–§6.3, §6.5, §6.6, §7).

Blue-green Rollouts run here too, seen through ``rollouts.rollout.bluegreen`` (their strategy as
``canary``, their sub-status as ``canaryStatus``); the §6.3 differences ask ``is_blue_green``.

One call runs one reconcile round of the ``InRolling`` "normal rolling" branch: it reads the typed
Rollout and BatchRelease (decoded once at the edge, :mod:`rollouts.rollout.model`), edits the
sub-status model (``status.canaryStatus``, every write through :func:`rollouts.api.edit.set_field`)
and appends intended actions to a :class:`Round`. Each
round performs at most one state transition (plus the documented fall-throughs), because the
status write itself triggers the next reconcile; timed waits request a requeue instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import attrs

from rollouts.api import keys
from rollouts.api.edit import has_field, set_field
from rollouts.api.intstr import wire_value
from rollouts.api.status import CanaryStatus
from rollouts.api.v1beta1.batchrelease import BatchRelease, BatchReleaseStatus
from rollouts.api.v1beta1.rollout import CanaryStep, Rollout, RolloutStatus
from rollouts.api.wire import is_present, to_dict
from rollouts.release.batch import planned_batch_replicas
from rollouts.release.plan import plan_hash
from rollouts.rollout import actions as act
from rollouts.rollout import analysis, progress
from rollouts.rollout import model as m
from rollouts.rollout.bluegreen import is_blue_green
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


def batch_release_message(br: BatchRelease | Mapping[str, Any]) -> str:
    """Sub-status message mirroring the BatchRelease ("BatchRelease is at state Ready, rollout-id X, step K")."""
    model = m.as_batch_release(br)
    status = (model.status if model is not None else None) or BatchReleaseStatus()
    cs = status.canary_status
    msg = (
        f"BatchRelease is at state {cs.batch_state}, "
        f"rollout-id {status.observed_rollout_id}, step {cs.current_batch + 1}"
    )
    if status.message:
        msg += f", {status.message}"
    return msg


def step_index(sub: CanaryStatus) -> int:
    """``currentStepIndex``, 1 when the stored sub-status lacks it (as the dict code read it)."""
    return sub.current_step_index if has_field(sub, "current_step_index") else 1


def desired_batch_release(
    rollout: Rollout | Mapping[str, Any], sub: CanaryStatus | Mapping[str, Any], rollback_in_batch: bool
) -> dict[str, Any]:
    """The BatchRelease the Rollout wants for its current step (§7); name == Rollout name.

    Built as the wire dict the API server receives: values come from the typed Rollout, in the key
    order and presence the reconciler has always sent (the BatchRelease's stored form depends on it).
    ``sub``: the sub-status model, or its wire form (the unit tables).
    """
    if isinstance(sub, CanaryStatus):
        index, rollout_id = step_index(sub), sub.observed_rollout_id
    else:
        index, rollout_id = int(sub.get("currentStepIndex", 1)), sub.get("observedRolloutID", "")
    ro = m.as_rollout(rollout)
    meta = ro.metadata
    canary = m.canary(ro)
    extra = canary.enable_extra_workload_for_canary
    style = "BlueGreen" if is_blue_green(ro) else "Canary" if extra else "Partition"
    plan: dict[str, Any] = {
        "batches": [{"canaryReplicas": wire_value(s.replicas)} for s in canary.steps],
        "batchPartition": index - 1,
        "rolloutID": rollout_id,
        "rollingStyle": style,
        "enableExtraWorkloadForCanary": extra,
    }
    if canary.failure_threshold is not None:
        plan["failureThreshold"] = canary.failure_threshold.value
    if canary.patch_pod_template_metadata is not None:
        plan["patchPodTemplateMetadata"] = to_dict(canary.patch_pod_template_metadata)
    body: dict[str, Any] = {
        "apiVersion": "rollouts.kruise.io/v1beta1",
        "kind": "BatchRelease",
        "metadata": {
            "name": meta.get("name"),
            "namespace": meta.get("namespace"),
            "ownerReferences": [m.owner_reference(ro)],
        },
        "spec": {"workloadRef": to_dict(ro.spec.workload_ref), "releasePlan": plan},
    }
    anns = ro.annotations.get(keys.ROLLBACK_IN_BATCH_ANNOTATION)
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


def batch_release_differs(observed: BatchRelease | Mapping[str, Any], desired: Mapping[str, Any]) -> bool:
    """The stored BatchRelease (model, or its wire form at a test's edge) differs from the desired body."""
    if isinstance(observed, BatchRelease):
        obs_spec: Any = to_dict(observed.spec)
        obs_anns: Mapping[str, Any] = observed.annotations
    else:
        obs_spec, obs_anns = observed.get("spec"), (observed.get("metadata") or {}).get("annotations") or {}
    want_anns = (desired.get("metadata") or {}).get("annotations") or {}
    return _normalise(obs_spec) != _normalise(desired.get("spec")) or obs_anns != want_anns


def batch_release_ready(br: BatchRelease | Mapping[str, Any], step_index: int) -> bool:
    """The BR saw the latest plan, its generation, and the batch for this step is Ready (§6.2 StepUpgrade)."""
    model = m.as_batch_release(br)
    assert model is not None
    br, status = model, model.status
    if status is None:
        return False
    cs = status.canary_status
    return (
        status.observed_release_plan_hash == plan_hash(br.spec.release_plan)
        # an absent observedGeneration never matches (the BR controller has not written one yet)
        and is_present(status, "observed_generation")
        and int(br.metadata.get("generation", 0)) == status.observed_generation
        and cs.batch_state == "Ready"
        and cs.current_batch + 1 >= step_index
    )


#: The step of an index outside the steps (a hand-edited status): no replicas, no traffic, manual pause.
_NO_STEP = CanaryStep()


def prologue(rollout: Rollout, status: RolloutStatus, obs: m.Observation, rnd: Round, now: datetime) -> bool:
    """§6.1 steps 1–4; returns False when the round must stop here."""
    sub = status.canary_status
    assert sub is not None  # _in_rolling returned without one
    br = m.as_batch_release(obs.batch_release)
    if br is not None:
        cs = br.status.canary_status if br.status is not None else None
        set_field(sub, "canary_replicas", cs.updated_replicas if cs is not None else 0)
        set_field(sub, "canary_ready_replicas", cs.updated_ready_replicas if cs is not None else 0)
        set_field(sub, "message", batch_release_message(br))
        plan_id = br.spec.release_plan.rollout_id
        if sub.observed_rollout_id != plan_id:
            rnd.actions.append(act.PatchBatchReleaseRolloutID(sub.observed_rollout_id))
    if not sub.pod_template_hash:
        set_field(sub, "pod_template_hash", obs.workload.pod_template_hash)
    if do_step_jump(rollout, sub, obs.workload.replicas, now):
        return False
    steps = m.steps(rollout)
    index = step_index(sub)
    current = steps[index - 1] if 1 <= index <= len(steps) else _NO_STEP
    if m.has_traffic_routings(rollout) and not m.step_has_traffic(current):
        rnd.actions.append(act.FinaliseTrafficRouting())
        if not obs.traffic_done:
            rnd.requeue(DEFAULT_RECHECK_SECONDS)
            return False
    return True


def do_step_jump(rollout: Rollout, sub: CanaryStatus, replicas: int, now: datetime) -> bool:
    """§6.6: honour a user-edited ``nextStepIndex``; True if a jump happened (round ends)."""
    steps = m.steps(rollout)
    n = len(steps)
    index = step_index(sub)
    target = sub.next_step_index if has_field(sub, "next_step_index") else m.natural_next(index, n)
    if target == m.natural_next(index, n) or not 1 <= target <= n:
        return False
    set_field(sub, "current_step_index", target)
    set_field(sub, "next_step_index", m.natural_next(target, n))
    same = m.step_replicas(steps[target - 1], replicas) == sub.canary_replicas
    set_field(sub, "current_step_state", m.STEP_TRAFFIC_ROUTING if same else m.BEFORE_STEP_UPGRADE)
    set_field(sub, "last_update_time", m.format_time(now))
    return True


def recalculate_target(
    rollout: Rollout | Mapping[str, Any], batch_release: BatchRelease | Mapping[str, Any] | None, index: int,
    replicas: int,
) -> int:
    """§6.5 target step: first candidate (current index first) whose replicas ≥ what the BR released.

    Upstream quirk kept: if no step qualifies, the *last candidate examined* wins (with the current
    index last in the list that is the second-to-last step).
    """
    steps = m.steps(m.as_rollout(rollout))
    br = m.as_batch_release(batch_release)
    if br is None:
        return 1
    plan = br.spec.release_plan
    part = plan.batch_partition or 0
    current = planned_batch_replicas(plan.batches[part].canary_replicas, replicas) if part < len(plan.batches) else 0
    candidates = ([index] if 1 <= index <= len(steps) else []) + [i for i in range(1, len(steps) + 1) if i != index]
    for i in candidates:
        if m.step_replicas(steps[i - 1], replicas) >= current:
            return i
    return candidates[-1] if candidates else 1


def recalculate_step(
    rollout: Rollout, sub: CanaryStatus, obs: m.Observation, hash_value: str, now: datetime
) -> None:
    """§6.5: after a plan change pick the step matching what the BatchRelease already released."""
    index = step_index(sub)
    target = recalculate_target(rollout, obs.batch_release, index, obs.workload.replicas)
    set_field(sub, "last_update_time", m.format_time(now))
    set_field(sub, "rollout_hash", hash_value)
    if target == sub.next_step_index:
        set_field(sub, "current_step_state", m.STEP_READY)
        return
    set_field(sub, "next_step_index", target)
    do_step_jump(rollout, sub, obs.workload.replicas, now)


def _advance(sub: CanaryStatus, state: str, now: datetime) -> None:
    """Enter ``state`` now (``currentStepState`` and ``lastUpdateTime``)."""
    set_field(sub, "current_step_state", state)
    set_field(sub, "last_update_time", m.format_time(now))


def run_step(rollout: Rollout, status: RolloutStatus, obs: m.Observation, rnd: Round, now: datetime) -> None:
    """§6.2 per-state behaviour for one round (after the prologue)."""
    sub = status.canary_status
    assert sub is not None
    steps = m.steps(rollout)
    n = len(steps)
    index = step_index(sub)
    step = steps[index - 1] if 1 <= index <= n else _NO_STEP
    state = sub.current_step_state
    if state == m.BEFORE_STEP_UPGRADE:
        if m.step_has_traffic(step) and not _stable_service_ready(rollout, sub, obs, rnd, index, step):
            return
        _advance(sub, m.STEP_UPGRADE, now)
        if not m.step_has_traffic(step):
            return
        state = m.STEP_UPGRADE
    if state == m.STEP_UPGRADE:
        _step_upgrade(rollout, status, obs, rnd, now, index, n, step)
    elif state == m.STEP_TRAFFIC_ROUTING:
        if m.step_has_traffic(step):
            rnd.actions.append(act.DoTrafficRouting(index))
        if not m.step_has_traffic(step) or obs.traffic_done:
            _advance(sub, m.STEP_METRICS_ANALYSIS, now)
        rnd.requeue(DEFAULT_RECHECK_SECONDS)
    elif state == m.STEP_METRICS_ANALYSIS:
        analysis.metrics_analysis(rollout, status, obs, rnd, now, index, n)
    elif state == m.STEP_PAUSED:
        if not analysis.held(rollout, status, obs, rnd, now, index, n) and not progress.held(rollout, status, rnd, now):
            _step_paused(rollout, status, rnd, now, index, n, step)
    elif state == m.STEP_READY:
        if index < n:
            set_field(sub, "current_step_index", index + 1)
            set_field(sub, "next_step_index", m.natural_next(index + 1, n))
            set_field(sub, "current_step_state", m.BEFORE_STEP_UPGRADE)
        else:
            set_field(sub, "current_step_state", m.COMPLETED)
        set_field(sub, "last_update_time", m.format_time(now))


def _stable_service_ready(
    rollout: Rollout,
    sub: CanaryStatus,
    obs: m.Observation,
    rnd: Round,
    index: int,
    step: CanaryStep,
) -> bool:
    """BeforeStepUpgrade for a traffic step: fix the stable Service selector first (§6.2).

    Partition style at full size restores the selector (ingress-nginx bug bypass: the stable
    backend must never become empty); step 1 pins it to the stable revision so new pods never get
    unrouted traffic. Returns False while the caller must wait.

    The two are exclusive: a step 1 that is already full size (a 1-replica Deployment, step
    ``replicas: 1``) restored then pinned the selector every round, each undoing the other, so the
    Rollout never left BeforeStepUpgrade (upstream does the same; seen by ``bench/soak.py``).
    Restoring wins: no stable pod survives that step, so a pinned selector would select nothing.
    """
    canary = m.canary(rollout)
    wanted: list[act.Action] = []
    full = m.step_replicas(step, obs.workload.replicas) >= obs.workload.replicas
    # §6.3: blue-green has no ingress-nginx bypass (old pods stay behind the stable Service).
    if not m.uses_extra_workload(rollout) and not is_blue_green(rollout) and full:
        wanted.append(act.RestoreStableService())
    elif index == 1 and not canary.disable_generate_canary_service and m.has_traffic_routings(rollout):
        wanted.append(act.PatchStableService(obs.workload.revision_label_key, sub.stable_revision))
    if not wanted:
        return True
    rnd.actions.extend(wanted)
    if not obs.stable_service_done:
        rnd.requeue(DEFAULT_RECHECK_SECONDS)
        return False
    return True


def _step_upgrade(
    rollout: Rollout,
    status: RolloutStatus,
    obs: m.Observation,
    rnd: Round,
    now: datetime,
    index: int,
    n: int,
    step: CanaryStep,
) -> None:
    sub = status.canary_status
    assert sub is not None
    set_progressing_message(status, step_message(index, n, "upgrade workload to new version"), now)
    # §6: the annotation travels to the BatchRelease only while the workload is rolling back.
    desired = desired_batch_release(rollout, sub, obs.rollback_in_batch and obs.workload.in_rollback)
    br = m.as_batch_release(obs.batch_release)
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
    set_field(sub, "pod_template_hash", obs.workload.pod_template_hash)
    set_field(sub, "last_update_time", m.format_time(now))
    partition_style = not m.uses_extra_workload(rollout) and not is_blue_green(rollout)
    if partition_style and m.step_replicas(step, obs.workload.replicas) >= obs.workload.replicas:
        set_field(sub, "current_step_state", m.STEP_METRICS_ANALYSIS)
    else:
        set_field(sub, "current_step_state", m.STEP_TRAFFIC_ROUTING)


def _step_paused(
    rollout: Rollout,
    status: RolloutStatus,
    rnd: Round,
    now: datetime,
    index: int,
    n: int,
    step: CanaryStep,
) -> None:
    sub = status.canary_status
    assert sub is not None
    # §6.3: blue-green honours every pause, the last "100%" step's included.
    full_release = index == n and wire_value(step.replicas) == "100%" and not is_blue_green(rollout)
    duration = step.pause.duration
    if not full_release:
        if duration is None:
            set_progressing_message(
                status, step_message(index, n, "you need manually confirm to enter the next step"), now
            )
            return
        what = f"wait duration({duration} seconds) to enter the next step"
        set_progressing_message(status, step_message(index, n, what), now)
        since = m.parse_time(sub.last_update_time) or now
        due = since + timedelta(seconds=int(duration))
        if now < due:
            rnd.requeue((due - now).total_seconds())
            return
    set_field(sub, "last_update_time", m.format_time(now))
    set_field(sub, "current_step_state", m.STEP_READY)
