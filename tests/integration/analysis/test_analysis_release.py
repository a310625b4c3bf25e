"""A canary release (nginx Ingress traffic) analysed with real Prometheus data (issue #16).

The exporter serves ``demo_error_ratio{namespace, version}``; the template's query selects the canary
by ``{{namespace}}`` and ``{{canary_revision}}``. Checks measure every second, two measurements per
verdict, so each step's analysis decides within a few seconds. The session's Prometheus also scrapes the
module's manager (conftest.py), so the tests read ``kruise_rollout_analysis_check_*`` back through PromQL.
"""

from __future__ import annotations

import copy
import json
import socket
from pathlib import Path
from typing import Any

import pytest
import yaml
from localcluster.prometheus import PrometheusServer

from tests.e2e.harness import Kubectl, ManagerProcess, step_paused_message, wait_for
from tests.integration.canarytraffic.helpers import NAME, ROLLOUT, SERVICE, STEPS, CanaryTraffic, rollout_body
from tests.promexporter import Exporter
from tests.unit.trafficrouting.fakes import SEED_INGRESS

pytestmark = pytest.mark.integration

GROUP = "analysis.kruise-rollouts-py.io"
METRIC = "demo_error_ratio"
QUERY = 'max(demo_error_ratio{namespace="{{namespace}}",version="{{canary_revision}}"})'


def template(address: str, actions: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": f"{GROUP}/v1alpha1", "kind": "AnalysisTemplate", "metadata": {"name": "errors"},
            "spec": {"checks": [{"name": "error-rate", "prometheus": {"address": address, "query": QUERY},
                                 "successCondition": "result < 0.05", "failureCondition": "result >= 0.2",
                                 "intervalSeconds": 1, "count": 2}],
                     "actions": actions}}


class Analysed(CanaryTraffic):
    def setup_analysed(self, tmpl: dict[str, Any]) -> None:
        for obj in (SERVICE, SEED_INGRESS, tmpl):
            body = copy.deepcopy(obj)
            body["metadata"]["namespace"] = self.ns
            self.kc("apply", "-f", "-", input=yaml.safe_dump(body))
        body = rollout_body(self.ns, STEPS)
        body["metadata"]["annotations"] = {f"{GROUP}/template": "errors"}
        self.create(body)
        self.before = self.snapshot()

    def run(self) -> dict[str, Any]:
        return self.kc.json("-n", self.ns, "get", f"analysisruns.{GROUP}", ROLLOUT)

    def canary_revision(self) -> str:
        """The canary revision of the release under way (what ``{{canary_revision}}`` stands for)."""
        def started(r: dict[str, Any]) -> bool:
            sub = (r.get("status") or {}).get("canaryStatus") or {}
            return r["status"].get("phase") == "Progressing" and sub.get("canaryRevision") not in (
                None, "", sub.get("stableRevision"))
        return str(wait_for(self.rollout, started, timeout=90, what="release started")["status"]["canaryStatus"][
            "canaryRevision"])

    def wait_message(self, text: str, what: str) -> dict[str, Any]:
        return wait_for(self.rollout, lambda r: text in (r.get("status") or {}).get("message", ""), timeout=60,
                        what=what)

    def condition(self) -> dict[str, Any]:
        return next(c for c in self.rollout()["status"]["conditions"] if c["type"] == "MetricsAnalysis")

    def event_reasons(self) -> list[str]:
        items = self.kc.json("-n", self.ns, "get", "events", "--field-selector", "involvedObject.kind=Rollout")["items"]
        return [e["reason"] for e in items]


def scraped(prom: PrometheusServer, ns: str, series: str, extra: str = "") -> float | None:
    """``kruise_rollout_analysis_check_<series>`` of the module's Rollout as the real Prometheus scraped it."""
    sel = f'job="manager",namespace="{ns}",name="{ROLLOUT}",check="error-rate"{extra}'
    result = prom.query(f"kruise_rollout_analysis_check_{series}{{{sel}}}")
    return float(result[0]["value"][1]) if len(result) == 1 else None


@pytest.fixture
def c(manager: ManagerProcess, kc: Kubectl, namespace: str) -> Analysed:
    return Analysed(kc, namespace)


