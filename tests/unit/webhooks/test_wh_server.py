"""The HTTPS server: route registry, admission/conversion wire handling, health, cert hot reload."""

from __future__ import annotations

import json
import logging
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import structlog
import structlog.testing

from webhooks import certs
from webhooks.admission import AdmissionRequest, AdmissionResponse, allowed, denied, patched
from webhooks.certdir import write_dir
from webhooks.server import HandlerRegistry, WebhookServer
from webhooks.settings import WebhookSettings

NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def material() -> certs.CertArtifacts:
    return certs.generate("127.0.0.1", NOW)


def test_registry_rejects_duplicates_and_lists_kinds() -> None:
    reg = HandlerRegistry()

    async def h(_: AdmissionRequest) -> AdmissionResponse:
        return allowed()

    reg.mutating("/m", h)
    reg.validating("/v", h)
    reg.conversion("/convert", lambda o, v: o)
    with pytest.raises(ValueError, match="registered twice"):
        reg.validating("/m", h)
    with pytest.raises(ValueError, match="must start"):
        reg.mutating("x", h)
    assert reg.paths() == {"/m", "/v", "/convert"}
    assert reg.paths("mutating") == {"/m"} and reg.paths("conversion") == {"/convert"}
    assert reg.get("/v").kind == "validating"  # type: ignore[union-attr]


async def _mutate(req: AdmissionRequest) -> AdmissionResponse:
    assert req.object is not None
    obj = json.loads(json.dumps(req.object))
    obj["spec"]["paused"] = True
    return patched(req.object, obj)


async def _deny(req: AdmissionRequest) -> AdmissionResponse:
    return denied(f"no {req.name}", 422)


async def _boom(_: AdmissionRequest) -> AdmissionResponse:
    raise RuntimeError("kaput")


def _convert(obj: dict[str, Any], desired: str) -> dict[str, Any]:
    if obj.get("bad"):
        raise ValueError("cannot")
    return {**obj, "apiVersion": desired}


@pytest.fixture
async def server(tmp_path: Path, material: certs.CertArtifacts):  # type: ignore[no-untyped-def]
    write_dir(str(tmp_path), material, NOW)
    reg = HandlerRegistry()
    reg.mutating("/mutate", _mutate)
    reg.validating("/validate", _deny)
    reg.validating("/boom", _boom)
    reg.conversion("/convert", _convert)
    srv = WebhookServer(reg, WebhookSettings(host="127.0.0.1", port=0, cert_dir=str(tmp_path),
                                             cert_poll_interval=timedelta(seconds=3600)))
    await srv.start()
    yield srv
    await srv.stop()


def _client_ctx(ca_pem: bytes) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cadata=ca_pem.decode())
    return ctx


def _review(**req: Any) -> dict[str, Any]:
    base = {"uid": "abc", "operation": "UPDATE", "name": "n", "namespace": "ns",
            "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
            "resource": {"group": "apps", "version": "v1", "resource": "deployments"}}
    base.update(req)
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": base}


async def _post(server: WebhookServer, ca: bytes, path: str, body: Any) -> tuple[int, Any]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with aiohttp.ClientSession() as s:
        async with s.post(f"https://127.0.0.1:{server.port}{path}", data=data, ssl=_client_ctx(ca)) as r:
            return r.status, await r.json(content_type=None)


async def test_mutating_returns_patch_and_uid(server: WebhookServer, material: certs.CertArtifacts) -> None:
    status, out = await _post(server, material.ca_cert, "/mutate", _review(object={"spec": {"paused": False}}))
    assert status == 200
    assert out["response"]["uid"] == "abc" and out["response"]["allowed"] is True
    assert out["response"]["patchType"] == "JSONPatch"


async def test_validating_denial_and_handler_error(server: WebhookServer, material: certs.CertArtifacts) -> None:
    _, out = await _post(server, material.ca_cert, "/validate", _review())
    assert out["response"]["allowed"] is False and out["response"]["status"]["code"] == 422
    assert out["response"]["status"]["message"] == "no n"
    status, out = await _post(server, material.ca_cert, "/boom", _review())
    assert status == 200 and out["response"]["allowed"] is False
    assert out["response"]["status"]["code"] == 500 and "kaput" in out["response"]["status"]["message"]


async def test_bad_json_is_400(server: WebhookServer, material: certs.CertArtifacts) -> None:
    status, out = await _post(server, material.ca_cert, "/validate", b"{nope")
    assert status == 400 and "not valid JSON" in out["error"]
    status, out = await _post(server, material.ca_cert, "/convert", b"{nope")
    assert status == 400


async def test_conversion_route(server: WebhookServer, material: certs.CertArtifacts) -> None:
    review = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview",
              "request": {"uid": "u", "desiredAPIVersion": "g/v2", "objects": [{"apiVersion": "g/v1"}]}}
    _, out = await _post(server, material.ca_cert, "/convert", review)
    assert out["response"]["convertedObjects"] == [{"apiVersion": "g/v2"}]


async def test_health_and_ready(server: WebhookServer, material: certs.CertArtifacts) -> None:
    async with aiohttp.ClientSession() as s:
        for path in ("/healthz", "/readyz"):
            async with s.get(f"https://127.0.0.1:{server.port}{path}", ssl=_client_ctx(material.ca_cert)) as r:
                assert r.status == 200


