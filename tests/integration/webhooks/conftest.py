"""Fixtures for webhook integration tests against the real local control plane.

The webhook server runs in the test process on 127.0.0.1 (a free port) and is registered with
``clientConfig.url`` + ``caBundle`` (URL mode), as in the local cluster. Teardown order matters: the
webhook configurations are deleted *before* the server stops, otherwise ``failurePolicy: Fail``
would block every matching request (including namespace cleanup) once nobody answers. CRDs whose
conversion stanza we re-pointed at the test server are put back to their manifest stanza.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from runtime.kube.client import KubeClient
from runtime.kube.errors import AlreadyExists, ApiError, Conflict, Invalid, NotFound
from runtime.kube.resources import CRDS, MUTATING_WEBHOOK_CONFIGURATIONS, SECRETS, VALIDATING_WEBHOOK_CONFIGURATIONS
from webhooks import configs
from webhooks.app import WebhookApp
from webhooks.certwriter import secret_to_artifacts
from webhooks.server import HandlerRegistry
from webhooks.settings import WebhookSettings
from webhooks.validating_rollout import ROLLOUTS_V1BETA1

REPO = Path(__file__).resolve().parents[3]
CRD_DIR = REPO / "config" / "crd"
T = TypeVar("T")


async def eventually(fetch: Callable[[], Awaitable[T]], ok: Callable[[T], bool], *, timeout: float = 60.0,  # noqa: ASYNC109
                     interval: float = 0.25, what: str = "condition") -> T:
    """Poll ``fetch`` until ``ok``; exceptions from ``fetch`` count as 'not yet' (and are reported)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = await fetch()
            if ok(last):
                return last
        except (ApiError, AssertionError) as exc:
            last = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last seen: {last!r}"[:4000])
        await asyncio.sleep(interval)


@pytest.fixture
async def kube(kubeconfig: str) -> AsyncIterator[KubeClient]:
    client = await KubeClient.from_kubeconfig(kubeconfig)
    try:
        yield client
    finally:
        await client.aclose()


def _crd_manifests() -> list[dict[str, Any]]:
    return [yaml.safe_load(p.read_text()) for p in sorted(CRD_DIR.glob("rollouts.kruise.io_*.yaml"))]


async def _ensure_crds(kube: KubeClient) -> None:
    for crd in _crd_manifests():
        try:
            await kube.create(CRDS, crd)
        except AlreadyExists:
            # Installed earlier in the session (maybe by another suite): make its spec the manifest's,
            # so the conversion strategy is Webhook and the schemas are the current ones.
            for _ in range(5):
                live = await kube.get(CRDS, crd["metadata"]["name"])
                if live["spec"] == crd["spec"]:
                    break
                try:
                    await kube.update(CRDS, {**live, "spec": copy.deepcopy(crd["spec"])})
                    break
                except Conflict:
                    continue

    async def established() -> list[dict[str, Any]]:
        items = (await kube.list(CRDS)).get("items") or []
        return [c for c in items if c["spec"]["group"] == configs.ROLLOUTS_GROUP]

    def all_established(items: list[dict[str, Any]]) -> bool:
        names = {c["metadata"]["name"] for c in _crd_manifests()}
        ok = {c["metadata"]["name"] for c in items
              if any(cond["type"] == "Established" and cond["status"] == "True"
                     for cond in (c.get("status") or {}).get("conditions") or [])}
        return names <= ok

    await eventually(established, all_established, what="rollouts.kruise.io CRDs Established")


async def _restore_crds(kube: KubeClient) -> None:
    """Put the manifest's conversion stanza back so no CRD points at a stopped test server."""
    for manifest in _crd_manifests():
        wanted = manifest["spec"].get("conversion")
        for _ in range(5):
            try:
                live = await kube.get(CRDS, manifest["metadata"]["name"])
            except NotFound:
                break
            if live["spec"].get("conversion") == wanted:
                break
            body = copy.deepcopy(live)
            body["spec"]["conversion"] = copy.deepcopy(wanted)
            try:
                await kube.update(CRDS, body)
                break
            except Conflict:
                continue


async def delete_configurations(kube: KubeClient, *extra: tuple[Any, str]) -> None:
    for res, name in ((MUTATING_WEBHOOK_CONFIGURATIONS, configs.MUTATING_CONFIGURATION_NAME),
                      (VALIDATING_WEBHOOK_CONFIGURATIONS, configs.VALIDATING_CONFIGURATION_NAME), *extra):
        try:
            await kube.delete(res, name)
        except NotFound:
            pass


