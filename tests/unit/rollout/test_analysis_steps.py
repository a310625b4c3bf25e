"""StepMetricsAnalysis with a template: the step waits for, continues on, pauses on or rolls back on a verdict."""

from __future__ import annotations

import copy

import attrs

from rollouts.analysis import template as t
from rollouts.rollout import actions as act
from rollouts.rollout.model import AnalysisObservation

from .sim import Sim, seed_rollout

ANN = "analysis.kruise-rollouts-py.io/template"


class AnalysisSim(Sim):
    """:class:`Sim` plus a scripted analysis: ``answer`` is what the controller's run reports next."""

    def __init__(self, rollout, **kw):
        super().__init__(rollout, **kw)
        self.answer: tuple[str, str, float | None] = (t.RUNNING, t.WAIT, 5.0)
        self.analysis: AnalysisObservation | None = None
        self.runs: list[act.RunAnalysis] = []
        self.traffic_restores = 0
        self.kinds: list[str] = []

    def observe(self):
        return attrs.evolve(super().observe(), analysis=self.analysis)

    def step(self, advance=0.0):
        out = super().step(advance)
        if self.analysis is not None:
            self.analysis = attrs.evolve(self.analysis, fresh=False)  # a stored run on later reconciles
        for a in out.actions:
            if isinstance(a, act.RunAnalysis):
                self.runs.append(a)
                verdict, action, wait = self.answer
                sub = self.rollout["status"]["canaryStatus"]
                self.analysis = AnalysisObservation(a.step_index, sub["canaryRevision"], verdict, action,
                                                    f"errors: {verdict}, value 0.4", a.template, wait, fresh=True)
            elif isinstance(a, act.RouteTrafficToStable):
                self.traffic_restores += 1
            elif isinstance(a, act.EmitEvent):
                self.kinds.append(f"{a.type}/{a.reason}")
        return out


def _sim(annotations: dict[str, str]) -> AnalysisSim:
    ro = seed_rollout()
    ro["metadata"]["annotations"].update(annotations)
    s = AnalysisSim(ro)
    s.settle()
    s.release("6dd59d49b5")
    return s


def _state(s: Sim) -> tuple[int, str]:
    st = s.rollout["status"]
    return st["currentStepIndex"], st["currentStepState"]


def _cond(s: Sim) -> dict:
    return next(c for c in s.rollout["status"]["conditions"] if c["type"] == "MetricsAnalysis")


def test_without_a_template_the_step_goes_on_as_upstream() -> None:
    s = _sim({})
    s.settle()
    assert _state(s) == (1, "StepPaused") and s.runs == []


def test_running_waits_in_metrics_analysis_then_a_pass_continues() -> None:
    s = _sim({ANN: "tmpl"})
    s.settle()
    assert _state(s) == (1, "StepMetricsAnalysis")
    assert s.runs and s.runs[-1] == act.RunAnalysis(1, "tmpl")
    assert "metrics analysis tmpl is running" in s.rollout["status"]["message"]
    assert _cond(s)["status"] == "Unknown" and _cond(s)["reason"] == "Running"
    s.answer = (t.PASS, t.CONTINUE, None)
    s.settle()
    assert _state(s) == (1, "StepPaused")
    assert s.rollout["status"]["message"].endswith("you need manually confirm to enter the next step")
    assert _cond(s)["status"] == "True" and _cond(s)["reason"] == "Passed"
    assert "Normal/AnalysisPassed" in s.kinds


def test_a_failure_rolls_traffic_back_and_holds_until_approved() -> None:
    ro_ann = {ANN: "tmpl"}
    s = _sim(ro_ann)
    s.rollout["spec"]["strategy"]["canary"]["trafficRoutings"] = [{"service": "svc", "ingress": {"name": "ing"}}]
    s.answer = (t.FAIL, t.ROLLBACK, None)
    s.settle()
    assert _state(s) == (1, "StepPaused")
    msg = s.rollout["status"]["message"]
    assert "verdict fail (Rollback): errors: fail, value 0.4; traffic is back on stable" in msg
    assert "approve" in msg
    assert s.traffic_restores >= 1 and "Warning/AnalysisFailed" in s.kinds
    assert _cond(s)["status"] == "False" and _cond(s)["reason"] == "Failed"
    s.settle()  # held: a stored Rollback verdict keeps the step (and traffic) where it is
    assert _state(s) == (1, "StepPaused")
    s.approve()
    s.answer = (t.RUNNING, t.WAIT, 5.0)
    s.settle()
    assert _state(s) == (2, "StepMetricsAnalysis")
    assert s.runs[-1] == act.RunAnalysis(2, "tmpl")


def test_a_held_step_ignores_its_pause_duration() -> None:
    ro = seed_rollout([{"replicas": 1, "pause": {"duration": 5}}, {"replicas": "100%"}])
    ro["metadata"]["annotations"][ANN] = "tmpl"
    s = AnalysisSim(ro)
    s.settle()
    s.release("6dd59d49b5")
    s.answer = (t.INCONCLUSIVE, t.PAUSE, None)
    s.settle()
    before = copy.deepcopy(s.rollout["status"])
    s.step(advance=600)
    assert _state(s) == (1, "StepPaused")
    assert s.rollout["status"]["message"] == before["message"]
    assert "verdict inconclusive (Pause)" in before["message"]


def test_a_step_annotation_overrides_and_an_empty_one_turns_analysis_off() -> None:
    s = _sim({ANN: "tmpl", "analysis.kruise-rollouts-py.io/step.1": ""})
    s.settle()
    assert _state(s) == (1, "StepPaused") and s.runs == []
    s.approve()
    s.rollout["metadata"]["annotations"]["analysis.kruise-rollouts-py.io/step.2"] = "other"
    s.settle()
    assert s.runs[-1] == act.RunAnalysis(2, "other")


def test_a_verdict_of_another_revision_is_not_used() -> None:
    s = _sim({ANN: "tmpl"})
    s.answer = (t.PASS, t.CONTINUE, None)
    s.analysis = AnalysisObservation(1, "old-revision", t.FAIL, t.ROLLBACK, "stale", "tmpl", None, fresh=True)
    s.settle()
    assert _state(s) == (1, "StepPaused") and s.rollout["status"]["message"].endswith("next step")


def test_a_stalled_run_says_so_in_the_condition() -> None:
    s = _sim({ANN: "tmpl"})
    s.settle()
    s.answer = (t.INCONCLUSIVE, t.PAUSE, None)
    orig = s.step

    def step(advance=0.0):
        out = orig(advance)
        if s.analysis is not None and s.analysis.verdict == t.INCONCLUSIVE:
            s.analysis = attrs.evolve(s.analysis, reason="DeadlineExceeded")
        return out

    s.step = step  # type: ignore[method-assign]
    s.settle()
    assert _state(s) == (1, "StepPaused")
    assert _cond(s)["status"] == "False" and _cond(s)["reason"] == "DeadlineExceeded"
    assert "Warning/AnalysisDeadlineExceeded" in s.kinds
