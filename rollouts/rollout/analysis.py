"""The step machine's side of metrics analysis (``StepMetricsAnalysis``, issue #16), kept out of steps.py.

Two hooks, both pure:

* :func:`metrics_analysis` runs in ``StepMetricsAnalysis``. A step without a template goes on to
  ``StepPaused`` as upstream does. Otherwise it asks the controller to advance the run
  (:class:`~rollouts.rollout.actions.RunAnalysis`) and acts on the answer it gets back in the same
  reconcile: ``Wait`` (no verdict yet, or a verdict configured to keep measuring) stays and rechecks
  when the next measurement is due; ``Continue`` goes on to ``StepPaused`` (whose own pause then
  applies); ``Pause`` and ``Rollback`` go to ``StepPaused`` *held* — ``Rollback`` first sends the
  traffic back to stable through the provider's restore path, the one a finished or cancelled release
  uses (:class:`~rollouts.rollout.actions.RouteTrafficToStable`), keeping the stable Service pinned to
  the stable pods so that no stable traffic reaches the canary pods either.
* :func:`held` runs first in ``StepPaused``: while the step's stored run says Pause or Rollback the
  step waits for a human whatever its pause duration says; ``kubectl kruise rollout approve`` (which
  sets ``StepReady``) overrides it, exactly as on any paused step.

Where users see it: the Progressing message and ``status.message`` (check, verdict, value), the
``MetricsAnalysis`` condition (True: passed, False: failed or stalled, Unknown: anything else; reason
the verdict, or ``DeadlineExceeded`` when the template's ``deadlineSeconds`` passed without a
verdict), an Event per decided verdict, and the ``AnalysisRun`` object's status.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Final

from rollouts.analysis import refs
from rollouts.analysis import template as t
from rollouts.api.edit import set_field
from rollouts.api.v1beta1.rollout import Rollout, RolloutStatus
from rollouts.rollout import actions as act
from rollouts.rollout import model as m
from rollouts.rollout.conditions import find_condition, new_condition, set_condition, set_progressing_message

if TYPE_CHECKING:
    from rollouts.rollout.steps import Round

CONDITION: Final = "MetricsAnalysis"
#: Recheck while the controller has not reported the run yet (the action's result arrives in-reconcile).
RECHECK_SECONDS: Final = 3.0
_REASONS: Final = {t.PASS: "Passed", t.FAIL: "Failed", t.INCONCLUSIVE: "Inconclusive", t.NO_DATA: "NoData",
                   t.RUNNING: "Running"}
_HOLDING: Final = (t.PAUSE, t.ROLLBACK)


def template_for(rollout: Rollout, index: int) -> str:
    return refs.template_for(rollout.annotations, index)


def _message(index: int, n: int, a: m.AnalysisObservation) -> str:
    if a.action == t.WAIT:
        what = f"metrics analysis {a.template} is {a.verdict}: {a.message}"
    elif a.action == t.CONTINUE:
        what = f"metrics analysis {a.template} verdict {a.verdict}: {a.message}"
    else:
        undo = "traffic is back on stable, " if a.action == t.ROLLBACK else ""
        what = (f"metrics analysis {a.template} verdict {a.verdict} ({a.action}): {a.message}; {undo}"
                "fix and re-release, or approve to continue (kubectl-kruise rollout approve)")
    return f"Rollout is in step({index}/{n}), and {what}"


def _condition(status: RolloutStatus, a: m.AnalysisObservation, now: datetime) -> None:
    """``MetricsAnalysis``: True passed, False failed or stalled (reason ``DeadlineExceeded``), else Unknown."""
    cstatus = "True" if a.verdict == t.PASS else "False" if a.verdict == t.FAIL or a.reason else "Unknown"
    reason = a.reason or _REASONS.get(a.verdict, a.verdict)
    cond = new_condition(CONDITION, cstatus, reason, f"{a.template}: {a.message}", now)
    set_condition(status, cond)


def _current(obs: m.Observation, index: int, canary_revision: str) -> m.AnalysisObservation | None:
    a = obs.analysis
    if a is None or a.step_index != index or a.canary_revision != canary_revision:
        return None
    return a


def metrics_analysis(rollout: Rollout, status: RolloutStatus, obs: m.Observation, rnd: Round, now: datetime,
                     index: int, n: int) -> None:
    """``StepMetricsAnalysis``: run the step's template (if any) and act on its verdict."""
    sub = status.canary_status
    assert sub is not None
    name = template_for(rollout, index)
    if not name:
        set_field(sub, "current_step_state", m.STEP_PAUSED)
        return
    a = _current(obs, index, sub.canary_revision)
    if a is None or not a.fresh:
        rnd.actions.append(act.RunAnalysis(index, name))
        rnd.requeue(RECHECK_SECONDS)
        return
    previous = find_condition(status, CONDITION)
    _condition(status, a, now)
    set_progressing_message(status, _message(index, n, a), now)
    if a.action == t.WAIT:
        if a.requeue_after is not None:
            rnd.requeue(a.requeue_after)
        return
    kind = "Normal" if a.action == t.CONTINUE else "Warning"
    if previous is None or previous.reason != _REASONS.get(a.verdict) or previous.message != f"{name}: {a.message}":
        rnd.actions.append(act.EmitEvent(f"Analysis{a.reason or _REASONS.get(a.verdict, a.verdict)}",
                                         f"step {index}: {name}: {a.message}; action {a.action}", kind))
    if a.action == t.ROLLBACK and m.has_traffic_routings(rollout):
        rnd.actions.append(act.RouteTrafficToStable())
    set_field(sub, "current_step_state", m.STEP_PAUSED)
    set_field(sub, "last_update_time", m.format_time(now))


def held(rollout: Rollout, status: RolloutStatus, obs: m.Observation, rnd: Round, now: datetime,
         index: int, n: int) -> bool:
    """``StepPaused``: True while the step's analysis verdict holds it for a human (the round stops)."""
    sub = status.canary_status
    assert sub is not None
    if not template_for(rollout, index):
        return False
    a = _current(obs, index, sub.canary_revision)
    if a is None or a.action not in _HOLDING:
        return False
    set_progressing_message(status, _message(index, n, a), now)
    if a.action == t.ROLLBACK and m.has_traffic_routings(rollout) and not a.fresh:
        rnd.actions.append(act.RouteTrafficToStable())  # keep it there (idempotent), e.g. after a restart
    return True