def test_a_healthy_canary_passes_and_an_error_spike_sends_traffic_back_to_stable(
        c: Analysed, exporter: Exporter, prometheus_server: PrometheusServer) -> None:
    c.setup_analysed(template(prometheus_server.url, {"noData": "Wait"}))
    c.set_env("version2")
    rev = c.canary_revision()
    series = {"namespace": c.ns, "version": rev}
    exporter.set(METRIC, series, 0.01)
    c.assert_step(1, "20", 1)  # passed: the step's own manual pause, weight 20 kept
    run = c.run()
    assert (run["spec"]["stepIndex"], run["status"]["verdict"], run["status"]["action"]) == (1, "pass", "Continue")
    assert run["status"]["checks"][0]["lastValue"] == "0.01"
    assert c.condition()["status"] == "True" and c.condition()["reason"] == "Passed"
    # the real Prometheus scrapes the module's manager: PromQL answers the measured value and the verdict
    assert wait_for(lambda: scraped(prometheus_server, c.ns, "value"), lambda v: v == 0.01, timeout=20,
                    what="PromQL kruise_rollout_analysis_check_value") == 0.01
    assert scraped(prometheus_server, c.ns, "verdict", ',verdict="pass"') == 1.0
    assert scraped(prometheus_server, c.ns, "verdict", ',verdict="fail"') == 0.0

    exporter.set(METRIC, series, 0.5)  # the spike
    wait_for(lambda: prometheus_server.query(f'{METRIC}{{namespace="{c.ns}"}}'),
             lambda r: bool(r) and float(r[0]["value"][1]) == 0.5, timeout=20, what="spike scraped")
    c.approve()
    ro = c.wait_message("step(2/3), and metrics analysis errors verdict fail (Rollback)", "step 2 failed")
    assert (ro["status"]["currentStepIndex"], ro["status"]["currentStepState"]) == (2, "StepPaused")
    assert "error-rate: fail, value 0.5 (failureCondition 'result >= 0.2')" in ro["status"]["message"]
    wait_for(c.canary_annotations, lambda a: a is None, timeout=30, what="canary Ingress removed: traffic on stable")
    assert c.selector() == {"app": NAME, "pod-template-hash": ro["status"]["canaryStatus"]["stableRevision"]}
    assert c.run()["status"]["verdict"] == "fail"
    assert c.condition()["status"] == "False" and c.condition()["reason"] == "Failed"
    assert {"AnalysisPassed", "AnalysisFailed"} <= set(c.event_reasons())
    wait_for(lambda: scraped(prometheus_server, c.ns, "value"), lambda v: v == 0.5, timeout=20,
             what="PromQL: the failing value")
    assert scraped(prometheus_server, c.ns, "verdict", ',verdict="fail"') == 1.0
    # held: the step neither moves on nor gets its traffic back while nobody acts
    assert c.rollout()["status"]["currentStepState"] == "StepPaused" and c.canary_annotations() is None


def test_no_data_follows_its_policy_and_approve_overrides_the_pause(
        c: Analysed, exporter: Exporter, prometheus_server: PrometheusServer) -> None:
    c.setup_analysed(template(prometheus_server.url, {"noData": "Pause"}))
    c.set_env("version2")
    # no series for this canary: every measurement has no data
    ro = c.wait_message("step(1/3), and metrics analysis errors verdict noData (Pause)", "no-data pause")
    assert ro["status"]["currentStepState"] == "StepPaused"
    assert c.condition()["reason"] == "NoData" and c.condition()["status"] == "Unknown"
    assert c.canary_annotations() is not None  # Pause keeps the step's traffic
    c.approve()
    c.wait_message("step(2/3), and metrics analysis errors", "step 2 analysed after the approval")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_prometheus_unreachable_is_inconclusive_never_a_pass(c: Analysed, exporter: Exporter) -> None:
    c.setup_analysed(template(f"http://127.0.0.1:{_closed_port()}", {}))
    c.set_env("version2")
    ro = c.wait_message("verdict inconclusive (Pause)", "inconclusive pause")
    assert "unreachable" in ro["status"]["message"]
    assert ro["status"]["message"] != step_paused_message(1)
    run = c.run()
    assert run["status"]["checks"][0]["measurements"][0]["phase"] == "Error"
    assert json.dumps(run).count('"phase": "Successful"') == 0


