"""Step progress deadlines: a step stuck in a waiting state gets ``Stalled``, cleared when it moves on."""

from __future__ import annotations

from typing import Any

import pytest

from rollouts.api.decode import as_rollout
from rollouts.rollout import actions as act
from rollouts.rollout import progress

from .sim import Sim, seed_rollout


def _stalled(s: Sim) -> dict[str, Any] | None:
    return next((c for c in s.rollout["status"].get("conditions") or [] if c["type"] == "Stalled"), None)


def _warnings(out: Any) -> list[act.EmitEvent]:
    return [a for a in out.actions if isinstance(a, act.EmitEvent) and a.reason == progress.REASON]


def _stuck_in_upgrade(annotation: str | None = "30") -> Sim:
    ro = seed_rollout()
    if annotation is not None:
        ro["metadata"]["annotations"][progress.ANNOTATION] = annotation
    s = Sim(ro)
    s.settle()
    s.br_auto_ready = False  # the batch's pods never become ready
    s.release("6dd59d49b5")
    s.settle()
    assert s.rollout["status"]["canaryStatus"]["currentStepState"] == "StepUpgrade"
    s.br["status"] = {"observedGeneration": 1, "canaryStatus": {  # what a BatchRelease stuck on its pods reports
        "batchState": "Upgrading", "currentBatch": 0, "updatedReplicas": 1, "updatedReadyReplicas": 0}}
    s.step()  # the Rollout's canaryStatus mirrors those counts
    return s


def test_a_step_without_progress_past_its_deadline_is_stalled_once_and_nothing_else_changes() -> None:
    s = _stuck_in_upgrade("30")
    assert _stalled(s) is None
    before = {k: v for k, v in s.rollout["status"].items() if k != "conditions"}
    out = s.step(advance=31)
    cond = _stalled(s)
    assert cond is not None and (cond["status"], cond["reason"]) == ("True", "ProgressDeadlineExceeded")
    assert cond["message"].startswith("step 1 has been in StepUpgrade since ")
    assert cond["message"].endswith("past the progress deadline of 30s; waiting for the batch's pods to be ready: "
                                    "0 of 1 updated pods ready (batch 0, state Upgrading)")
    (event,) = _warnings(out)
    assert event.type == "Warning" and event.message == cond["message"]
    after = {k: v for k, v in s.rollout["status"].items() if k != "conditions"}
    assert after == before  # no rollback, no state change
    assert not any(isinstance(a, act.RouteTrafficToStable) for a in out.actions)
    again = s.step(advance=5)
    assert _warnings(again) == [] and _stalled(s) == cond  # one Event; the condition is not rewritten


def test_the_condition_clears_when_the_step_progresses() -> None:
    s = _stuck_in_upgrade("30")
    s.step(advance=31)
    assert _stalled(s) is not None
    s.br_auto_ready = True
    s._br_controller()
    s.settle()
    assert s.rollout["status"]["canaryStatus"]["currentStepState"] == "StepPaused"
    assert _stalled(s) is None


def test_the_default_deadline_is_ten_minutes_and_zero_turns_it_off() -> None:
    s = _stuck_in_upgrade(None)
    s.step(advance=590)
    assert _stalled(s) is None
    s.step(advance=11)
    assert _stalled(s) is not None
    off = _stuck_in_upgrade("0")
    off.step(advance=3600)
    assert _stalled(off) is None


def test_a_paused_step_is_never_stalled() -> None:
    s = _stuck_in_upgrade("30")
    s.br_auto_ready = True
    s._br_controller()
    s.settle()
    assert s.rollout["status"]["canaryStatus"]["currentStepState"] == "StepPaused"
    s.step(advance=3600)
    assert _stalled(s) is None


@pytest.mark.parametrize(("value", "seconds", "note"), [
    ("300", 300, False), (" 45 ", 45, False), ("0", 0, False), ("ten", 600, True), ("-5", 600, True),
])
def test_the_annotation_is_read_and_a_bad_value_says_the_fix(value: str, seconds: int, note: bool) -> None:
    ro = seed_rollout()
    ro["metadata"]["annotations"][progress.ANNOTATION] = value
    got, why = progress.deadline(as_rollout(ro))
    assert got == seconds and bool(why) == note
    if note:
        assert progress.ANNOTATION in why and 'write e.g. "300"' in why


def test_the_message_names_what_traffic_and_analysis_steps_wait_for() -> None:
    from rollouts.rollout import model as m
    wl = m.WorkloadObservation(replicas=3)
    a = m.AnalysisObservation(step_index=1, canary_revision="c", verdict="running", action="Wait",
                              message="error-rate: running, value 0.01, 1/3 measurements")
    assert progress.waiting_for(m.STEP_TRAFFIC_ROUTING, m.Observation(workload=wl)) == \
        "the traffic provider to route the step's traffic"
    assert progress.waiting_for(m.STEP_METRICS_ANALYSIS, m.Observation(workload=wl, analysis=a)) == \
        "an analysis verdict: error-rate: running, value 0.01, 1/3 measurements"
    assert progress.waiting_for(m.BEFORE_STEP_UPGRADE, m.Observation(workload=wl)).startswith("the stable Service")
