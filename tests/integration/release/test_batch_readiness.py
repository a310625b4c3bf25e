"""Batch readiness on the real control plane: ``failureThreshold`` and a reason with numbers.

The new version can only run on 4 of the 10 kwok nodes (a node label plus a hostPort, so one new pod
per node); every further new pod stays Pending and never becomes Ready. Step 2 (50% = 5 pods) thus
ends with 4 ready updated pods and one that will never be ready:

* without ``failureThreshold`` the batch waits, and the BatchRelease and the Rollout say why, with
  the numbers;
* with ``failureThreshold: 20%`` (1 of 5 tolerated) the step completes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.harness import Kubectl, ManagerProcess, Release, step_paused_message, wait_for

pytestmark = pytest.mark.integration

#: The new version fits on this many nodes only.
CAPACITY = 4
HOST_PORT = 18080


def _rollout(ns: str, failure_threshold: str | None) -> dict[str, Any]:
    canary: dict[str, Any] = {"steps": [{"replicas": 1}, {"replicas": "50%"}, {"replicas": "100%"}]}
    if failure_threshold is not None:
        canary["failureThreshold"] = failure_threshold
    return {"apiVersion": "rollouts.kruise.io/v1beta1", "kind": "Rollout",
            "metadata": {"name": "rollouts-demo", "namespace": ns},
            "spec": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "workload-demo"},
                     "strategy": {"canary": canary}}}


@pytest.fixture
def scarce(manager: ManagerProcess, kc: Kubectl, namespace: str) -> Iterator[tuple[Release, str]]:
    """The seed Deployment, and a node label (unique to this test) on ``CAPACITY`` nodes."""
    key = f"readiness-test/{namespace}"[:63]
    nodes = sorted(n["metadata"]["name"] for n in kc.json("get", "nodes")["items"])[:CAPACITY]
    kc("label", "nodes", *nodes, f"{key}=yes")
    try:
        r = Release(kc, namespace)
        r.create_workload()
        yield r, key
    finally:
        kc("label", "nodes", *nodes, f"{key}-", check=False)


def _release_scarce_version(r: Release, key: str) -> None:
    """version-2 pinned to the labelled nodes, one pod per node (hostPort)."""
    body = {"spec": {"template": {"spec": {
        "nodeSelector": {key: "yes"},
        "containers": [{"name": "busybox", "env": [{"name": "VERSION", "value": "version-2"}],
                        "ports": [{"containerPort": 8080, "hostPort": HOST_PORT}]}]}}}}
    r.kc("-n", r.ns, "patch", "deployment", "workload-demo", "-p", json.dumps(body))


def _new_pods(r: Release) -> tuple[int, int]:
    """(updated pods, of which Ready): pods whose container asks for the host port."""
    pods = [p for p in r.kc.json("-n", r.ns, "get", "pods", "-l", "app=demo")["items"]
            if not p["metadata"].get("deletionTimestamp")
            and any(port.get("hostPort") == HOST_PORT for port in p["spec"]["containers"][0].get("ports") or [])]
    ready = sum(1 for p in pods if any(c["type"] == "Ready" and c["status"] == "True"
                                       for c in (p.get("status") or {}).get("conditions") or []))
    return len(pods), ready


def _to_step_two(r: Release, key: str, failure_threshold: str | None) -> None:
    r.create_rollout(_rollout(r.ns, failure_threshold))
    _release_scarce_version(r, key)
    r.wait_rollout(("Progressing", "1", "StepPaused", step_paused_message(1)))
    assert _new_pods(r) == (1, 1)
    r.approve()
    wait_for(lambda: _new_pods(r), lambda n: n == (5, CAPACITY), what="5 updated pods, 4 of them ready")


def test_batch_without_failure_threshold_waits_and_says_why(scarce: tuple[Release, str]) -> None:
    r, key = scarce
    _to_step_two(r, key, None)
    reason = "updated ready 4 < desired 5 (failureThreshold 0)"
    br = wait_for(lambda: r.kc.json("-n", r.ns, "get", "batchreleases.rollouts.kruise.io", "rollouts-demo"),
                  lambda b: reason in (b.get("status") or {}).get("message", ""), what="the BatchRelease's reason")
    assert br["status"]["message"] == f"batch 2 is not ready: {reason}"
    assert br["status"]["canaryStatus"]["batchState"] != "Ready"
    sub = wait_for(lambda: r.rollout()["status"]["canaryStatus"], lambda cs: reason in cs.get("message", ""),
                   what="the Rollout mirrors the reason")
    assert sub["currentStepIndex"] == 2 and sub["currentStepState"] == "StepUpgrade", sub
    assert r.rollout_row()[:3] == ("Progressing", "2", "StepUpgrade")


def test_failure_threshold_lets_the_batch_complete_with_an_unready_pod(scarce: tuple[Release, str]) -> None:
    r, key = scarce
    _to_step_two(r, key, "20%")
    r.wait_rollout(("Progressing", "2", "StepPaused", step_paused_message(2)))
    assert _new_pods(r) == (5, CAPACITY)  # one updated pod still Pending, tolerated
    cs = r.rollout()["status"]["canaryStatus"]
    assert (cs["canaryReplicas"], cs["canaryReadyReplicas"]) == (5, CAPACITY)
