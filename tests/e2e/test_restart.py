"""A controller restart mid-release resumes the same step (leader election on, as in production)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.e2e.harness import (
    Kubectl,
    ManagerProcess,
    Release,
    running,
    step_paused_message,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def elected_manager(kubeconfig: str, kc: Kubectl, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagerProcess]:
    mgr = ManagerProcess(kubeconfig, tmp_path_factory.mktemp("manager-le"), extra_args=("--leader-elect",))
    with running(mgr, kc):
        yield mgr


def test_restart_mid_release_resumes_the_same_step(elected_manager: ManagerProcess, kc: Kubectl,
                                                   namespace: str) -> None:
    r = Release(kc, namespace)
    r.create_workload()
    r.create_rollout()
    r.patch("version-2")
    r.wait_rollout(("Progressing", "1", "StepPaused", step_paused_message(1)))
    r.wait_deploy(("10/10", "1", "10"))

    elected_manager.stop()  # graceful: unregisters the webhooks, releases the lease
    elected_manager.start()
    for _ in range(12):  # still exactly one updated pod at step 1 after the restart
        assert r.rollout_row() == ("Progressing", "1", "StepPaused", step_paused_message(1))
        assert r.deploy_row() == ("10/10", "1", "10")
        time.sleep(0.25)

    assert r.approve() == "rollout.rollouts.kruise.io/rollouts-demo approved"
    elected_manager.stop(kill=True)  # crash right after the approval
    elected_manager.start()
    r.wait_rollout(("Progressing", "2", "StepPaused", step_paused_message(2)), timeout=120)
    r.wait_deploy(("10/10", "5", "10"))
    assert elected_manager.starts == 3
