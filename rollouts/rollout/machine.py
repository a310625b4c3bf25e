"""One reconcile round of the Rollout controller as a pure function (rollout-lifecycle.md §1, §4, §5).

:func:`reconcile_rollout` takes the Rollout dict (v1beta1 wire form), an :class:`Observation` of
the workload/BatchRelease/task results and the current time, and returns the new status plus the
actions the reconciler must perform. It never reads the clock and never performs I/O.

The edge: :func:`reconcile_rollout` and :func:`settle` decode the Rollout's metadata and spec and the
observed BatchRelease once (:func:`rollouts.rollout.model.as_rollout`); every function below reads
typed fields. The stored status is decoded once too (:func:`rollouts.rollout.model.as_status`); each
round edits the model it starts from in place (:func:`settle` keeps the wire form it compares), writing every
field through :func:`rollouts.api.edit.set_field` / :func:`~rollouts.api.edit.clear_field` so that its
encoding is byte for byte the dict the machine used to build. The reconciler encodes the last round's
model once, at the write edge; :attr:`Outcome.status` is that encoding for readers of the wire form.

Blue-green Rollouts are read through :func:`rollouts.rollout.bluegreen.canary_view` (their strategy as
``canary``); their status arrives and leaves as ``canaryStatus`` (the reconciler translates it).

Faithful to upstream: the dispatch on Progressing/Terminating/Disabling uses the phase *stored at
the start of the round*, so a phase computed in this round takes effect in the next one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

import attrs

from rollouts.api.common import RolloutCondition
from rollouts.api.edit import clear_field, copy_model, edit_count, get_field, is_empty, set_field, with_fields
from rollouts.api.status import CanaryStatus
from rollouts.api.v1beta1.rollout import Rollout, RolloutStatus
from rollouts.api.wire import from_dict, to_dict
from rollouts.rollout import actions as act
from rollouts.rollout import model as m
from rollouts.rollout import progress
from rollouts.rollout.bluegreen import MSG_CONTINUOUS_REFUSED, canary_view, is_blue_green
from rollouts.rollout.conditions import (
    PROGRESSING,
    SUCCEEDED,
    TERMINATING,
    find_condition,
    new_condition,
    remove_condition,
    set_condition,
    set_progressing_message,
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
    model: RolloutStatus | None
    actions: tuple[act.Action, ...] = ()
    requeue_after: float | None = None
    #: ``model``'s wire form once known (:attr:`status`); ``settle`` passes the one it already holds.
    _wire: Mapping[str, Any] | None = attrs.field(default=None, eq=False, repr=False, alias="wire")

    @property
    def status(self) -> Mapping[str, Any] | None:
        """The status's wire form, encoded once (on first read: :func:`settle`'s comparison or the
        reconciler's write). Read-only: the reconciler copies what it adds to it."""
        if self._wire is None and self.model is not None:
            object.__setattr__(self, "_wire", to_dict(self.model))  # a cache: frozen for everything else
        return self._wire


def reconcile_rollout(rollout: Mapping[str, Any], obs: m.Observation, now: datetime) -> Outcome:
    """Compute one round: hash annotation, phase, Progressing reasons, step machine, mirrors."""
    ro = canary_view(m.as_rollout(rollout))
    return _round(ro, plan_hash(ro), m.as_status(rollout), _decoded(obs), now)


def desired_hash(rollout: Rollout) -> str:
    """The ``rollouts.kruise.io/hash`` a round wants stored for this decoded Rollout (the reconciler
    writes it with the finalizer on the first reconcile: one PATCH instead of two)."""
    return plan_hash(canary_view(rollout))


def _decoded(obs: m.Observation) -> m.Observation:
    """The observation with its BatchRelease decoded (once per reconcile, not once per read)."""
    br = m.as_batch_release(obs.batch_release)
    return obs if br is obs.batch_release else attrs.evolve(obs, batch_release=br)


