"""Metrics analysis on the real control plane and a real Prometheus: one manager, one exporter per module.

The manager serves ``/metrics`` on its own ``--metrics-addr`` port (as the chart runs it) and the session's
Prometheus scrapes it beside the exporter, so a test can read the analysis series back through PromQL
without a manager of its own."""

from collections.abc import Iterator

import pytest
from localcluster.prometheus import PrometheusServer

from tests.e2e.conftest import kc  # noqa: F401 - fixture
from tests.integration.metrics.conftest import manager, metrics_port  # noqa: F401 - fixtures: a scraped manager
from tests.promexporter import Exporter


@pytest.fixture(scope="module")
def exporter(prometheus_server: PrometheusServer, metrics_port: int) -> Iterator[Exporter]:  # noqa: F811
    """A test-controlled exporter, and the module's manager, that Prometheus scrapes every second."""
    exp = Exporter()
    prometheus_server.set_targets({"analysis": [exp.address], "manager": [f"127.0.0.1:{metrics_port}"]})
    try:
        yield exp
    finally:
        prometheus_server.set_targets({})
        exp.close()