@pytest.fixture
async def rollout_crds(kube: KubeClient) -> AsyncIterator[None]:
    await _ensure_crds(kube)
    yield
    await _restore_crds(kube)


class Webhooks:
    """Starts/stops in-process webhook apps for one test and always cleans up in the safe order."""

    def __init__(self, kube: KubeClient, namespace: str, tmp_path: Path) -> None:
        self.kube = kube
        self.namespace = namespace
        self.tmp_path = tmp_path
        self.running: list[WebhookApp] = []
        self.extra_configurations: list[tuple[Any, str]] = []

    def settings(self) -> WebhookSettings:
        # port 0: each app binds a fresh port first and registers that URL (a restart re-points it).
        return WebhookSettings(host="127.0.0.1", port=0, url_host="127.0.0.1", namespace=self.namespace,
                               cert_dir=str(self.tmp_path / f"certs-{len(self.running)}"),
                               create_configurations=True)

    async def start(self, registry: HandlerRegistry, client: KubeClient | None = None) -> WebhookApp:
        """Start an app; ``client`` lets it run under another identity (RBAC tests)."""
        app = WebhookApp(client or self.kube, self.settings(), registry)
        await app.start()
        self.running.append(app)
        return app

    async def stop(self, app: WebhookApp) -> None:
        """Safe order: sync stopped (it would re-create what we delete), configurations deleted (ours and
        the test-only ones, failurePolicy Fail), then the server stopped."""
        await app.stop_sync()
        await delete_configurations(self.kube, *self.extra_configurations)
        await app.stop()
        self.running.remove(app)

    async def close(self) -> None:
        for app in list(self.running):
            await app.stop_sync()
        await delete_configurations(self.kube, *self.extra_configurations)
        for app in list(self.running):
            await app.stop()
        self.running.clear()


@pytest.fixture
async def webhooks(kube: KubeClient, namespace: str, tmp_path: Path) -> AsyncIterator[Webhooks]:
    hooks = Webhooks(kube, namespace, tmp_path)
    try:
        yield hooks
    finally:
        await hooks.close()
        await _assert_no_configuration_left(kube, *hooks.extra_configurations)


async def _assert_no_configuration_left(kube: KubeClient, *extra: tuple[Any, str]) -> None:
    """A configuration outliving its server (failurePolicy Fail) would break later tests: check that
    nothing re-created ours after teardown (e.g. a sync still running when they were deleted)."""
    await asyncio.sleep(1.0)
    for res, name in ((MUTATING_WEBHOOK_CONFIGURATIONS, configs.MUTATING_CONFIGURATION_NAME),
                      (VALIDATING_WEBHOOK_CONFIGURATIONS, configs.VALIDATING_CONFIGURATION_NAME), *extra):
        try:
            await kube.get(res, name)
        except NotFound:
            continue
        raise AssertionError(f"{res.kind} {name} still exists after the webhook server stopped")


async def secret_ca(kube: KubeClient, namespace: str) -> bytes:
    secret = await kube.get(SECRETS, "kruise-rollout-webhook-certs", namespace)
    return secret_to_artifacts(secret).ca_cert


def rollout_v1beta1(name: str, workload: str, steps: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "rollouts.kruise.io/v1beta1", "kind": "Rollout", "metadata": {"name": name},
        "spec": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": workload},
                 "strategy": {"canary": {"steps": steps if steps is not None
                                         else [{"replicas": 1}, {"replicas": "50%"}, {"replicas": "100%"}]}}},
    }


def invalid_rollout(name: str) -> dict[str, Any]:
    return rollout_v1beta1(name, "nothing", steps=[])


async def denied_invalid(kube: KubeClient, namespace: str) -> str:
    """Dry-run an invalid Rollout; return the denial text ('' while the webhook is not live yet)."""
    try:
        await kube.create(ROLLOUTS_V1BETA1, invalid_rollout("probe"), namespace, dry_run=True)
    except Invalid as exc:
        return str(exc)
    return ""


async def wait_rollout_webhook_live(kube: KubeClient, namespace: str) -> str:
    return await eventually(lambda: denied_invalid(kube, namespace),
                            lambda text: "spec.strategy.canary.steps" in text,
                            what="the Rollout validating webhook to deny a dry-run invalid Rollout")
