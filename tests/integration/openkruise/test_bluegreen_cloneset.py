"""Blue-green release of a CloneSet against the REAL kruise-manager (issue 13 item 4, batch-release.md §8.2).

One step ``{100%}`` (manual, no traffic routing): the CloneSet surges the new pods beside
the old ones (``maxSurge``, ``maxUnavailable: 0``, availability frozen), then the hand-back restores
the user's ``maxSurge``/``maxUnavailable``/``minReadySeconds`` and kruise-manager removes the old pods.
Lives here for the session-scoped ``openkruise_cluster`` fixture of this directory.
"""

from __future__ import annotations

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
