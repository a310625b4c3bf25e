"""Two shards of kruise-rollout on the real local control plane: shard ``a`` (a leader and a standby)
and shard ``b`` (one replica), started once for the module (e2e harness subprocesses)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import kc  # noqa: F401 - fixture
from tests.e2e.harness import Kubectl, ManagerProcess, running


def shard_args(name: str) -> tuple[str, ...]:
    return ("--leader-elect", "--shard-name", name, "--shard-selector", f"shard={name}")


@pytest.fixture(scope="module")
def shards(kubeconfig: str, kc: Kubectl,  # noqa: F811 - fixture
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ManagerProcess]]:
    procs = {"a1": ManagerProcess(kubeconfig, tmp_path_factory.mktemp("shard-a1"), extra_args=shard_args("a")),
             "a2": ManagerProcess(kubeconfig, tmp_path_factory.mktemp("shard-a2"), extra_args=shard_args("a")),
             "b": ManagerProcess(kubeconfig, tmp_path_factory.mktemp("shard-b"), extra_args=shard_args("b"))}
    with running(procs["a1"], kc), running(procs["a2"], kc), running(procs["b"], kc):
        yield procs
