"""One reconcile round of the Rollout controller as a pure function (rollout-lifecycle.md §1, §4, §5).

:func:`reconcile_rollout` takes the Rollout dict (v1beta1 wire form), an :class:`Observation` of
the workload/BatchRelease/task results and the current time, and returns the new status plus the
actions the reconciler must perform. It never reads the clock and never performs I/O.

The edge: :func:`reconcile_rollout` and :func:`settle` decode the Rollout's metadata and spec and the
observed BatchRelease once (:func:`rollouts.rollout.model.as_rollout`); every function below reads
typed fields. The status is still the wire dict, copied from the stored one and edited in place.

Faithful to upstream: the dispatch on Progressing/Terminating/Disabling uses the phase *stored at
the start of the round*, so a phase computed in this round takes effect in the next one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import attrs

from rollouts.api.v1beta1.rollout import Rollout
from rollouts.api.wire import json_copy
from rollouts.rollout import actions as act
from rollouts.rollout import model as m
from rollouts.rollout.conditions import (
    PROGRESSING,
    SUCCEEDED,
    TERMINATING,
    get_condition,
    new_condition,
    remove_condition,
    set_condition,
    transition_progressing,
)
from rollouts.rollout.hashing import plan_hash
from rollouts.rollout.steps import DEFAULT_RECHECK_SECONDS, Round, prologue, recalculate_step, run_step

#: Settle delay after the Progressing condition appears (absorbs concurrent workload+Rollout edits).
INITIALIZING_SETTLE_SECONDS = 3.0

MSG_IN_PROGRESSING = "Rollout is in Progressing"
MSG_PAUSED = "Rollout has been paused, you can resume it by kube-cli"
MSG_CANCELLING = "The workload has been rolled back and the rollout process will be canceled"
MSG_FINALISING = "Rollout has been completed and some closing work is being done"
MSG_COMPLETED = "Rollout progressing has been completed"
MSG_CANCELED = "Rollout progressing has been canceled"
MSG_CONTINUOUS = "Workload is continuous release"
MSG_HEALTHY = "rollout is healthy"
MSG_DEPLOYED = "workload deployment is completed"
MSG_DISABLED = "Rollout is disabled"
MSG_DISABLING = "Disabling rollout, release resources"
MSG_NOT_FOUND = "Workload Not Found"
MSG_TERMINATING = "Rollout is in terminating"


@attrs.frozen
class Outcome:
    """Result of one round."""

    #: Status to write (``None`` → "retry": do not write, requeue after ``requeue_after``).
    status: Mapping[str, Any] | None
    actions: tuple[act.Action, ...] = ()
    requeue_after: float | None = None


def reconcile_rollout(rollout: Mapping[str, Any], obs: m.Observation, now: datetime) -> Outcome:
    """Compute one round: hash annotation, phase, Progressing reasons, step machine, mirrors."""
    ro = m.as_rollout(rollout)
    return _round(ro, plan_hash(ro), rollout.get("status") or {}, _decoded(obs), now)


def _decoded(obs: m.Observation) -> m.Observation:
    """The observation with its BatchRelease decoded (once per reconcile, not once per read)."""
    br = m.as_batch_release(obs.batch_release)
    return obs if br is obs.batch_release else attrs.evolve(obs, batch_release=br)


def _round(rollout: Rollout, hash_value: str, stored: Mapping[str, Any], obs: m.Observation, now: datetime) -> Outcome:
    """:func:`reconcile_rollout` on the decoded Rollout, its plan hash and its stored status dict."""
    rnd = Round()
    if hash_value != m.hash_annotation(rollout):
        rnd.actions.append(act.PatchHashAnnotation(hash_value))
    stored_phase = stored.get("phase", "")
    status = calculate_rollout_status(rollout, stored, obs, now, hash_value)
    if status is None:
        return Outcome(None, tuple(rnd.actions), DEFAULT_RECHECK_SECONDS)
    if stored_phase == m.PHASE_PROGRESSING:
        progressing(rollout, status, obs, rnd, now, hash_value)
    elif stored_phase == m.PHASE_TERMINATING:
        _cleanup_phase(status, obs, rnd, "RolloutDeleting", terminating=True)
    elif stored_phase == m.PHASE_DISABLING:
        _cleanup_phase(status, obs, rnd, "RolloutDisabled", terminating=False)
    mirror_step(status)
    return Outcome(status, tuple(rnd.actions), rnd.requeue_after)


#: Cycle guard for :func:`settle`; a whole step (approve → next batch requested) needs about 6 rounds.
MAX_CHAINED_ROUNDS = 12


@attrs.frozen
class Settled:
    """What :func:`settle` reached: the last round and the Rollout as that round saw it."""

    #: The Rollout with the status the last round started from (spec and metadata untouched).
    view: Mapping[str, Any]
    #: The last round; its status is the one to write, its actions the ones to perform.
    outcome: Outcome
    #: Events of the earlier, in-memory rounds (emitted before ``outcome``'s actions).
    events: tuple[act.Action, ...] = ()


def settle(rollout: Mapping[str, Any], obs: m.Observation, now: datetime, *, decoded: Rollout | None = None) -> Settled:
    """Run rounds back to back while they change nothing but the status.

    Why: every round used to be persisted and the write's own watch event woke the next one, so an
    approval reached the BatchRelease after ~6 API round trips and a batch's completion reached
    StepPaused after 3 more. A round that only changes the status leaves the observation (workload,
    BatchRelease, task results) as it was, so the next round computes exactly what it would after a
    write; running it in memory skips the round trip. Chaining stops at the first round that asks
    for anything beyond events (its I/O must happen before anything is computed from it), when a
    round leaves the status as it found it (a wait), or after :data:`MAX_CHAINED_ROUNDS`. The
    phase-dispatch rule stays intact: each chained round dispatches on the phase its input holds.
    """
    view: Mapping[str, Any] = rollout
    # Decoded (and hashed) once for every chained round; ``decoded``: the caller's model of ``rollout``.
    ro, obs = decoded if decoded is not None else m.as_rollout(rollout), _decoded(obs)
    hash_value = plan_hash(ro)
    outcome = _round(ro, hash_value, view.get("status") or {}, obs, now)
    events: list[act.Action] = []
    for _ in range(MAX_CHAINED_ROUNDS):
        if outcome.status is None or not all(isinstance(a, act.EmitEvent) for a in outcome.actions):
            break
        if outcome.status == (view.get("status") or {}):
            break
        nxt_view = {**view, "status": json_copy(dict(outcome.status))}
        nxt = _round(ro, hash_value, nxt_view["status"], obs, now)
        if nxt.status is None:
            break
        events.extend(outcome.actions)
        view, outcome = nxt_view, nxt
    return Settled(view, outcome, tuple(events))


def mirror_step(status: dict[str, Any]) -> None:
    """Copy sub-status index/state to the v1beta1 top-level fields (§1 step 7)."""
    sub = status.get(m.SUB_STATUS)
    if sub:
        status["currentStepIndex"] = sub.get("currentStepIndex", 0)
        status["currentStepState"] = sub.get("currentStepState", "")


def calculate_rollout_status(
    rollout: Rollout, stored: Mapping[str, Any], obs: m.Observation, now: datetime, hash_value: str
) -> dict[str, Any] | None:
    """§4: the new status (a copy of ``stored``) with its phase; ``None`` means "retry later without writing"."""
    status: dict[str, Any] = json_copy(dict(stored))
    status["observedGeneration"] = m.generation(rollout)
    phase = status.get("phase", "")
    if m.is_deleting(rollout):
        if phase != m.PHASE_TERMINATING:
            status["phase"] = m.PHASE_TERMINATING
            set_condition(status, new_condition(TERMINATING, "True", "InTerminating", MSG_TERMINATING, now))
        return status
    if m.is_disabled(rollout) and phase not in (m.PHASE_DISABLED, m.PHASE_DISABLING):
        if phase == m.PHASE_PROGRESSING:
            status.update(phase=m.PHASE_DISABLING, message=MSG_DISABLING)
        else:
            status.update(phase=m.PHASE_DISABLED, message=MSG_DISABLED)
    if not status.get("phase"):
        status["phase"] = m.PHASE_INITIAL
    wl = obs.workload
    if not wl.found:
        if m.is_disabled(rollout):
            return status
        return {"observedGeneration": status["observedGeneration"], "phase": m.PHASE_INITIAL,
                "message": wl.missing or MSG_NOT_FOUND}
    if not wl.status_consistent:
        return None
    sub = status.get(m.SUB_STATUS)
    if sub and sub.get("canaryRevision") == wl.canary_revision:
        sub["observedRolloutID"] = _refreshed_rollout_id(sub, wl)
        sub["observedWorkloadGeneration"] = wl.generation
    phase = status["phase"]
    if phase == m.PHASE_INITIAL:
        status.update(phase=m.PHASE_HEALTHY, message=MSG_HEALTHY)
    elif phase == m.PHASE_HEALTHY:
        if wl.in_progressing:
            status["phase"] = m.PHASE_PROGRESSING
            set_condition(status, new_condition(PROGRESSING, "True", m.REASON_INITIALIZING, MSG_IN_PROGRESSING, now))
            status["message"] = MSG_IN_PROGRESSING
            remove_condition(status, SUCCEEDED)
        elif not sub:
            status[m.SUB_STATUS] = _completed_sub_status(rollout, wl)
            status["message"] = MSG_DEPLOYED
    elif phase == m.PHASE_DISABLED and not m.is_disabled(rollout):
        status.update(phase=m.PHASE_HEALTHY, message=MSG_HEALTHY)
    return status


def _refreshed_rollout_id(sub: Mapping[str, Any], wl: m.WorkloadObservation) -> str:
    """§4 step 7, except that a release begun as a rollback keeps its ``rollback-`` id to the end.

    Why: the workload stops being "in rollback" as soon as its last pod is back on the old revision,
    inside the last batch; §3.3 would then drop the prefix, the BatchRelease would see a new
    rollout-id, restart from batch 0 and relabel every pod (those that never moved included) under
    the new id. A user's own ``rollout-id`` label still wins."""
    rollback_id = f"rollback-{wl.canary_revision}"
    if not wl.rollout_id_label and sub.get("observedRolloutID") == rollback_id:
        return rollback_id
    return wl.rollout_id()


