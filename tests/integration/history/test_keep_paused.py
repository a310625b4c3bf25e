"""KeepWorkloadPausedOnRolloutDeletion on the real control plane (batch-release.md §11): a Rollout
deleted mid-release hands its Deployment back *paused* — strategy restored, bookkeeping removed, the
pods left as the release had them — and the user finishes it by unpausing; a Rollout deleted during a
rollback is not held (docs/operations.md)."""

from __future__ import annotations

import time

import pytest

from tests.e2e.harness import ROLLOUT_RESOURCE, Kubectl, ManagerProcess, Release, step_paused_message, wait_for
from tests.integration.rollouttraffic.test_traffic_release import statefulset
from tests.integration.workloads.helpers import WorkloadRelease, rollout_body

pytestmark = pytest.mark.integration


def test_delete_mid_release_leaves_the_deployment_paused(manager: ManagerProcess, kc: Kubectl, namespace: str) -> None:
    r = Release(kc, namespace)
    r.create_workload(replicas=4)
    r.create_rollout()
    r.patch("version-2")
    r.wait_rollout(("Progressing", "1", "StepPaused", step_paused_message(1)))
    r.wait_deploy(("4/4", "1", "4"))
    kc("-n", namespace, "delete", ROLLOUT_RESOURCE, "rollouts-demo", "--wait=true", "--timeout=60s")

    d = r.deployment()
    assert d["spec"].get("paused") is True, d["spec"]
    assert d["spec"]["strategy"] == {"type": "RollingUpdate",
                                     "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}
    assert [k for k in d["metadata"].get("annotations") or {} if "rollouts.kruise.io" in k] == []
    assert [k for k in d["metadata"].get("labels") or {} if "rollouts.kruise.io/stable-revision" in k] == []
    assert r.batch_releases() == []
    time.sleep(2)  # the native controller must not roll a paused Deployment
    sets = r.replica_sets()
    # Still one version-2 pod. The old side may gain one: for a paused Deployment kube-controller-manager
    # only scales, proportionally, up to replicas + maxSurge (4 + 1), as it does upstream.
    assert sorted(v for k, v in sets.items() if k != r.old_rs) == [(1, 1, 1)], sets
    assert sets[r.old_rs][0] in (3, 4), sets

    kc("-n", namespace, "patch", "deployment", "workload-demo", "-p", '{"spec":{"paused":false}}')
    r.wait_deploy(("4/4", "4", "4"))


def test_delete_during_a_rollback_in_batches_finishes_the_rollback(manager: ManagerProcess, kc: Kubectl,
                                                                   namespace: str) -> None:
    """The case the spec leaves open (docs/operations.md): a StatefulSet rolling back in batches
    (rollout-lifecycle.md §7.2) when its Rollout is deleted. The gate would keep the partition and strand
    the remaining version-2 pod; the target is the stable version, so the StatefulSet is released and
    every pod returns to version-1."""
    r = WorkloadRelease(kc, namespace, "statefulset")
    r.apply(statefulset())
    r.wait_versions(4, 4, "version-1")
    body = rollout_body(namespace, "apps/v1", "StatefulSet")
    body["metadata"]["annotations"] = {"rollouts.kruise.io/rollback-in-batch": "true"}
    r.apply(body)
    r.wait_rollout(("Healthy", None, "Completed", "workload deployment is completed"))
    r.patch("version-2")
    r.wait_rollout(("Progressing", "1", "StepPaused", step_paused_message(1)))
    r.approve()
    r.wait_rollout(("Progressing", "2", "StepPaused", step_paused_message(2)))
    r.wait_versions(4, 2, "version-2")

    r.patch("version-1")  # rollback in batches: restarts at step 1, one of the two pods moves back
    wait_for(lambda: r.rollout()["status"].get("canaryStatus") or {},
             lambda cs: str(cs.get("observedRolloutID", "")).startswith("rollback-")
             and cs.get("currentStepState") == "StepPaused", what="rolling back in batches, paused at step 1")
    r.wait_versions(4, 1, "version-2")
    kc("-n", namespace, "delete", ROLLOUT_RESOURCE, "rollouts-demo", "--wait=true", "--timeout=60s")

    r.wait_versions(4, 4, "version-1")
    strategy = r.workload()["spec"]["updateStrategy"]
    assert not (strategy.get("rollingUpdate") or {}).get("partition"), strategy
    wait_for(r.leftovers, lambda left: left == [], what="no rollouts annotations or BatchRelease left")
