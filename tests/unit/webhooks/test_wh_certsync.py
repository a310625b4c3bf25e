"""Secret writer and cert sync against an in-memory fake of the few client methods (unit level)."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest
from wh_fakekube import FakeKube

from runtime.kube.resources import CRDS, MUTATING_WEBHOOK_CONFIGURATIONS, SECRETS, VALIDATING_WEBHOOK_CONFIGURATIONS
from webhooks import certs, configs
from webhooks.certdir import read_dir
from webhooks.certsync import CertSync
from webhooks.certwriter import SecretCertWriter, artifacts_to_secret, secret_to_artifacts
from webhooks.settings import WebhookSettings

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SIX_MONTHS = timedelta(days=183)
DNS = "kruise-rollout-webhook-service.kruise-rollout.svc"
SERVED = frozenset({configs.PATH_DEPLOYMENT, configs.PATH_VALIDATE_ROLLOUT, configs.CONVERSION_PATH})


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> datetime:
        return self.t


def _writer(kube: FakeKube) -> SecretCertWriter:
    return SecretCertWriter(client=kube, namespace="kruise-rollout", name="kruise-rollout-webhook-certs")


async def test_creates_secret_with_six_keys() -> None:
    kube = FakeKube()
    res = await _writer(kube).ensure(DNS, T0, SIX_MONTHS)
    assert res.changed
    secret = await kube.get(SECRETS, "kruise-rollout-webhook-certs", "kruise-rollout")
    assert set(secret["data"]) == {"ca-key.pem", "ca-cert.pem", "key.pem", "tls.key", "cert.pem", "tls.crt"}
    assert secret_to_artifacts(secret).ca_cert == res.artifacts.ca_cert
    again = await _writer(kube).ensure(DNS, T0, SIX_MONTHS)
    assert not again.changed and again.artifacts.ca_cert == res.artifacts.ca_cert


async def test_create_race_adopts_the_winners_ca() -> None:
    kube = FakeKube()
    winner = certs.generate(DNS, T0)
    kube.before_create = lambda: kube.put(SECRETS, artifacts_to_secret(winner, "kruise-rollout",
                                                                       "kruise-rollout-webhook-certs"))
    res = await _writer(kube).ensure(DNS, T0, SIX_MONTHS)
    assert res.changed and res.artifacts.ca_cert == winner.ca_cert and res.artifacts.cert == winner.cert


async def test_rotation_before_expiry_rolls_ca_and_leaf() -> None:
    """Leaf and CA are both issued for 10 years, and a leaf is never older than its CA, so expiry
    rotation always finds the CA inside the window too: both are replaced (name changes and foreign
    leaves keep the CA, see test_wrong_name_regenerates_leaf_with_same_ca)."""
    kube = FakeKube()
    first = (await _writer(kube).ensure(DNS, T0, SIX_MONTHS)).artifacts
    assert not (await _writer(kube).ensure(DNS, T0 + certs.VALIDITY - SIX_MONTHS - timedelta(days=1),
                                            SIX_MONTHS)).changed
    late = T0 + certs.VALIDITY - SIX_MONTHS + timedelta(days=1)
    res = await _writer(kube).ensure(DNS, late, SIX_MONTHS)
    assert res.changed and res.artifacts.cert != first.cert and "not valid at" in res.reason
    assert res.artifacts.ca_cert != first.ca_cert
    assert certs.invalid_reason(res.artifacts, DNS, late + SIX_MONTHS) is None


async def test_wrong_name_regenerates_leaf_with_same_ca() -> None:
    kube = FakeKube()
    first = (await _writer(kube).ensure(DNS, T0, SIX_MONTHS)).artifacts
    res = await _writer(kube).ensure("other.ns.svc", T0, SIX_MONTHS)
    assert res.changed and res.artifacts.ca_cert == first.ca_cert
    assert certs.invalid_reason(res.artifacts, "other.ns.svc", T0) is None


async def test_empty_secret_is_filled() -> None:
    kube = FakeKube()
    kube.put(SECRETS, {"metadata": {"name": "kruise-rollout-webhook-certs", "namespace": "kruise-rollout"}})
    res = await _writer(kube).ensure(DNS, T0, SIX_MONTHS)
    assert res.changed and res.reason == "certificate material missing"
    assert ("update", "secrets", "kruise-rollout-webhook-certs") in kube.writes


def _crd(name: str, group: str, strategy: str) -> dict:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": name}, "spec": {"group": group, "conversion": {"strategy": strategy}}}


def _sync(kube: FakeKube, tmp_path: Path, clock: Clock, **kw: object) -> tuple[CertSync, list[int]]:
    reloads: list[int] = []
    settings = WebhookSettings(cert_dir=str(tmp_path / "certs"), **kw)  # type: ignore[arg-type]
    return CertSync(kube, settings, SERVED, now=clock, on_certs_written=lambda: reloads.append(1)), reloads


async def test_full_sync_service_mode(tmp_path: Path) -> None:
    kube = FakeKube()
    kube.put(MUTATING_WEBHOOK_CONFIGURATIONS, configs.mutating_configuration(WebhookSettings()))
    kube.put(VALIDATING_WEBHOOK_CONFIGURATIONS, configs.validating_configuration(WebhookSettings()))
    kube.put(CRDS, _crd("rollouts.rollouts.kruise.io", "rollouts.kruise.io", "Webhook"))
    kube.put(CRDS, _crd("trafficroutings.rollouts.kruise.io", "rollouts.kruise.io", "None"))
    kube.put(CRDS, _crd("other.example.com", "example.com", "Webhook"))
    sync, reloads = _sync(kube, tmp_path, Clock())
    report = await sync.sync_once()
    ca_b64 = base64.b64encode(report.ca_cert).decode()
    assert reloads == [1] and read_dir(str(tmp_path / "certs"))["ca-cert.pem"] == report.ca_cert
    assert set(report.configurations_updated) == {configs.MUTATING_CONFIGURATION_NAME,
                                                  configs.VALIDATING_CONFIGURATION_NAME}
    mutating = await kube.get(MUTATING_WEBHOOK_CONFIGURATIONS, configs.MUTATING_CONFIGURATION_NAME)
    assert [w["name"] for w in mutating["webhooks"]] == ["mdeployment.kb.io", "mdeployment-unmanaged.kb.io"]
    assert mutating["webhooks"][0]["clientConfig"]["caBundle"] == ca_b64
    assert "template" in mutating["metadata"]["annotations"]
    assert report.crds_updated == ("rollouts.rollouts.kruise.io",)
    crd = await kube.get(CRDS, "rollouts.rollouts.kruise.io")
    assert crd["spec"]["conversion"]["webhook"] == {
        "clientConfig": {"caBundle": ca_b64, "service": {"namespace": "kruise-rollout",
                                                         "name": "kruise-rollout-webhook-service",
                                                         "path": "/convert", "port": 443}},
        "conversionReviewVersions": ["v1", "v1beta1"]}
    # second pass is a no-op
    writes = len(kube.writes)
    again = await sync.sync_once()
    assert (again.configurations_updated, again.crds_updated, again.files_written) == ((), (), False)
    assert len(kube.writes) == writes and reloads == [1]


async def test_missing_configuration_is_an_error_unless_creation_enabled(tmp_path: Path) -> None:
    kube = FakeKube()
    sync, _ = _sync(kube, tmp_path, Clock())
    with pytest.raises(RuntimeError, match="kruise-rollout-mutating-webhook-configuration not found"):
        await sync.sync_once()
    sync, _ = _sync(kube, tmp_path, Clock(), url_host="127.0.0.1", port=4443, create_configurations=True)
    await sync.sync_once()
    v = await kube.get(VALIDATING_WEBHOOK_CONFIGURATIONS, configs.VALIDATING_CONFIGURATION_NAME)
    assert v["webhooks"][0]["clientConfig"]["url"] == "https://127.0.0.1:4443/validate-rollouts-kruise-io-rollout"
    # restart on another port re-points the URLs
    sync, _ = _sync(kube, tmp_path, Clock(), url_host="127.0.0.1", port=5555, create_configurations=True)
    report = await sync.sync_once()
    assert configs.VALIDATING_CONFIGURATION_NAME in report.configurations_updated
    v = await kube.get(VALIDATING_WEBHOOK_CONFIGURATIONS, configs.VALIDATING_CONFIGURATION_NAME)
    assert v["webhooks"][0]["clientConfig"]["url"] == "https://127.0.0.1:5555/validate-rollouts-kruise-io-rollout"


async def test_deleted_secret_regenerates_and_bundles_follow(tmp_path: Path) -> None:
    kube = FakeKube()
    clock = Clock()
    sync, reloads = _sync(kube, tmp_path, clock, url_host="127.0.0.1", create_configurations=True)
    first = await sync.sync_once()
    del kube.objects[("secrets", "kruise-rollout", "kruise-rollout-webhook-certs")]
    second = await sync.sync_once()
    assert second.ca_cert != first.ca_cert and second.cert_changed and reloads == [1, 1]
    v = await kube.get(VALIDATING_WEBHOOK_CONFIGURATIONS, configs.VALIDATING_CONFIGURATION_NAME)
    assert v["webhooks"][0]["clientConfig"]["caBundle"] == base64.b64encode(second.ca_cert).decode()


async def test_run_loop_retries_and_wait_initialized(tmp_path: Path) -> None:
    kube = FakeKube()
    settings = WebhookSettings(cert_dir=str(tmp_path), resync_period=timedelta(seconds=30),
                               initial_sync_timeout=timedelta(seconds=0.2))
    sync = CertSync(kube, settings, SERVED)
    task = asyncio.create_task(sync.run())
    try:
        for _ in range(1000):  # the first pass generates keys (slow on a busy machine) before failing
            if sync.last_error is not None:
                break
            await asyncio.sleep(0.01)
        with pytest.raises(TimeoutError, match="failed to start webhook controller.*not found"):
            await sync.wait_initialized()
        kube.put(MUTATING_WEBHOOK_CONFIGURATIONS, configs.mutating_configuration(settings))
        kube.put(VALIDATING_WEBHOOK_CONFIGURATIONS, configs.validating_configuration(settings))
        sync.trigger()
        sync.settings = attrs.evolve(settings, initial_sync_timeout=timedelta(seconds=10))
        await sync.wait_initialized()
        assert sync.initialized and sync.last_error is None
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_fs_writer_keeps_material_in_cert_dir_only(tmp_path: Path) -> None:
    kube = FakeKube()
    kube.put(MUTATING_WEBHOOK_CONFIGURATIONS, configs.mutating_configuration(WebhookSettings()))
    kube.put(VALIDATING_WEBHOOK_CONFIGURATIONS, configs.validating_configuration(WebhookSettings()))
    clock = Clock()
    sync, reloads = _sync(kube, tmp_path, clock, cert_writer="fs")
    first = await sync.sync_once()
    assert reloads == [1] and not any(k[0] == "secrets" for k in kube.objects)
    assert read_dir(str(tmp_path / "certs"))["ca-cert.pem"] == first.ca_cert
    again = await sync.sync_once()
    assert again.ca_cert == first.ca_cert and not again.cert_changed and reloads == [1]
    clock.t = T0 + certs.VALIDITY - timedelta(days=30)  # inside the renewal window: rotate, new CA too
    rotated = await sync.sync_once()
    assert rotated.cert_changed and rotated.ca_cert != first.ca_cert and reloads == [1, 1]


def test_settings_from_env() -> None:
    s = WebhookSettings.from_env({"WEBHOOK_HOST": "127.0.0.1", "WEBHOOK_PORT": "9443", "POD_NAMESPACE": "ops"})
    assert (s.url_host, s.port, s.namespace, s.cert_writer, s.url_mode) == ("127.0.0.1", 9443, "ops", "fs", True)
    s = WebhookSettings.from_env({}, host="127.0.0.1")
    assert (s.cert_writer, s.dns_name, s.host) == ("secret", DNS, "127.0.0.1")
    assert WebhookSettings.from_env({"WEBHOOK_HOST": "h", "WEBHOOK_CERT_WRITER": "secret"}).cert_writer == "secret"
    with pytest.raises(ValueError, match="cert_writer"):
        WebhookSettings(cert_writer="vault")
