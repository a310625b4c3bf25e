"""Native ``apps/v1`` DaemonSet control plane and pod deleter (batch-release.md §9.5).

Native DaemonSets have no partition. The webhook switches them to ``OnDelete`` when a release
starts; this control plane then writes the wanted partition (pods to keep on the old revision) into
the annotation ``rollouts.kruise.io/daemonset-advanced-control``, and :class:`PodDeleter` deletes
old pods until enough run the batch revision — the DaemonSet controller recreates each deleted pod
from the new template (OnDelete semantics). Revisions come from the annotation
``rollouts.kruise.io/daemonset-revision`` kept current by the Rollout's finder.

Deviation: the deleter lists pods with a direct API call each pass instead of keeping deletion
expectations over a cache; a fresh list cannot double-count a pod that is already terminating.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs
import structlog

from rollouts.api import keys
from rollouts.api.intstr import WireIntOrStr, scaled_value
from rollouts.controllers.batchrelease.partition import DaemonSetCounts, owned_by
from rollouts.objects import pod as podobj
from rollouts.objects import workload as wl
from rollouts.objects.meta import annotations_of, is_deleting
from rollouts.objects.meta import metadata as meta
from rollouts.release.deployment_strategy import CONTROL_INFO_ANNOTATION
from rollouts.release.labels import on_revision
from rollouts.release.readiness import pod_is_ready
from runtime.cache.frozen import thaw
from runtime.cache.protocols import Informer
from runtime.events import EventSink
from runtime.kube.errors import NotFound
from runtime.kube.protocols import KubeApi
from runtime.kube.resources import PODS
from runtime.reconcile import Request, Result

log = structlog.get_logger("rollouts.controllers.nativedaemonset")

ADVANCED_CONTROL_ANNOTATION = keys.DAEMONSET_ADVANCED_CONTROL_ANNOTATION
REVISION_ANNOTATION = keys.DAEMONSET_REVISION_ANNOTATION
ORIGINAL_STRATEGY_ANNOTATION = keys.DAEMONSET_ORIGINAL_UPDATE_STRATEGY_ANNOTATION
DELETION_COST_ANNOTATION = "controller.kubernetes.io/pod-deletion-cost"
#: Requeue while deleted pods are still terminating or being recreated.
RECHECK_SECONDS = 2.0


def _json(raw: str | None) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class NativeDaemonSetControl(DaemonSetCounts):
    def revisions(self) -> tuple[str, str]:
        rev = _json(annotations_of(self.obj).get(REVISION_ANNOTATION))
        return str(rev.get("canary-revision", "")), str(rev.get("stable-revision", ""))

    def initialize_patch(self, info: str) -> dict[str, Any]:
        return {"metadata": {"annotations": {CONTROL_INFO_ANNOTATION: info}},
                "spec": {"updateStrategy": {"type": "OnDelete"}}}

    def current_partition(self) -> WireIntOrStr:
        """The partition last written to the advanced-control annotation (none yet: above any)."""
        value: Any = _json(annotations_of(self.obj).get(ADVANCED_CONTROL_ANNOTATION)).get("partition")  # raw JSON
        try:
            return int(value)
        except (TypeError, ValueError):
            return self.replicas() + 1

    def partition_patch(self, desired: WireIntOrStr) -> dict[str, Any]:
        update = self.br.status.update_revision if self.br.status is not None else ""
        value = json.dumps({"partition": str(desired), "batch-revision": update}, separators=(",", ":"))
        return {"metadata": {"annotations": {ADVANCED_CONTROL_ANNOTATION: value}}}

    def finalize_patch(self, release: bool, keep: bool = False) -> dict[str, Any]:
        anns = {k: None for k in (CONTROL_INFO_ANNOTATION, REVISION_ANNOTATION, ADVANCED_CONTROL_ANNOTATION,
                                  ORIGINAL_STRATEGY_ANNOTATION)}
        patch: dict[str, Any] = {"metadata": {"annotations": anns}}
        if release and not keep:  # keep: OnDelete stays; no pod is replaced until the user acts
            original = annotations_of(self.obj).get(ORIGINAL_STRATEGY_ANNOTATION) or "RollingUpdate"
            if original == "OnDelete":
                patch["spec"] = {"updateStrategy": {"type": "OnDelete", "rollingUpdate": None}}
            else:
                patch["spec"] = {"updateStrategy": {"type": original}}
        return patch


def _deletion_order(pod: Mapping[str, Any]) -> tuple[int, int, int, str]:
    """Pending first, then not ready, then lower deletion cost, then newest first."""
    phase = podobj.phase(pod)
    try:
        cost = int(annotations_of(pod).get(DELETION_COST_ANNOTATION, "0"))
    except ValueError:
        cost = 0
    created = str(meta(pod).get("creationTimestamp", ""))
    newest_first = "".join(chr(0x10FFFF - ord(c)) for c in created)
    return (0 if phase == "Pending" else 1, 1 if pod_is_ready(pod) else 0, cost, newest_first)


def pods_to_delete(daemonset: Mapping[str, Any], pods: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The pods to delete now so that ``ownedPods − partition`` run the batch revision (§9.5)."""
    control = _json(annotations_of(daemonset).get(ADVANCED_CONTROL_ANNOTATION))
    try:
        partition = int(control.get("partition", 0))
    except (TypeError, ValueError):
        partition = 0
    revision = str(control.get("batch-revision", ""))
    owned = [p for p in pods if owned_by(p, meta(daemonset).get("uid", ""))]
    desired = max(0, len(owned) - partition)
    updated = [p for p in owned if on_revision(podobj.labels(p), revision)]
    if len(updated) >= desired:
        return []
    need = desired - len(updated)
    strategy = wl.rolling_update(daemonset)
    scheduled = wl.status_int(daemonset, "desiredNumberScheduled")
    max_unavailable = scaled_value(strategy.get("maxUnavailable"), scheduled, round_up=False) or 1
    unavailable = sum(1 for p in updated if not pod_is_ready(p) or is_deleting(p))
    chosen: list[Mapping[str, Any]] = []
    for pod in sorted((p for p in owned if p not in updated), key=_deletion_order):
        if len(chosen) >= need:
            break
        if is_deleting(pod):
            unavailable += 1
            continue
        if not pod_is_ready(pod):
            chosen.append(pod)
        elif unavailable < max_unavailable:
            chosen.append(pod)
            unavailable += 1
    return chosen


@attrs.define
class PodDeleter:
    """Reconciles native DaemonSets carrying the advanced-control annotation (§9.5 pod deleter)."""

    client: KubeApi
    daemonsets: Informer
    events: EventSink | None = None

    async def reconcile(self, request: Request) -> Result:
        ds = self.daemonsets.store.get(request.name, request.namespace)
        if ds is None or ADVANCED_CONTROL_ANNOTATION not in annotations_of(ds):
            return Result()
        ds = thaw(ds)
        selector = wl.match_labels(ds)
        sel = ",".join(f"{k}={v}" for k, v in selector.items())
        pods = (await self.client.list(PODS, request.namespace, label_selector=sel or None)).get("items") or []
        victims = pods_to_delete(ds, pods)
        for pod in victims:
            try:
                await self.client.delete(PODS, meta(pod)["name"], request.namespace)
            except NotFound:
                continue
            if self.events is not None:
                self.events.event(ds, "Normal", "PodDeleted",
                                  f"Deleted pod {request.namespace}/{meta(pod)['name']} for batch update")
        busy = victims or any(is_deleting(p) for p in pods)
        return Result(requeue_after=RECHECK_SECONDS) if busy else Result()
