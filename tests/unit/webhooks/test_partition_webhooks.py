"""Workload webhooks of the partition kinds (workload-webhook.md §3–§7) against a fake lister."""

from __future__ import annotations

import copy
from typing import Any

from webhooks.admission import AdmissionRequest
from webhooks.configs import mutating_configuration
from webhooks.settings import WebhookSettings
from webhooks.workload.cloneset import CloneSetHandler
from webhooks.workload.daemonset import AdvancedDaemonSetHandler
from webhooks.workload.nativedaemonset import ORIGINAL_STRATEGY_ANNOTATION, NativeDaemonSetHandler
from webhooks.workload.release import apply_merge_patch
from webhooks.workload.unified import UnifiedHandler

IN_PROGRESSING = "rollouts.kruise.io/in-progressing"


def template(version: str) -> dict:
    return {"metadata": {"labels": {"app": "demo"}},
            "spec": {"containers": [{"name": "c", "env": [{"name": "VERSION", "value": version}]}]}}


def rollout(api_version: str, kind: str, **extra: Any) -> dict:
    return {"metadata": {"name": "ro", "namespace": "ns"}, "status": {"phase": "Healthy"},
            "spec": {"workloadRef": {"apiVersion": api_version, "kind": kind, "name": "w"},
                     "strategy": {"canary": {"steps": [{"replicas": 1}], **extra}}}}


class Lister:
    """Lists the given Rollouts; ``get`` returns the mutating configuration as installed."""

    def __init__(self, rollouts: list[dict]) -> None:
        self.rollouts = rollouts

    async def list(self, res: Any, ns: str | None = None, **_: Any) -> dict:
        return {"items": self.rollouts}

    async def get(self, res: Any, name: str, ns: str | None = None) -> dict:
        return mutating_configuration(WebhookSettings())


#: kind → resource of the request (what the API server sends in ``request.resource``)
PLURALS = {"StatefulSet": "statefulsets", "CloneSet": "clonesets", "DaemonSet": "daemonsets", "Widget": "widgets"}


def workload(api_version: str, kind: str, version: str, **spec: Any) -> dict:
    return {"apiVersion": api_version, "kind": kind,
            "metadata": {"name": "w", "namespace": "ns", "uid": "u",
                         "labels": {"rollouts.kruise.io/workload-type": kind.lower()}},
            "spec": {"replicas": 10, "template": template(version), **spec}, "status": {}}


async def mutate(handler: Any, old: dict, new: dict, *, group: str = "apps", operation: str = "UPDATE") -> dict:
    """The object after applying the handler's JSON patch (unchanged when it answered without one)."""
    version = new["apiVersion"].rpartition("/")[2]
    req = AdmissionRequest(uid="1", operation=operation, kind={"group": group, "kind": new["kind"]},
                           resource={"group": group, "version": version, "resource": PLURALS[new["kind"]]},
                           namespace="ns", object=copy.deepcopy(new), old_object=copy.deepcopy(old))
    resp = await handler(req)
    assert resp.allowed
    out = copy.deepcopy(new)
    for op in resp.patch or []:
        assert op["op"] in ("add", "replace"), op  # these handlers never remove fields
        path = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        patch: dict = op.get("value")
        for key in reversed(path):
            patch = {key: patch}
        apply_merge_patch(out, patch)
    return out


async def test_unified_freezes_a_statefulset_at_partition_32767() -> None:
    handler = UnifiedHandler(Lister([rollout("apps/v1", "StatefulSet")]))
    old = workload("apps/v1", "StatefulSet", "v1", updateStrategy={"type": "RollingUpdate"})
    new = workload("apps/v1", "StatefulSet", "v2", updateStrategy={"type": "RollingUpdate"})
    out = await mutate(handler, old, new)
    assert out["spec"]["updateStrategy"]["rollingUpdate"] == {"partition": 32767}
    assert out["metadata"]["annotations"][IN_PROGRESSING] == '{"rolloutName":"ro"}'


async def test_unified_no_op_cases() -> None:
    handler = UnifiedHandler(Lister([rollout("apps/v1", "StatefulSet")]))
    old = workload("apps/v1", "StatefulSet", "v1")
    for new in (workload("apps/v1", "StatefulSet", "v1"),  # template unchanged
                workload("apps/v1", "StatefulSet", "v2", replicas=0),
                workload("apps/v1", "StatefulSet", "v2", updateStrategy={"type": "OnDelete"})):
        assert await mutate(handler, old, new) == new
    assert await mutate(handler, old, workload("apps/v1", "StatefulSet", "v2"), operation="CREATE") == \
        workload("apps/v1", "StatefulSet", "v2")
    cs_old, cs_new = workload("apps.kruise.io/v1alpha1", "CloneSet", "v1"), workload(
        "apps.kruise.io/v1alpha1", "CloneSet", "v2")
    assert await mutate(handler, cs_old, cs_new, group="apps.kruise.io") == cs_new  # has its own path
    assert await mutate(UnifiedHandler(Lister([])), old, workload("apps/v1", "StatefulSet", "v2")) == \
        workload("apps/v1", "StatefulSet", "v2")  # no Rollout


