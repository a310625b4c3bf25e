"""One manager subprocess per module (e2e harness) serving ``/metrics`` on its own ``--metrics-addr``
port, as the chart runs it (8080 metrics, 8081 probes), for the session's real Prometheus to scrape."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import kc  # noqa: F401 - fixture
from tests.e2e.harness import Kubectl, ManagerProcess, free_port, running


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
