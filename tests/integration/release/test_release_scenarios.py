"""Release scenarios beyond the seed walkthrough, on the real control plane (partition Deployment).

Each test starts from the seed's Deployment (version-1) and Rollout in a fresh namespace.
"""

from __future__ import annotations

import time

import pytest
import yaml

from tests.e2e.harness import Kubectl, ManagerProcess, Release, manifest, step_paused_message, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def release(manager: ManagerProcess, kc: Kubectl, namespace: str) -> Release:
    r = Release(kc, namespace)
    r.create_workload()
    return r


def _at_step_one(r: Release) -> None:
    r.create_rollout()
    r.patch("version-2")
    r.wait_rollout(("Progressing", "1", "StepPaused", step_paused_message(1)))
    r.wait_deploy(("10/10", "1", "10"))


def test_healthy_rollout_reports_the_stable_revision_before_any_release(release: Release) -> None:
    """A v1alpha1 Rollout (the seed's) created over a running Deployment reports the stable ReplicaSet's
    ``pod-template-hash`` as ``canaryStatus.stableRevision`` at once, as upstream does."""
    r = release
    r.create_rollout()
    rs = r.kc.json("-n", r.ns, "get", "replicaset", r.old_rs)
    status = r.rollout()["status"]["canaryStatus"]
    assert status["stableRevision"] == rs["metadata"]["labels"]["pod-template-hash"], status


def test_timed_pause_advances_by_itself(release: Release) -> None:
    r = release
    body = {
        "apiVersion": "rollouts.kruise.io/v1beta1", "kind": "Rollout",
        "metadata": {"name": "rollouts-demo", "namespace": r.ns},
        "spec": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "workload-demo"},
                 "strategy": {"canary": {"steps": [{"replicas": 1, "pause": {"duration": 3}},
                                                   {"replicas": "100%"}]}}},
    }
    r.create_rollout(body)
    r.patch("version-2")
    seen = r.wait_rollout(("Progressing", "1", None, None))
    assert seen[2] in ("StepUpgrade", "StepPaused", "BeforeStepUpgrade", "StepMetricsAnalysis"), seen
    r.wait_rollout(("Progressing", "1", "StepPaused",
                    "Rollout is in step(1/2), and wait duration(3 seconds) to enter the next step"))
    r.wait_rollout(("Healthy", "2", "Completed", "Rollout progressing has been completed"), timeout=60)
    r.wait_deploy(("10/10", "10", "10"))
    r.assert_handed_back()


def test_continuous_release_restarts_at_step_one(release: Release) -> None:
    r = release
    _at_step_one(r)
    v2 = r.rollout()["status"]["canaryStatus"]["canaryRevision"]
    r.patch("version-3")
    wait_for(r.rollout, lambda ro: (ro["status"].get("canaryStatus") or {}).get("canaryRevision") not in (None, v2)
             and ro["status"]["canaryStatus"].get("currentStepState") == "StepPaused", what="v3 at step 1")
    r.wait_rollout(("Progressing", "1", "StepPaused", step_paused_message(1)))
    r.wait_deploy(("10/10", "1", "10"))
    r.approve()
    r.wait_rollout(("Progressing", "2", "StepPaused", step_paused_message(2)))
    r.wait_deploy(("10/10", "5", "10"))


def test_rollback_mid_release_returns_to_version_one(release: Release) -> None:
    r = release
    _at_step_one(r)
    r.patch("version-1")
    r.wait_rollout(("Healthy", None, None, None))
    wait_for(r.replica_sets, lambda rs: rs.get(r.old_rs) == (10, 10, 10) and
             all(v == (0, 0, 0) for k, v in rs.items() if k != r.old_rs), what="all pods back on version-1")
    r.wait_deploy(("10/10", "10", "10"))
    r.assert_handed_back()


