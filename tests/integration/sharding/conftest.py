"""Two shards of kruise-rollout on the real local control plane, started once for the module (e2e
harness subprocesses): shard ``a`` selects Rollouts by label (``shard=a``) and runs a leader and a
standby; shard ``b`` selects by namespace (the module's ``namespace_b``) and runs one replica."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from localcluster.cluster import LocalCluster

from tests.conftest import fresh_namespace
from tests.e2e.conftest import kc  # noqa: F401 - fixture
from tests.e2e.harness import Kubectl, ManagerProcess, running


@pytest.fixture(scope="module")
def namespace_b(local_cluster: LocalCluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """Shard b's namespace (it must exist before shard b starts: its name is a flag)."""
    with fresh_namespace(local_cluster, request) as name:
        yield name


@pytest.fixture(scope="module")
def shards(kubeconfig: str, kc: Kubectl, namespace_b: str,  # noqa: F811 - fixture
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ManagerProcess]]:
    by_label = ("--leader-elect", "--shard-name", "a", "--shard-selector", "shard=a")
    by_namespace = ("--leader-elect", "--shard-name", "b", "--shard-namespaces", namespace_b)
    procs = {"a1": ManagerProcess(kubeconfig, tmp_path_factory.mktemp("shard-a1"), extra_args=by_label),
             "a2": ManagerProcess(kubeconfig, tmp_path_factory.mktemp("shard-a2"), extra_args=by_label),
             "b": ManagerProcess(kubeconfig, tmp_path_factory.mktemp("shard-b"), extra_args=by_namespace)}
    with running(procs["a1"], kc), running(procs["a2"], kc), running(procs["b"], kc):
        yield procs
