"""RolloutHistory records on the real control plane (rollout-history.md §3): two releases of the seed's
Rollout (partition style, no traffic routing) give two completed records with the pods of each step,
and ``kubectl kruise rollout history`` lists and shows them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.harness import Kubectl, ManagerProcess, Release, step_paused_message, wait_for

pytestmark = pytest.mark.integration

ID_LABEL = "rollouts.kruise.io/rollout-id"
BATCH_LABEL = "rollouts.kruise.io/rollout-batch-id"
REPLICAS = 4


def _histories(r: Release) -> list[dict[str, Any]]:
    return r.kc.json("-n", r.ns, "get", "rollouthistories.rollouts.kruise.io")["items"]


def _by_id(r: Release) -> dict[str, dict[str, Any]]:
    return {h["metadata"]["labels"][ID_LABEL]: h for h in _histories(r)}


def _release(r: Release, rollout_id: str, version: str) -> None:
    """A new version labelled with its rollout-id, walked through the three steps by approvals."""
    patch = {"metadata": {"labels": {ID_LABEL: rollout_id}},
             "spec": {"template": {"spec": {"containers": [{"name": "busybox",
                                                           "env": [{"name": "VERSION", "value": version}]}]}}}}
    r.kc("-n", r.ns, "patch", "deployment", "workload-demo", "-p", json.dumps(patch))
    r.wait_rollout(("Progressing", "1", "StepPaused", step_paused_message(1)))
    recording = wait_for(lambda: _by_id(r), lambda found: rollout_id in found, what=f"a record for {rollout_id}")
    assert (recording[rollout_id].get("status") or {}).get("phase", "") == "", recording[rollout_id]
    r.approve()
    r.wait_rollout(("Progressing", "2", "StepPaused", step_paused_message(2)))
    r.approve()
    r.wait_rollout(("Healthy", "3", "Completed", None))


def _completed(r: Release, rollout_id: str) -> dict[str, Any]:
    found = wait_for(lambda: _by_id(r), lambda f: (f.get(rollout_id, {}).get("status") or {}).get("phase")
                     == "completed", what=f"the record of {rollout_id} completed")
    return found[rollout_id]


def _step_pods(h: dict[str, Any]) -> list[list[str]]:
    return [sorted(p["name"] for p in s.get("pods", [])) for s in h["status"]["canarySteps"]]


def _pods_by_batch(r: Release, rollout_id: str) -> list[list[str]]:
    pods = r.kc.json("-n", r.ns, "get", "pods", "-l", f"{ID_LABEL}={rollout_id}")["items"]
    return [sorted(p["metadata"]["name"] for p in pods if p["metadata"]["labels"].get(BATCH_LABEL) == str(i)
                   and not p["metadata"].get("deletionTimestamp")) for i in (1, 2, 3)]


def test_two_releases_give_two_records_listed_by_the_cli(manager: ManagerProcess, kc: Kubectl, namespace: str) -> None:
    r = Release(kc, namespace)
    r.create_workload(replicas=REPLICAS)
    r.create_rollout()
    assert _histories(r) == []  # creating the Rollout is no release

    _release(r, "v2", "version-2")
    first = _completed(r, "v2")
    assert [len(p) for p in _step_pods(first)] == [1, 1, 2], first["status"]
    assert _step_pods(first) == _pods_by_batch(r, "v2")
    spec = first["spec"]
    assert (spec["rollout"]["name"], spec["rollout"]["rolloutID"]) == ("rollouts-demo", "v2")
    assert len(spec["rollout"]["data"]["strategy"]["canary"]["steps"]) == 3
    assert (spec["workload"]["kind"], spec["workload"]["name"]) == ("Deployment", "workload-demo")
    env = spec["workload"]["data"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "VERSION", "value": "version-2"} in env
    # No traffic routing: no Service or gateway recorded (upstream's reconcile crashes here).
    assert spec.get("service", {}).get("name", "") == "" and not spec.get("trafficRouting")
    assert first["metadata"]["name"].startswith("rollouts-demo-") and not first["metadata"].get("ownerReferences")

    _release(r, "v3", "version-3")
    second = _completed(r, "v3")
    assert [len(p) for p in _step_pods(second)] == [1, 1, 2], second["status"]
    assert _step_pods(second) == _pods_by_batch(r, "v3")
    assert not set(sum(_step_pods(first), [])) & set(sum(_step_pods(second), []))
    assert set(_by_id(r)) == {"v2", "v3"}
    assert _by_id(r)["v2"]["status"] == first["status"]  # a completed record is never rewritten

    listing = kc("kruise", "rollout", "history", "rollout/rollouts-demo", "-n", namespace).splitlines()
    assert listing[0] == "rollout.rollouts.kruise.io/rollouts-demo"
    assert [line.split()[:5] for line in listing[2:]] == [["1", "v2", "completed", "3", "4"],
                                                       ["2", "v3", "completed", "3", "4"]]
    detail = kc("kruise", "rollout", "history", "rollout/rollouts-demo", "-n", namespace, "--revision", "2")
    assert "Rollout ID:      v3" in detail and "Workload:        Deployment workload-demo (apps/v1)" in detail
    for name in sum(_step_pods(second), []):
        assert name in detail