def test_rollback_in_batch_annotation_on_a_deployment_still_rolls_back_at_once(release: Release) -> None:
    """rollout-lifecycle.md §7.2: the policy covers StatefulSet-like kinds and CloneSets only; a
    Deployment's rollback is the stable ReplicaSet scaling back up, so it is cancelled at once (as
    upstream) and no pod is marked no-need-update."""
    r = release
    body = yaml.safe_load(manifest("rollouts-demo.yaml", r.ns))
    body["metadata"].setdefault("annotations", {})["rollouts.kruise.io/rollback-in-batch"] = "true"
    r.create_rollout(body)
    r.patch("version-2")
    r.wait_rollout(("Progressing", "1", "StepPaused", step_paused_message(1)))
    r.patch("version-1")
    r.wait_rollout(("Healthy", None, None, None))
    wait_for(r.replica_sets, lambda rs: rs.get(r.old_rs) == (10, 10, 10), what="all pods back on version-1")
    r.assert_handed_back()
    pods = r.kc.json("-n", r.ns, "get", "pods")["items"]
    assert not [p for p in pods if "rollouts.kruise.io/no-need-update" in p["metadata"].get("labels", {})]
    succeeded = [c for c in r.rollout()["status"]["conditions"] if c["type"] == "Succeeded"]
    assert succeeded and succeeded[0]["status"] == "False", r.rollout()["status"]["conditions"]


def test_disable_mid_release_hands_the_deployment_back(release: Release) -> None:
    r = release
    _at_step_one(r)
    r.kc("-n", r.ns, "patch", "rollouts.v1beta1.rollouts.kruise.io", "rollouts-demo", "--type=merge",
         "-p", '{"spec":{"disabled":true}}')
    r.wait_rollout(("Disabled", None, None, "Rollout is disabled"))
    r.wait_deploy(("10/10", "10", "10"))
    wait_for(r.replica_sets, lambda rs: rs.get(r.old_rs) == (0, 0, 0), what="old RS scaled down natively")
    r.assert_handed_back()


def test_delete_mid_release_hands_the_deployment_back(release: Release) -> None:
    r = release
    _at_step_one(r)
    r.kc("-n", r.ns, "delete", "rollouts.rollouts.kruise.io", "rollouts-demo", "--wait=true", "--timeout=60s")
    r.wait_deploy(("10/10", "10", "10"))
    r.assert_handed_back()


def test_scale_mid_release_keeps_batch_percentage(release: Release) -> None:
    r = release
    _at_step_one(r)
    r.approve()
    r.wait_rollout(("Progressing", "2", "StepPaused", step_paused_message(2)))
    r.wait_deploy(("10/10", "5", "10"))
    r.kc("-n", r.ns, "scale", "deploy", "workload-demo", "--replicas=20")
    r.wait_deploy(("20/20", "10", "20"), timeout=120)
    r.wait_rollout(("Progressing", "2", "StepPaused", step_paused_message(2)))


def test_scale_only_edit_is_not_frozen(release: Release) -> None:
    r = release
    r.create_rollout()
    r.kc("-n", r.ns, "patch", "deploy", "workload-demo", "-p", '{"spec":{"replicas":12}}')
    r.wait_deploy(("12/12", "12", "12"))
    d = r.deployment()
    assert not d["spec"].get("paused")
    assert "rollouts.kruise.io/in-progressing" not in (d["metadata"].get("annotations") or {})
    assert r.rollout_row() == ("Healthy", "3", "Completed", "workload deployment is completed")


def test_paused_rollout_holds_the_step_until_resumed(release: Release) -> None:
    r = release
    _at_step_one(r)
    r.kc("kruise", "rollout", "pause", "rollout/rollouts-demo", "-n", r.ns)
    r.wait_rollout(("Progressing", "1", None, "Rollout has been paused, you can resume it by kube-cli"))
    r.approve()
    for _ in range(12):  # approved, but paused: nothing moves
        row = r.rollout_row()
        assert row[1] == "1" and row[3] == "Rollout has been paused, you can resume it by kube-cli", row
        assert r.deploy_row() == ("10/10", "1", "10")
        time.sleep(0.25)
    r.kc("kruise", "rollout", "resume", "rollout/rollouts-demo", "-n", r.ns)
    r.wait_rollout(("Progressing", "2", "StepPaused", step_paused_message(2)))
    r.wait_deploy(("10/10", "5", "10"))
