"""Fail-safety of the workload webhooks on the real kube-apiserver (issue 9 item 6), in-process.

The server runs in the test process with the real workload handlers, each wrapped to count its
calls, so the test sees exactly which requests the API server routes to us: the matchConditions
(CEL, evaluated by the real API server) must skip metadata-only edits; the unmanaged twin entries
must route unlabelled workloads to the handler while we serve and let them through when we do not.
Stopping the server without unregistering is what a ``kill -9`` looks like to the API server
(connection refused); tests/e2e/test_outage.py does the same with the real manager process.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from runtime.kube.client import KubeClient
from runtime.kube.errors import ApiError
from runtime.kube.resources import DAEMONSETS, DEPLOYMENTS, REPLICASETS, STATEFULSETS
from webhooks import configs
from webhooks.admission import AdmissionRequest, AdmissionResponse
from webhooks.app import build_registry
from webhooks.validating_rollout import ROLLOUTS_V1BETA1, KubeRolloutLister
from webhooks.workload.deployment import DeploymentHandler
from webhooks.workload.nativedaemonset import NativeDaemonSetHandler
from webhooks.workload.unified import UnifiedHandler

from .conftest import Webhooks, eventually, rollout_v1beta1, wait_rollout_webhook_live

pytestmark = pytest.mark.integration

WORKLOAD_TYPE = "rollouts.kruise.io/workload-type"


class Counting:
    """A handler wrapper recording (kind, name) of every call."""

    def __init__(self, handler: Any) -> None:
        self.handler = handler
        self.calls: list[tuple[str, str]] = []

    async def __call__(self, req: AdmissionRequest) -> AdmissionResponse:
        self.calls.append((str((req.kind or {}).get("kind")), req.name or ""))
        return await self.handler(req)

    def of(self, name: str) -> int:
        return sum(1 for _, n in self.calls if n == name)


def _pod_template(app: str, version: str) -> dict[str, Any]:
    return {"metadata": {"labels": {"app": app}},
            "spec": {"containers": [{"name": "c", "image": "busybox", "env": [{"name": "V", "value": version}]}]}}


def _workload(kind: str, name: str, *, labels: dict[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"selector": {"matchLabels": {"app": name}}, "template": _pod_template(name, "1")}
    if kind != "DaemonSet":
        spec["replicas"] = 1
    if kind == "StatefulSet":
        spec["serviceName"] = name
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "labels": labels or {}}, "spec": spec}


def _template_patch(version: str) -> dict[str, Any]:
    return {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox",
                                                           "env": [{"name": "V", "value": version}]}]}}}}


async def _patch(kube: KubeClient, res: Any, namespace: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
    return await kube.patch(res, name, copy.deepcopy(body), namespace)  # JSON merge patch


async def test_match_conditions_twin_entries_and_an_outage(kube: KubeClient, namespace: str,
                                                           webhooks: Webhooks, rollout_crds: None) -> None:
    registry = build_registry(rollout_lister=KubeRolloutLister(kube))
    deployments = Counting(DeploymentHandler(kube))
    daemonsets = Counting(NativeDaemonSetHandler(kube))
    unified = Counting(UnifiedHandler(kube))
    registry.mutating(configs.PATH_DEPLOYMENT, deployments)
    registry.mutating(configs.PATH_NATIVE_DAEMONSET, daemonsets)
    registry.mutating(configs.PATH_UNIFIED, unified)
    app = await webhooks.start(registry)  # the real API server accepts the CEL (it compiles it here)
    await wait_rollout_webhook_live(kube, namespace)

    managed = _workload("Deployment", "managed", labels={WORKLOAD_TYPE: "deployment"})
    for body in (managed, _workload("Deployment", "plain"), _workload("Deployment", "other"),
                 _workload("DaemonSet", "ds"), _workload("StatefulSet", "sts")):
        await kube.create({"Deployment": DEPLOYMENTS, "DaemonSet": DAEMONSETS, "StatefulSet": STATEFULSETS}[
            body["kind"]], body, namespace)

    async def template_change_reaches_us() -> int:
        await _patch(kube, DEPLOYMENTS, namespace, "other", _template_patch(f"probe-{len(deployments.calls)}"))
        return deployments.of("other")

    await eventually(template_change_reaches_us, lambda n: n > 0, what="mutating configuration live")

    # matchConditions: metadata-only edits never reach us; spec and rollouts.kruise.io/ annotations do.
    # (At least once: the API server re-runs admission when a PATCH meets a concurrent status write.)
    edits: list[tuple[str, dict[str, Any], bool]] = [
        ("a label", {"metadata": {"labels": {"team": "a"}}}, False),
        ("a foreign annotation", {"metadata": {"annotations": {"example.com/note": "x"}}}, False),
        ("the rollout-id annotation", {"metadata": {"annotations": {"rollouts.kruise.io/rollout-id": "1"}}}, True),
        ("removing the rollout-id annotation", {"metadata": {"annotations": {"rollouts.kruise.io/rollout-id": None}}},
         True),
        ("spec.replicas", {"spec": {"replicas": 2}}, True),
        ("spec.paused", {"spec": {"paused": True}}, True),
        ("the template", _template_patch("2"), True),
    ]
    for what, body, called in edits:
        before = deployments.of("managed")
        await _patch(kube, DEPLOYMENTS, namespace, "managed", body)
        assert (deployments.of("managed") > before) == called, f"editing {what} of a managed Deployment"

    # GitOps: a Rollout and its workload's new template, before any controller labelled the workload.
    async def active_rs() -> int:
        rss = (await kube.list(REPLICASETS, namespace)).get("items") or []
        return sum(1 for rs in rss if rs["metadata"]["name"].startswith("plain-"))

    await eventually(active_rs, lambda n: n > 0, what="the ReplicaSet of Deployment plain")
    await kube.create(ROLLOUTS_V1BETA1, rollout_v1beta1("plain", "plain"), namespace)
    paused = await _patch(kube, DEPLOYMENTS, namespace, "plain", _template_patch("2"))
    assert WORKLOAD_TYPE not in (paused["metadata"].get("labels") or {})
    assert paused["spec"].get("paused") is True, paused["spec"]
    assert "rollouts.kruise.io/in-progressing" in (paused["metadata"].get("annotations") or {})
    await _patch(kube, DAEMONSETS, namespace, "ds", _template_patch("2"))
    await _patch(kube, STATEFULSETS, namespace, "sts", _template_patch("2"))
    assert daemonsets.of("ds") >= 1 and unified.of("sts") >= 1, "unlabelled workloads are intercepted while we serve"

    # Outage: the server is gone, the configurations stay (what kill -9 of the manager leaves).
    await app.stop_sync()
    await app.server.stop()
    await _patch(kube, DEPLOYMENTS, namespace, "other", _template_patch("outage"))
    await _patch(kube, DAEMONSETS, namespace, "ds", _template_patch("outage"))
    await _patch(kube, STATEFULSETS, namespace, "sts", _template_patch("outage"))
    await _patch(kube, DEPLOYMENTS, namespace, "managed", {"metadata": {"labels": {"team": "b"}}})
    with pytest.raises(ApiError, match='failed calling webhook "mdeployment.kb.io"'):
        await _patch(kube, DEPLOYMENTS, namespace, "managed", _template_patch("outage"))
