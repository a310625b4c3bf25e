from datetime import timedelta

import pytest

from rollouts.rollout import actions as act
from rollouts.rollout.machine import reconcile_rollout
from rollouts.rollout.model import Observation, WorkloadObservation, parse_time
from rollouts.rollout.steps import batch_release_message

from .sim import T0, Sim, seed_rollout

MANUAL_1 = "Rollout is in step(1/3), and you need manually confirm to enter the next step"
MANUAL_2 = "Rollout is in step(2/3), and you need manually confirm to enter the next step"
UPGRADE = "Rollout is in step({}/3), and upgrade workload to new version"


def run_seed_to_step1():
    s = Sim(seed_rollout())
    s.settle()
    s.release("6dd59d49b5")
    s.settle()
    return s


def test_seed_full_sequence():
    s = run_seed_to_step1()
    s.approve()
    s.settle()
    s.approve()
    s.settle()
    s.finish_cleanup()
    s.settle()
    P = "Progressing"
    assert s.distinct_trace() == [
        ("Healthy", None, None, "rollout is healthy"),
        ("Healthy", 3, "Completed", "workload deployment is completed"),
        (P, 3, "Completed", "Rollout is in Progressing"),
        (P, 1, "BeforeStepUpgrade", "Rollout is in Progressing"),
        (P, 1, "StepUpgrade", "Rollout is in Progressing"),
        (P, 1, "StepUpgrade", UPGRADE.format(1)),
        (P, 1, "StepTrafficRouting", UPGRADE.format(1)),
        (P, 1, "StepMetricsAnalysis", UPGRADE.format(1)),
        (P, 1, "StepPaused", UPGRADE.format(1)),
        (P, 1, "StepPaused", MANUAL_1),
        (P, 2, "BeforeStepUpgrade", MANUAL_1),
        (P, 2, "StepUpgrade", MANUAL_1),
        (P, 2, "StepUpgrade", UPGRADE.format(2)),
        (P, 2, "StepTrafficRouting", UPGRADE.format(2)),
        (P, 2, "StepMetricsAnalysis", UPGRADE.format(2)),
        (P, 2, "StepPaused", UPGRADE.format(2)),
        (P, 2, "StepPaused", MANUAL_2),
        (P, 3, "BeforeStepUpgrade", MANUAL_2),
        (P, 3, "StepUpgrade", MANUAL_2),
        (P, 3, "StepUpgrade", UPGRADE.format(3)),
        # 100% on a partition-style rollout: no traffic step, no pause at full release
        (P, 3, "StepMetricsAnalysis", UPGRADE.format(3)),
        (P, 3, "StepPaused", UPGRADE.format(3)),
        (P, 3, "StepReady", UPGRADE.format(3)),
        (P, 3, "Completed", UPGRADE.format(3)),
        (P, 3, "Completed", "Rollout has been completed and some closing work is being done"),
        (P, 3, "Completed", "Rollout progressing has been completed"),
        ("Healthy", 3, "Completed", "Rollout progressing has been completed"),
    ]
    assert s.events == [f"upgrade step({i}) canary pods with new versions done" for i in (1, 2, 3)]
    conds = {c["type"]: c for c in s.rollout["status"]["conditions"]}
    assert conds["Progressing"]["reason"] == "Completed" and conds["Progressing"]["status"] == "False"
    assert conds["Succeeded"]["status"] == "True"


def test_seed_hash_annotation_matches_seed_value():
    s = run_seed_to_step1()
    expected = "77cxd69w47b7bwddwv2w7vxvb4xxdbwcx9x289vw69w788w4w6z4x8dd4vbz2zbw"
    assert s.rollout["metadata"]["annotations"]["rollouts.kruise.io/hash"] == expected
    assert s.rollout["status"]["canaryStatus"]["rolloutHash"] == expected


def test_step1_status_fields_like_seed_describe():
    s = run_seed_to_step1()
    st = s.rollout["status"]
    sub = st["canaryStatus"]
    assert (st["phase"], st["message"]) == ("Progressing", MANUAL_1)
    assert (sub["currentStepIndex"], sub["currentStepState"]) == (1, "StepPaused")
    assert (sub["canaryReplicas"], sub["canaryReadyReplicas"]) == (1, 1)
    assert sub["canaryRevision"] == sub["podTemplateHash"] == "6dd59d49b5"
    assert sub["stableRevision"] == "6c7764b765"
    assert sub["message"] == "BatchRelease is at state Ready, rollout-id 6dd59d49b5, step 1"
    cond = st["conditions"][0]
    assert (cond["type"], cond["reason"], cond["message"]) == ("Progressing", "InRolling", MANUAL_1)
    plan = s.br["spec"]["releasePlan"]
    assert plan["batches"] == [{"canaryReplicas": 1}, {"canaryReplicas": "50%"}, {"canaryReplicas": "100%"}]
    assert plan["batchPartition"] == 0 and plan["rollingStyle"] == "Partition"


