"""Exact shapes the pure Rollout machine writes: the BatchRelease body, the fresh sub-status, the
Progressing/Succeeded conditions, the finalising actions, rollback in batches.

`make mutation` showed the earlier tests checked messages and step indexes but not these wire
shapes (dozens of surviving mutants renamed a key or flipped a flag). Comparing whole dicts is the
point: every key is part of the wire contract (rollout-lifecycle.md §5.2, §5.3, §7).
"""

from __future__ import annotations

from rollouts.release.plan import release_plan_hash
from rollouts.rollout import actions as act
from rollouts.rollout.machine import reconcile_rollout
from rollouts.rollout.model import Observation, WorkloadObservation, format_time
from rollouts.rollout.steps import (
    batch_release_differs,
    batch_release_message,
    batch_release_ready,
    desired_batch_release,
)

from .sim import Sim, seed_rollout

V1, V2 = "6c7764b765", "6dd59d49b5"
HASH = "77cxd69w47b7bwddwv2w7vxvb4xxdbwcx9x289vw69w788w4w6z4x8dd4vbz2zbw"


def _at_step1() -> Sim:
    s = Sim(seed_rollout())
    s.settle()
    s.release(V2)
    s.settle()
    return s


def _progressing(s: Sim) -> tuple:
    c = next(c for c in s.rollout["status"]["conditions"] if c["type"] == "Progressing")
    return c["status"], c["reason"], c["message"]


def test_desired_batch_release_body():
    ro = seed_rollout()
    body = desired_batch_release(ro, {"currentStepIndex": 2, "observedRolloutID": "id-1"}, rollback_in_batch=False)
    assert body == {
        "apiVersion": "rollouts.kruise.io/v1beta1",
        "kind": "BatchRelease",
        "metadata": {
            "name": "rollouts-demo",
            "namespace": "default",
            "ownerReferences": [{"apiVersion": "rollouts.kruise.io/v1beta1", "kind": "Rollout", "name": "rollouts-demo",
                                 "uid": "ro-uid", "controller": True, "blockOwnerDeletion": True}],
        },
        "spec": {
            "workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "workload-demo"},
            "releasePlan": {
                "batches": [{"canaryReplicas": 1}, {"canaryReplicas": "50%"}, {"canaryReplicas": "100%"}],
                "batchPartition": 1,
                "rolloutID": "id-1",
                "rollingStyle": "Partition",
                "enableExtraWorkloadForCanary": False,
            },
        },
    }


def test_desired_batch_release_defaults_and_rollback_annotation():
    ro = seed_rollout()
    ro["metadata"]["annotations"]["rollouts.kruise.io/rollback-in-batch"] = "true"
    plain = desired_batch_release(ro, {}, rollback_in_batch=False)
    assert "annotations" not in plain["metadata"]
    plan = plain["spec"]["releasePlan"]
    assert (plan["batchPartition"], plan["rolloutID"]) == (0, "")
    rolling_back = desired_batch_release(ro, {}, rollback_in_batch=True)
    assert rolling_back["metadata"]["annotations"] == {"rollouts.kruise.io/rollback-in-batch": "true"}
    assert batch_release_differs(plain, rolling_back)
    del ro["metadata"]["annotations"]["rollouts.kruise.io/rollback-in-batch"]
    assert "annotations" not in desired_batch_release(ro, {}, rollback_in_batch=True)["metadata"]


def test_batch_release_differs_ignores_defaulted_fields_only():
    desired = desired_batch_release(seed_rollout(), {"currentStepIndex": 1}, rollback_in_batch=False)
    observed = {**desired, "spec": {**desired["spec"], "releasePlan": {
        **desired["spec"]["releasePlan"], "failureThreshold": None, "finalizingPolicy": ""}}}
    assert not batch_release_differs(observed, desired)
    plan = desired["spec"]["releasePlan"]
    moved = {**desired, "spec": {**desired["spec"], "releasePlan": {**plan, "batchPartition": 1}}}
    assert batch_release_differs(moved, desired)
    # inside lists too: defaulted entries are ignored, values are not
    assert not batch_release_differs({"spec": {"b": [{"canaryReplicas": 1, "x": None}]}},
                                     {"spec": {"b": [{"canaryReplicas": 1}]}})
    assert batch_release_differs({"spec": {"b": [{"canaryReplicas": 1}]}}, {"spec": {"b": [{"canaryReplicas": 2}]}})