def _round(rollout: Rollout, hash_value: str, status: RolloutStatus, obs: m.Observation, now: datetime) -> Outcome:
    """:func:`reconcile_rollout` on the decoded Rollout, its plan hash and the status it starts from,
    which it edits in place and returns (callers keep the wire form of what they need to compare)."""
    rnd = Round()
    if hash_value != m.hash_annotation(rollout):
        rnd.actions.append(act.PatchHashAnnotation(hash_value))
    stored_phase = status.phase
    new = calculate_rollout_status(rollout, status, obs, now, hash_value)
    if new is None:
        return Outcome(None, tuple(rnd.actions), DEFAULT_RECHECK_SECONDS)
    if stored_phase == m.PHASE_PROGRESSING:
        progressing(rollout, new, obs, rnd, now, hash_value)
    elif stored_phase == m.PHASE_TERMINATING:
        _cleanup_phase(new, obs, rnd, "RolloutDeleting", terminating=True)
    elif stored_phase == m.PHASE_DISABLING:
        _cleanup_phase(new, obs, rnd, "RolloutDisabled", terminating=False)
    progress.watch(rollout, new, obs, rnd, now)  # the step progress deadline (Stalled), whatever happened
    mirror_step(new)
    return Outcome(new, tuple(rnd.actions), rnd.requeue_after)


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

    The status is decoded once; each round edits the previous round's model in place. "As it found
    it" compares wire forms: a round's encoding (:attr:`Outcome.status`, cached, so the reconciler's
    write reuses it) against the one it started from, except for a round that edited nothing
    (:func:`rollouts.api.edit.edit_count` unchanged), whose wire form is its input's. Why not copy
    the model per round and compare models: a copy plus a presence-aware comparison cost more than
    this encode, which the write needs anyway for the last round (bench/RESULTS.md, fourth pass).
    """
    view: Mapping[str, Any] = rollout
    # Decoded (and hashed) once for every chained round; ``decoded``: the caller's model of ``rollout``.
    ro, obs = canary_view(decoded if decoded is not None else m.as_rollout(rollout)), _decoded(obs)
    hash_value = plan_hash(ro)
    start, edits = m.as_status(rollout), edit_count()
    outcome = _round(ro, hash_value, start, obs, now)
    events: list[act.Action] = []
    for _ in range(MAX_CHAINED_ROUNDS):
        model = outcome.model
        if model is None or not all(isinstance(a, act.EmitEvent) for a in outcome.actions):
            break
        if model is start and edit_count() == edits:  # the round wrote nothing: its wire form is its input's
            outcome = attrs.evolve(outcome, wire=view.get("status") or _NO_STATUS)
            break
        wire = outcome.status
        if wire == (view.get("status") or _NO_STATUS):
            break
        start, edits = model, edit_count()
        nxt = _round(ro, hash_value, start, obs, now)  # edits outcome.model: ``wire`` is its snapshot
        if nxt.model is None:  # unreachable today (the consistency check is the round's first)
            outcome = attrs.evolve(outcome, model=from_dict(RolloutStatus, dict(wire or _NO_STATUS)), wire=wire)
            break
        events.extend(outcome.actions)
        view, outcome = {**view, "status": wire}, nxt
    return Settled(view, outcome, tuple(events))


_NO_STATUS: Mapping[str, Any] = MappingProxyType({})


def mirror_step(status: RolloutStatus) -> None:
    """Copy sub-status index/state to the v1beta1 top-level fields (§1 step 7)."""
    sub = status.canary_status
    if not is_empty(sub):
        assert sub is not None
        set_field(status, "current_step_index", sub.current_step_index)
        set_field(status, "current_step_state", sub.current_step_state)


def calculate_rollout_status(
    rollout: Rollout, status: RolloutStatus, obs: m.Observation, now: datetime, hash_value: str
) -> RolloutStatus | None:
    """§4: ``status`` (edited in place) with its phase; ``None`` means "retry later without writing"."""
    set_field(status, "observed_generation", m.generation(rollout))
    phase = status.phase
    if m.is_deleting(rollout):
        if phase != m.PHASE_TERMINATING:
            set_field(status, "phase", m.PHASE_TERMINATING)
            set_condition(status, new_condition(TERMINATING, "True", "InTerminating", MSG_TERMINATING, now))
        return status
    if m.is_disabled(rollout) and phase not in (m.PHASE_DISABLED, m.PHASE_DISABLING):
        if phase == m.PHASE_PROGRESSING:
            _set_phase(status, m.PHASE_DISABLING, MSG_DISABLING)
        else:
            _set_phase(status, m.PHASE_DISABLED, MSG_DISABLED)
    if not status.phase:
        set_field(status, "phase", m.PHASE_INITIAL)
    wl = obs.workload
    if not wl.found:
        if m.is_disabled(rollout):
            return status
        return with_fields(RolloutStatus, observed_generation=status.observed_generation, phase=m.PHASE_INITIAL,
                           message=wl.missing or MSG_NOT_FOUND)
    if not wl.status_consistent:
        return None
    sub = status.canary_status
    if sub is not None and not is_empty(sub) and sub.canary_revision == wl.canary_revision:
        set_field(sub, "observed_rollout_id", _refreshed_rollout_id(sub, wl))
        set_field(sub, "observed_workload_generation", wl.generation)
    phase = status.phase
    if phase == m.PHASE_INITIAL:
        _set_phase(status, m.PHASE_HEALTHY, MSG_HEALTHY)
    elif phase == m.PHASE_HEALTHY:
        if wl.in_progressing:
            set_field(status, "phase", m.PHASE_PROGRESSING)
            set_condition(status, new_condition(PROGRESSING, "True", m.REASON_INITIALIZING, MSG_IN_PROGRESSING, now))
            set_field(status, "message", MSG_IN_PROGRESSING)
            remove_condition(status, SUCCEEDED)
        elif is_empty(sub):
            set_field(status, "canary_status", _completed_sub_status(rollout, wl))
            set_field(status, "message", MSG_DEPLOYED)
    elif phase == m.PHASE_DISABLED and not m.is_disabled(rollout):
        _set_phase(status, m.PHASE_HEALTHY, MSG_HEALTHY)
    return status


def _set_phase(status: RolloutStatus, phase: str, message: str) -> None:
    set_field(status, "phase", phase)
    set_field(status, "message", message)


def _refreshed_rollout_id(sub: CanaryStatus, wl: m.WorkloadObservation) -> str:
    """§4 step 7, except that a release begun as a rollback keeps its ``rollback-`` id to the end.

    Why: the workload stops being "in rollback" as soon as its last pod is back on the old revision,
    inside the last batch; §3.3 would then drop the prefix, the BatchRelease would see a new
    rollout-id, restart from batch 0 and relabel every pod (those that never moved included) under
    the new id. A user's own ``rollout-id`` label still wins."""
    rollback_id = f"rollback-{wl.canary_revision}"
    if not wl.rollout_id_label and sub.observed_rollout_id == rollback_id:
        return rollback_id
    return wl.rollout_id()


