"""Strategy variants of the pure Rollout machine that `make mutation` found untested.

Each test kills a group of surviving mutants (listed in bench/RESULTS.md, "Mutation score"): the
``trafficRoutingRef`` form of traffic routing, a step that routes by ``matches`` only, the canary
style (``enableExtraWorkloadForCanary``), condition helpers called without a condition, and
``settle`` stopping at the first round that changes nothing.
"""

from __future__ import annotations

from rollouts.rollout import actions as act
from rollouts.rollout.conditions import set_progressing_message
from rollouts.rollout.machine import reconcile_rollout, settle
from rollouts.rollout.model import Observation

from .sim import T0, Sim, seed_rollout

V2 = "6dd59d49b5"


def _initialised(rollout) -> Sim:
    """Healthy, then released: the next round runs BeforeStepUpgrade of step 1."""
    s = Sim(rollout)
    s.settle()
    s.release(V2)
    s.step()  # Healthy -> Progressing
    s.step(advance=3)  # Initializing -> InRolling
    assert s.rollout["status"]["canaryStatus"]["currentStepState"] == "BeforeStepUpgrade"
    return s


def test_a_traffic_routing_ref_counts_as_traffic_routing():
    """A plain step of a Rollout routed through a TrafficRouting object finalises traffic first (§6.1 4)."""
    ro = seed_rollout()
    ro["spec"]["strategy"]["canary"]["trafficRoutingRef"] = "tr-demo"
    s = _initialised(ro)
    out = reconcile_rollout(s.rollout, Observation(workload=s.workload, traffic_done=False), s.now)
    assert act.FinaliseTrafficRouting() in out.actions
    assert out.status["canaryStatus"]["currentStepState"] == "BeforeStepUpgrade"
    assert out.requeue_after == 3.0


def test_a_step_with_matches_only_is_a_traffic_step():
    steps = [{"matches": [{"headers": [{"name": "user", "value": "beta"}]}], "replicas": 1}, {"replicas": "100%"}]
    ro = seed_rollout(steps)
    ro["spec"]["strategy"]["canary"]["trafficRoutings"] = [{"service": "svc", "ingress": {"name": "ing"}}]
    s = _initialised(ro)
    out = reconcile_rollout(s.rollout, Observation(workload=s.workload, stable_service_done=False), s.now)
    # a traffic step: no finalising, and step 1 pins the stable Service before upgrading
    assert act.FinaliseTrafficRouting() not in out.actions
    assert act.PatchStableService("pod-template-hash", "6c7764b765") in out.actions
    assert out.status["canaryStatus"]["currentStepState"] == "BeforeStepUpgrade"


def test_canary_style_releases_through_an_extra_workload_and_routes_traffic_at_full_size():
    ro = seed_rollout([{"replicas": 1}, {"replicas": "100%"}])
    ro["spec"]["strategy"]["canary"]["enableExtraWorkloadForCanary"] = True
    s = Sim(ro)
    s.settle()
    s.release(V2)
    s.settle()
    plan = s.br["spec"]["releasePlan"]
    assert (plan["rollingStyle"], plan["enableExtraWorkloadForCanary"]) == ("Canary", True)
    s.approve()
    states = []
    for _ in range(12):
        s.step(advance=3)
        states.append(s.rollout["status"]["canaryStatus"]["currentStepState"])
        if states[-1] == "Completed":
            break
    # unlike partition style, a full-size step of a canary Deployment still passes StepTrafficRouting
    assert "StepTrafficRouting" in states[states.index("StepUpgrade"):], states


def test_partition_style_at_full_size_skips_traffic_routing():
    s = Sim(seed_rollout([{"replicas": 1}, {"replicas": "100%"}]))
    s.settle()
    s.release(V2)
    s.settle()
    s.approve()
    states = []
    for _ in range(12):
        s.step(advance=3)
        states.append(s.rollout["status"]["canaryStatus"]["currentStepState"])
        if states[-1] == "Completed":
            break
    assert "StepTrafficRouting" not in states[states.index("StepUpgrade"):], states


def test_set_progressing_message_without_a_condition_starts_a_true_one():
    status: dict = {}
    set_progressing_message(status, "hello", T0)
    (cond,) = status["conditions"]
    assert (cond["type"], cond["status"], cond["reason"], cond["message"]) == ("Progressing", "True", "", "hello")
    assert cond["lastUpdateTime"] == "2023-04-08T07:27:16Z"
    assert status["message"] == "hello"


def test_set_progressing_message_keeps_reason_and_status():
    status = {"conditions": [{"type": "Progressing", "status": "False", "reason": "Completed", "message": "old",
                              "lastUpdateTime": "t0", "lastTransitionTime": "t0"}]}
    set_progressing_message(status, "new", T0)
    (cond,) = status["conditions"]
    assert (cond["status"], cond["reason"], cond["message"]) == ("False", "Completed", "new")
    assert cond["lastTransitionTime"] == "t0"  # same status: no transition


def test_settle_stops_at_the_first_round_that_changes_nothing():
    s = Sim(seed_rollout())
    s.settle()
    s.release(V2)
    s.settle()  # paused at step 1, waiting for approval
    settled = settle(s.rollout, s.observe(), s.now)
    assert settled.view is s.rollout and settled.events == ()
    assert settled.outcome.status == s.rollout["status"]
