"""Failing pods for real: the kwok stages of deploy/localcluster/stages keep Pods broken by image tag.

Real etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok: the Deployments below
are reconciled by the real controllers and kwok writes the Pod status a kubelet would
(docs/local-cluster.md, "Failing pods"). One Deployment per mode is created at once by a module
fixture, so the waits overlap. The last test is a release that meets a failing batch.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import fresh_namespace
from tests.e2e.harness import Kubectl, ManagerProcess, Release, wait_for
from tests.integration.workloads.helpers import rollout_body

pytestmark = pytest.mark.integration

GOOD_IMAGE = "busybox:1.28.3"
#: Deployment name → image; the tag picks the kwok stage.
IMAGES = {"normal": GOOD_IMAGE, "failed": "busybox:failed", "crash": "busybox:crash", "oom": "busybox:oom",
          "not-exists": "busybox:not-exists"}
#: The brief's "not Ready after 10 s": kwok's pod-ready would have made the Pod Ready in well under 1 s.
NEVER_READY_AFTER = 10.0


def _deployment(name: str, image: str) -> str:
    return json.dumps({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "main", "image": image}],
                                       "terminationGracePeriodSeconds": 0}}},
    })


class Pods:
    """The namespace with one Deployment per failure mode, and views of its single Pods."""

    def __init__(self, kc: Kubectl, ns: str) -> None:
        self.kc = kc
        self.ns = ns
        self.created = time.monotonic()

    def pod(self, app: str) -> dict[str, Any]:
        items = [p for p in self.kc.json("-n", self.ns, "get", "pods", "-l", f"app={app}")["items"]
                 if not p["metadata"].get("deletionTimestamp")]
        assert len(items) == 1, [p["metadata"]["name"] for p in items]
        return items[0]

    def wait_pod(self, app: str, ok: Any, what: str) -> dict[str, Any]:
        return wait_for(lambda: self.pod(app), ok, timeout=30, what=f"{app}: {what}")


def _conditions(pod: dict[str, Any]) -> dict[str, str]:
    return {c["type"]: c["status"] for c in (pod.get("status") or {}).get("conditions") or []}


def _container(pod: dict[str, Any]) -> dict[str, Any]:
    statuses = (pod.get("status") or {}).get("containerStatuses") or [{}]
    return statuses[0]


def _waiting_reason(pod: dict[str, Any]) -> str:
    return ((_container(pod).get("state") or {}).get("waiting") or {}).get("reason", "")


@pytest.fixture(scope="module")
def pods(local_cluster: Any, kc: Kubectl, request: pytest.FixtureRequest) -> Iterator[Pods]:
    with fresh_namespace(local_cluster, request) as ns:
        view = Pods(kc, ns)
        for name, image in IMAGES.items():
            kc("-n", ns, "apply", "-f", "-", input=_deployment(name, image))
        yield view


def test_a_normal_image_still_gets_ready(pods: Pods) -> None:
    pod = pods.wait_pod("normal", lambda p: _conditions(p).get("Ready") == "True", "Ready")
    assert _container(pod)["ready"] is True and "running" in _container(pod)["state"]


def test_crash_loops_with_a_growing_restart_count(pods: Pods) -> None:
    first = pods.wait_pod("crash", lambda p: _waiting_reason(p) == "CrashLoopBackOff", "CrashLoopBackOff")
    count = _container(first)["restartCount"]
    assert count >= 1
    assert _container(first)["lastState"]["terminated"]["exitCode"] == 1
    later = pods.wait_pod("crash", lambda p: _container(p).get("restartCount", 0) > count, "one more restart")
    assert _waiting_reason(later) == "CrashLoopBackOff"
    assert later["status"]["phase"] == "Running" and _conditions(later)["Ready"] == "False"


def test_oom_crash_loops_with_oom_killed(pods: Pods) -> None:
    pod = pods.wait_pod("oom", lambda p: _waiting_reason(p) == "CrashLoopBackOff", "CrashLoopBackOff")
    last = _container(pod)["lastState"]["terminated"]
    assert (last["reason"], last["exitCode"]) == ("OOMKilled", 137)


def test_missing_image_backs_off_pulling(pods: Pods) -> None:
    pod = pods.wait_pod("not-exists", lambda p: _waiting_reason(p) == "ImagePullBackOff", "ImagePullBackOff")
    assert pod["status"]["phase"] == "Pending"
    assert _conditions(pod)["Ready"] == "False" and _container(pod)["ready"] is False


def test_failed_image_runs_but_is_never_ready(pods: Pods) -> None:
    pods.wait_pod("failed", lambda p: p["status"].get("phase") == "Running", "Running")
    time.sleep(max(0.0, pods.created + NEVER_READY_AFTER - time.monotonic()))
    pod = pods.pod("failed")
    assert pod["status"]["phase"] == "Running"
    conds = _conditions(pod)
    assert (conds["Ready"], conds["ContainersReady"]) == ("False", "False"), conds
    c = _container(pod)
    assert c["ready"] is False and "running" in c["state"] and c["restartCount"] == 0, c
    dep = pods.kc.json("-n", pods.ns, "get", "deployment", "failed")
    assert not dep["status"].get("readyReplicas"), dep["status"]


def _set_image(r: Release, image: str) -> None:
    body = {"spec": {"template": {"spec": {"containers": [{"name": "busybox", "image": image}]}}}}
    r.kc("-n", r.ns, "patch", "deployment", "workload-demo", "-p", json.dumps(body))


def test_a_release_to_a_never_ready_image_waits_with_numbers_then_rolls_back(
        manager: ManagerProcess, kc: Kubectl, namespace: str) -> None:
    r = Release(kc, namespace)
    r.create_workload(replicas=2)
    r.create_rollout(rollout_body(namespace, "apps/v1", "Deployment", steps=[{"replicas": 1}, {"replicas": "100%"}]))
    _set_image(r, "busybox:failed")

    reason = "updated ready 0 < desired 1 (failureThreshold 0)"
    br = wait_for(lambda: kc.json("-n", namespace, "get", "batchreleases.rollouts.kruise.io", "rollouts-demo"),
                  lambda b: reason in (b.get("status") or {}).get("message", ""), what="the BatchRelease's reason")
    assert br["status"]["message"] == f"batch 1 is not ready: {reason}"
    cs = wait_for(lambda: r.rollout()["status"]["canaryStatus"], lambda s: reason in s.get("message", ""),
                  what="the Rollout mirrors the reason")
    assert (cs["currentStepIndex"], cs["currentStepState"]) == (1, "StepUpgrade"), cs
    assert (cs["canaryReplicas"], cs["canaryReadyReplicas"]) == (1, 0), cs
    assert r.rollout_row()[:3] == ("Progressing", "1", "StepUpgrade")

    _set_image(r, GOOD_IMAGE)
    r.wait_rollout(("Healthy", None, None, None))
    r.wait_deploy(("2/2", "2", "2"))
    r.assert_handed_back()