def test_batch_release_message_format_with_empty_rollout_id():
    br = {"status": {"observedRolloutID": "", "canaryStatus": {"batchState": "Ready", "currentBatch": 0}}}
    assert batch_release_message(br) == "BatchRelease is at state Ready, rollout-id , step 1"
    br["status"]["message"] = "boom"
    assert batch_release_message(br) == "BatchRelease is at state Ready, rollout-id , step 1, boom"


def test_timed_pause_advances_when_clock_passes_duration():
    steps = [{"replicas": 1, "pause": {"duration": 60}}, {"replicas": "50%"}, {"replicas": "100%"}]
    s = Sim(seed_rollout(steps))
    s.settle()
    s.release("v2")
    s.br_auto_ready = True
    # drive manually to StepPaused without letting settle() jump the clock
    for _ in range(12):
        s.step()
        if s.rollout["status"].get("currentStepState") == "StepPaused" and "wait" in s.rollout["status"]["message"]:
            break
        s.now += timedelta(seconds=3)
    sub = s.rollout["status"]["canaryStatus"]
    assert (
        s.rollout["status"]["message"]
        == "Rollout is in step(1/3), and wait duration(60 seconds) to enter the next step"
    )
    paused_at = sub["lastUpdateTime"]
    due = parse_time(paused_at) + timedelta(seconds=60)
    out = s.step(advance=10)
    assert s.rollout["status"]["canaryStatus"]["currentStepState"] == "StepPaused"
    assert out.requeue_after == pytest.approx((due - s.now).total_seconds())
    s.step(advance=out.requeue_after - 1)
    assert s.rollout["status"]["canaryStatus"]["currentStepState"] == "StepPaused"
    s.step(advance=1)
    assert s.rollout["status"]["canaryStatus"]["currentStepState"] == "StepReady"
    assert s.rollout["status"]["canaryStatus"]["lastUpdateTime"] != paused_at
    s.step()
    assert (s.rollout["status"]["currentStepIndex"], s.rollout["status"]["currentStepState"]) == (
        2,
        "BeforeStepUpgrade",
    )


def test_next_step_index_jump():
    s = run_seed_to_step1()
    sub = s.rollout["status"]["canaryStatus"]
    sub["nextStepIndex"] = 3
    s.step()
    sub = s.rollout["status"]["canaryStatus"]
    assert (sub["currentStepIndex"], sub["nextStepIndex"], sub["currentStepState"]) == (3, -1, "BeforeStepUpgrade")


def test_jump_to_step_with_same_replicas_skips_upgrade():
    s = run_seed_to_step1()
    s.rollout["spec"]["strategy"]["canary"]["steps"].insert(1, {"replicas": 1})
    # keep the plan hash equal so only the jump is exercised
    s.rollout["metadata"]["annotations"]["rollouts.kruise.io/hash"] = "x"
    s.rollout["status"]["canaryStatus"]["rolloutHash"] = ""
    s.rollout["status"]["canaryStatus"]["nextStepIndex"] = 2
    s.rollout["status"]["canaryStatus"]["currentStepIndex"] = 3
    s.step()
    sub = s.rollout["status"]["canaryStatus"]
    assert (sub["currentStepIndex"], sub["currentStepState"]) == (2, "StepTrafficRouting")


@pytest.mark.parametrize("bad", [0, 4, -5])
def test_invalid_next_step_index_ignored(bad):
    s = run_seed_to_step1()
    s.rollout["status"]["canaryStatus"]["nextStepIndex"] = bad
    s.step()
    assert s.rollout["status"]["canaryStatus"]["currentStepIndex"] == 1


def test_continuous_release_restarts_from_step_1():
    s = run_seed_to_step1()
    s.approve()
    s.settle()
    assert s.rollout["status"]["currentStepIndex"] == 2
    s.release("v3")
    out = s.step()
    assert act.ResetForContinuousRelease() in out.actions
    assert s.rollout["status"]["canaryStatus"]["currentStepIndex"] == 2  # waits for reset
    s.reset_done = True
    s.br = None
    s.step()
    st = s.rollout["status"]
    assert "canaryStatus" not in st and st["message"] == "Workload is continuous release"
    s.reset_done = False
    s.settle()
    st = s.rollout["status"]
    assert (st["currentStepIndex"], st["currentStepState"], st["message"]) == (1, "StepPaused", MANUAL_1)
    assert st["canaryStatus"]["canaryRevision"] == "v3"