async def test_cert_hot_reload(server: WebhookServer, material: certs.CertArtifacts, tmp_path: Path) -> None:
    rotated = certs.generate("127.0.0.1", NOW)  # new CA too: old clients must now fail, new ones succeed
    write_dir(str(tmp_path), rotated, NOW + timedelta(seconds=1))
    assert server.reload_certs()
    status, _ = await _post(server, rotated.ca_cert, "/validate", _review())
    assert status == 200
    with pytest.raises(aiohttp.ClientConnectorCertificateError):
        await _post(server, material.ca_cert, "/validate", _review())


async def test_start_without_certs_fails_clearly(tmp_path: Path) -> None:
    srv = WebhookServer(HandlerRegistry(), WebhookSettings(host="127.0.0.1", port=0, cert_dir=str(tmp_path)))
    with pytest.raises(FileNotFoundError, match="certificate sync"):
        await srv.start()
    await srv.stop()


async def test_v1beta1_review_answered_in_v1beta1(server: WebhookServer, material: certs.CertArtifacts) -> None:
    review = _review()
    review["apiVersion"] = "admission.k8s.io/v1beta1"
    status, out = await _post(server, material.ca_cert, "/validate", review)
    assert status == 200 and out["apiVersion"] == "admission.k8s.io/v1beta1"
    assert out["response"]["uid"] == "abc"


async def test_get_on_webhook_path_is_not_allowed(server: WebhookServer, material: certs.CertArtifacts) -> None:
    async with aiohttp.ClientSession() as s:
        async with s.get(f"https://127.0.0.1:{server.port}/validate", ssl=_client_ctx(material.ca_cert)) as r:
            assert r.status == 405


async def test_bind_before_start_reports_the_port(tmp_path: Path, material: certs.CertArtifacts) -> None:
    write_dir(str(tmp_path), material, NOW)
    srv = WebhookServer(HandlerRegistry(), WebhookSettings(host="127.0.0.1", port=0, cert_dir=str(tmp_path)))
    port = srv.bind()
    assert port > 0 and srv.port == port
    await srv.start()
    try:
        async with aiohttp.ClientSession() as s:
            async with s.get(f"https://127.0.0.1:{port}/readyz", ssl=_client_ctx(material.ca_cert)) as r:
                assert r.status == 200
    finally:
        await srv.stop()


async def test_respond_answers_like_the_view_without_http(server: WebhookServer,
                                                          material: certs.CertArtifacts) -> None:
    body = json.dumps(_review()).encode()
    _, over_tls = await _post(server, material.ca_cert, "/validate", body)
    resp = await server.respond("/validate", body)
    assert resp.status == 200 and json.loads(resp.body) == over_tls  # type: ignore[arg-type]
    review = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview",
              "request": {"uid": "u", "desiredAPIVersion": "x/v2", "objects": [{"apiVersion": "x/v1"}]}}
    converted = await server.respond("/convert", json.dumps(review).encode())
    assert converted.status == 200
    assert json.loads(converted.body)["response"]["convertedObjects"] == [{"apiVersion": "x/v2"}]  # type: ignore[arg-type]
    with pytest.raises(KeyError):
        await server.respond("/nowhere", body)


@pytest.mark.parametrize(("level", "logged"), [(logging.DEBUG, True), (logging.INFO, False)])
async def test_admission_debug_line_follows_the_log_level(level: int, logged: bool) -> None:
    """The per-request line is skipped by asking the level first; at debug it is still written."""
    reg = HandlerRegistry()
    reg.validating("/validate", _deny)
    srv = WebhookServer(reg, WebhookSettings(host="127.0.0.1", port=0, cert_dir="/nonexistent"))
    old = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(level))
    try:
        with structlog.testing.capture_logs() as logs:
            await srv.respond("/validate", json.dumps(_review()).encode())
    finally:
        structlog.configure(**old)
    lines = [e for e in logs if e["event"] == "admission"]
    assert bool(lines) is logged
    if logged:
        assert lines[0]["uid"] == "abc" and lines[0]["allowed"] is False and lines[0]["code"] == 422


async def test_conversion_reviews_are_counted_by_desired_version_and_result() -> None:
    from runtime.metrics import Registry
    from webhooks.conversion import default_converter
    from webhooks.metrics import AdmissionMetrics

    reg = HandlerRegistry()
    reg.conversion("/convert", default_converter())
    registry = Registry()
    srv = WebhookServer(reg, WebhookSettings(host="127.0.0.1", port=0, cert_dir="/nonexistent"),
                        metrics=AdmissionMetrics(registry))
    beta = {"apiVersion": "rollouts.kruise.io/v1beta1", "kind": "Rollout", "metadata": {"name": "r"},
            "spec": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"},
                     "strategy": {"canary": {"steps": [{"replicas": 1}]}}}}

    def review(desired: str, *objs: dict) -> bytes:
        return json.dumps({"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview",
                           "request": {"uid": "u", "desiredAPIVersion": desired, "objects": list(objs)}}).encode()

    ok = await srv.respond("/convert", review("rollouts.kruise.io/v1alpha1", beta, beta))
    assert json.loads(ok.body)["response"]["result"]["status"] == "Success"  # type: ignore[arg-type]
    await srv.respond("/convert", review("rollouts.kruise.io/v9", beta))  # unsupported: a Failure answer
    m = srv.metrics
    assert m is not None
    assert m.conversion_reviews.value(desired_version="v1alpha1", result="success") == 1
    assert m.conversion_objects.value(desired_version="v1alpha1") == 2
    assert m.conversion_reviews.value(desired_version="other", result="failure") == 1
    assert m.conversion_objects.value(desired_version="other") == 0
    assert m.conversion_latency.count() == 2
