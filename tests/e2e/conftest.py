"""Fixtures of the release tests: one kruise-rollout manager per test module (see harness.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.harness import Kubectl, ManagerProcess, running


@pytest.fixture(scope="module")
def kc(kubeconfig: str) -> Kubectl:
    return Kubectl(kubeconfig)


@pytest.fixture(scope="module")
def manager(kubeconfig: str, kc: Kubectl, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagerProcess]:
    mgr = ManagerProcess(kubeconfig, tmp_path_factory.mktemp("manager"), extra_args=("--no-leader-elect",))
    with running(mgr, kc):
        yield mgr
