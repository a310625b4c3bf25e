"""Why a workloadRef found nothing, when only the cluster can tell (``workloads.missing_workload_message``)."""

from __future__ import annotations

from typing import Any

import pytest

from rollouts.controllers.workloads import missing_workload_message
from runtime.kube.errors import NotFound


def crd(plural: str, group: str, kind: str, *versions: str) -> dict[str, Any]:
    return {"metadata": {"name": f"{plural}.{group}"},
            "spec": {"group": group, "names": {"kind": kind, "plural": plural},
                     "versions": [{"name": v, "served": True} for v in versions]}}


class Client:
    def __init__(self, *crds: dict[str, Any]) -> None:
        self.crds = {c["metadata"]["name"]: c for c in crds}
        self.calls: list[str] = []

    async def get(self, res: Any, name: str, namespace: str | None = None) -> dict[str, Any]:
        self.calls.append(f"get {name}")
        if name not in self.crds:
            raise NotFound(f"customresourcedefinitions {name} not found")
        return self.crds[name]

    async def list(self, res: Any, namespace: str | None = None) -> dict[str, Any]:
        self.calls.append("list")
        return {"items": list(self.crds.values())}


@pytest.mark.parametrize("ref, crds, want", [
    ({"apiVersion": "apps.kruise.io/v1alpha1", "kind": "CloneSet"}, (),
     "workloadRef kind CloneSet (apps.kruise.io/v1alpha1): the CRD clonesets.apps.kruise.io is not installed; "
     "install OpenKruise or fix spec.workloadRef"),
    ({"apiVersion": "apps.kruise.io/v1beta1", "kind": "StatefulSet"}, (),
     "workloadRef kind StatefulSet (apps.kruise.io/v1beta1): the CRD statefulsets.apps.kruise.io is not installed; "
     "install OpenKruise or fix spec.workloadRef"),
    ({"apiVersion": "apps.kruise.io/v9", "kind": "CloneSet"}, (crd("clonesets", "apps.kruise.io", "CloneSet",
                                                                   "v1alpha1"),),
     "workloadRef kind CloneSet (apps.kruise.io/v9): the CRD clonesets.apps.kruise.io does not serve v9 (served: "
     "v1alpha1); fix spec.workloadRef.apiVersion"),
    ({"apiVersion": "example.com/v1", "kind": "Widget"}, (),
     "workloadRef kind Widget (example.com/v1): the CRD for kind Widget in group example.com is not installed; "
     "install it or fix spec.workloadRef"),
])
async def test_missing_crd_or_version_is_named_with_the_fix(ref: dict, crds: tuple, want: str) -> None:
    assert await missing_workload_message(Client(*crds), ref) == want


@pytest.mark.parametrize("ref, crds", [
    ({"apiVersion": "apps/v1", "kind": "Deployment"}, ()),  # built-in: simply absent
    ({"apiVersion": "apps.kruise.io/v1alpha1", "kind": "CloneSet"},
     (crd("clonesets", "apps.kruise.io", "CloneSet", "v1alpha1"),)),
    ({"apiVersion": "example.com/v1", "kind": "Widget"}, (crd("widgets", "example.com", "Widget", "v1"),)),
])
async def test_served_kinds_keep_workload_not_found(ref: dict, crds: tuple) -> None:
    client = Client(*crds)
    assert await missing_workload_message(client, ref) == ""
    if ref["apiVersion"] == "apps/v1":
        assert client.calls == []  # no API call for built-in kinds
