"""Admission metrics: latency per webhook, requests by code, denials by operation and kind."""

from __future__ import annotations

import json

from runtime.metrics import Registry
from webhooks.admission import AdmissionRequest, AdmissionResponse, allowed, denied
from webhooks.metrics import AdmissionMetrics
from webhooks.server import HandlerRegistry, WebhookServer
from webhooks.settings import WebhookSettings


async def _allow(_: AdmissionRequest) -> AdmissionResponse:
    return allowed()


async def _deny(_: AdmissionRequest) -> AdmissionResponse:
    return denied("spec.strategy: nope", 422)


def _review(operation: str, kind: str) -> bytes:
    req = {"uid": "u", "operation": operation, "name": "n", "namespace": "ns",
           "kind": {"group": "rollouts.kruise.io", "version": "v1beta1", "kind": kind},
           "resource": {"group": "rollouts.kruise.io", "version": "v1beta1", "resource": "rollouts"}}
    return json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": req}).encode()


async def test_reviews_are_timed_and_denials_counted_by_operation_and_kind(tmp_path) -> None:
    reg = HandlerRegistry()
    reg.validating("/ok", _allow)
    reg.validating("/no", _deny)
    registry = Registry()
    metrics = AdmissionMetrics(registry)
    srv = WebhookServer(reg, WebhookSettings(host="127.0.0.1", port=0, cert_dir=str(tmp_path)), metrics=metrics)
    await srv.respond("/ok", _review("CREATE", "Rollout"))
    await srv.respond("/no", _review("UPDATE", "Rollout"))
    await srv.respond("/no", _review("UPDATE", "Rollout"))
    assert metrics.latency.count(webhook="/ok") == 1 and metrics.latency.count(webhook="/no") == 2
    assert metrics.requests.value(webhook="/ok", code="200") == 1
    assert metrics.requests.value(webhook="/no", code="422") == 2
    assert metrics.denials.value(webhook="/no", operation="UPDATE", kind="Rollout") == 2
    assert metrics.denials.value(webhook="/ok", operation="CREATE", kind="Rollout") == 0
    assert "kruise_rollout_webhook_denials_total" in registry.render()


async def test_a_server_without_metrics_still_answers(tmp_path) -> None:
    reg = HandlerRegistry()
    reg.validating("/no", _deny)
    srv = WebhookServer(reg, WebhookSettings(host="127.0.0.1", port=0, cert_dir=str(tmp_path)))
    resp = await srv.respond("/no", _review("CREATE", "Rollout"))
    assert json.loads(resp.body)["response"]["allowed"] is False
