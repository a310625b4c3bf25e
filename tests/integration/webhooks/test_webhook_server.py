"""The webhook server against the real local kube-apiserver (URL mode, in-process server).

Registration is asynchronous in the API server, so every test first proves the webhook live with a
dry-run request, then asserts on real requests.
"""

from __future__ import annotations

import asyncio
import base64
import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from runtime.kube.client import KubeClient
from runtime.kube.errors import ApiError, Forbidden, Invalid
from runtime.kube.resources import (
    CONFIGMAPS,
    CRDS,
    MUTATING_WEBHOOK_CONFIGURATIONS,
    SECRETS,
    VALIDATING_WEBHOOK_CONFIGURATIONS,
)
from webhooks import configs
from webhooks.admission import AdmissionRequest, AdmissionResponse, allowed, denied, patched
from webhooks.app import build_registry
from webhooks.server import HandlerRegistry
from webhooks.validating_rollout import ROLLOUTS_V1BETA1, KubeRolloutLister

from .conftest import Webhooks, eventually, invalid_rollout, rollout_v1beta1, secret_ca, wait_rollout_webhook_live

pytestmark = pytest.mark.integration

ROLLOUTS_V1ALPHA1 = ROLLOUTS_V1BETA1.with_version("v1alpha1")
TEST_PATH = "/test-deny-configmap"
DENY_LABEL = "webhook-test"


async def _deny_labelled(req: AdmissionRequest) -> AdmissionResponse:
    labels = ((req.object or {}).get("metadata") or {}).get("labels") or {}
    if labels.get(DENY_LABEL) == "deny":
        return denied(f"denied by test webhook: ConfigMap {req.namespace}/{req.name} is labelled {DENY_LABEL}=deny")
    return allowed()


def _configmap(name: str, deny: bool) -> dict[str, Any]:
    labels = {DENY_LABEL: "deny"} if deny else {}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels}, "data": {"a": "b"}}


def _test_configuration(name: str, namespace: str, url: str, ca_b64: str) -> dict[str, Any]:
    """A test-only validating configuration, scoped to one namespace and one label."""
    return {
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": name},
        "webhooks": [{
            "name": "vconfigmap.test.kb.io", "admissionReviewVersions": ["v1"], "sideEffects": "None",
            "failurePolicy": "Fail", "timeoutSeconds": 5,
            "clientConfig": {"url": url, "caBundle": ca_b64},
            "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "resources": ["configmaps"],
                       "operations": ["CREATE", "UPDATE"]}],
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
            "objectSelector": {"matchExpressions": [{"key": DENY_LABEL, "operator": "Exists"}]},
        }],
    }


async def test_test_only_handler_denies_configmap(kube: KubeClient, namespace: str, webhooks: Webhooks) -> None:
    registry = HandlerRegistry()
    registry.validating(TEST_PATH, _deny_labelled)
    app = await webhooks.start(registry)
    ca_b64 = base64.b64encode(await secret_ca(kube, namespace)).decode()
    name = f"kruise-rollout-test-{namespace}"
    webhooks.extra_configurations.append((VALIDATING_WEBHOOK_CONFIGURATIONS, name))
    url = f"https://127.0.0.1:{app.server.port}{TEST_PATH}"
    await kube.create(VALIDATING_WEBHOOK_CONFIGURATIONS, _test_configuration(name, namespace, url, ca_b64))

    async def dry_run_denied() -> str:
        try:
            await kube.create(CONFIGMAPS, _configmap("probe", deny=True), namespace, dry_run=True)
        except Forbidden as exc:
            return str(exc)
        return ""

    await eventually(dry_run_denied, lambda t: "denied by test webhook" in t, what="test webhook live")
    with pytest.raises(Forbidden, match=f"ConfigMap {namespace}/blocked is labelled webhook-test=deny"):
        await kube.create(CONFIGMAPS, _configmap("blocked", deny=True), namespace)
    created = await kube.create(CONFIGMAPS, _configmap("fine", deny=False), namespace)
    assert created["metadata"]["name"] == "fine"
    # Our own configuration exists; this registry serves none of its paths, so it has no webhooks.
    vwc = await kube.get(VALIDATING_WEBHOOK_CONFIGURATIONS, configs.VALIDATING_CONFIGURATION_NAME)
    assert not vwc.get("webhooks")
    assert "template" in vwc["metadata"]["annotations"]


