"""Partition release of a native ``apps/v1`` StatefulSet (batch-release.md §9.3) on the real control
plane: 10 replicas, steps 1 / 50% / 100%, highest ordinals first; rollback and Rollout deletion
mid-release.
"""

from __future__ import annotations

import time

import pytest

from tests.e2e.harness import Kubectl, ManagerProcess, step_paused_message, wait_for
from tests.integration.workloads.helpers import (
    WorkloadRelease,
    continuous_release_to_v3,
    pod_template,
    rollout_body,
)

pytestmark = pytest.mark.integration


def statefulset(replicas: int = 10) -> dict:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "workload-demo"},
            "spec": {"replicas": replicas, "serviceName": "workload-demo", "podManagementPolicy": "Parallel",
                     "selector": {"matchLabels": {"app": "demo"}}, "template": pod_template("version-1")}}


@pytest.fixture
def release(manager: ManagerProcess, kc: Kubectl, namespace: str) -> WorkloadRelease:
    r = WorkloadRelease(kc, namespace, "statefulset")
    r.apply(statefulset())
    r.wait_versions(10, 10, "version-1")
    r.apply(rollout_body(namespace, "apps/v1", "StatefulSet"))
    r.wait_rollout(("Healthy", "3", "Completed", "workload deployment is completed"))
    return r


def updated_ordinals(r: WorkloadRelease, version: str) -> list[int]:
    return sorted(int(n.rsplit("-", 1)[1]) for n, v in r.versions().items() if v == version)


def partition(r: WorkloadRelease) -> int | None:
    return ((r.workload()["spec"].get("updateStrategy") or {}).get("rollingUpdate") or {}).get("partition")


def test_statefulset_multi_batch_highest_ordinals_first(release: WorkloadRelease) -> None:
    r = release
    r.patch("version-2")
    r.wait_rollout(("Progressing", "1", "StepPaused", step_paused_message(1)))
    r.wait_versions(10, 1, "version-2")
    assert updated_ordinals(r, "version-2") == [9]
    assert partition(r) == 9
    for _ in range(4):  # exactly one updated pod while the step is paused
        assert updated_ordinals(r, "version-2") == [9]
        time.sleep(0.25)

    assert r.approve() == "rollout.rollouts.kruise.io/rollouts-demo approved"
    r.wait_rollout(("Progressing", "2", "StepPaused", step_paused_message(2)))
    r.wait_versions(10, 5, "version-2")
    assert updated_ordinals(r, "version-2") == [5, 6, 7, 8, 9]
    assert partition(r) == 5

    r.approve()
    r.wait_rollout(("Healthy", "3", "Completed", "Rollout progressing has been completed"))
    r.wait_versions(10, 10, "version-2")
    wait_for(r.leftovers, lambda left: left == [], what="no rollouts annotations or BatchRelease left")
    assert partition(r) in (None, 0)
    assert r.batch_labels() == ["1"] + ["2"] * 4 + ["3"] * 5


def test_statefulset_rollback_mid_release(release: WorkloadRelease) -> None:
    r = release
    r.patch("version-2")
    r.wait_rollout(("Progressing", "1", "StepPaused", step_paused_message(1)))
    r.wait_versions(10, 1, "version-2")
    r.patch("version-1")
    r.wait_rollout(("Healthy", None, None, None))
    r.wait_versions(10, 10, "version-1")
    wait_for(r.leftovers, lambda left: left == [], what="no rollouts annotations or BatchRelease left")
    assert partition(r) in (None, 0)


def test_statefulset_rollout_deleted_mid_release(release: WorkloadRelease) -> None:
    r = release
    r.patch("version-2")
    r.wait_rollout(("Progressing", "1", "StepPaused", step_paused_message(1)))
    r.wait_versions(10, 1, "version-2")
    r.kc("-n", r.ns, "delete", "rollouts.rollouts.kruise.io", "rollouts-demo", "--wait=false")
    wait_for(lambda: r.kc("-n", r.ns, "get", "rollouts.rollouts.kruise.io", "-o", "name"), lambda out: not out.strip(),
             what="Rollout gone")
    r.wait_versions(10, 10, "version-2")  # the StatefulSet controller finishes the update natively
    assert partition(r) in (None, 0)
    wait_for(r.leftovers, lambda left: left == [], what="no rollouts annotations or BatchRelease left")


def test_statefulset_disabled_mid_release(release: WorkloadRelease) -> None:
    r = release
    r.patch("version-2")
    r.wait_rollout(("Progressing", "1", "StepPaused", step_paused_message(1)))
    r.wait_versions(10, 1, "version-2")
    r.kc("-n", r.ns, "patch", "rollouts.v1beta1.rollouts.kruise.io", "rollouts-demo", "--type=merge",
         "-p", '{"spec":{"disabled":true}}')
    r.wait_rollout(("Disabled", None, None, None))
    r.wait_versions(10, 10, "version-2")  # handed back: the StatefulSet controller finishes natively
    assert partition(r) in (None, 0)
    wait_for(r.leftovers, lambda left: left == [], what="no rollouts annotations or BatchRelease left")


def test_statefulset_continuous_release_restarts_at_step_one(release: WorkloadRelease) -> None:
    """v2 at step 1, then v3: the release starts over at step 1 for v3 (highest ordinal first), the
    v2 pod is not left behind, and the approvals take v3 to every pod."""
    r = release
    continuous_release_to_v3(r, 10)
    assert updated_ordinals(r, "version-3") == [9]
    assert updated_ordinals(r, "version-2") == []
    r.approve()
    r.wait_rollout(("Progressing", "2", "StepPaused", step_paused_message(2)))
    r.wait_versions(10, 5, "version-3")
    assert updated_ordinals(r, "version-3") == [5, 6, 7, 8, 9]
    r.approve()
    r.wait_rollout(("Healthy", "3", "Completed", "Rollout progressing has been completed"))
    r.wait_versions(10, 10, "version-3")
    wait_for(r.leftovers, lambda left: left == [], what="no rollouts annotations or BatchRelease left")
