"""Fail-safety of our workload webhooks for OpenKruise kinds (issue 9 item 6), on the cluster that
runs the real kruise-manager (its CRDs, its own webhooks in front of ours).

Our webhook server runs in-process with the CloneSet and Advanced DaemonSet handlers, each counting
its calls. While it serves, an unlabelled CloneSet is intercepted (the ``-unmanaged`` twin) and a
label edit of a managed one is not (matchConditions). Then the server stops without unregistering —
what kill -9 of the manager looks like to the API server: unmanaged CloneSets and Advanced
DaemonSets change freely, a managed CloneSet's labels too, its template change is refused.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from localcluster.cluster import LocalCluster

from runtime.kube.client import KubeClient
from runtime.kube.errors import ApiError
from runtime.kube.resources import Resource
from tests.integration.webhooks.conftest import _ensure_crds, _restore_crds, delete_configurations, eventually
from tests.integration.webhooks.test_webhook_failsafe import Counting
from webhooks import configs
from webhooks.app import WebhookApp, build_registry
from webhooks.settings import WebhookSettings
from webhooks.workload.cloneset import CloneSetHandler
from webhooks.workload.daemonset import AdvancedDaemonSetHandler

pytestmark = pytest.mark.integration

CLONESETS = Resource("apps.kruise.io", "v1alpha1", "clonesets", "CloneSet")
ADVANCED_DAEMONSETS = Resource("apps.kruise.io", "v1alpha1", "daemonsets", "DaemonSet")
WORKLOAD_TYPE = "rollouts.kruise.io/workload-type"


def _workload(kind: str, name: str, labels: dict[str, str]) -> dict[str, Any]:
    spec: dict[str, Any] = {"selector": {"matchLabels": {"app": name}},
                            "template": {"metadata": {"labels": {"app": name}},
                                         "spec": {"containers": [{"name": "main", "image": "busybox:1.28.3",
                                                                  "env": [{"name": "VERSION", "value": "1"}]}]}}}
    if kind == "CloneSet":
        spec["replicas"] = 1
    return {"apiVersion": "apps.kruise.io/v1alpha1", "kind": kind, "metadata": {"name": name, "labels": labels},
            "spec": spec}


def _template(version: str) -> dict[str, Any]:
    return {"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "busybox:1.28.3",
                                                           "env": [{"name": "VERSION", "value": version}]}]}}}}


@pytest.fixture
async def kruise_kube(openkruise_cluster: LocalCluster) -> AsyncIterator[KubeClient]:
    client = await KubeClient.from_kubeconfig(str(openkruise_cluster.kubeconfig))
    await _ensure_crds(client)  # the handlers list Rollouts
    try:
        yield client
    finally:
        await delete_configurations(client)  # failurePolicy Fail must not outlive the test
        await _restore_crds(client)
        await client.aclose()


async def test_openkruise_kinds_outage_blocks_only_managed_template_changes(
        kruise_kube: KubeClient, kruise_namespace: str, tmp_path: Path) -> None:
    kube, ns = kruise_kube, kruise_namespace
    registry = build_registry()
    clonesets = Counting(CloneSetHandler(kube))
    daemonsets = Counting(AdvancedDaemonSetHandler(kube))
    registry.mutating(configs.PATH_CLONESET, clonesets)
    registry.mutating(configs.PATH_ADVANCED_DAEMONSET, daemonsets)
    settings = WebhookSettings(host="127.0.0.1", port=0, url_host="127.0.0.1", namespace=ns,
                               cert_dir=str(tmp_path / "certs"), create_configurations=True)
    app = WebhookApp(kube, settings, registry)
    await app.start()
    try:
        await kube.create(CLONESETS, _workload("CloneSet", "managed", {WORKLOAD_TYPE: "cloneset"}), ns)
        await kube.create(CLONESETS, _workload("CloneSet", "plain", {}), ns)
        await kube.create(ADVANCED_DAEMONSETS, _workload("DaemonSet", "plain-ds", {}), ns)

        async def plain_reaches_us() -> int:
            await kube.patch(CLONESETS, "plain", _template(f"probe-{len(clonesets.calls)}"), ns)
            return clonesets.of("plain")

        await eventually(plain_reaches_us, lambda n: n > 0, what="our CloneSet entries live")
        before = clonesets.of("managed")
        await kube.patch(CLONESETS, "managed", {"metadata": {"labels": {"team": "a"}}}, ns)
        assert clonesets.of("managed") == before, "a label edit must not call us (matchConditions)"
        await kube.patch(CLONESETS, "managed", _template("2"), ns)
        assert clonesets.of("managed") > before

        await app.stop_sync()
        await app.server.stop()  # outage: configurations stay, nobody answers
        await kube.patch(CLONESETS, "plain", _template("outage"), ns)
        await kube.patch(ADVANCED_DAEMONSETS, "plain-ds", _template("outage"), ns)
        await kube.patch(CLONESETS, "managed", {"metadata": {"labels": {"team": "b"}}}, ns)
        with pytest.raises(ApiError, match='failed calling webhook "mcloneset.kb.io"'):
            await kube.patch(CLONESETS, "managed", _template("outage"), ns)
        live = await kube.get(CLONESETS, "managed", ns)
        assert "outage" not in json.dumps(live["spec"]["template"])
    finally:
        await app.stop_sync()
        await delete_configurations(kube)
        await app.stop()
        await asyncio.sleep(0)
