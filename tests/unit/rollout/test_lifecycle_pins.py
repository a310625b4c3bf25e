"""Lifecycle edge cases of the pure Rollout machine that no other test pinned (issue 9, item 10).

Each test here was written against a hand-made mutation of the production line that left the whole
unit suite green; the test turns red under that mutation. They assert behaviour (phases, conditions,
actions, the BatchRelease body), never line numbers, so they survive refactors of machine.py/steps.py.
References are to rollout-lifecycle.md.
"""

from __future__ import annotations

from rollouts.rollout import actions as act
from rollouts.rollout.machine import reconcile_rollout
from rollouts.rollout.model import Observation, WorkloadObservation

from .sim import Sim, seed_rollout

V1, V2, V3 = "6c7764b765", "6dd59d49b5", "7f8d9c6b54"


def _at_step1(steps=None) -> Sim:
    s = Sim(seed_rollout(steps))
    s.settle()
    s.release(V2)
    s.settle()
    return s


def _finalising(actions, reason: str) -> bool:
    return act.RunFinalising(reason, wait_ready=False) in actions


# --- a. Disabled -> Healthy when re-enabled (§4 step 8) -------------------------------------------


def test_re_enabling_a_disabled_rollout_returns_it_to_healthy():
    s = Sim(seed_rollout())
    s.settle()
    s.rollout["spec"]["disabled"] = True
    s.settle()
    assert (s.rollout["status"]["phase"], s.rollout["status"]["message"]) == ("Disabled", "Rollout is disabled")
    s.rollout["spec"]["disabled"] = False
    s.step()
    assert (s.rollout["status"]["phase"], s.rollout["status"]["message"]) == ("Healthy", "rollout is healthy")
    # and it is a working Rollout again: the next release is picked up
    s.release(V2)
    s.settle()
    assert s.rollout["status"]["phase"] == "Progressing"
    assert s.rollout["status"]["canaryStatus"]["canaryRevision"] == V2


def test_a_still_disabled_rollout_stays_disabled():
    s = Sim(seed_rollout())
    s.settle()
    s.rollout["spec"]["disabled"] = True
    s.settle()
    out = s.step()
    assert s.rollout["status"]["phase"] == "Disabled"
    assert not any(isinstance(a, act.RunFinalising) for a in out.actions)


# --- b. Disabling waits for its cleanup (§8.2) ----------------------------------------------------


def test_disabling_stays_until_cleanup_is_done_and_keeps_asking_for_it():
    s = _at_step1()
    s.rollout["spec"]["disabled"] = True
    s.step()
    assert s.rollout["status"]["phase"] == "Disabling"
    for _ in range(3):  # the cleanup takes several rounds: each round asks again and rechecks
        out = s.step(advance=3)
        assert _finalising(out.actions, "RolloutDisabled")
        assert out.requeue_after == 3.0
        # (the message is the step machine's: the round that saw disabled=true still ran it, §1 step 6)
        assert s.rollout["status"]["phase"] == "Disabling"
    s.finish_cleanup()
    s.step()
    assert (s.rollout["status"]["phase"], s.rollout["status"]["message"]) == ("Disabled", "Rollout is disabled")
    out = s.step()
    assert not any(isinstance(a, act.RunFinalising) for a in out.actions)


# --- c. Terminating condition after cleanup (§8.1) ------------------------------------------------


def test_terminating_condition_becomes_completed_false_after_cleanup_and_cleanup_stops():
    s = _at_step1()
    s.rollout["metadata"]["deletionTimestamp"] = "2023-04-08T08:00:00Z"
    s.step()
    s.step()  # the stored phase was Progressing: Terminating logic starts in the next round
    cond = next(c for c in s.rollout["status"]["conditions"] if c["type"] == "Terminating")
    assert (cond["status"], cond["reason"], cond["message"]) == ("True", "InTerminating", "Rollout is in terminating")
    out = s.step(advance=3)
    assert _finalising(out.actions, "RolloutDeleting") and out.requeue_after == 3.0
    s.finish_cleanup()
    s.step()
    cond = next(c for c in s.rollout["status"]["conditions"] if c["type"] == "Terminating")
    # the reconciler removes the finalizer on exactly this reason
    assert (cond["status"], cond["reason"], cond["message"]) == ("False", "Completed", "Rollout is in terminating")
    assert s.rollout["status"]["phase"] == "Terminating"
    out = s.step()
    assert not any(isinstance(a, act.RunFinalising) for a in out.actions)