def _completed_sub_status(rollout: Rollout, wl: m.WorkloadObservation) -> dict[str, Any]:
    """First deployment of a workload: report it as a completed release (§4 step 8, Healthy)."""
    n = len(m.steps(rollout))
    return {
        "observedRolloutID": wl.rollout_id(),
        "observedWorkloadGeneration": wl.generation,
        "podTemplateHash": wl.pod_template_hash,
        "stableRevision": wl.stable_revision,
        "canaryRevision": wl.canary_revision,
        "canaryReplicas": 0,
        "canaryReadyReplicas": 0,
        "currentStepIndex": n,
        "nextStepIndex": m.natural_next(n, n),
        "currentStepState": m.COMPLETED,
        "finalisingStep": "",
        "rolloutHash": m.hash_annotation(rollout),
    }


def _fresh_sub_status(
    rollout: Rollout, wl: m.WorkloadObservation, hash_value: str, now: datetime
) -> dict[str, Any]:
    """Initializing (§5.2 step 1): a new release starts at step 1."""
    n = len(m.steps(rollout))
    return {
        "observedWorkloadGeneration": wl.generation,
        "rolloutHash": hash_value,
        "observedRolloutID": wl.rollout_id(),
        "stableRevision": wl.stable_revision,
        "canaryRevision": wl.canary_revision,
        "canaryReplicas": 0,
        "canaryReadyReplicas": 0,
        "currentStepIndex": 1,
        "nextStepIndex": m.natural_next(1, n),
        "currentStepState": m.BEFORE_STEP_UPGRADE,
        "finalisingStep": "",
        "lastUpdateTime": m.format_time(now),
    }