async def _mutate_labelled(req: AdmissionRequest) -> AdmissionResponse:
    """Test-only mutation: an escaped key ('/' → ~1), nested adds and a replace."""
    assert req.object is not None
    mutated = copy.deepcopy(req.object)
    mutated["metadata"].setdefault("annotations", {})["webhooks.test/mutated-by"] = "kruise-rollout-test"
    mutated.setdefault("data", {})["a"] = "patched"
    mutated["data"]["added"] = "yes"
    return patched(req.object, mutated)


async def test_test_only_mutating_handler_patch_is_applied(
    kube: KubeClient, namespace: str, webhooks: Webhooks
) -> None:
    path = "/test-mutate-configmap"
    registry = HandlerRegistry()
    registry.mutating(path, _mutate_labelled)
    app = await webhooks.start(registry)
    ca_b64 = base64.b64encode(await secret_ca(kube, namespace)).decode()
    name = f"kruise-rollout-test-m-{namespace}"
    webhooks.extra_configurations.append((MUTATING_WEBHOOK_CONFIGURATIONS, name))
    body = _test_configuration(name, namespace, f"https://127.0.0.1:{app.server.port}{path}", ca_b64)
    body["kind"] = "MutatingWebhookConfiguration"
    body["webhooks"][0]["name"] = "mconfigmap.test.kb.io"
    await kube.create(MUTATING_WEBHOOK_CONFIGURATIONS, body)

    async def dry_run() -> dict[str, Any]:
        return await kube.create(CONFIGMAPS, _configmap("probe", deny=False) | {"metadata": {
            "name": "probe", "labels": {DENY_LABEL: "mutate"}}}, namespace, dry_run=True)

    await eventually(dry_run, lambda o: (o.get("data") or {}).get("added") == "yes", what="mutating webhook live")
    cm = _configmap("mutated", deny=False)
    cm["metadata"]["labels"] = {DENY_LABEL: "mutate"}
    created = await kube.create(CONFIGMAPS, cm, namespace)
    assert created["data"] == {"a": "patched", "added": "yes"}
    assert created["metadata"]["annotations"] == {"webhooks.test/mutated-by": "kruise-rollout-test"}


