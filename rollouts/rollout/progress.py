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
  one Warning Event. Nothing else changes: the release
  keeps trying. The condition is removed as soon as the step moves on (or the release leaves
  ``InRolling``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from rollouts.analysis.template import GROUP
from rollouts.api.v1beta1.rollout import Rollout, RolloutStatus
from rollouts.rollout import actions as act
from rollouts.rollout import model as m
from rollouts.rollout.conditions import PROGRESSING, find_condition, new_condition, remove_condition, set_condition

if TYPE_CHECKING:
    from rollouts.rollout.steps import Round

ANNOTATION: Final = f"{GROUP}/progress-deadline-seconds"
DEFAULT_SECONDS: Final = 600
CONDITION: Final = "Stalled"
REASON: Final = "ProgressDeadlineExceeded"
_WATCHED: Final = (m.BEFORE_STEP_UPGRADE, m.STEP_UPGRADE, m.STEP_TRAFFIC_ROUTING, m.STEP_METRICS_ANALYSIS)


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
    """Set, keep or clear ``Stalled`` for the status the round reached (``rnd``: the round's effects)."""
    sub = status.canary_status
    state = sub.current_step_state if sub is not None else ""
    seconds, note = deadline(rollout)
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
    # No "waited Ns" in the message: it would change every reconcile and so rewrite the status each time.
    message = (f"step {sub.current_step_index} has been in {state} since {sub.last_update_time}, past the progress "
               f"deadline of {seconds}s{note}; waiting for {waiting_for(state, obs)}")
    previous = find_condition(status, CONDITION)
    set_condition(status, new_condition(CONDITION, "True", REASON, message, now))
    if previous is None:
        rnd.actions.append(act.EmitEvent(REASON, message, "Warning"))