def _br_status(**kw):
    br = desired_batch_release(seed_rollout(), {"currentStepIndex": 2}, rollback_in_batch=False)
    br["metadata"]["generation"] = 3
    status = {"observedGeneration": 3, "observedReleasePlanHash": release_plan_hash(br["spec"]["releasePlan"]),
              "canaryStatus": {"batchState": "Ready", "currentBatch": 1}}
    for key, value in kw.items():
        if key in ("batchState", "currentBatch"):
            status["canaryStatus"][key] = value
        else:
            status[key] = value
    br["status"] = status
    return br


def test_batch_release_ready_needs_every_clause():
    assert batch_release_ready(_br_status(), 2)
    assert not batch_release_ready(_br_status(observedGeneration=2), 2)
    assert not batch_release_ready(_br_status(observedReleasePlanHash="x"), 2)
    assert not batch_release_ready(_br_status(batchState="Upgrading"), 2)
    assert not batch_release_ready(_br_status(currentBatch=0), 2)
    assert batch_release_ready(_br_status(currentBatch=2), 2)
    no_generation = _br_status()
    del no_generation["metadata"]["generation"], no_generation["status"]["observedGeneration"]
    assert not batch_release_ready(no_generation, 2)
    no_batch = _br_status()
    del no_batch["status"]["canaryStatus"]["currentBatch"]
    assert batch_release_ready(no_batch, 1) and not batch_release_ready(no_batch, 2)


def test_batch_release_message_with_missing_fields():
    assert batch_release_message({}) == "BatchRelease is at state , rollout-id , step 1"
    br = {"status": {"observedRolloutID": "r", "canaryStatus": {"batchState": "Ready", "currentBatch": 2}}}
    assert batch_release_message(br) == "BatchRelease is at state Ready, rollout-id r, step 3"


def test_fresh_sub_status_at_initializing():
    s = Sim(seed_rollout())
    s.settle()
    s.release(V2)
    s.step()  # Healthy -> Progressing
    s.step()  # Initializing: fresh sub-status, then wait the settle delay
    sub = s.rollout["status"]["canaryStatus"]
    assert sub == {
        "observedWorkloadGeneration": 2,
        "rolloutHash": HASH,
        "observedRolloutID": V2,
        "stableRevision": V1,
        "canaryRevision": V2,
        "canaryReplicas": 0,
        "canaryReadyReplicas": 0,
        "currentStepIndex": 1,
        "nextStepIndex": 2,
        "currentStepState": "BeforeStepUpgrade",
        "finalisingStep": "",
        "lastUpdateTime": "2023-04-08T07:27:16Z",
    }


def test_prologue_mirrors_the_batch_release_and_patches_its_rollout_id():
    s = _at_step1()
    s.br["status"]["canaryStatus"].update(updatedReplicas=3, updatedReadyReplicas=2)
    s.br["status"]["message"] = "slow"
    s.br["spec"]["releasePlan"]["rolloutID"] = "stale"
    out = reconcile_rollout(s.rollout, s.observe(), s.now)
    sub = out.status["canaryStatus"]
    assert (sub["canaryReplicas"], sub["canaryReadyReplicas"]) == (3, 2)
    assert sub["message"] == f"BatchRelease is at state Ready, rollout-id {V2}, step 1, slow"
    assert act.PatchBatchReleaseRolloutID(V2) in out.actions
    s.br["spec"]["releasePlan"]["rolloutID"] = V2
    assert not any(isinstance(a, act.PatchBatchReleaseRolloutID)
                   for a in reconcile_rollout(s.rollout, s.observe(), s.now).actions)


def test_conditions_through_pause_cancel_and_completion():
    s = _at_step1()
    assert _progressing(s) == ("True", "InRolling",
                               "Rollout is in step(1/3), and you need manually confirm to enter the next step")
    s.rollout["spec"]["strategy"]["paused"] = True
    s.step()
    assert _progressing(s) == ("True", "Paused", "Rollout has been paused, you can resume it by kube-cli")
    s.rollout["spec"]["strategy"]["paused"] = False
    s.step()
    assert _progressing(s)[:2] == ("True", "InRolling")
    s.workload = WorkloadObservation(replicas=10, generation=3, stable_revision=V1, canary_revision=V1,
                                     pod_template_hash=V1, in_progressing=True, in_rollback=True)
    s.step()
    assert _progressing(s) == ("True", "Cancelling",
                               "The workload has been rolled back and the rollout process will be canceled")
    assert s.rollout["status"]["canaryStatus"]["canaryRevision"] == V1
    out = s.step()
    assert act.RunFinalising("Rollback", wait_ready=False) in out.actions
    s.finish_cleanup()
    s.step()
    assert _progressing(s) == ("False", "Completed", "Rollout progressing has been canceled")
    succeeded = next(c for c in s.rollout["status"]["conditions"] if c["type"] == "Succeeded")
    assert (succeeded["status"], succeeded["reason"], succeeded["message"]) == ("False", "", "")


