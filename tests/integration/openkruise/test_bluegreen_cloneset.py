"""Blue-green release of a CloneSet against the REAL kruise-manager (issue 13 item 4, batch-release.md §8.2).

One step ``{100%}`` (manual, no traffic routing), and upstream's table with the nginx Ingress: the
CloneSet surges the new pods beside the old ones (``maxSurge``, ``maxUnavailable: 0``, availability
frozen), then the hand-back restores the user's ``maxSurge``/``maxUnavailable``/``minReadySeconds``
and kruise-manager removes the old pods. Lives here for the session-scoped ``openkruise_cluster``
fixture of this directory.
"""

from __future__ import annotations

import json

import pytest

from tests.e2e.harness import Kubectl, ManagerProcess, step_paused_message, wait_for
from tests.integration.openkruise.test_rollout_workloads import KRUISE, cloneset, kruise_manager, okc  # noqa: F401
from tests.integration.workloads.helpers import WorkloadRelease, rollout_body

pytestmark = pytest.mark.integration

BETA = "rollouts.v1beta1.rollouts.kruise.io"


def test_cloneset_blue_green_surges_then_hands_back(kruise_manager: ManagerProcess,  # noqa: F811
                                                    okc: Kubectl, kruise_namespace: str) -> None:  # noqa: F811
    ns = kruise_namespace
    body = cloneset()
    body["spec"]["replicas"] = 4
    r = WorkloadRelease(okc, ns, "clonesets.apps.kruise.io")
    r.apply(body)
    r.wait_versions(4, 4, "version-1", timeout=90)
    rollout = rollout_body(ns, f"{KRUISE}/v1alpha1", "CloneSet")
    rollout["spec"]["strategy"] = {"blueGreen": {"steps": [{"replicas": "100%", "pause": {}}]}}
    r.apply(rollout)
    r.wait_rollout(("Healthy", None, "Completed", "workload deployment is completed"))
    before = r.workload()["spec"]
    r.patch("version-2")
    r.wait_rollout(("Progressing", "1", "StepPaused", step_paused_message(1, 1)))
    r.wait_versions(8, 4, "version-2")  # 4 new pods beside the 4 old ones
    spec = r.workload()["spec"]
    assert spec["minReadySeconds"] == 2147483646 and spec["updateStrategy"]["maxUnavailable"] == 0
    bg = okc.json("-n", ns, "get", BETA, "rollouts-demo")["status"]["blueGreenStatus"]
    assert bg["updatedReplicas"] == 4 and bg["currentStepState"] == "StepPaused"
    r.approve()
    r.wait_rollout(("Healthy", "1", "Completed", "Rollout progressing has been completed"))
    r.wait_versions(4, 4, "version-2")
    wait_for(r.leftovers, lambda left: left == [], what="no rollouts annotations or BatchRelease left")
    after = r.workload()["spec"]
    assert after.get("minReadySeconds", 0) == before.get("minReadySeconds", 0)
    for key in ("maxSurge", "maxUnavailable"):
        assert after["updateStrategy"].get(key) == before["updateStrategy"].get(key, after["updateStrategy"].get(key))


P = "nginx.ingress.kubernetes.io/"
SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "demo"},
           "spec": {"ports": [{"port": 80}], "selector": {"app": "demo"}}}
INGRESS = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "demo"},
           "spec": {"ingressClassName": "nginx", "rules": [{"host": "demo.local", "http": {"paths": [
               {"path": "/", "pathType": "Prefix",
                "backend": {"service": {"name": "demo", "port": {"number": 80}}}}]}}]}}


def test_cloneset_step_table_with_the_nginx_ingress(kruise_manager: ManagerProcess,  # noqa: F811
                                                     okc: Kubectl, kruise_namespace: str) -> None:  # noqa: F811
    """Upstream's CloneSet table ``{100%, 0%}``, ``{100%, 50%}``, ``{100%, 100%}``: pods of both sides,
    the canary Ingress weight and the Service selectors per step, then success restores both."""
    ns = kruise_namespace
    body = cloneset()
    body["spec"]["replicas"] = 4
    r = WorkloadRelease(okc, ns, "clonesets.apps.kruise.io")
    for obj in (SERVICE, INGRESS, body):
        r.apply(obj)
    r.wait_versions(4, 4, "version-1", timeout=90)
    rollout = rollout_body(ns, f"{KRUISE}/v1alpha1", "CloneSet")
    steps = [{"replicas": "100%", "traffic": t, "pause": {}} for t in ("0%", "50%", "100%")]
    rollout["spec"]["strategy"] = {"blueGreen": {"steps": steps, "trafficRoutings": [
        {"service": "demo", "gracePeriodSeconds": 0, "ingress": {"classType": "nginx", "name": "demo"}}]}}
    r.apply(rollout)
    r.wait_rollout(("Healthy", None, "Completed", "workload deployment is completed"))
    r.patch("version-2")

    def canary_weight() -> str | None:
        ing = okc("-n", ns, "get", "ingress", "demo-canary", "-o", "json", "--ignore-not-found").strip()
        return json.loads(ing)["metadata"]["annotations"].get(P + "canary-weight") if ing else None

    for step, weight in ((1, None), (2, "50"), (3, "100")):
        r.wait_rollout(("Progressing", str(step), "StepPaused", step_paused_message(step, 3)))
        r.wait_versions(8, 4, "version-2")
        assert canary_weight() == weight
        bg = okc.json("-n", ns, "get", BETA, "rollouts-demo")["status"]["blueGreenStatus"]
        stable = okc.json("-n", ns, "get", "service", "demo")["spec"]["selector"]
        canary = okc.json("-n", ns, "get", "service", "demo-canary")["spec"]["selector"]
        (key,) = set(stable) - {"app"}
        assert bg["stableRevision"].endswith(stable[key]) and canary[key] == bg["podTemplateHash"], (stable, canary)
        r.approve()
    r.wait_rollout(("Healthy", "3", "Completed", "Rollout progressing has been completed"))
    r.wait_versions(4, 4, "version-2")
    wait_for(lambda: (okc.json("-n", ns, "get", "service", "demo")["spec"]["selector"], canary_weight(),
                      okc("-n", ns, "get", "service", "demo-canary", "--ignore-not-found").strip()),
             lambda s: s == ({"app": "demo"}, None, ""), what="Service restored, canary Ingress and Service gone")