def _completed_sub_status(rollout: Rollout, wl: m.WorkloadObservation) -> CanaryStatus:
    """First deployment of a workload: report it as a completed release (§4 step 8, Healthy)."""
    n = len(m.steps(rollout))
    return with_fields(
        CanaryStatus,
        observed_rollout_id=wl.rollout_id(),
        observed_workload_generation=wl.generation,
        pod_template_hash=wl.pod_template_hash,
        stable_revision=wl.stable_revision,
        canary_revision=wl.canary_revision,
        canary_replicas=0,
        canary_ready_replicas=0,
        current_step_index=n,
        next_step_index=m.natural_next(n, n),
        current_step_state=m.COMPLETED,
        finalising_step="",
        rollout_hash=m.hash_annotation(rollout),
    )


def _fresh_sub_status(rollout: Rollout, wl: m.WorkloadObservation, hash_value: str, now: datetime) -> CanaryStatus:
    """Initializing (§5.2 step 1): a new release starts at step 1."""
    n = len(m.steps(rollout))
    return with_fields(
        CanaryStatus,
        observed_workload_generation=wl.generation,
        rollout_hash=hash_value,
        observed_rollout_id=wl.rollout_id(),
        stable_revision=wl.stable_revision,
        canary_revision=wl.canary_revision,
        canary_replicas=0,
        canary_ready_replicas=0,
        current_step_index=1,
        next_step_index=m.natural_next(1, n),
        current_step_state=m.BEFORE_STEP_UPGRADE,
        finalising_step="",
        last_update_time=m.format_time(now),
    )


def progressing(
    rollout: Rollout, status: RolloutStatus, obs: m.Observation, rnd: Round, now: datetime, hash_value: str
) -> None:
    """§5: act on the Progressing condition's reason."""
    wl = obs.workload
    if not wl.found or not wl.status_consistent:
        return
    cond = find_condition(status, PROGRESSING)
    reason = get_field(cond, "reason") if cond else m.REASON_INITIALIZING
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
        set_field(status, "phase", m.PHASE_HEALTHY)


def _finish_when_done(
    status: RolloutStatus, obs: m.Observation, rnd: Round, now: datetime, message: str, succeeded: str
) -> None:
    if not obs.finalising_done:
        rnd.requeue(DEFAULT_RECHECK_SECONDS)
        return
    transition_progressing(status, m.REASON_COMPLETED, "False", message, now)
    set_condition(status, new_condition(SUCCEEDED, succeeded, "", "", now))


