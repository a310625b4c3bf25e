"""Rollback in batches (rollout-lifecycle.md §5.3 case 3, §7.2): the policy and the restart at step 1."""

from __future__ import annotations

import pytest

from rollouts.rollout.model import WorkloadObservation, rollback_in_batch_policy
from rollouts.rollout.steps import desired_batch_release

from .sim import Sim, seed_rollout

ANN = "rollouts.kruise.io/rollback-in-batch"


def rollout(kind: str = "CloneSet", annotation: str | None = "true", traffic: bool = False) -> dict:
    ro = seed_rollout(steps=[{"replicas": "20%"}, {"replicas": "40%"}, {"replicas": "60%"}, {"replicas": "100%"}])
    ro["spec"]["workloadRef"] = {"apiVersion": "apps.kruise.io/v1alpha1", "kind": kind, "name": "workload-demo"}
    if annotation is not None:
        ro["metadata"]["annotations"][ANN] = annotation
    if traffic:
        ro["spec"]["strategy"]["canary"]["trafficRoutings"] = [{"service": "svc", "ingress": {"name": "ing"}}]
    return ro


@pytest.mark.parametrize("kind, labels, annotation, traffic, want", [
    ("CloneSet", {}, "true", False, True),
    ("StatefulSet", {}, "true", False, True),
    ("MyStatefulThing", {"rollouts.kruise.io/workload-type": "statefulset"}, "true", False, True),
    ("MyClone", {"rollouts.kruise.io/workload-type": "cloneset"}, "true", False, True),
    ("Deployment", {}, "true", False, False),        # Deployments always roll back at once
    ("DaemonSet", {"rollouts.kruise.io/workload-type": "daemonset"}, "true", False, False),
    ("CloneSet", {}, "false", False, False),
    ("CloneSet", {}, None, False, False),
    ("CloneSet", {}, "true", True, False),           # traffic routing: never in batches
])
def test_policy(kind: str, labels: dict, annotation: str | None, traffic: bool, want: bool) -> None:
    assert rollback_in_batch_policy(rollout(kind, annotation, traffic), labels) is want


def _at_step3(sim: Sim) -> None:
    sim.settle()
    sim.release("v2hash")
    sim.settle()
    for _ in range(2):
        sim.approve()
        sim.settle()
    assert sim.rollout["status"]["canaryStatus"]["currentStepIndex"] == 3


def _rolled_back(sim: Sim) -> None:
    sim.workload = WorkloadObservation(replicas=10, generation=5, stable_revision="6c7764b765",
                                       canary_revision="6c7764b765", pod_template_hash="6c7764b765",
                                       in_progressing=True, in_rollback=True)


def test_rollback_in_batches_restarts_at_step_one_and_walks_the_steps() -> None:
    sim = Sim(rollout())
    sim.rollback_in_batch = True
    _at_step3(sim)
    _rolled_back(sim)
    sim.step()
    sub = sim.rollout["status"]["canaryStatus"]
    assert (sub["currentStepIndex"], sub["nextStepIndex"], sub["currentStepState"]) == (1, 2, "BeforeStepUpgrade")
    assert sub["canaryRevision"] == "6c7764b765"
    sim.settle()
    sub = sim.rollout["status"]["canaryStatus"]
    assert (sub["currentStepIndex"], sub["currentStepState"]) == (1, "StepPaused")
    assert sub["observedRolloutID"] == "rollback-6c7764b765"
    assert sim.rollout["status"]["phase"] == "Progressing"
    assert sim.br["metadata"]["annotations"] == {ANN: "true"}
    assert sim.br["spec"]["releasePlan"]["rolloutID"] == "rollback-6c7764b765"
    assert sim.br["spec"]["releasePlan"]["batchPartition"] == 0


def test_without_the_policy_the_same_rollback_cancels_at_once() -> None:
    sim = Sim(rollout())
    _at_step3(sim)
    _rolled_back(sim)
    sim.step()
    cancelling = "The workload has been rolled back and the rollout process will be canceled"
    assert sim.rollout["status"]["message"] == cancelling
    assert sim.rollout["status"]["canaryStatus"]["currentStepIndex"] == 3


def test_annotation_reaches_the_batch_release_only_while_rolling_back() -> None:
    ro = rollout()
    sub = {"currentStepIndex": 2, "observedRolloutID": "r"}
    assert "annotations" not in desired_batch_release(ro, sub, False)["metadata"]
    assert desired_batch_release(ro, sub, True)["metadata"]["annotations"] == {ANN: "true"}
    sim = Sim(ro)
    sim.rollback_in_batch = True  # policy holds, but no rollback: a normal release carries no annotation
    sim.settle()
    sim.release("v2hash")
    sim.settle()
    assert "annotations" not in sim.br["metadata"]


def test_a_rollback_release_keeps_its_rollout_id_when_the_last_pod_is_back() -> None:
    """Once every pod is on the old revision the workload is no longer "in rollback"; the release's
    id must not lose its prefix then (the BatchRelease would restart and relabel every pod)."""
    sim = Sim(rollout())
    sim.rollback_in_batch = True
    _at_step3(sim)
    _rolled_back(sim)
    sim.settle()
    assert sim.rollout["status"]["canaryStatus"]["observedRolloutID"] == "rollback-6c7764b765"
    sim.workload = WorkloadObservation(replicas=10, generation=6, stable_revision="6c7764b765",
                                       canary_revision="6c7764b765", pod_template_hash="6c7764b765",
                                       in_progressing=True, in_rollback=False)
    sim.step()
    assert sim.rollout["status"]["canaryStatus"]["observedRolloutID"] == "rollback-6c7764b765"
    assert sim.br["spec"]["releasePlan"]["rolloutID"] == "rollback-6c7764b765"