async def test_rollout_validation_and_conversion(
    kube: KubeClient, namespace: str, rollout_crds: None, webhooks: Webhooks
) -> None:
    await webhooks.start(build_registry(rollout_lister=KubeRolloutLister(kube)))
    text = await wait_rollout_webhook_live(kube, namespace)
    assert "admission webhook \"vrollout.kb.io\" denied the request" in text

    with pytest.raises(Invalid, match=r"spec\.strategy\.canary\.steps"):
        await kube.create(ROLLOUTS_V1BETA1, invalid_rollout("bad"), namespace)

    valid = await kube.create(ROLLOUTS_V1BETA1, rollout_v1beta1("good", "echo"), namespace)
    assert valid["metadata"]["name"] == "good"
    # the conflict rule reads the other Rollouts of the namespace
    with pytest.raises(Invalid, match=rf"conflict with Rollout\({namespace}/good\)"):
        await kube.create(ROLLOUTS_V1BETA1, rollout_v1beta1("twin", "echo"), namespace)

    v1alpha1 = {
        "apiVersion": "rollouts.kruise.io/v1alpha1", "kind": "Rollout",
        # without the annotation a v1alpha1 Rollout of a Deployment is canary style, refused until built
        "metadata": {"name": "old-style", "annotations": {"rollouts.kruise.io/rolling-style": "partition"}},
        "spec": {"objectRef": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "legacy"}},
                 "strategy": {"canary": {"steps": [{"replicas": 1}, {"replicas": "100%"}]}}},
    }

    async def create_v1alpha1() -> dict[str, Any]:
        try:
            return await kube.create(ROLLOUTS_V1ALPHA1, copy.deepcopy(v1alpha1), namespace)
        except ApiError as exc:
            if "already exists" in str(exc).lower():
                return await kube.get(ROLLOUTS_V1ALPHA1, "old-style", namespace)
            raise

    created = await eventually(create_v1alpha1, lambda o: o["apiVersion"].endswith("v1alpha1"),
                               what="v1alpha1 create through the conversion webhook")
    assert created["spec"]["objectRef"]["workloadRef"]["name"] == "legacy"
    hub = await kube.get(ROLLOUTS_V1BETA1, "old-style", namespace)
    assert hub["apiVersion"] == "rollouts.kruise.io/v1beta1"
    assert hub["spec"]["workloadRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "legacy"}
    assert [s["replicas"] for s in hub["spec"]["strategy"]["canary"]["steps"]] == [1, "100%"]
    # and the hub object reads back as v1alpha1 again
    back = await kube.get(ROLLOUTS_V1ALPHA1, "good", namespace)
    assert back["spec"]["objectRef"]["workloadRef"]["name"] == "echo"


async def test_restart_keeps_ca_and_deleted_secret_is_regenerated(
    kube: KubeClient, namespace: str, rollout_crds: None, webhooks: Webhooks
) -> None:
    registry = build_registry(rollout_lister=KubeRolloutLister(kube))
    first = await webhooks.start(registry)
    ca1 = await secret_ca(kube, namespace)
    await wait_rollout_webhook_live(kube, namespace)
    await webhooks.stop(first)

    second = await webhooks.start(build_registry(rollout_lister=KubeRolloutLister(kube)))
    assert await secret_ca(kube, namespace) == ca1, "a restart with the Secret present must keep the CA"
    vwc = await kube.get(VALIDATING_WEBHOOK_CONFIGURATIONS, configs.VALIDATING_CONFIGURATION_NAME)
    assert vwc["webhooks"][0]["clientConfig"]["caBundle"] == base64.b64encode(ca1).decode()
    assert vwc["webhooks"][0]["clientConfig"]["url"].startswith(f"https://127.0.0.1:{second.server.port}/")
    await wait_rollout_webhook_live(kube, namespace)

    # No explicit trigger and a 60 s resync: the Secret watch must notice the deletion.
    await kube.delete(SECRETS, "kruise-rollout-webhook-certs", namespace)
    ca2 = await eventually(lambda: secret_ca(kube, namespace), lambda ca: bool(ca) and ca != ca1, timeout=30,
                           what="the deleted Secret to be regenerated with a new CA")
    ca2_b64 = base64.b64encode(ca2).decode()

    async def bundles() -> list[str]:
        v = await kube.get(VALIDATING_WEBHOOK_CONFIGURATIONS, configs.VALIDATING_CONFIGURATION_NAME)
        m = await kube.get(MUTATING_WEBHOOK_CONFIGURATIONS, configs.MUTATING_CONFIGURATION_NAME)
        crd = await kube.get(CRDS, "rollouts.rollouts.kruise.io")
        return ([w["clientConfig"]["caBundle"] for w in (v.get("webhooks") or []) + (m.get("webhooks") or [])]
                + [crd["spec"]["conversion"]["webhook"]["clientConfig"]["caBundle"]])

    await eventually(bundles, lambda bs: bool(bs) and set(bs) == {ca2_b64}, what="caBundles to follow the new CA")
    # the server reloaded the new certificate: the API server (trusting only ca2 now) reaches it again
    await wait_rollout_webhook_live(kube, namespace)



async def test_concurrent_replicas_converge_on_one_ca(kube: KubeClient, namespace: str, tmp_path: Any) -> None:
    """Several syncs racing to create the Secret on the real API server end with one shared CA."""
    from webhooks.certsync import CertSync
    from webhooks.settings import WebhookSettings

    def replica(i: int) -> CertSync:
        settings = WebhookSettings(namespace=namespace, cert_dir=str(tmp_path / f"replica-{i}"), url_host="127.0.0.1",
                                   cert_writer="secret")
        return CertSync(kube, settings, frozenset())

    replicas = [replica(i) for i in range(4)]
    writers = [r.writer for r in replicas]
    results = await asyncio.gather(*(w.ensure("127.0.0.1", datetime.now(UTC), timedelta(days=183)) for w in writers))
    cas = {r.artifacts.ca_cert for r in results}
    assert len(cas) == 1, "all replicas must adopt the CA of the one that created the Secret"
    assert cas == {await secret_ca(kube, namespace)}
    assert sum(1 for r in results if r.reason == "secret created") == 1