def _initializing(
    rollout: Rollout, status: RolloutStatus, obs: m.Observation, rnd: Round, now: datetime, hash_value: str
) -> None:
    set_field(status, "canary_status", _fresh_sub_status(rollout, obs.workload, hash_value, now))
    if not obs.initializing_checks_done:
        rnd.requeue(DEFAULT_RECHECK_SECONDS)
        return
    cond = find_condition(status, PROGRESSING)
    since = m.parse_time(cond.last_update_time if cond is not None else None) or now
    due = since + timedelta(seconds=INITIALIZING_SETTLE_SECONDS)
    if now < due:
        rnd.requeue((due - now).total_seconds())
        return
    transition_progressing(status, m.REASON_IN_ROLLING, "True", MSG_IN_PROGRESSING, now)


def _in_rolling(
    rollout: Rollout, status: RolloutStatus, obs: m.Observation, rnd: Round, now: datetime, hash_value: str
) -> None:
    """§5.3: special cases in upstream order, then the step machine."""
    wl = obs.workload
    sub = status.canary_status
    if sub is None:  # defensive: a release without sub-status restarts initialisation
        transition_progressing(status, m.REASON_INITIALIZING, "True", MSG_IN_PROGRESSING, now)
        return
    revision_changed = wl.canary_revision != sub.canary_revision
    if wl.in_rollback and revision_changed and not obs.rollback_in_batch:
        set_field(sub, "canary_revision", wl.canary_revision)
        rnd.actions.append(act.EmitEvent("Progressing", "workload has been rollback, then rollout is canceled"))
        transition_progressing(status, m.REASON_CANCELLING, "True", MSG_CANCELLING, now)
        return
    if m.is_paused(rollout):
        transition_progressing(status, m.REASON_PAUSED, "True", MSG_PAUSED, now)
        return
    if wl.in_rollback and revision_changed and obs.rollback_in_batch:
        n = len(m.steps(rollout))
        for attr, value in (("current_step_index", 1), ("next_step_index", m.natural_next(1, n)),
                            ("canary_revision", wl.canary_revision), ("current_step_state", m.BEFORE_STEP_UPGRADE),
                            ("last_update_time", m.format_time(now)), ("rollout_hash", hash_value)):
            set_field(sub, attr, value)
        return
    if sub.canary_revision and revision_changed and not wl.in_rollback and is_blue_green(rollout):
        # §5.3 case 4: a blue-green release cannot take a new version; no requeue, the user rolls back.
        set_progressing_message(status, MSG_CONTINUOUS_REFUSED, now)
        return
    if sub.canary_revision and revision_changed and not wl.in_rollback:
        rnd.actions.append(
            act.EmitEvent("Progressing", "workload continuous publishing canaryRevision, then restart publishing")
        )
        rnd.actions.append(act.ResetForContinuousRelease())
        if not obs.reset_done:
            rnd.requeue(DEFAULT_RECHECK_SECONDS)
            return
        for attr in ("canary_status", "current_step_index", "current_step_state"):
            clear_field(status, attr)  # the merge patch deletes them
        transition_progressing(status, m.REASON_INITIALIZING, "True", MSG_CONTINUOUS, now)
        return
    if sub.rollout_hash and sub.rollout_hash != hash_value:
        recalculate_step(rollout, sub, obs, hash_value, now)
        return
    if sub.current_step_state == m.COMPLETED:
        transition_progressing(status, m.REASON_FINALISING, "True", MSG_FINALISING, now)
        return
    if prologue(rollout, status, obs, rnd, now):
        run_step(rollout, status, obs, rnd, now)


def _cleanup_phase(status: RolloutStatus, obs: m.Observation, rnd: Round, reason: str, *, terminating: bool) -> None:
    """Terminating (§8.1) / Disabling (§8.2): run cleanup until done."""
    if terminating:
        cond = find_condition(status, TERMINATING)
        if cond is not None and cond.reason == m.REASON_TERMINATING_CLEANED_UP:
            return
    rnd.actions.append(act.RunFinalising(reason, wait_ready=False))
    if not obs.finalising_done:
        rnd.requeue(DEFAULT_RECHECK_SECONDS)
        return
    if terminating:
        current = find_condition(status, TERMINATING)
        cond = (copy_model(current) if current is not None
                else with_fields(RolloutCondition, type=TERMINATING, message=MSG_TERMINATING))
        set_field(cond, "status", "False")
        set_field(cond, "reason", m.REASON_TERMINATING_CLEANED_UP)
        set_condition(status, cond)
    else:
        _set_phase(status, m.PHASE_DISABLED, MSG_DISABLED)