def progressing(
    rollout: Rollout, status: dict[str, Any], obs: m.Observation, rnd: Round, now: datetime, hash_value: str
) -> None:
    """§5: act on the Progressing condition's reason."""
    wl = obs.workload
    if not wl.found or not wl.status_consistent:
        return
    cond = get_condition(status, PROGRESSING)
    reason = cond.get("reason") if cond else m.REASON_INITIALIZING
    if reason == m.REASON_INITIALIZING:
        _initializing(rollout, status, obs, rnd, now, hash_value)
    elif reason == m.REASON_IN_ROLLING:
        _in_rolling(rollout, status, obs, rnd, now, hash_value)
    elif reason == m.REASON_PAUSED:
        if not m.is_paused(rollout):
            transition_progressing(status, m.REASON_IN_ROLLING, "True", "", now)
    elif reason == m.REASON_FINALISING:
        rnd.actions.append(act.RunFinalising("Success", wait_ready=True))
        _finish_when_done(status, obs, rnd, now, MSG_COMPLETED, succeeded="True")
    elif reason == m.REASON_CANCELLING:
        rnd.actions.append(act.RunFinalising("Rollback", wait_ready=False))
        _finish_when_done(status, obs, rnd, now, MSG_CANCELED, succeeded="False")
    elif reason == m.REASON_COMPLETED:
        status["phase"] = m.PHASE_HEALTHY