def test_prometheus_going_away_mid_analysis_is_inconclusive_never_a_pass(
        c: Analysed, exporter: Exporter, prometheus_server: PrometheusServer, tmp_path: Path) -> None:
    """The session's Prometheus serves other modules, so this test starts a second one of its own (the same
    cached binary) scraping the exporter, lets the check pass on it, then stops it. ``pass: Wait`` (and
    ``noData: Wait`` until the first scrape) keeps a passing check measuring every second; the first
    measurement after the stop cannot reach Prometheus (``Error``), and with ``inconclusiveLimit: 0`` the
    verdict turns inconclusive and its default action, ``Pause``, holds the step. The session's Prometheus
    scrapes the manager, so the verdict is also read back through PromQL."""
    with PrometheusServer(tmp_path / "own-prometheus").start({"analysis": [exporter.address]}) as own:
        c.setup_analysed(template(own.url, {"pass": "Wait", "noData": "Wait"}))
        c.set_env("version2")
        exporter.set(METRIC, {"namespace": c.ns, "version": c.canary_revision()}, 0.01)
        ro = c.wait_message("metrics analysis errors is pass", "the check passing while Prometheus is up")
        assert ro["status"]["currentStepState"] == "StepMetricsAnalysis"
        wait_for(lambda: scraped(prometheus_server, c.ns, "verdict", ',verdict="pass"'), lambda v: v == 1.0,
                 timeout=20, what="PromQL: the check's verdict pass, scraped from the manager")
        own.stop()  # Prometheus goes away mid-analysis

        ro = c.wait_message("verdict inconclusive (Pause)", "inconclusive once Prometheus is gone")
    assert (ro["status"]["currentStepIndex"], ro["status"]["currentStepState"]) == (1, "StepPaused")
    assert "is unreachable" in ro["status"]["message"] and ro["status"]["message"] != step_paused_message(1)
    phases = [m["phase"] for m in c.run()["status"]["checks"][0]["measurements"]]
    first_error = phases.index("Error")
    assert "Successful" in phases[:first_error] and "Successful" not in phases[first_error:], phases
    assert c.run()["status"]["verdict"] == "inconclusive"
    assert c.condition()["status"] == "Unknown" and c.condition()["reason"] == "Inconclusive"
    wait_for(lambda: scraped(prometheus_server, c.ns, "verdict", ',verdict="inconclusive"'), lambda v: v == 1.0,
             timeout=20, what="PromQL: the check's verdict inconclusive")
    assert scraped(prometheus_server, c.ns, "verdict", ',verdict="pass"') == 0.0
    # held: Pause keeps the step's traffic and waits for a human
    assert c.canary_annotations() is not None
    assert c.rollout()["status"]["currentStepState"] == "StepPaused"


def test_admission_refuses_a_bad_template_naming_the_field(c: Analysed, prometheus_server: PrometheusServer) -> None:
    bad = template(prometheus_server.url, {})
    bad["metadata"]["namespace"] = c.ns
    bad["spec"]["checks"][0]["failureCondition"] = "result >= high"
    with pytest.raises(AssertionError) as refused:
        c.kc("apply", "-f", "-", input=yaml.safe_dump(bad))
    out = str(refused.value)
    assert "denied the request" in out and "spec.checks[0].failureCondition: 'high' is not a number" in out, out
    bad["spec"]["checks"][0]["failureCondition"] = "result >= 0.2"
    bad["spec"]["checks"][0]["count"] = "3"  # the CRD schema types the integers
    with pytest.raises(AssertionError) as refused:
        c.kc("apply", "-f", "-", input=yaml.safe_dump(bad))
    out = str(refused.value)
    assert "spec.checks[0].count" in out and "integer" in out, out


def test_an_http_check_passes_on_its_status_and_fails_on_another(c: Analysed, exporter: Exporter) -> None:
    tmpl = {"apiVersion": f"{GROUP}/v1alpha1", "kind": "AnalysisTemplate", "metadata": {"name": "errors"},
            "spec": {"checks": [{"name": "smoke", "http": {"url": f"http://{exporter.address}/metrics"},
                                 "intervalSeconds": 1, "count": 2}]}}
    c.setup_analysed(tmpl)
    c.set_env("version2")
    c.assert_step(1, "20", 1)
    assert c.run()["status"]["checks"][0]["lastValue"] == "200"
    tmpl["metadata"]["namespace"] = c.ns
    tmpl["spec"]["checks"][0]["http"]["url"] = f"http://{exporter.address}/healthz"  # the exporter answers 404
    c.kc("apply", "-f", "-", input=yaml.safe_dump(tmpl))
    c.approve()
    ro = c.wait_message("step(2/3), and metrics analysis errors verdict fail (Rollback)", "step 2 failed")
    assert "/healthz answered HTTP 404, expected 200" in ro["status"]["message"]
    wait_for(c.canary_annotations, lambda a: a is None, timeout=30, what="canary Ingress removed: traffic on stable")
