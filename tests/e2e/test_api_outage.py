"""A manager started while the API server is down waits for it (issue 9 item 9b), real processes.

Runs on a dedicated one-node local cluster: stopping kube-apiserver must not disturb the shared
cluster the other modules use. The manager used to crash at start (discovery and the certificate
sync fail without an API); it must stay alive, answer /healthz, report not-ready on /readyz, and
become ready and serve admission once the API server is back.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from localcluster.cluster import ClusterSettings, LocalCluster

from tests.e2e.harness import Kubectl, ManagerProcess, wait_for
from tests.e2e.test_replicas import invalid_rollout_denied

pytestmark = pytest.mark.integration

#: How long the manager must survive without an API (the old one crashed within a second or two).
DOWN_FOR_S = 8.0


@pytest.fixture(scope="module")
def own_cluster() -> Iterator[LocalCluster]:
    cluster = LocalCluster(ClusterSettings(nodes=1))
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


def test_a_manager_started_without_api_waits_not_ready_then_works(
        own_cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory) -> None:
    kc = Kubectl(str(own_cluster.kubeconfig))
    mgr = ManagerProcess(str(own_cluster.kubeconfig), tmp_path_factory.mktemp("manager-noapi"),
                         extra_args=("--leader-elect",))
    own_cluster.stop_apiserver()

    def waits() -> int:
        return sum(1 for e in mgr.log_events() if e.get("event") == "API server not reachable; waiting (not ready)")

    try:
        mgr.launch()
        wait_for(waits, lambda n: n >= 1, timeout=60, what="the manager to probe the API")
        deadline = time.monotonic() + DOWN_FOR_S
        while time.monotonic() < deadline:
            assert mgr.alive(), f"manager exited while the API was down:\n{mgr.tail()}"
            time.sleep(0.5)
        assert mgr.probe("/healthz")[0] == 200
        status, text = mgr.probe("/readyz")
        assert status == 500 and "[-]api-reachable" in text, (status, text)
        # Backoff 0.5 s doubling to a 5 s cap: about 4–5 failed probes in these seconds, not hundreds.
        assert 2 <= waits() <= 12, waits()

        own_cluster.start_apiserver()
        mgr.wait_ready(timeout=60)
        kc("create", "namespace", "after-outage")
        denial = wait_for(lambda: invalid_rollout_denied(kc, "after-outage"),
                          lambda t: "spec.strategy.canary.steps" in t, timeout=30, what="admission after the outage")
        assert 'admission webhook "vrollout.kb.io" denied' in denial
        assert mgr.alive()
    except BaseException:
        print(mgr.tail())
        raise
    finally:
        mgr.stop()  # the dedicated cluster is thrown away: no registrations to clean up