def _finish_when_done(
    status: dict[str, Any], obs: m.Observation, rnd: Round, now: datetime, message: str, succeeded: str
) -> None:
    if not obs.finalising_done:
        rnd.requeue(DEFAULT_RECHECK_SECONDS)
        return
    transition_progressing(status, m.REASON_COMPLETED, "False", message, now)
    set_condition(status, new_condition(SUCCEEDED, succeeded, "", "", now))


def _initializing(
    rollout: Rollout, status: dict[str, Any], obs: m.Observation, rnd: Round, now: datetime, hash_value: str
) -> None:
    status[m.SUB_STATUS] = _fresh_sub_status(rollout, obs.workload, hash_value, now)
    if not obs.initializing_checks_done:
        rnd.requeue(DEFAULT_RECHECK_SECONDS)
        return
    cond = get_condition(status, PROGRESSING) or {}
    since = m.parse_time(cond.get("lastUpdateTime")) or now
    due = since + timedelta(seconds=INITIALIZING_SETTLE_SECONDS)
    if now < due:
        rnd.requeue((due - now).total_seconds())
        return
    transition_progressing(status, m.REASON_IN_ROLLING, "True", MSG_IN_PROGRESSING, now)


def _in_rolling(
    rollout: Rollout, status: dict[str, Any], obs: m.Observation, rnd: Round, now: datetime, hash_value: str
) -> None:
    """§5.3: special cases in upstream order, then the step machine."""
    wl = obs.workload
    sub = status.get(m.SUB_STATUS)
    if sub is None:  # defensive: a release without sub-status restarts initialisation
        transition_progressing(status, m.REASON_INITIALIZING, "True", MSG_IN_PROGRESSING, now)
        return
    revision_changed = wl.canary_revision != sub.get("canaryRevision", "")
    if wl.in_rollback and revision_changed and not obs.rollback_in_batch:
        sub["canaryRevision"] = wl.canary_revision
        rnd.actions.append(act.EmitEvent("Progressing", "workload has been rollback, then rollout is canceled"))
        transition_progressing(status, m.REASON_CANCELLING, "True", MSG_CANCELLING, now)
        return
    if m.is_paused(rollout):
        transition_progressing(status, m.REASON_PAUSED, "True", MSG_PAUSED, now)
        return
    if wl.in_rollback and revision_changed and obs.rollback_in_batch:
        n = len(m.steps(rollout))
        sub.update(
            currentStepIndex=1,
            nextStepIndex=m.natural_next(1, n),
            canaryRevision=wl.canary_revision,
            currentStepState=m.BEFORE_STEP_UPGRADE,
            lastUpdateTime=m.format_time(now),
            rolloutHash=hash_value,
        )
        return
    if sub.get("canaryRevision") and revision_changed and not wl.in_rollback:
        rnd.actions.append(
            act.EmitEvent("Progressing", "workload continuous publishing canaryRevision, then restart publishing")
        )
        rnd.actions.append(act.ResetForContinuousRelease())
        if not obs.reset_done:
            rnd.requeue(DEFAULT_RECHECK_SECONDS)
            return
        status.pop(m.SUB_STATUS, None)
        status.pop("currentStepIndex", None)
        status.pop("currentStepState", None)
        transition_progressing(status, m.REASON_INITIALIZING, "True", MSG_CONTINUOUS, now)
        return
    if sub.get("rolloutHash") and sub.get("rolloutHash") != hash_value:
        recalculate_step(rollout, sub, obs, hash_value, now)
        return
    if sub.get("currentStepState") == m.COMPLETED:
        transition_progressing(status, m.REASON_FINALISING, "True", MSG_FINALISING, now)
        return
    if prologue(rollout, status, obs, rnd, now):
        run_step(rollout, status, obs, rnd, now)


def _cleanup_phase(status: dict[str, Any], obs: m.Observation, rnd: Round, reason: str, *, terminating: bool) -> None:
    """Terminating (§8.1) / Disabling (§8.2): run cleanup until done."""
    if terminating:
        cond = get_condition(status, TERMINATING)
        if cond is not None and cond.get("reason") == m.REASON_TERMINATING_CLEANED_UP:
            return
    rnd.actions.append(act.RunFinalising(reason, wait_ready=False))
    if not obs.finalising_done:
        rnd.requeue(DEFAULT_RECHECK_SECONDS)
        return
    if terminating:
        cond = dict(get_condition(status, TERMINATING) or {"type": TERMINATING, "message": MSG_TERMINATING})
        cond.update(status="False", reason=m.REASON_TERMINATING_CLEANED_UP)
        set_condition(status, cond)
    else:
        status.update(phase=m.PHASE_DISABLED, message=MSG_DISABLED)
