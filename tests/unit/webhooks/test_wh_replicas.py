"""Replicas converge on one registration (issue 9 item 9a): in URL mode every replica has its own
port, and a replica keeps a healthy peer's registered endpoint instead of writing its own."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from wh_fakekube import FakeKube

from runtime.kube.resources import CRDS, MUTATING_WEBHOOK_CONFIGURATIONS, VALIDATING_WEBHOOK_CONFIGURATIONS
from webhooks import configs
from webhooks.app import delete_configurations
from webhooks.certsync import CertSync
from webhooks.settings import WebhookSettings

SERVED = frozenset({configs.PATH_DEPLOYMENT, configs.PATH_VALIDATE_ROLLOUT, configs.CONVERSION_PATH})


class Health:
    """The fake network: which endpoints answer, and who asked."""

    def __init__(self) -> None:
        self.up: set[str] = set()
        self.asked: list[str] = []

    async def probe(self, base_url: str, ca_pem: bytes) -> bool:
        assert ca_pem.startswith(b"-----BEGIN CERTIFICATE-----"), "probes verify with the registered CA"
        self.asked.append(base_url)
        return base_url in self.up


def replica(kube: FakeKube, tmp_path: Path, port: int, health: Health, **kw: object) -> CertSync:
    settings = WebhookSettings(url_host="127.0.0.1", port=port, cert_dir=str(tmp_path / f"certs-{port}"),
                               create_configurations=True)
    return CertSync(kube, settings, SERVED, probe=health.probe, **kw)  # type: ignore[arg-type]


def urls(kube: FakeKube) -> set[str]:
    """Every URL base our configurations and CRDs call."""
    out = set()
    for res, name in ((MUTATING_WEBHOOK_CONFIGURATIONS, configs.MUTATING_CONFIGURATION_NAME),
                      (VALIDATING_WEBHOOK_CONFIGURATIONS, configs.VALIDATING_CONFIGURATION_NAME)):
        for wh in kube.objects[(res.plural, "", name)]["webhooks"]:
            endpoint = configs.registered_endpoint({"webhooks": [wh]})
            assert endpoint is not None
            out.add(endpoint[0])
    crd = kube.objects[("customresourcedefinitions", "", "rollouts.rollouts.kruise.io")]
    out.add(crd["spec"]["conversion"]["webhook"]["clientConfig"]["url"].removesuffix("/convert"))
    return out


def crd() -> dict:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "rollouts.rollouts.kruise.io"},
            "spec": {"group": "rollouts.kruise.io", "conversion": {"strategy": "Webhook"}}}


A, B = "https://127.0.0.1:1111", "https://127.0.0.1:2222"


async def test_two_replicas_write_once_then_never_again(tmp_path: Path) -> None:
    kube, health = FakeKube(), Health()
    kube.put(CRDS, crd())
    a, b = replica(kube, tmp_path, 1111, health), replica(kube, tmp_path, 2222, health)
    await a.sync_once()
    health.up = {A, B}
    registration = [w for w in kube.writes if w[1] != "secrets"]
    assert len(registration) == 3  # two configurations created, one CRD updated
    for _ in range(20):  # every write of one triggers the other's sync through its watch
        await b.sync_once()
        await a.sync_once()
    assert [w for w in kube.writes if w[1] != "secrets"] == registration, "replicas rewrote each other"
    assert urls(kube) == {A}
    assert b.peer is not None and b.peer[0] == A and a.peer is None


async def test_the_survivor_takes_over_when_the_registered_replica_dies_and_the_other_adopts_it(
        tmp_path: Path) -> None:
    kube, health = FakeKube(), Health()
    kube.put(CRDS, crd())
    a, b = replica(kube, tmp_path, 1111, health), replica(kube, tmp_path, 2222, health)
    await a.sync_once()
    health.up = {A, B}
    await b.sync_once()
    health.up = {B}  # kill -9 of A
    report = await b.sync_once()
    assert set(report.configurations_updated) == {configs.MUTATING_CONFIGURATION_NAME,
                                                  configs.VALIDATING_CONFIGURATION_NAME}
    assert report.crds_updated == ("rollouts.rollouts.kruise.io",)
    assert urls(kube) == {B} and b.peer is None
    health.up = {A, B}  # A restarted (same port): it keeps B's registration
    writes = len(kube.writes)
    await a.sync_once()
    assert len(kube.writes) == writes and a.peer is not None and a.peer[0] == B


async def test_a_replica_probes_the_registered_peer_and_wakes_as_soon_as_it_stops_answering(
        tmp_path: Path) -> None:
    kube, health = FakeKube(), Health()
    kube.put(CRDS, crd())
    a = replica(kube, tmp_path, 1111, health)
    b = replica(kube, tmp_path, 2222, health, peer_probe_interval=0.01)
    await a.sync_once()
    health.up = {A}
    await b.sync_once()
    assert b.peer is not None
    task = asyncio.create_task(b._idle(60.0))
    await asyncio.sleep(0.1)
    assert not task.done() and health.asked.count(A) >= 3, "probing the peer while it answers"
    started = time.monotonic()
    health.up = set()
    await asyncio.wait_for(task, 2)
    assert time.monotonic() - started < 1.0


async def test_service_mode_never_probes(tmp_path: Path) -> None:
    kube, health = FakeKube(), Health()
    kube.put(MUTATING_WEBHOOK_CONFIGURATIONS, configs.mutating_configuration(WebhookSettings()))
    kube.put(VALIDATING_WEBHOOK_CONFIGURATIONS, configs.validating_configuration(WebhookSettings()))
    settings = WebhookSettings(cert_dir=str(tmp_path / "certs"))
    one, two = (CertSync(kube, settings, SERVED, probe=health.probe) for _ in range(2))
    await one.sync_once()
    writes = len(kube.writes)
    await two.sync_once()
    await one.sync_once()
    assert len(kube.writes) == writes and health.asked == []


async def test_unregister_leaves_a_configuration_that_calls_another_replica(tmp_path: Path) -> None:
    kube, health = FakeKube(), Health()
    kube.put(CRDS, crd())
    await replica(kube, tmp_path, 1111, health).sync_once()
    await delete_configurations(kube, only_base_url=B)
    assert ("mutatingwebhookconfigurations", "", configs.MUTATING_CONFIGURATION_NAME) in kube.objects
    await delete_configurations(kube, only_base_url=A)
    assert not any(k[0].endswith("webhookconfigurations") for k in kube.objects)