# --- d. observedRolloutID follows the workload only for the same revision (§4 step 7) -------------


def _workload(revision: str, *, generation: int, label: str = "", in_progressing: bool = True) -> WorkloadObservation:
    return WorkloadObservation(
        replicas=10,
        generation=generation,
        stable_revision=V1,
        canary_revision=revision,
        pod_template_hash=revision,
        in_progressing=in_progressing,
        rollout_id_label=label,
    )


def test_observed_rollout_id_is_kept_when_the_canary_revision_changed():
    s = Sim(seed_rollout())
    s.settle()
    sub = s.rollout["status"]["canaryStatus"]
    assert (sub["observedRolloutID"], sub["observedWorkloadGeneration"]) == (V1, 1)
    out = reconcile_rollout(s.rollout, Observation(_workload(V2, generation=2, label="id-2")), s.now)
    assert out.status["phase"] == "Progressing"
    sub = out.status["canaryStatus"]
    assert (sub["observedRolloutID"], sub["observedWorkloadGeneration"]) == (V1, 1)


def test_observed_rollout_id_follows_a_new_rollout_id_label_on_the_same_revision():
    s = _at_step1()
    assert s.rollout["status"]["canaryStatus"]["observedRolloutID"] == V2
    s.workload = _workload(V2, generation=s.workload.generation + 1, label="relabel-1")
    out = s.step()
    sub = s.rollout["status"]["canaryStatus"]
    assert (sub["observedRolloutID"], sub["observedWorkloadGeneration"]) == ("relabel-1", s.workload.generation)
    assert act.PatchBatchReleaseRolloutID("relabel-1") in out.actions


def test_observed_rollout_id_is_kept_while_a_continuous_release_resets():
    s = _at_step1()
    s.workload = _workload(V3, generation=s.workload.generation + 1, label="id-3")
    out = s.step()
    assert act.ResetForContinuousRelease() in out.actions
    assert s.rollout["status"]["canaryStatus"]["observedRolloutID"] == V2


# --- e. "100%" skips the pause only on the last step (§6.2 StepPaused) ----------------------------


def test_a_100_percent_step_that_is_not_the_last_still_pauses():
    s = _at_step1([{"replicas": 1}, {"replicas": "100%"}, {"replicas": "100%"}])
    s.approve()
    s.settle()
    st = s.rollout["status"]
    assert (st["currentStepIndex"], st["currentStepState"]) == (2, "StepPaused")
    assert st["message"] == "Rollout is in step(2/3), and you need manually confirm to enter the next step"
    s.approve()
    s.settle()
    st = s.rollout["status"]
    # the last "100%" step does not pause: the release runs through to completion
    assert (st["currentStepIndex"], st["currentStepState"]) == (3, "Completed")


def test_a_full_last_step_given_as_a_number_still_pauses():
    """Only the *string* "100%" is the full-release shortcut (upstream compares the IntOrString)."""
    s = _at_step1([{"replicas": 1}, {"replicas": 10}])
    s.approve()
    s.settle()
    st = s.rollout["status"]
    assert (st["currentStepIndex"], st["currentStepState"]) == (2, "StepPaused")
    assert st["message"] == "Rollout is in step(2/2), and you need manually confirm to enter the next step"


# --- g. BatchRelease carries failureThreshold / patchPodTemplateMetadata (§7) ---------------------


def test_batch_release_carries_failure_threshold_and_pod_template_metadata():
    ro = seed_rollout()
    patch = {"labels": {"version": "canary"}, "annotations": {"note": "x"}}
    ro["spec"]["strategy"]["canary"].update(failureThreshold="20%", patchPodTemplateMetadata=patch)
    s = Sim(ro)
    s.settle()
    s.release(V2)
    s.settle()
    plan = s.br["spec"]["releasePlan"]
    assert plan["failureThreshold"] == "20%"
    assert plan["patchPodTemplateMetadata"] == patch
    # a new threshold reaches the BatchRelease with the next step (it is outside the plan hash)
    s.rollout["spec"]["strategy"]["canary"]["failureThreshold"] = 2
    s.approve()
    s.settle()
    assert s.br["spec"]["releasePlan"]["failureThreshold"] == 2
    assert s.br["spec"]["releasePlan"]["batchPartition"] == 1


def test_batch_release_without_the_optional_fields_omits_them():
    s = _at_step1()
    plan = s.br["spec"]["releasePlan"]
    assert "failureThreshold" not in plan and "patchPodTemplateMetadata" not in plan
