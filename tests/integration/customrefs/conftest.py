"""customNetworkRefs on the real control plane: the shared cluster gets the minimal Istio CRDs
(deploy/localcluster/istio/) and a tiny test CRD of our own (Widget); the module gets one manager
subprocess (e2e harness)."""

from __future__ import annotations

import pytest
from localcluster import crds, istio
from localcluster.cluster import LocalCluster

from tests.e2e.conftest import kc, manager  # noqa: F401 - fixtures

#: A user kind with no shipped script: its Lua comes from the ConfigMap.
WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.customrefs.test.kruise.io"},
    "spec": {"group": "customrefs.test.kruise.io", "scope": "Namespaced",
             "names": {"kind": "Widget", "listKind": "WidgetList", "plural": "widgets", "singular": "widget"},
             "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                 "type": "object", "properties": {"spec": {"type": "object",
                                                           "x-kubernetes-preserve-unknown-fields": True}}}}}]}}


@pytest.fixture(scope="module", autouse=True)
def custom_kinds(local_cluster: LocalCluster) -> None:
    """VirtualService, DestinationRule and Widget served (idempotent)."""
    istio.install(local_cluster)
    crds.install(local_cluster, [WIDGET_CRD], required=[WIDGET_CRD["metadata"]["name"]], what="the Widget test CRD",
                 timeout_s=30)
