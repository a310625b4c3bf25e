"""WebhookApp ordering: sync first (certs in cert_dir), then the server; served with the Secret's CA."""

from __future__ import annotations

import json
import ssl
from datetime import timedelta
from pathlib import Path

import aiohttp
import attrs
import pytest
from wh_fakekube import FakeKube

from runtime.kube.resources import SECRETS, VALIDATING_WEBHOOK_CONFIGURATIONS
from webhooks import configs
from webhooks.app import WebhookApp, build_registry
from webhooks.certwriter import secret_to_artifacts
from webhooks.settings import WebhookSettings


def _settings(tmp_path: Path, **kw: object) -> WebhookSettings:
    return WebhookSettings(host="127.0.0.1", port=0, url_host="127.0.0.1", cert_dir=str(tmp_path),
                           create_configurations=True, namespace="ops", **kw)  # type: ignore[arg-type]


async def test_start_serves_validation_with_secret_ca(tmp_path: Path) -> None:
    kube = FakeKube()
    app = WebhookApp(kube, _settings(tmp_path), build_registry(convert=lambda o, v: {**o, "apiVersion": v}),
                     watch_triggers=False)
    await app.start()
    try:
        secret = await kube.get(SECRETS, "kruise-rollout-webhook-certs", "ops")
        ca = secret_to_artifacts(secret).ca_cert
        vwc = await kube.get(VALIDATING_WEBHOOK_CONFIGURATIONS, configs.VALIDATING_CONFIGURATION_NAME)
        assert vwc["webhooks"][0]["clientConfig"]["caBundle"] == configs.ca_bundle(ca)
        # port 0 in URL mode: the app bound first, so the registered URL carries the real port
        assert vwc["webhooks"][0]["clientConfig"]["url"] == (
            f"https://127.0.0.1:{app.server.port}{configs.PATH_VALIDATE_ROLLOUT}")
        assert app.server.port != 0
        review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                  "request": {"uid": "1", "operation": "CREATE", "name": "r", "namespace": "ns",
                              "kind": {"kind": "Rollout"}, "resource": {"resource": "rollouts"},
                              "object": {"apiVersion": "rollouts.kruise.io/v1beta1", "kind": "Rollout",
                                         "metadata": {"name": "r", "namespace": "ns"}, "spec": {}}}}
        ctx = ssl.create_default_context(cadata=ca.decode())
        async with aiohttp.ClientSession() as s:
            url = f"https://127.0.0.1:{app.server.port}{configs.PATH_VALIDATE_ROLLOUT}"
            async with s.post(url, data=json.dumps(review), ssl=ctx) as r:
                out = await r.json()
        assert out["response"]["allowed"] is False and out["response"]["status"]["code"] == 422
    finally:
        await app.stop()


async def test_start_fails_when_first_sync_cannot_succeed(tmp_path: Path) -> None:
    kube = FakeKube()
    settings = attrs.evolve(_settings(tmp_path, initial_sync_timeout=timedelta(seconds=0.3)),
                            create_configurations=False)
    app = WebhookApp(kube, settings, build_registry(convert=lambda o, v: o), watch_triggers=False)
    with pytest.raises(TimeoutError, match="failed to start webhook controller"):
        await app.start()


async def test_stop_unregister_stops_sync_before_deleting_and_serves_until_then(tmp_path: Path) -> None:
    kube = FakeKube()
    app = WebhookApp(kube, _settings(tmp_path), build_registry(convert=lambda o, v: o), watch_triggers=False)
    await app.start()
    order: list[str] = []
    real_delete = kube.delete

    async def delete(res, name, namespace=None):  # type: ignore[no-untyped-def]
        order.append(f"delete sync_running={bool(app._tasks)} serving={app.server._runner is not None}")
        await real_delete(res, name, namespace)

    kube.delete = delete  # type: ignore[method-assign]
    await app.stop(unregister=True)
    assert order == ["delete sync_running=False serving=True"] * 2
    assert not any(k[0].endswith("webhookconfigurations") for k in kube.objects)
    await app.stop(unregister=True)  # idempotent: nothing left to delete


async def test_stop_sync_repeats_a_cancellation_the_task_lost(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A sync task that loses its first cancellation (Python 3.11's wait_for race) does not hang the stop."""
    import asyncio

    from runtime import tasks
    from runtime.testing import CancelSwallower

    monkeypatch.setattr(tasks, "RECANCEL_SECONDS", 0.05)
    body = CancelSwallower(1)
    app = WebhookApp(FakeKube(), _settings(tmp_path), build_registry(convert=lambda o, v: o), watch_triggers=False)
    app._tasks = [asyncio.create_task(body())]
    await asyncio.wait_for(app.stop_sync(), timeout=5)
    assert body.cancels == 2 and app._tasks == []
