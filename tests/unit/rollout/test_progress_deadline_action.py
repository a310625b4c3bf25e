"""The progress deadline's configured action (issue #16 item 5): ``none`` reports, ``pause`` holds the step
for a human, ``rollback`` sends the traffic back to stable and holds; approving moves on as on any pause."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from rollouts.api.validation import review_rollout
from rollouts.rollout import actions as act
from rollouts.rollout import progress

from .sim import Sim, seed_rollout
from .test_bluegreen_machine import BlueGreenSim, bg_rollout

TRAFFIC = [{"service": "svc", "ingress": {"name": "ing"}}]
#: A step whose own pause would end by itself after 5 s: a held step must ignore it.
STEPS = [{"replicas": 1, "pause": {"duration": 5}}, {"replicas": "50%", "pause": {"duration": 5}},
         {"replicas": "100%"}]


class DeadlineSim(Sim):
    """:class:`Sim` whose traffic provider can keep failing (``traffic_done``), counting routes back to stable."""

    def __init__(self, rollout: dict[str, Any], **kw: Any) -> None:
        super().__init__(rollout, **kw)
        self.traffic_done = True
        self.restores = 0
        self.warnings: list[str] = []

    def observe(self):  # type: ignore[no-untyped-def]
        return attrs.evolve(super().observe(), traffic_done=self.traffic_done)

    def step(self, advance=0.0):  # type: ignore[no-untyped-def]
        out = super().step(advance)
        self.restores += sum(isinstance(a, act.RouteTrafficToStable) for a in out.actions)
        self.warnings += [a.message for a in out.actions if isinstance(a, act.EmitEvent) and a.type == "Warning"]
        return out


def _state(s: Sim) -> tuple[int, str]:
    st = s.rollout["status"]
    return st["currentStepIndex"], st["currentStepState"]


def _stalled(s: Sim) -> dict[str, Any] | None:
    return next((c for c in s.rollout["status"].get("conditions") or [] if c["type"] == "Stalled"), None)


def _started(action: str | None, *, traffic: bool = False) -> DeadlineSim:
    """A release whose step 1 is stuck: pods never ready, or (``traffic``) the provider never done."""
    ro = seed_rollout([{**st, "traffic": "20%"} if traffic else st for st in STEPS])
    ro["metadata"]["annotations"][progress.ANNOTATION] = "30"
    if action is not None:
        ro["metadata"]["annotations"][progress.ACTION_ANNOTATION] = action
    if traffic:
        ro["metadata"]["annotations"].pop("rollouts.kruise.io/rolling-style")
        ro["spec"]["strategy"]["canary"]["trafficRoutings"] = TRAFFIC
    s = DeadlineSim(ro)
    s.settle()
    if traffic:
        s.traffic_done = False
    else:
        s.br_auto_ready = False
    s.release("6dd59d49b5")
    for _ in range(6):
        s.step(advance=1)
    assert _state(s) == (1, "StepTrafficRouting" if traffic else "StepUpgrade")
    return s


def test_pause_holds_the_step_past_its_own_pause_until_approved() -> None:
    s = _started("pause")
    s.step(advance=31)
    assert _state(s) == (1, "StepPaused")
    cond = _stalled(s)
    assert cond is not None and (cond["status"], cond["reason"]) == ("True", "ProgressDeadlineExceeded")
    assert cond["message"].startswith("step 1 has been in StepUpgrade since ")
    assert cond["message"].endswith("progress-deadline-action pause: the step is paused; fix what it waits for, "
                                    "then approve to continue (kubectl-kruise rollout approve)")
    held = f"Rollout is in step(1/3), held by the progress deadline: {cond['message']}"
    assert s.rollout["status"]["message"] == held
    assert s.warnings == [cond["message"]] and s.restores == 0
    for _ in range(3):
        s.step(advance=600)  # the step's 5 s pause would have ended long ago
    assert _state(s) == (1, "StepPaused") and _stalled(s) == cond and len(s.warnings) == 1
    s.br_auto_ready = True
    s._br_controller()
    s.approve()
    s.settle()
    assert _state(s)[0] >= 2 and _stalled(s) is None  # moved on (settling may pass step 2's timed pause too)


def test_rollback_routes_traffic_to_stable_and_holds() -> None:
    s = _started("rollback", traffic=True)
    s.step(advance=31)
    assert _state(s) == (1, "StepPaused") and s.restores == 1
    cond = _stalled(s)
    assert cond is not None and "in StepTrafficRouting" in cond["message"]
    assert "waiting for the traffic provider to route the step's traffic" in cond["message"]
    assert cond["message"].endswith("progress-deadline-action rollback: traffic is back on stable, the step is held; "
                                    "fix and re-release, or approve to continue (kubectl-kruise rollout approve)")
    s.step(advance=600)
    assert _state(s) == (1, "StepPaused") and s.restores == 2  # kept on stable while held (idempotent)
    s.approve()
    s.traffic_done = True
    s.settle()
    assert _state(s)[0] >= 2 and _stalled(s) is None


def test_rollback_without_traffic_routing_holds_and_says_so() -> None:
    s = _started("rollback")
    s.step(advance=31)
    assert _state(s) == (1, "StepPaused") and s.restores == 0
    cond = _stalled(s)
    assert cond is not None and "rollback: no traffic routing to move back, the step is held" in cond["message"]


def test_none_is_the_default_and_a_bad_value_acts_as_none_and_says_so() -> None:
    for action in (None, "none", "NONE"):
        s = _started(action)
        s.step(advance=31)
        assert _state(s) == (1, "StepUpgrade")
        cond = _stalled(s)
        assert cond is not None and "progress-deadline-action" not in cond["message"]
    s = _started("stop")
    s.step(advance=31)
    cond = _stalled(s)
    assert _state(s) == (1, "StepUpgrade") and cond is not None
    assert f"annotation {progress.ACTION_ANNOTATION}='stop' is not one of none, pause, rollback, so none applies" \
        in cond["message"]


def test_turning_the_action_off_releases_the_hold_to_the_steps_own_pause() -> None:
    s = _started("Pause")
    s.step(advance=31)
    assert _state(s) == (1, "StepPaused")
    s.rollout["metadata"]["annotations"][progress.ACTION_ANNOTATION] = "none"
    s.step()
    assert _stalled(s) is None
    s.step(advance=6)  # now the step's own 5 s pause applies
    assert _state(s) == (1, "StepReady") or _state(s)[0] == 2


def test_blue_green_steps_are_watched_and_held_too() -> None:
    ro = bg_rollout([{"replicas": "50%", "pause": {"duration": 5}}, {"replicas": "100%"}])
    ro["metadata"]["annotations"] = {progress.ANNOTATION: "30", progress.ACTION_ANNOTATION: "pause"}
    s = BlueGreenSim(ro)
    s.settle()
    s.br_auto_ready = False
    s.release("6dd59d49b5")
    for _ in range(6):
        s.step(advance=1)
    assert s.rollout["status"]["blueGreenStatus"]["currentStepState"] == "StepUpgrade"
    s.step(advance=31)
    cond = _stalled(s)
    assert cond is not None and cond["message"].startswith("step 1 has been in StepUpgrade since ")
    assert s.rollout["status"]["blueGreenStatus"]["currentStepState"] == "StepPaused"
    s.step(advance=600)
    assert s.rollout["status"]["blueGreenStatus"]["currentStepState"] == "StepPaused"


def _review(obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[str]:
    return [str(e) for e in review_rollout(obj, old).errors]


@pytest.mark.parametrize("value", ["none", "pause", "rollback", " Rollback "])
def test_admission_takes_the_allowed_values(value: str) -> None:
    ro = seed_rollout()
    ro["metadata"]["annotations"][progress.ACTION_ANNOTATION] = value
    assert _review(ro) == []


def test_admission_refuses_another_value_naming_the_annotation_and_the_values() -> None:
    ro = seed_rollout()
    ro["metadata"]["annotations"][progress.ACTION_ANNOTATION] = "stop"
    (err,) = _review(ro)
    assert err == (f'metadata.annotations[{progress.ACTION_ANNOTATION}]: Invalid value: "stop": must be one of '
                   "none, pause, rollback (what a step past its progress deadline does; default none)")
    old = seed_rollout()
    assert len(_review(ro, old)) == 1  # an UPDATE that sets it, spec unchanged, is judged too
    assert _review(ro, ro) == []  # a stored bad value stays updatable (ratcheting)


def test_the_annotations_live_in_the_analysis_group() -> None:
    from rollouts.analysis import deadline, template
    assert deadline.GROUP == template.GROUP
