"""Metrics analysis on the real control plane and a real Prometheus: one manager, one exporter per module.

The manager serves ``/metrics`` on its own ``--metrics-addr`` port (as the chart runs it) and the session's
Prometheus scrapes it beside the exporter, so a test can read the analysis series back through PromQL
without a manager of its own."""

from collections.abc import Iterator

import pytest
from localcluster.prometheus import PrometheusServer

from tests.e2e.conftest import kc  # noqa: F401 - fixture
from tests.e2e.harness import Kubectl, ManagerProcess, free_port, running
from tests.promexporter import Exporter


@pytest.fixture(scope="module")
def metrics_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def manager(kubeconfig: str, kc: Kubectl, metrics_port: int,  # noqa: F811 - kc is the fixture
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagerProcess]:
    # The harness passes --metrics-addr equal to the probes' address; the later flag wins (argparse).
    mgr = ManagerProcess(kubeconfig, tmp_path_factory.mktemp("manager"),
                         extra_args=("--no-leader-elect", "--metrics-addr", f"127.0.0.1:{metrics_port}"))
    with running(mgr, kc):
        yield mgr


@pytest.fixture(scope="module")
def exporter(prometheus_server: PrometheusServer, metrics_port: int) -> Iterator[Exporter]:
    """A test-controlled exporter, and the module's manager, that Prometheus scrapes every second."""
    exp = Exporter()
    prometheus_server.set_targets({"analysis": [exp.address], "manager": [f"127.0.0.1:{metrics_port}"]})
    try:
        yield exp
    finally:
        prometheus_server.set_targets({})
        exp.close()