async def test_unified_accepts_labelled_statefulset_like_custom_kinds() -> None:
    handler = UnifiedHandler(Lister([rollout("example.com/v1", "Widget")]))
    old, new = workload("example.com/v1", "Widget", "v1"), workload("example.com/v1", "Widget", "v2")
    for obj in (old, new):
        obj["metadata"]["labels"]["rollouts.kruise.io/workload-type"] = "StatefulSet"
    out = await mutate(handler, old, new, group="example.com")
    assert out["spec"]["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 32767}}


async def test_cloneset_partition_100_percent() -> None:
    handler = CloneSetHandler(Lister([rollout("apps.kruise.io/v1alpha1", "CloneSet")]))
    old = workload("apps.kruise.io/v1alpha1", "CloneSet", "v1")
    out = await mutate(handler, old, workload("apps.kruise.io/v1alpha1", "CloneSet", "v2"))
    assert out["spec"]["updateStrategy"] == {"partition": "100%"}
    assert IN_PROGRESSING in out["metadata"]["annotations"]
    scaled = workload("apps.kruise.io/v1alpha1", "CloneSet", "v1", replicas=3)
    assert await mutate(handler, old, scaled) == scaled


async def test_cloneset_with_traffic_routing_running_two_versions_is_left_alone() -> None:
    handler = CloneSetHandler(Lister([rollout("apps.kruise.io/v1alpha1", "CloneSet",
                                              trafficRoutings=[{"service": "s"}])]))
    new = workload("apps.kruise.io/v1alpha1", "CloneSet", "v2")
    new["status"] = {"replicas": 10, "updatedReplicas": 3}
    assert await mutate(handler, workload("apps.kruise.io/v1alpha1", "CloneSet", "v1"), new) == new


async def test_advanced_daemonset_partition_32767() -> None:
    handler = AdvancedDaemonSetHandler(Lister([rollout("apps.kruise.io/v1alpha1", "DaemonSet")]))
    old = workload("apps.kruise.io/v1alpha1", "DaemonSet", "v1", updateStrategy={"rollingUpdate": {}})
    new = workload("apps.kruise.io/v1alpha1", "DaemonSet", "v2", updateStrategy={"rollingUpdate": {}})
    out = await mutate(handler, old, new)
    assert out["spec"]["updateStrategy"]["rollingUpdate"] == {"partition": 32767}


async def test_native_daemonset_on_delete_and_original_saved_once() -> None:
    handler = NativeDaemonSetHandler(Lister([rollout("apps/v1", "DaemonSet")]))
    old = workload("apps/v1", "DaemonSet", "v1", updateStrategy={"type": "RollingUpdate"})
    out = await mutate(handler, old, workload("apps/v1", "DaemonSet", "v2", updateStrategy={"type": "RollingUpdate"}))
    assert out["spec"]["updateStrategy"]["type"] == "OnDelete"
    assert out["metadata"]["annotations"][ORIGINAL_STRATEGY_ANNOTATION] == "RollingUpdate"
    again = workload("apps/v1", "DaemonSet", "v3", updateStrategy={"type": "OnDelete"})
    again["metadata"]["annotations"] = dict(out["metadata"]["annotations"])
    out2 = await mutate(handler, out, again)
    assert out2["metadata"]["annotations"][ORIGINAL_STRATEGY_ANNOTATION] == "RollingUpdate"


async def test_requests_outside_the_live_configuration_pass_unchanged() -> None:
    """§1 checkWorkloadRules: an unlabelled StatefulSet of a custom group matches neither the unified
    entry (label required) nor its unmanaged twin (apps / apps.kruise.io StatefulSets only)."""
    handler = UnifiedHandler(Lister([rollout("example.com/v1", "StatefulSet")]))
    old, new = workload("example.com/v1", "StatefulSet", "v1"), workload("example.com/v1", "StatefulSet", "v2")
    for obj in (old, new):
        obj["metadata"]["labels"] = {}
    assert await mutate(handler, old, new, group="example.com") == new


async def test_unlabelled_workloads_are_paused_through_the_unmanaged_twin() -> None:
    """GitOps applies a Rollout with its workload's new template before the Rollout controller has
    labelled the workload: the unmanaged (failurePolicy Ignore) entry routes it to the same handler,
    which pauses it like a labelled one."""
    cases = [(UnifiedHandler, "apps/v1", "StatefulSet", "apps"),
             (CloneSetHandler, "apps.kruise.io/v1alpha1", "CloneSet", "apps.kruise.io"),
             (NativeDaemonSetHandler, "apps/v1", "DaemonSet", "apps"),
             (AdvancedDaemonSetHandler, "apps.kruise.io/v1alpha1", "DaemonSet", "apps.kruise.io")]
    for handler_class, api_version, kind, group in cases:
        handler = handler_class(Lister([rollout(api_version, kind)]))
        old, new = workload(api_version, kind, "v1"), workload(api_version, kind, "v2")
        for obj in (old, new):
            obj["metadata"]["labels"] = {}
        out = await mutate(handler, old, new, group=group)
        assert IN_PROGRESSING in out["metadata"].get("annotations", {}), (kind, group)


async def test_label_or_foreign_annotation_edits_change_nothing() -> None:
    """What the matchConditions skip (metadata-only edits other than rollouts.kruise.io/ annotations)
    is what the handlers would answer without a patch: their decisions follow spec and our
    annotations only."""
    cases = [(UnifiedHandler, "apps/v1", "StatefulSet", "apps"),
             (CloneSetHandler, "apps.kruise.io/v1alpha1", "CloneSet", "apps.kruise.io"),
             (NativeDaemonSetHandler, "apps/v1", "DaemonSet", "apps"),
             (AdvancedDaemonSetHandler, "apps.kruise.io/v1alpha1", "DaemonSet", "apps.kruise.io")]
    for handler_class, api_version, kind, group in cases:
        handler = handler_class(Lister([rollout(api_version, kind)]))
        old = workload(api_version, kind, "v1")
        new = copy.deepcopy(old)
        new["metadata"]["labels"]["team"] = "a"
        new["metadata"]["annotations"] = {"example.com/note": "x"}
        assert await mutate(handler, old, new, group=group) == new, (kind, group)
