"""Metrics analysis on the real control plane and a real Prometheus: one manager, one exporter per module."""

from collections.abc import Iterator

import pytest
from localcluster.prometheus import PrometheusServer

from tests.e2e.conftest import kc, manager  # noqa: F401 - fixtures
from tests.promexporter import Exporter


@pytest.fixture(scope="module")
def exporter(prometheus_server: PrometheusServer) -> Iterator[Exporter]:
    """A test-controlled exporter Prometheus scrapes every second for this module."""
    exp = Exporter()
    prometheus_server.set_targets({"analysis": [exp.address]})
    try:
        yield exp
    finally:
        prometheus_server.set_targets({})
        exp.close()
