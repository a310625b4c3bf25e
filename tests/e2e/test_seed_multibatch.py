"""The seed walkthrough's multi-batch release of a Deployment (多批次更新策略), verbatim.

Deployment ``workload-demo`` (10 replicas) + v1alpha1 Rollout ``rollouts-demo`` with
``rolling-style: partition`` and steps 1 / 50% / 100%; the numbers and the ``kubectl get rollout``
columns/messages are the seed's.
"""

from __future__ import annotations

import time

import pytest

from tests.e2e.harness import Kubectl, ManagerProcess, manifest, table, wait_for

pytestmark = pytest.mark.integration

PATCH_V2 = ('{"spec":{"template":{"spec":{"containers":[{"name":"busybox", '
            '"env":[{"name":"VERSION", "value":"version-2"}]}]}}}}')
STEP_PAUSED_MSG = "Rollout is in step({}/3), and you need manually confirm to enter the next step"


def rollout_row(kc: Kubectl, ns: str) -> tuple[str, str, str, str]:
    row = table(kc("-n", ns, "get", "rollout", "rollouts-demo"))[0]
    return row["STATUS"], row["CANARY_STEP"], row["CANARY_STATE"], row["MESSAGE"]


def rs_replicas(kc: Kubectl, ns: str) -> dict[str, tuple[int, int, int]]:
    """RS name → (DESIRED, CURRENT, READY) from ``kubectl get replicaset``."""
    return {r["NAME"]: (int(r["DESIRED"]), int(r["CURRENT"]), int(r["READY"]))
            for r in table(kc("-n", ns, "get", "replicaset"))}


def deploy_row(kc: Kubectl, ns: str) -> tuple[str, str, str]:
    row = table(kc("-n", ns, "get", "deploy", "workload-demo"))[0]
    return row["READY"], row["UP-TO-DATE"], row["AVAILABLE"]


def split(rs: dict[str, tuple[int, int, int]], old: str) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    new = [v for k, v in rs.items() if k != old]
    return rs[old], (new[0] if new else (0, 0, 0))


def approve(kc: Kubectl, ns: str) -> str:
    return kc("kruise", "rollout", "approve", "rollout/rollouts-demo", "-n", ns).strip()


def test_seed_multi_batch_release(manager: ManagerProcess, kc: Kubectl, namespace: str) -> None:
    ns = namespace
    kc("apply", "-f", "-", input=manifest("workload-demo.yaml", ns))
    wait_for(lambda: deploy_row(kc, ns), lambda r: r == ("10/10", "10", "10"), what="10/10 version-1 pods")
    (old_rs,) = rs_replicas(kc, ns)

    kc("apply", "-f", "-", input=manifest("rollouts-demo.yaml", ns))
    wait_for(lambda: rollout_row(kc, ns), lambda r: r == ("Healthy", "3", "Completed",
                                                           "workload deployment is completed"),
             what="Healthy 3 Completed right after creating the Rollout")

    kc("-n", ns, "patch", "deployment", "workload-demo", "-p", PATCH_V2)
    wait_for(lambda: rollout_row(kc, ns), lambda r: r == ("Progressing", "1", "StepPaused", STEP_PAUSED_MSG.format(1)),
             timeout=90, what="step 1 paused")
    wait_for(lambda: split(rs_replicas(kc, ns), old_rs), lambda s: s == ((9, 9, 9), (1, 1, 1)), what="RS 9/1")
    wait_for(lambda: kc("-n", ns, "describe", "rollout", "rollouts-demo"),
             lambda out: "rollout-controller  upgrade step(1) canary pods with new versions done" in out,
             what="the seed's Progressing event in kubectl describe")
    v1alpha1 = table(kc("-n", ns, "get", "rollouts.v1alpha1.rollouts.kruise.io", "rollouts-demo"))[0]
    assert (v1alpha1["STATUS"], v1alpha1["CANARY_STEP"], v1alpha1["CANARY_STATE"]) == ("Progressing", "1", "StepPaused")
    canary = kc.json("-n", ns, "get", "rollouts.v1alpha1.rollouts.kruise.io", "rollouts-demo")["status"]["canaryStatus"]
    assert (canary["canaryReplicas"], canary["canaryReadyReplicas"], canary["currentStepIndex"]) == (1, 1, 1)
    assert canary["canaryRevision"] == canary["podTemplateHash"] != canary["stableRevision"] == old_rs.rsplit("-", 1)[1]
    for _ in range(8):  # exactly one updated pod while the step is paused
        assert deploy_row(kc, ns) == ("10/10", "1", "10")
        assert split(rs_replicas(kc, ns), old_rs) == ((9, 9, 9), (1, 1, 1))
        time.sleep(0.25)

    assert approve(kc, ns) == "rollout.rollouts.kruise.io/rollouts-demo approved"
    wait_for(lambda: rollout_row(kc, ns), lambda r: r == ("Progressing", "2", "StepPaused", STEP_PAUSED_MSG.format(2)),
             timeout=90, what="step 2 paused")
    wait_for(lambda: split(rs_replicas(kc, ns), old_rs), lambda s: s == ((5, 5, 5), (5, 5, 5)), what="RS 5/5")
    assert deploy_row(kc, ns) == ("10/10", "5", "10")

    assert approve(kc, ns) == "rollout.rollouts.kruise.io/rollouts-demo approved"
    wait_for(lambda: rollout_row(kc, ns), lambda r: r == ("Healthy", "3", "Completed",
                                                           "Rollout progressing has been completed"),
             timeout=90, what="release completed")
    wait_for(lambda: split(rs_replicas(kc, ns), old_rs), lambda s: s == ((0, 0, 0), (10, 10, 10)), what="RS 0/10")
    assert deploy_row(kc, ns) == ("10/10", "10", "10")

    d = kc.json("-n", ns, "get", "deploy", "workload-demo")
    assert not d["spec"].get("paused")
    assert d["spec"]["strategy"] == {"type": "RollingUpdate",
                                     "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}
    leftovers = [k for k in (d["metadata"].get("annotations") or {}) if "rollouts.kruise.io" in k]
    assert leftovers == []
    assert kc("-n", ns, "get", "batchreleases.rollouts.kruise.io", "-o", "name").strip() == ""
    pods = kc.json("-n", ns, "get", "pods")["items"]
    batches = sorted(p["metadata"]["labels"].get("rollouts.kruise.io/rollout-batch-id", "") for p in pods)
    assert batches == ["1"] + ["2"] * 4 + ["3"] * 5