def test_plan_change_recalculates_step():
    s = run_seed_to_step1()
    s.approve()
    s.settle()  # at step 2 (5 pods)
    s.rollout["spec"]["strategy"]["canary"]["steps"] = [
        {"replicas": 1},
        {"replicas": 3},
        {"replicas": "60%"},
        {"replicas": "100%"},
    ]
    s.step()
    sub = s.rollout["status"]["canaryStatus"]
    # BR released 5 pods; first step with >= 5 among [2 (current), 1, 3, 4] is step 3 (60% = 6),
    # which is already the natural next step: StepReady lets the normal logic advance to it.
    assert (sub["currentStepIndex"], sub["currentStepState"]) == (2, "StepReady")
    assert sub["rolloutHash"] == s.rollout["metadata"]["annotations"]["rollouts.kruise.io/hash"]
    s.step()
    sub = s.rollout["status"]["canaryStatus"]
    assert (sub["currentStepIndex"], sub["currentStepState"]) == (3, "BeforeStepUpgrade")


def test_plan_change_jumps_backwards():
    s = run_seed_to_step1()
    s.approve()
    s.settle()  # step 2, BR at 5 pods
    s.rollout["spec"]["strategy"]["canary"]["steps"] = [{"replicas": 5}, {"replicas": 2}, {"replicas": "100%"}]
    s.step()
    sub = s.rollout["status"]["canaryStatus"]
    # current index 2 (2 pods) < 5; then step 1 (5) qualifies -> jump back to step 1, no upgrade needed
    assert (sub["currentStepIndex"], sub["nextStepIndex"], sub["currentStepState"]) == (1, 2, "StepTrafficRouting")


def test_pause_and_resume():
    s = run_seed_to_step1()
    s.rollout["spec"]["strategy"]["paused"] = True
    s.approve()
    s.step()
    st = s.rollout["status"]
    assert st["message"] == "Rollout has been paused, you can resume it by kube-cli"
    assert st["currentStepIndex"] == 1
    s.rollout["spec"]["strategy"]["paused"] = False
    s.step()
    assert s.rollout["status"]["conditions"][0]["reason"] == "InRolling"
    s.settle()
    assert s.rollout["status"]["currentStepIndex"] == 2


def test_quick_rollback_cancels():
    s = run_seed_to_step1()
    s.workload = WorkloadObservation(
        replicas=10,
        generation=3,
        stable_revision="6c7764b765",
        canary_revision="6c7764b765",
        pod_template_hash="6c7764b765",
        in_progressing=True,
        in_rollback=True,
    )
    out = s.step()
    assert act.EmitEvent("Progressing", "workload has been rollback, then rollout is canceled") in out.actions
    assert (
        s.rollout["status"]["message"] == "The workload has been rolled back and the rollout process will be canceled"
    )
    out = s.step()
    assert act.RunFinalising("Rollback", wait_ready=False) in out.actions
    s.finish_cleanup()
    s.step()
    assert s.rollout["status"]["message"] == "Rollout progressing has been canceled"
    s.step()
    assert s.rollout["status"]["phase"] == "Healthy"


@pytest.mark.parametrize(
    "mutate, phase, message",
    [
        (lambda r: r["spec"].__setitem__("disabled", True), "Disabled", "Rollout is disabled"),
        (lambda r: r["metadata"].__setitem__("deletionTimestamp", "2023-04-08T08:00:00Z"), "Terminating", None),
    ],
)
def test_disabled_and_deleting(mutate, phase, message):
    s = Sim(seed_rollout())
    s.settle()
    mutate(s.rollout)
    s.step()
    assert s.rollout["status"]["phase"] == phase
    if message:
        assert s.rollout["status"]["message"] == message


def test_disabling_while_progressing_then_cleanup():
    s = run_seed_to_step1()
    s.rollout["spec"]["disabled"] = True
    s.step()
    # like upstream, the stored phase (Progressing) still runs one progressing round this time
    assert s.rollout["status"]["phase"] == "Disabling"
    out = s.step()
    assert act.RunFinalising("RolloutDisabled", wait_ready=False) in out.actions
    s.finish_cleanup()
    s.step()
    assert (s.rollout["status"]["phase"], s.rollout["status"]["message"]) == ("Disabled", "Rollout is disabled")


def test_workload_not_found_and_inconsistent():
    ro = seed_rollout()
    ro["status"] = {"phase": "Healthy", "message": "x"}
    out = reconcile_rollout(ro, Observation(WorkloadObservation(found=False)), T0)
    assert out.status == {"observedGeneration": 2, "phase": "Initial", "message": "Workload Not Found"}
    out = reconcile_rollout(ro, Observation(WorkloadObservation(status_consistent=False)), T0)
    assert out.status is None and out.requeue_after == 3.0


