"""RolloutHistory and KeepWorkloadPausedOnRolloutDeletion on the real control plane: one manager per
module with both gates on (neither gate changes what the tests of the other one observe)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import kc  # noqa: F401 - fixture
from tests.e2e.harness import Kubectl, ManagerProcess, running


@pytest.fixture(scope="module")
def manager(kubeconfig: str, kc: Kubectl, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagerProcess]:  # noqa: F811
    mgr = ManagerProcess(kubeconfig, tmp_path_factory.mktemp("manager"),
                         extra_args=("--no-leader-elect",
                                     "--feature-gates=RolloutHistory=true,KeepWorkloadPausedOnRolloutDeletion=true"))
    with running(mgr, kc):
        yield mgr
