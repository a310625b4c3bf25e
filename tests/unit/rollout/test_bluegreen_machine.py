"""Blue-green through the one step machine (rollout-lifecycle.md §5.3 case 4, §6.3, §7).

The Sim plays the reconciler's edge: the stored status is ``blueGreenStatus`` and is translated to the
machine's ``canaryStatus`` view before each round and back after it (``rollouts.rollout.bluegreen``).
"""

from __future__ import annotations

import copy

from rollouts.api.decode import as_rollout
from rollouts.rollout import actions as act
from rollouts.rollout.bluegreen import (
    MSG_CONTINUOUS_REFUSED,
    canary_view,
    rollout_as_canary,
    status_as_blue_green,
    status_as_canary,
)
from rollouts.rollout.hashing import plan_hash
from rollouts.rollout.steps import desired_batch_release

from .sim import Sim, seed_rollout

MANUAL = "Rollout is in step({}/2), and you need manually confirm to enter the next step"


def bg_rollout(steps: list[dict] | None = None, traffic: bool = False) -> dict:
    ro = seed_rollout()
    ro["metadata"]["annotations"] = {}
    strategy: dict = {"steps": steps or [{"replicas": "50%"}, {"replicas": "100%"}]}
    if traffic:
        strategy["trafficRoutings"] = [{"service": "svc", "ingress": {"name": "ing"}}]
    ro["spec"]["strategy"] = {"blueGreen": strategy}
    return ro


class BlueGreenSim(Sim):
    """The Sim with the reconciler's status translation around every round."""

    def step(self, advance=0.0):
        self.rollout = dict(rollout_as_canary(self.rollout))
        try:
            return super().step(advance)
        finally:
            if self.rollout.get("status"):
                self.rollout["status"] = status_as_blue_green(self.rollout["status"])

    def approve(self):
        self.rollout["status"]["blueGreenStatus"]["currentStepState"] = "StepReady"
        self.rollout["status"]["currentStepState"] = "StepReady"


def started(steps: list[dict] | None = None) -> BlueGreenSim:
    s = BlueGreenSim(bg_rollout(steps))
    s.settle()
    s.release("6dd59d49b5")
    s.settle()
    return s


def test_status_translation_round_trips_and_renames_only_the_three_fields() -> None:
    stored = {"phase": "Progressing", "currentStepIndex": 1,
              "blueGreenStatus": {"updatedRevision": "r2", "updatedReplicas": 3, "updatedReadyReplicas": 2,
                                  "podTemplateHash": "h", "currentStepState": "StepPaused"}}
    view = status_as_canary(stored)
    assert "blueGreenStatus" not in view
    assert view["canaryStatus"] == {"canaryRevision": "r2", "canaryReplicas": 3, "canaryReadyReplicas": 2,
                                    "podTemplateHash": "h", "currentStepState": "StepPaused"}
    assert status_as_blue_green(view) == stored


def test_canary_view_keeps_the_blue_green_style_and_hash() -> None:
    ro = as_rollout(bg_rollout(traffic=True))
    view = canary_view(ro)
    assert view.spec.strategy.rolling_style() == "BlueGreen"
    assert view.spec.strategy.canary is not None and view.spec.strategy.canary.steps == ro.spec.strategy.steps()
    assert view.spec.strategy.canary.traffic_routings == ro.spec.strategy.traffic_routings()
    assert plan_hash(view) == plan_hash(ro)  # §3.1 hashes the blueGreen object, not the view
    canary = as_rollout(seed_rollout())
    assert canary_view(canary) is canary


def test_batch_release_is_blue_green_style() -> None:
    ro = canary_view(as_rollout(bg_rollout()))
    plan = desired_batch_release(ro, {"currentStepIndex": 2, "observedRolloutID": "id"}, False)["spec"]["releasePlan"]
    assert plan["rollingStyle"] == "BlueGreen" and plan["enableExtraWorkloadForCanary"] is False
    assert plan["batches"] == [{"canaryReplicas": "50%"}, {"canaryReplicas": "100%"}] and plan["batchPartition"] == 1
    assert "patchPodTemplateMetadata" not in plan


def test_every_step_pauses_even_the_last_full_one_and_the_status_is_blue_green() -> None:
    """§6.3: no partition shortcut at 100% (traffic routing state kept), no "100%" pause shortcut."""
    s = started()
    st = s.rollout["status"]
    assert "canaryStatus" not in st and st["blueGreenStatus"]["currentStepState"] == "StepPaused"
    assert st["message"] == MANUAL.format(1)
    assert s.br["spec"]["releasePlan"]["rollingStyle"] == "BlueGreen"
    s.approve()
    s.settle()
    st = s.rollout["status"]
    assert (st["currentStepIndex"], st["currentStepState"], st["message"]) == (2, "StepPaused", MANUAL.format(2))
    bg = st["blueGreenStatus"]
    assert bg["updatedReplicas"] == 10 and bg["updatedReadyReplicas"] == 10 and bg["updatedRevision"] == "6dd59d49b5"
    states = [t[2] for t in s.distinct_trace() if t[1] == 2]
    assert "StepTrafficRouting" in states  # the partition style would have skipped it at full size
    s.approve()
    s.settle()
    assert s.rollout["status"]["message"] == "Rollout has been completed and some closing work is being done"


def test_new_version_mid_release_is_refused_without_a_requeue() -> None:
    s = started()
    before = copy.deepcopy(s.rollout["status"]["blueGreenStatus"])
    s.release("7aa00000ff")
    out = s.step()
    st = s.rollout["status"]
    assert st["message"] == MSG_CONTINUOUS_REFUSED
    (cond,) = [c for c in st["conditions"] if c["type"] == "Progressing"]
    assert cond["message"] == MSG_CONTINUOUS_REFUSED and cond["reason"] == "InRolling"
    assert out.requeue_after is None
    assert not [a for a in out.actions if not isinstance(a, act.PatchHashAnnotation)]
    assert st["blueGreenStatus"]["updatedRevision"] == before["updatedRevision"]  # the release stays on v2


def test_first_traffic_step_pins_the_stable_service_without_the_nginx_bypass() -> None:
    """§6.3 BeforeStepUpgrade: only step 1's stable-Service pin; a full step never restores it first."""
    s = BlueGreenSim(bg_rollout(steps=[{"replicas": "100%", "traffic": "0%"}, {"replicas": "100%", "traffic": "50%"}],
                                traffic=True))
    s.settle()
    s.release("6dd59d49b5")
    seen: list[type] = []
    for _ in range(8):
        out = s.step(advance=5)
        seen += [type(a) for a in out.actions]
        if act.PatchStableService in seen:
            break
    assert act.PatchStableService in seen and act.RestoreStableService not in seen