def test_initializing_waits_three_seconds_from_condition():
    s = Sim(seed_rollout())
    s.settle()
    s.release("v2")
    s.step()  # Healthy -> Progressing
    out = s.step(advance=1)
    assert out.requeue_after == pytest.approx(2.0)
    assert s.rollout["status"]["conditions"][0]["reason"] == "Initializing"
    s.step(advance=2)
    assert s.rollout["status"]["conditions"][0]["reason"] == "InRolling"


def test_traffic_step_one_pins_stable_service_first():
    steps = [{"traffic": "5%", "replicas": 1}, {"traffic": "50%", "replicas": "50%"}, {"replicas": "100%"}]
    ro = seed_rollout(steps)
    ro["spec"]["strategy"]["canary"]["trafficRoutings"] = [{"service": "svc", "ingress": {"name": "ing"}}]
    s = Sim(ro)
    s.settle()
    s.release("v2")
    s.step()  # Healthy -> Progressing
    s.step(advance=3)  # Initializing -> InRolling
    assert s.rollout["status"]["canaryStatus"]["currentStepState"] == "BeforeStepUpgrade"
    rollout = s.rollout
    obs = Observation(workload=s.workload, stable_service_done=False)
    out = reconcile_rollout(rollout, obs, s.now)
    assert act.PatchStableService("pod-template-hash", "6c7764b765") in out.actions
    assert out.status["canaryStatus"]["currentStepState"] == "BeforeStepUpgrade"
    assert out.requeue_after == 3.0
    out = reconcile_rollout(rollout, Observation(workload=s.workload), s.now)
    # stable Service ready: falls through into StepUpgrade in the same round and creates the BR
    assert out.status["canaryStatus"]["currentStepState"] == "StepUpgrade"
    assert any(isinstance(a, act.CreateBatchRelease) for a in out.actions)


def test_full_size_traffic_step_one_restores_and_does_not_pin_the_stable_service():
    # a 1-replica Deployment: step 1 (one pod) replaces every stable pod. Restoring the selector
    # (ingress-nginx bypass) and pinning it (step 1) undid each other every round: stuck for ever.
    steps = [{"traffic": "20%", "replicas": 1}, {"traffic": "50%", "replicas": "50%"}, {"replicas": "100%"}]
    ro = seed_rollout(steps)
    ro["spec"]["strategy"]["canary"]["trafficRoutings"] = [{"service": "svc", "ingress": {"name": "ing"}}]
    s = Sim(ro, replicas=1)
    s.settle()
    s.release("v2")
    s.step()  # Healthy -> Progressing
    s.step(advance=3)  # Initializing -> InRolling
    assert s.rollout["status"]["canaryStatus"]["currentStepState"] == "BeforeStepUpgrade"
    out = reconcile_rollout(s.rollout, Observation(workload=s.workload, stable_service_done=False), s.now)
    assert act.RestoreStableService() in out.actions
    assert not any(isinstance(a, act.PatchStableService) for a in out.actions)
    assert out.status["canaryStatus"]["currentStepState"] == "BeforeStepUpgrade"
    out = reconcile_rollout(s.rollout, Observation(workload=s.workload), s.now)
    assert not any(isinstance(a, act.PatchStableService) for a in out.actions)
    assert out.status["canaryStatus"]["currentStepState"] == "StepUpgrade"


def _br(batches, partition):
    return {"spec": {"releasePlan": {"batches": [{"canaryReplicas": b} for b in batches], "batchPartition": partition}}}


@pytest.mark.parametrize(
    "steps, batches, partition, expected",
    [  # upstream rollout_progressing_test TestReCalculateCanaryStepIndex (10 replicas, current step 1)
        (["20%", "50%", "100%"], ["40%", "60%", "100%"], 0, 2),
        (["20%", "40%", "100%"], ["40%", "60%", "100%"], 0, 2),
        (["40%", "60%", "100%"], ["20%", "40%", "100%"], 1, 1),
        (["10%", "30%", "100%"], ["20%", "40%", "100%"], 0, 2),
        (["10%", "10%"], ["10%", "20%", "30%"], 0, 1),
    ],
)
def test_recalculate_target_upstream_table(steps, batches, partition, expected):
    from rollouts.rollout.steps import recalculate_target

    ro = seed_rollout([{"replicas": r} for r in steps])
    assert recalculate_target(ro, _br(batches, partition), 1, 10) == expected


def test_recalculate_quirk_last_candidate_and_missing_br():
    from rollouts.rollout.steps import recalculate_target

    ro = seed_rollout([{"replicas": 1}, {"replicas": 2}, {"replicas": 3}])
    # nothing reaches 9 pods; current index 3 is examined first, so the last examined is step 2
    assert recalculate_target(ro, _br(["90%"], 0), 3, 10) == 2
    assert recalculate_target(ro, None, 3, 10) == 1