def test_success_finalising_waits_for_ready_pods():
    s = _at_step1()
    for _ in range(2):
        s.approve()
        s.settle()
    assert _progressing(s)[1] == "Finalising"
    out = s.step()
    assert act.RunFinalising("Success", wait_ready=True) in out.actions
    s.finish_cleanup()
    s.step()
    succeeded = next(c for c in s.rollout["status"]["conditions"] if c["type"] == "Succeeded")
    assert (succeeded["status"], succeeded["reason"], succeeded["message"]) == ("True", "", "")


def test_rollback_in_batches_restarts_at_step_one_without_cancelling():
    s = _at_step1()
    s.approve()
    s.settle()  # step 2
    s.workload = WorkloadObservation(replicas=10, generation=3, stable_revision=V1, canary_revision=V1,
                                     pod_template_hash=V1, in_progressing=True, in_rollback=True)
    out = reconcile_rollout(s.rollout, Observation(s.workload, batch_release=s.br, rollback_in_batch=True),
                            s.now)
    sub = out.status["canaryStatus"]
    assert (sub["currentStepIndex"], sub["nextStepIndex"], sub["currentStepState"], sub["canaryRevision"]) == (
        1, 2, "BeforeStepUpgrade", V1)
    assert (sub["rolloutHash"], sub["lastUpdateTime"]) == (HASH, format_time(s.now))
    assert not any(isinstance(a, act.EmitEvent) for a in out.actions)
    cond = next(c for c in out.status["conditions"] if c["type"] == "Progressing")
    assert cond["reason"] == "InRolling"


def test_continuous_release_event():
    s = _at_step1()
    s.release("v3")
    out = s.step()
    assert act.EmitEvent("Progressing", "workload continuous publishing canaryRevision, then restart publishing") \
        in out.actions


def test_completed_sub_status_of_a_first_deployment():
    """§4 step 8: a workload found without a release is reported as a completed one."""
    s = Sim(seed_rollout())
    s.settle()
    st = s.rollout["status"]
    assert (st["phase"], st["message"]) == ("Healthy", "workload deployment is completed")
    assert st["canaryStatus"] == {
        "observedRolloutID": V1,
        "observedWorkloadGeneration": 1,
        "podTemplateHash": V1,
        "stableRevision": V1,
        "canaryRevision": V1,
        "canaryReplicas": 0,
        "canaryReadyReplicas": 0,
        "currentStepIndex": 3,
        "nextStepIndex": -1,
        "currentStepState": "Completed",
        "finalisingStep": "",
        "rolloutHash": HASH,
    }


def test_progressing_condition_at_finalising_and_after_a_continuous_release_reset():
    s = _at_step1()
    for _ in range(2):
        s.approve()
        s.settle()
    assert _progressing(s) == ("True", "Finalising", "Rollout has been completed and some closing work is being done")
    s = _at_step1()
    s.release("v3")
    s.reset_done = True
    s.step()
    assert _progressing(s) == ("True", "Initializing", "Workload is continuous release")
    st = s.rollout["status"]
    assert "canaryStatus" not in st and "currentStepIndex" not in st and "currentStepState" not in st


def test_in_rolling_without_sub_status_restarts_initialisation():
    s = _at_step1()
    del s.rollout["status"]["canaryStatus"]
    out = reconcile_rollout(s.rollout, s.observe(), s.now)
    cond = next(c for c in out.status["conditions"] if c["type"] == "Progressing")
    assert (cond["status"], cond["reason"], cond["message"]) == ("True", "Initializing", "Rollout is in Progressing")


def test_an_empty_pod_template_hash_is_filled_from_the_workload():
    s = _at_step1()
    s.rollout["status"]["canaryStatus"]["podTemplateHash"] = ""
    out = reconcile_rollout(s.rollout, s.observe(), s.now)
    assert out.status["canaryStatus"]["podTemplateHash"] == V2
    s.rollout["status"]["canaryStatus"]["podTemplateHash"] = "kept"
    out = reconcile_rollout(s.rollout, s.observe(), s.now)
    assert out.status["canaryStatus"]["podTemplateHash"] == "kept"
