"""A real Prometheus scrapes the manager: PromQL answers the step of a Rollout mid-release, and a
deleted Rollout leaves no series on ``/metrics``.

The release is the seed's multi-batch one (Deployment ``workload-demo``, 10 replicas, partition steps
1 / 50% / 100%, each a manual pause), so the Rollout sits at step 1 until approved.
"""

from __future__ import annotations

import urllib.request

import pytest
from localcluster.prometheus import PrometheusServer
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.harness import Kubectl, ManagerProcess, manifest, table, wait_for

pytestmark = pytest.mark.integration

PATCH_V2 = ('{"spec":{"template":{"spec":{"containers":[{"name":"busybox", '
            '"env":[{"name":"VERSION", "value":"version-2"}]}]}}}}')


def _scrape(port: int) -> dict[tuple[str, frozenset], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    return {(s.name, frozenset(s.labels.items())): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


def _value(prom: PrometheusServer, promql: str) -> float | None:
    result = prom.query(promql)
    return float(result[0]["value"][1]) if len(result) == 1 else None


def _row(kc: Kubectl, ns: str) -> tuple[str, str, str]:
    row = table(kc("-n", ns, "get", "rollout", "rollouts-demo"))[0]
    return row["STATUS"], row["CANARY_STEP"], row["CANARY_STATE"]


def test_prometheus_sees_the_step_mid_release_and_deletion_removes_the_series(
        manager: ManagerProcess, kc: Kubectl, namespace: str, metrics_port: int,
        prometheus_server: PrometheusServer) -> None:
    ns, prom = namespace, prometheus_server
    sel = f'namespace="{ns}",name="rollouts-demo"'
    kc("apply", "-f", "-", input=manifest("workload-demo.yaml", ns))
    kc("apply", "-f", "-", input=manifest("rollouts-demo.yaml", ns))
    wait_for(lambda: _row(kc, ns), lambda r: r == ("Healthy", "3", "Completed"), what="Healthy Rollout")
    kc("-n", ns, "patch", "deployment", "workload-demo", "-p", PATCH_V2)
    wait_for(lambda: _row(kc, ns), lambda r: r == ("Progressing", "1", "StepPaused"), timeout=90, what="step 1 paused")

    prom.set_targets({"manager": [f"127.0.0.1:{metrics_port}"]})
    try:
        assert wait_for(lambda: _value(prom, f"kruise_rollout_step{{{sel}}}"), lambda v: v == 1.0,
                        timeout=30, what="PromQL step 1") == 1.0
        assert _value(prom, f'kruise_rollout_step_state{{{sel},state="StepPaused"}}') == 1.0
        assert _value(prom, f'kruise_rollout_phase{{{sel},phase="Progressing"}}') == 1.0
        assert _value(prom, 'sum(workqueue_adds_total{job="manager",name="rollout"})') > 0
        wait_for(lambda: _value(prom, f"kruise_rollout_waiting_for_approval_seconds{{{sel}}}"),
                 lambda v: v is not None and v >= 1, timeout=30, what="time waiting for approval")

        kc("kruise", "rollout", "approve", "rollout/rollouts-demo", "-n", ns)
        assert wait_for(lambda: _value(prom, f"kruise_rollout_step{{{sel}}}"), lambda v: v == 2.0,
                        timeout=60, what="PromQL step 2 after approval") == 2.0
        assert _value(prom, f"kruise_rollout_approvals_total{{{sel}}}") == 1.0
        assert _value(prom, f"kruise_rollout_step_duration_seconds_count{{{sel}}}") == 1.0

        mine = lambda key: ("name", "rollouts-demo") in key[1] and ("namespace", ns) in key[1]  # noqa: E731
        assert any(mine(k) for k in _scrape(metrics_port))
        kc("-n", ns, "delete", "rollout", "rollouts-demo", "--wait=true", "--timeout=60s")
        wait_for(lambda: [k for k in _scrape(metrics_port) if mine(k)], lambda left: left == [],
                 timeout=30, what="no series of the deleted Rollout on /metrics")
    finally:
        prom.set_targets({})
