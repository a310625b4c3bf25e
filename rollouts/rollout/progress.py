"""Step progress deadlines (issue #16 item 5): a step stuck in one state gets a ``Stalled`` condition.

Why: a canary whose pods never become ready, a traffic provider that keeps erroring or an analysis
that never reaches a verdict otherwise leaves the Rollout ``Progressing`` for ever, with nothing a
monitor can alert on. Each step state that waits on the cluster — ``BeforeStepUpgrade`` (the stable
Service), ``StepUpgrade`` (the batch's pods), ``StepTrafficRouting`` (the provider) and
``StepMetricsAnalysis`` (a verdict) — must be left within the deadline; ``StepPaused`` waits for a
human or a timer by design and is never stalled.

* Deadline: :data:`DEFAULT_SECONDS` (10 min), or the Rollout annotation
  ``analysis.kruise-rollouts-py.io/progress-deadline-seconds`` (an integer; ``0`` turns it off; a
  value that is not a non-negative integer keeps the default and the message says so).
* Progress is entering a new step state: the time counts from ``canaryStatus.lastUpdateTime``, which
  the step machine stamps on every state change (it is upstream's field, so no field is added).
* Checked in every round (the watched states recheck every few seconds by themselves, so the
  deadline adds no requeue). Past it: condition ``Stalled`` = ``True``, reason
  ``ProgressDeadlineExceeded``, a message naming the step, what it waits for and the numbers, and
  one Warning Event. The condition is removed as soon as the step moves on (or the release leaves
  ``InRolling``).
* Then the configured action (annotation ``.../progress-deadline-action``, :mod:`rollouts.analysis.deadline`):
  ``none`` changes nothing else, the release keeps trying; ``pause`` moves the step to ``StepPaused``
  and :func:`held` keeps it there for a human; ``rollback`` does the same after sending the traffic
  back to stable with the action an analysis ``Rollback`` verdict uses
  (:class:`~rollouts.rollout.actions.RouteTrafficToStable`). While held, the ``Stalled`` condition
  stays: it is what marks the hold (no field is added to upstream's status), and approving
  (``StepReady``) ends both. Changing the action to ``none`` or the deadline to ``0`` releases the
  hold to the step's own pause.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from rollouts.analysis import deadline as keys
from rollouts.api.edit import set_field
from rollouts.api.v1beta1.rollout import Rollout, RolloutStatus
from rollouts.rollout import actions as act
from rollouts.rollout import model as m
from rollouts.rollout.conditions import (
    PROGRESSING,
    find_condition,
    new_condition,
    remove_condition,
    set_condition,
    set_progressing_message,
)

if TYPE_CHECKING:
    from rollouts.rollout.steps import Round

ANNOTATION: Final = keys.SECONDS_ANNOTATION
ACTION_ANNOTATION: Final = keys.ACTION_ANNOTATION
DEFAULT_SECONDS: Final = 600
CONDITION: Final = "Stalled"
REASON: Final = "ProgressDeadlineExceeded"
_WATCHED: Final = (m.BEFORE_STEP_UPGRADE, m.STEP_UPGRADE, m.STEP_TRAFFIC_ROUTING, m.STEP_METRICS_ANALYSIS)
#: Progressing reasons under which a hold of the deadline action is kept (spec.paused keeps it too).
_HOLD_REASONS: Final = (m.REASON_IN_ROLLING, m.REASON_PAUSED)
_APPROVE: Final = "approve to continue (kubectl-kruise rollout approve)"


def deadline(rollout: Rollout) -> tuple[int, str]:
    """The deadline in seconds (0: off) and, for a bad annotation, the note saying why it is the default."""
    raw = rollout.annotations.get(ANNOTATION)
    if raw is None:
        return DEFAULT_SECONDS, ""
    text = raw.strip()
    if text.isdigit():
        return int(text), ""
    return DEFAULT_SECONDS, (f" (annotation {ANNOTATION}={raw!r} is not a non-negative integer of seconds, "
                             f"so the default {DEFAULT_SECONDS} applies; write e.g. \"300\", or \"0\" to turn it off)")


def waiting_for(state: str, obs: m.Observation) -> str:
    """What a step in ``state`` waits for, with the numbers the controller has."""
    if state == m.BEFORE_STEP_UPGRADE:
        return "the stable Service to select the stable pods"
    if state == m.STEP_UPGRADE:
        br = m.as_batch_release(obs.batch_release)
        if br is None:
            return "the BatchRelease to be created"
        if br.status is None:
            return "the BatchRelease controller to report the batch"
        cs = br.status.canary_status
        return (f"the batch's pods to be ready: {cs.updated_ready_replicas} of {cs.updated_replicas} updated pods "
                f"ready (batch {cs.current_batch}, state {cs.batch_state or 'not started'})")
    if state == m.STEP_TRAFFIC_ROUTING:
        return "the traffic provider to route the step's traffic"
    a = obs.analysis
    return f"an analysis verdict: {a.message}" if a is not None and a.message else "an analysis verdict"


def watch(rollout: Rollout, status: RolloutStatus, obs: m.Observation, rnd: Round, now: datetime) -> None:
    """Set, keep or clear ``Stalled`` for the status the round reached (``rnd``: the round's effects),
    and apply the configured action the first time a step passes its deadline."""
    sub = status.canary_status
    state = sub.current_step_state if sub is not None else ""
    seconds, note = deadline(rollout)
    if _holding(rollout, status):
        return  # the deadline action's hold: the condition stays as the action left it
    since = m.parse_time(sub.last_update_time) if sub is not None else None
    progressing = find_condition(status, PROGRESSING)
    rolling = progressing is not None and progressing.reason == m.REASON_IN_ROLLING
    if not rolling or status.phase != m.PHASE_PROGRESSING or state not in _WATCHED or seconds == 0 or since is None:
        if find_condition(status, CONDITION) is not None:
            remove_condition(status, CONDITION)
        return
    assert sub is not None
    due = since + timedelta(seconds=seconds)
    if now < due:  # no requeue of our own: every watched state already rechecks every few seconds
        if find_condition(status, CONDITION) is not None:
            remove_condition(status, CONDITION)
        return
    action, action_note = keys.action(rollout.annotations)
    # No "waited Ns" in the message: it would change every reconcile and so rewrite the status each time.
    message = (f"step {sub.current_step_index} has been in {state} since {sub.last_update_time}, past the progress "
               f"deadline of {seconds}s{note}; waiting for {waiting_for(state, obs)}{action_note}")
    if action != keys.NONE:
        message += f"; {_action_text(rollout, action)}"
    previous = find_condition(status, CONDITION)
    set_condition(status, new_condition(CONDITION, "True", REASON, message, now))
    if previous is None or action != keys.NONE:
        rnd.actions.append(act.EmitEvent(REASON, message, "Warning"))
    if action != keys.NONE:
        _hold(rollout, status, rnd, now, action)


def _action_text(rollout: Rollout, action: str) -> str:
    """What the action did and what the user does next (the end of the condition's message)."""
    if action == keys.PAUSE:
        return f"progress-deadline-action {action}: the step is paused; fix what it waits for, then {_APPROVE}"
    moved = "traffic is back on stable" if m.has_traffic_routings(rollout) else "no traffic routing to move back"
    return f"progress-deadline-action {action}: {moved}, the step is held; fix and re-release, or {_APPROVE}"


def _hold(rollout: Rollout, status: RolloutStatus, rnd: Round, now: datetime, action: str) -> None:
    """Send the step to ``StepPaused`` (after moving the traffic back, for ``rollback``); :func:`held` keeps it."""
    sub = status.canary_status
    assert sub is not None
    if action == keys.ROLLBACK and m.has_traffic_routings(rollout):
        rnd.actions.append(act.RouteTrafficToStable())
    set_field(sub, "current_step_state", m.STEP_PAUSED)
    set_field(sub, "last_update_time", m.format_time(now))
    _held_message(rollout, status, now)


def _holding(rollout: Rollout, status: RolloutStatus) -> bool:
    """True while a deadline action holds the step: ``StepPaused`` with our ``Stalled`` condition still set."""
    sub = status.canary_status
    cond = find_condition(status, CONDITION)
    progressing = find_condition(status, PROGRESSING)
    return (sub is not None and sub.current_step_state == m.STEP_PAUSED and cond is not None
            and cond.reason == REASON and status.phase == m.PHASE_PROGRESSING
            and progressing is not None and progressing.reason in _HOLD_REASONS
            and deadline(rollout)[0] != 0 and keys.action(rollout.annotations)[0] != keys.NONE)


def _held_message(rollout: Rollout, status: RolloutStatus, now: datetime) -> None:
    sub, cond = status.canary_status, find_condition(status, CONDITION)
    assert sub is not None and cond is not None
    where = f"step({sub.current_step_index}/{len(m.steps(rollout))})"
    set_progressing_message(status, f"Rollout is in {where}, held by the progress deadline: {cond.message}", now)


def held(rollout: Rollout, status: RolloutStatus, rnd: Round, now: datetime) -> bool:
    """``StepPaused``: True while the deadline action holds the step for a human (the round stops).

    ``rollback`` re-issues the (idempotent) route back to stable every held round, as an analysis
    ``Rollback`` hold does, so a restarted controller or a provider that failed once still ends there."""
    if not _holding(rollout, status):
        return False
    _held_message(rollout, status, now)
    if keys.action(rollout.annotations)[0] == keys.ROLLBACK and m.has_traffic_routings(rollout):
        rnd.actions.append(act.RouteTrafficToStable())
    return True
