"""Release of a native ``apps/v1`` DaemonSet (batch-release.md §9.5) on the real control plane: the
webhook switches it to OnDelete, our pod deleter deletes old pods batch by batch and the DaemonSet
controller recreates them from the new template. One pod per kwok node (10 in the session cluster):
steps 1 / 50% / 100% give exactly 1, then 5, then 10 updated pods.
"""

from __future__ import annotations

import math
import time

import pytest

from tests.e2e.harness import Kubectl, ManagerProcess, step_paused_message, wait_for
from tests.integration.workloads.helpers import (
    WorkloadRelease,
    pod_template,
    rollback_restarts_as_new_release,
    rollout_body,
)

pytestmark = pytest.mark.integration

ORIGINAL = "rollouts.kruise.io/daemonset-original-update-strategy"


def daemonset() -> dict:
    template = pod_template("version-1")
    template["spec"]["nodeSelector"] = {"type": "kwok"}
    template["spec"]["tolerations"] = [{"operator": "Exists"}]
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "workload-demo"},
            "spec": {"selector": {"matchLabels": {"app": "demo"}}, "template": template,
                     "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}}}


@pytest.fixture
def release(manager: ManagerProcess, kc: Kubectl, namespace: str) -> tuple[WorkloadRelease, int]:
    r = WorkloadRelease(kc, namespace, "daemonset")
    r.apply(daemonset())
    nodes = wait_for(lambda: r.workload().get("status", {}).get("desiredNumberScheduled", 0), lambda n: n > 0,
                     what="DaemonSet scheduled")
    r.wait_versions(nodes, nodes, "version-1")
    r.apply(rollout_body(namespace, "apps/v1", "DaemonSet"))
    r.wait_rollout(("Healthy", "3", "Completed", "workload deployment is completed"))
    return r, nodes


def test_native_daemonset_multi_batch(release: tuple[WorkloadRelease, int]) -> None:
    r, n = release
    r.patch("version-2")
    r.wait_rollout(("Progressing", "1", "StepPaused", step_paused_message(1)))
    r.wait_versions(n, 1, "version-2")
    ds = r.workload()
    assert ds["spec"]["updateStrategy"]["type"] == "OnDelete"
    assert ds["metadata"]["annotations"][ORIGINAL] == "RollingUpdate"
    for _ in range(4):  # exactly one updated pod while the step is paused
        assert sum(1 for v in r.versions().values() if v == "version-2") == 1
        time.sleep(0.25)

    assert r.approve() == "rollout.rollouts.kruise.io/rollouts-demo approved"
    r.wait_rollout(("Progressing", "2", "StepPaused", step_paused_message(2)))
    r.wait_versions(n, math.ceil(n / 2), "version-2")

    r.approve()
    r.wait_rollout(("Healthy", "3", "Completed", "Rollout progressing has been completed"))
    r.wait_versions(n, n, "version-2")
    wait_for(r.leftovers, lambda left: left == [], what="no rollouts annotations or BatchRelease left")
    assert r.workload()["spec"]["updateStrategy"]["type"] == "RollingUpdate"
    if n == 10:
        assert r.batch_labels() == ["1"] + ["2"] * 4 + ["3"] * 5


def test_native_daemonset_rollout_deleted_mid_release(release: tuple[WorkloadRelease, int]) -> None:
    r, n = release
    r.patch("version-2")
    r.wait_rollout(("Progressing", "1", "StepPaused", step_paused_message(1)))
    r.wait_versions(n, 1, "version-2")
    r.kc("-n", r.ns, "delete", "rollouts.rollouts.kruise.io", "rollouts-demo", "--wait=false")
    wait_for(lambda: r.kc("-n", r.ns, "get", "rollouts.rollouts.kruise.io", "-o", "name"), lambda out: not out.strip(),
             what="Rollout gone")
    wait_for(lambda: r.workload()["spec"]["updateStrategy"]["type"], lambda t: t == "RollingUpdate",
             what="original update strategy restored")
    r.wait_versions(n, n, "version-2")  # the DaemonSet controller finishes the update natively
    wait_for(r.leftovers, lambda left: left == [], what="no rollouts annotations or BatchRelease left")


def test_native_daemonset_rollback_is_a_new_release(release: tuple[WorkloadRelease, int]) -> None:
    """Going back to version-1 mid-release: the old ControllerRevision becomes the newest, so the
    finder sees a new release of version-1 rather than a rollback."""
    r, n = release
    rollback_restarts_as_new_release(r, n)
