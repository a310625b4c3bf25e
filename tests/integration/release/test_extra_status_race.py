"""Issue 9.2 forced: a step is never reported paused before the Deployment's extra status counts its
batch ready, even when the advanced Deployment controller's annotation writes arrive 1.5 s late."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from tests.e2e.harness import Kubectl, ManagerProcess, Release, running, step_paused_message

pytestmark = pytest.mark.integration

EXTRA_STATUS = "rollouts.kruise.io/deployment-extra-status"


@pytest.fixture(scope="module")
def slow_manager(kubeconfig: str, kc: Kubectl, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagerProcess]:
    mgr = ManagerProcess(kubeconfig, tmp_path_factory.mktemp("slow-manager"), extra_args=("--no-leader-elect",),
                         module="tests.e2e.slow_extra_status")
    with running(mgr, kc):
        yield mgr


def _first_paused(r: Release, step: int, timeout: float = 90) -> dict:
    """Poll the Rollout tightly; the moment it shows ``step`` paused, read the Deployment."""
    want = ("Progressing", str(step), "StepPaused", step_paused_message(step))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = r.rollout().get("status") or {}
        row = (status.get("phase"), str(status.get("currentStepIndex")), status.get("currentStepState"),
               status.get("message"))
        if row == want:
            return r.deployment()
        time.sleep(0.05)
    raise AssertionError(f"rollout never reached {want}")


def test_paused_step_only_after_the_extra_status_counts_the_batch(slow_manager: ManagerProcess, kc: Kubectl,
                                                                   namespace: str) -> None:
    r = Release(kc, namespace)
    r.create_workload()
    r.create_rollout()
    r.patch("version-2")
    for step, desired in ((1, 1), (2, 5)):
        d = _first_paused(r, step)
        extra = json.loads((d["metadata"].get("annotations") or {}).get(EXTRA_STATUS, "{}"))
        assert extra.get("updatedReadyReplicas", 0) >= desired, (step, extra)
        if step == 1:
            r.approve()
