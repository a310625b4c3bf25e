"""The manager serves admission before its controllers start (issue 9 item 7), real process.

Killed and restarted 129 times under load, the manager used to start its controllers before its
webhook server answered in 55 restarts (their first writes went through our own webhook and failed
with "connection refused"). Each start here is checked in the manager's own log: the webhook server
is listening ("webhook server started") before the leader starts the controllers ("leading:
controllers started"). The old order loses that race often enough for three starts to catch it; the
exact ordering is pinned by tests/unit/runtime/test_manager_start.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.harness import Kubectl, ManagerProcess, running, wait_for

pytestmark = pytest.mark.integration

STARTS = 3
WEBHOOK_SERVING = "webhook server started"
CONTROLLERS_STARTED = "leading: controllers started"


@pytest.fixture(scope="module")
def elected(kubeconfig: str, kc: Kubectl, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagerProcess]:
    mgr = ManagerProcess(kubeconfig, tmp_path_factory.mktemp("manager-order"), extra_args=("--leader-elect",))
    with running(mgr, kc):
        yield mgr


def _leading(mgr: ManagerProcess) -> int:
    return sum(1 for e in mgr.log_events() if e.get("event") == CONTROLLERS_STARTED)


def test_every_start_serves_the_webhook_before_any_controller_starts(elected: ManagerProcess) -> None:
    for n in range(1, STARTS + 1):
        wait_for(lambda: _leading(elected), lambda c, n=n: c >= n, what=f"start {n} to lead")
        if n < STARTS:  # graceful restarts release the Lease, so the next start leads at once
            elected.stop()
            elected.start()
    wanted = (WEBHOOK_SERVING, CONTROLLERS_STARTED)
    events = [e.get("event") for e in elected.log_events() if e.get("event") in (*wanted, "serving probes and metrics")]
    starts: list[list[str]] = []
    for event in events:
        if event == "serving probes and metrics":
            starts.append([])
        else:
            starts[-1].append(event)
    assert len(starts) == STARTS, events
    for i, order in enumerate(starts):
        assert order[:2] == list(wanted), f"start {i + 1}: {order}"
