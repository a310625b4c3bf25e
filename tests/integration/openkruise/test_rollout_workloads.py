"""Rollouts of the OpenKruise kinds against the REAL kruise-manager (batch-release.md §9.1, §9.3,
§9.4): CloneSet, Advanced StatefulSet and Advanced DaemonSet, 10 pods each, steps 1 / 50% / 100%.

Our manager (``kruise-rollout --local-cluster``) runs against the OpenKruise cluster, finds the
OpenKruise CRDs at start and watches those kinds; every pod update below is done by kruise-manager
honouring the partition our executors write. ReCreate update policies: kwok never reports an
in-place image update. These tests live here (not in tests/integration/workloads/) because the
session-scoped ``openkruise_cluster`` fixture is defined in this directory's conftest.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from localcluster.cluster import LocalCluster

from tests.e2e.harness import Kubectl, ManagerProcess, running, step_paused_message, wait_for
from tests.integration.workloads.helpers import (
    BATCH_LABEL,
    WorkloadRelease,
    continuous_release_to_v3,
    pod_template,
    rollback_restarts_as_new_release,
    rollout_body,
)

pytestmark = pytest.mark.integration

KRUISE = "apps.kruise.io"
#: Extra kwok nodes, tainted so that no other test's DaemonSet lands on them.
DS_NODES = 10
DS_TAINT = "rollouts-test/advanced-daemonset"


@pytest.fixture(scope="module")
def okc(openkruise_cluster: LocalCluster) -> Kubectl:
    return Kubectl(str(openkruise_cluster.kubeconfig))


@pytest.fixture(scope="module")
def kruise_manager(openkruise_cluster: LocalCluster, okc: Kubectl,
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagerProcess]:
    mgr = ManagerProcess(str(openkruise_cluster.kubeconfig), tmp_path_factory.mktemp("kruise-manager"),
                         extra_args=("--no-leader-elect",))
    with running(mgr, okc):
        yield mgr


def _release(okc: Kubectl, ns: str, resource: str, body: dict, api_version: str, kind: str,
             pods: int = 10) -> WorkloadRelease:
    r = WorkloadRelease(okc, ns, resource)
    r.apply(body)
    r.wait_versions(pods, pods, "version-1", timeout=90)
    r.apply(rollout_body(ns, api_version, kind))
    r.wait_rollout(("Healthy", "3", "Completed", "workload deployment is completed"))
    return r


def _walk_steps(r: WorkloadRelease, n: int = 10) -> None:
    """The seed's observable sequence: exactly 1, then 5, then 10 updated pods, approvals between."""
    r.patch("version-2")
    r.wait_rollout(("Progressing", "1", "StepPaused", step_paused_message(1)))
    r.wait_versions(n, 1, "version-2")
    for _ in range(4):
        assert sum(1 for v in r.versions().values() if v == "version-2") == 1
        time.sleep(0.25)
    assert r.approve() == "rollout.rollouts.kruise.io/rollouts-demo approved"
    r.wait_rollout(("Progressing", "2", "StepPaused", step_paused_message(2)))
    r.wait_versions(n, n // 2, "version-2")
    r.approve()
    r.wait_rollout(("Healthy", "3", "Completed", "Rollout progressing has been completed"))
    r.wait_versions(n, n, "version-2")
    wait_for(r.leftovers, lambda left: left == [], what="no rollouts annotations or BatchRelease left")
    assert r.batch_labels() == ["1"] + ["2"] * 4 + ["3"] * 5


def cloneset() -> dict:
    return {"apiVersion": f"{KRUISE}/v1alpha1", "kind": "CloneSet", "metadata": {"name": "workload-demo"},
            "spec": {"replicas": 10, "selector": {"matchLabels": {"app": "demo"}},
                     "template": pod_template("version-1"), "updateStrategy": {"type": "ReCreate"}}}


def test_cloneset_multi_batch(kruise_manager: ManagerProcess, okc: Kubectl, kruise_namespace: str) -> None:
    r = _release(okc, kruise_namespace, "clonesets.apps.kruise.io", cloneset(), f"{KRUISE}/v1alpha1", "CloneSet")
    _walk_steps(r)
    strategy = r.workload()["spec"]["updateStrategy"]
    assert strategy.get("partition") in (None, 0) and not strategy.get("paused"), strategy


def test_cloneset_rollback_and_delete_mid_release(kruise_manager: ManagerProcess, okc: Kubectl,
                                                  kruise_namespace: str) -> None:
    r = _release(okc, kruise_namespace, "clonesets.apps.kruise.io", cloneset(), f"{KRUISE}/v1alpha1", "CloneSet")
    r.patch("version-2")
    r.wait_rollout(("Progressing", "1", "StepPaused", step_paused_message(1)))
    r.wait_versions(10, 1, "version-2")
    r.patch("version-1")  # rollback: the Rollout cancels the release, the CloneSet returns to version-1
    r.wait_rollout(("Healthy", None, None, None))
    r.wait_versions(10, 10, "version-1")
    wait_for(r.leftovers, lambda left: left == [], what="no rollouts annotations or BatchRelease left after rollback")

    r.patch("version-3")
    r.wait_rollout(("Progressing", "1", "StepPaused", step_paused_message(1)))
    r.wait_versions(10, 1, "version-3")
    okc("-n", r.ns, "delete", "rollouts.rollouts.kruise.io", "rollouts-demo", "--wait=false")
    r.wait_versions(10, 10, "version-3")  # partition restored: CloneSet finishes natively
    wait_for(r.leftovers, lambda left: left == [], what="no rollouts annotations or BatchRelease left after delete")
    assert r.workload()["spec"]["updateStrategy"].get("partition") in (None, 0)


def test_cloneset_continuous_release_restarts_at_step_one(kruise_manager: ManagerProcess, okc: Kubectl,
                                                          kruise_namespace: str) -> None:
    """v2 at step 1, then v3: the release starts over at step 1 for v3 and the approvals finish it."""
    r = _release(okc, kruise_namespace, "clonesets.apps.kruise.io", cloneset(), f"{KRUISE}/v1alpha1", "CloneSet")
    continuous_release_to_v3(r, 10)
    r.approve()
    r.wait_rollout(("Progressing", "2", "StepPaused", step_paused_message(2)))
    r.wait_versions(10, 5, "version-3")
    r.approve()
    r.wait_rollout(("Healthy", "3", "Completed", "Rollout progressing has been completed"))
    r.wait_versions(10, 10, "version-3")
    wait_for(r.leftovers, lambda left: left == [], what="no rollouts annotations or BatchRelease left")


def advanced_statefulset() -> dict:
    return {"apiVersion": f"{KRUISE}/v1beta1", "kind": "StatefulSet", "metadata": {"name": "workload-demo"},
            "spec": {"replicas": 10, "serviceName": "workload-demo", "podManagementPolicy": "Parallel",
                     "selector": {"matchLabels": {"app": "demo"}}, "template": pod_template("version-1"),
                     "updateStrategy": {"type": "RollingUpdate",
                                        "rollingUpdate": {"podUpdatePolicy": "ReCreate"}}}}


def test_advanced_statefulset_multi_batch(kruise_manager: ManagerProcess, okc: Kubectl,
                                          kruise_namespace: str) -> None:
    r = _release(okc, kruise_namespace, "statefulsets.apps.kruise.io", advanced_statefulset(), f"{KRUISE}/v1beta1",
                 "StatefulSet")
    r.patch("version-2")
    r.wait_rollout(("Progressing", "1", "StepPaused", step_paused_message(1)))
    r.wait_versions(10, 1, "version-2")
    assert sorted(n for n, v in r.versions().items() if v == "version-2") == ["workload-demo-9"]
    r.approve()
    r.wait_rollout(("Progressing", "2", "StepPaused", step_paused_message(2)))
    r.wait_versions(10, 5, "version-2")
    assert sorted(int(n.rsplit("-", 1)[1]) for n, v in r.versions().items() if v == "version-2") == [5, 6, 7, 8, 9]
    r.approve()
    r.wait_rollout(("Healthy", "3", "Completed", "Rollout progressing has been completed"))
    r.wait_versions(10, 10, "version-2")
    wait_for(r.leftovers, lambda left: left == [], what="no rollouts annotations or BatchRelease left")


@pytest.fixture(scope="module")
def ds_nodes(openkruise_cluster: LocalCluster, okc: Kubectl) -> list[str]:
    names = [f"rollouts-ds-node-{i}" for i in range(DS_NODES)]
    for name in names:
        openkruise_cluster.create_node(name)
        okc("taint", "node", name, f"{DS_TAINT}=true:NoSchedule", "--overwrite")
        okc("label", "node", name, "rollouts-test=advanced-daemonset", "--overwrite")
    return names


def advanced_daemonset() -> dict:
    template = pod_template("version-1")
    template["spec"]["nodeSelector"] = {"rollouts-test": "advanced-daemonset"}
    template["spec"]["tolerations"] = [{"key": DS_TAINT, "operator": "Exists"}]
    return {"apiVersion": f"{KRUISE}/v1alpha1", "kind": "DaemonSet", "metadata": {"name": "workload-demo"},
            "spec": {"selector": {"matchLabels": {"app": "demo"}}, "template": template,
                     "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}}}


def test_advanced_daemonset_multi_batch(kruise_manager: ManagerProcess, okc: Kubectl, kruise_namespace: str,
                                        ds_nodes: list[str]) -> None:
    r = _release(okc, kruise_namespace, "daemonsets.apps.kruise.io", advanced_daemonset(), f"{KRUISE}/v1alpha1",
                 "DaemonSet", pods=len(ds_nodes))
    _walk_steps(r, len(ds_nodes))
    rolling = r.workload()["spec"]["updateStrategy"]["rollingUpdate"]
    assert rolling.get("partition") in (None, 0) and not rolling.get("paused"), rolling


def test_cloneset_percent_partition_follows_scaling(kruise_manager: ManagerProcess, okc: Kubectl,
                                                     kruise_namespace: str) -> None:
    """HPA-friendly: at the 50% step the partition is "50%", so scaling 10 → 20 keeps half updated."""
    r = _release(okc, kruise_namespace, "clonesets.apps.kruise.io", cloneset(), f"{KRUISE}/v1alpha1", "CloneSet")
    r.patch("version-2")
    r.wait_rollout(("Progressing", "1", "StepPaused", step_paused_message(1)))
    r.approve()
    r.wait_rollout(("Progressing", "2", "StepPaused", step_paused_message(2)))
    r.wait_versions(10, 5, "version-2")
    assert r.workload()["spec"]["updateStrategy"]["partition"] == "50%"
    okc("-n", r.ns, "scale", "clonesets.apps.kruise.io", "workload-demo", "--replicas=20")
    r.wait_versions(20, 10, "version-2", timeout=90)
    r.wait_rollout(("Progressing", "2", "StepPaused", step_paused_message(2)))


def _rollback_mid_release(r: WorkloadRelease, n: int) -> None:
    """Back to version-1 at step 1: a native, fast rollback, partition cleared, nothing of ours left."""
    r.patch("version-2")
    r.wait_rollout(("Progressing", "1", "StepPaused", step_paused_message(1)))
    r.wait_versions(n, 1, "version-2")
    r.patch("version-1")
    r.wait_rollout(("Healthy", None, None, None))
    r.wait_versions(n, n, "version-1")
    wait_for(r.leftovers, lambda left: left == [], what="no rollouts annotations or BatchRelease left")
    assert (r.workload()["spec"]["updateStrategy"]["rollingUpdate"].get("partition") or 0) == 0


def _rollout_deleted_mid_release(r: WorkloadRelease, n: int) -> None:
    """Rollout deleted at step 1: partition cleared, kruise-manager finishes the update natively."""
    r.patch("version-2")
    r.wait_rollout(("Progressing", "1", "StepPaused", step_paused_message(1)))
    r.wait_versions(n, 1, "version-2")
    r.kc("-n", r.ns, "delete", "rollouts.rollouts.kruise.io", "rollouts-demo", "--wait=false")
    r.wait_versions(n, n, "version-2", timeout=90)
    wait_for(r.leftovers, lambda left: left == [], what="no rollouts annotations or BatchRelease left")
    assert (r.workload()["spec"]["updateStrategy"]["rollingUpdate"].get("partition") or 0) == 0


def test_advanced_statefulset_rollback_mid_release(kruise_manager: ManagerProcess, okc: Kubectl,
                                                   kruise_namespace: str) -> None:
    r = _release(okc, kruise_namespace, "statefulsets.apps.kruise.io", advanced_statefulset(), f"{KRUISE}/v1beta1",
                 "StatefulSet")
    _rollback_mid_release(r, 10)


def test_advanced_statefulset_rollout_deleted_mid_release(kruise_manager: ManagerProcess, okc: Kubectl,
                                                          kruise_namespace: str) -> None:
    r = _release(okc, kruise_namespace, "statefulsets.apps.kruise.io", advanced_statefulset(), f"{KRUISE}/v1beta1",
                 "StatefulSet")
    _rollout_deleted_mid_release(r, 10)


def test_advanced_daemonset_rollback_is_a_new_release(kruise_manager: ManagerProcess, okc: Kubectl,
                                                      kruise_namespace: str, ds_nodes: list[str]) -> None:
    """An Advanced DaemonSet is "never in rollback" (its canary revision is status.daemonSetHash): going
    back to version-1 restarts the release at step 1, as upstream, and approvals finish it."""
    n = len(ds_nodes)
    r = _release(okc, kruise_namespace, "daemonsets.apps.kruise.io", advanced_daemonset(), f"{KRUISE}/v1alpha1",
                 "DaemonSet", pods=n)
    rollback_restarts_as_new_release(r, n)


def test_advanced_daemonset_rollout_deleted_mid_release(kruise_manager: ManagerProcess, okc: Kubectl,
                                                        kruise_namespace: str, ds_nodes: list[str]) -> None:
    n = len(ds_nodes)
    r = _release(okc, kruise_namespace, "daemonsets.apps.kruise.io", advanced_daemonset(), f"{KRUISE}/v1alpha1",
                 "DaemonSet", pods=n)
    _rollout_deleted_mid_release(r, n)


NO_NEED_LABEL = "rollouts.kruise.io/no-need-update"
ROLLOUT_ID_LABEL = "rollouts.kruise.io/rollout-id"


def test_cloneset_rollback_in_batches_walks_the_steps_again(kruise_manager: ManagerProcess, okc: Kubectl,
                                                            kruise_namespace: str) -> None:
    """rollback-in-batch "true" (rollout-lifecycle.md §7.2): v2 reaches step 3 (6 of 10 pods), then the
    CloneSet goes back to v1. The release restarts at step 1 and walks back in batches of the 6 pods that
    changed (20%/40%/60%/100% of 6 → 2, 3, 4, 6); the 4 pods that never left v1 are marked no-need-update
    and get no batch label; the moved pods carry the rollback's rollout-id and their batch."""
    steps = [{"replicas": "20%"}, {"replicas": "40%"}, {"replicas": "60%"}, {"replicas": "100%"}]
    r = WorkloadRelease(okc, kruise_namespace, "clonesets.apps.kruise.io")
    r.apply(cloneset())
    r.wait_versions(10, 10, "version-1", timeout=90)
    body = rollout_body(kruise_namespace, f"{KRUISE}/v1alpha1", "CloneSet", steps=steps)
    body["metadata"]["annotations"] = {"rollouts.kruise.io/rollback-in-batch": "true"}
    r.apply(body)
    r.wait_rollout(("Healthy", "4", "Completed", "workload deployment is completed"))
    r.patch("version-2")
    for step, v2 in ((1, 2), (2, 4), (3, 6)):
        r.wait_rollout(("Progressing", str(step), "StepPaused", step_paused_message(step, 4)))
        r.wait_versions(10, v2, "version-2")
        if step < 3:
            r.approve()
    never_moved = {n for n, v in r.versions().items() if v == "version-1"}

    r.patch("version-1")
    for step, v1 in ((1, 6), (2, 7), (3, 8)):
        r.wait_rollout(("Progressing", str(step), "StepPaused", step_paused_message(step, 4)))
        r.wait_versions(10, v1, "version-1")
        if step == 1:
            rollout_id = r.rollout()["status"]["canaryStatus"]["observedRolloutID"]
            assert rollout_id.startswith("rollback-"), rollout_id
            by_name = {p["metadata"]["name"]: p["metadata"]["labels"] for p in r.pods()}
            assert {n for n, lb in by_name.items() if lb.get(NO_NEED_LABEL) == rollout_id} == never_moved
            moved = {n: lb for n, lb in by_name.items() if r.versions()[n] == "version-1" and n not in never_moved}
            assert len(moved) == 2 and all(lb.get(ROLLOUT_ID_LABEL) == rollout_id and lb.get(BATCH_LABEL) == "1"
                                           for lb in moved.values()), moved
        r.approve()
    r.wait_rollout(("Healthy", "4", "Completed", "Rollout progressing has been completed"))
    r.wait_versions(10, 10, "version-1")
    wait_for(r.leftovers, lambda left: left == [], what="no rollouts annotations left")
    labels = {p["metadata"]["name"]: p["metadata"]["labels"] for p in r.pods()}
    assert sorted(lb.get(BATCH_LABEL, "") for lb in labels.values()) == [""] * 4 + ["1"] * 2 + ["2", "3"] + ["4"] * 2, \
        {n: {k: v for k, v in lb.items() if "rollouts" in k} for n, lb in labels.items()}
    wait_for(lambda: okc.json("-n", r.ns, "get", "batchreleases.rollouts.kruise.io")["items"], lambda i: i == [],
             what="BatchRelease removed")
