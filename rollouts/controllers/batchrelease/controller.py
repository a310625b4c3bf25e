"""BatchRelease reconciler (batch-release.md §1): finalizer, executor, one status patch.

The control plane comes from ``registry.control_plane`` (keyed by group and kind, §2.2); a kind
that cannot be resolved at all gets a Warning event ``UnsupportedWorkload`` and no status change
(the reimplementation's answer to upstream's panic).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

import attrs
import structlog

from rollouts.controllers.batchrelease import executor
from rollouts.controllers.batchrelease.deployment import deployment_pods_owner
from rollouts.controllers.batchrelease.registry import control_plane
from rollouts.controllers.common import (
    BATCHRELEASES,
    STALE_CACHE_RETRY_SECONDS,
    OwnWrites,
    annotations,
    finalizers_patch,
    group_of,
    is_deleting,
    merge_patch,
    meta,
    ref_matches,
)
from rollouts.controllers.workloads import get_workload, kind_of
from runtime.cache.frozen import thaw
from runtime.clock import REAL_CLOCK, Clock
from runtime.kube.resources import DEPLOYMENTS
from runtime.reconcile import Request, Result

BATCH_RELEASE_FINALIZER = "rollouts.kruise.io/batch-release-finalizer"
CONTROL_INFO_ANNOTATION = "batchrelease.rollouts.kruise.io/control-info"

log = structlog.get_logger("rollouts.controllers.batchrelease")


@attrs.define
class BatchReleaseReconciler:
    client: Any
    batch_releases: Any
    deployments: Any
    events: Any = None
    clock: Clock = REAL_CLOCK
    _writes: OwnWrites = attrs.field(factory=OwnWrites)
    #: Informers of the other workload kinds by resource (kinds without one are read with a GET).
    workload_stores: dict[Any, Any] = attrs.field(factory=dict)

    async def reconcile(self, request: Request) -> Result:
        ns, name = request.namespace or "", request.name
        cached, stale = self._writes.lookup(self.batch_releases.store, ns, name)
        if cached is None:
            return Result()
        if stale:
            return Result(requeue_after=STALE_CACHE_RETRY_SECONDS)
        br = thaw(cached)
        status = copy.deepcopy(br.get("status") or {})
        if is_deleting(br) and status.get("phase") == executor.COMPLETED:
            patch = finalizers_patch(br, BATCH_RELEASE_FINALIZER, present=False)
            if patch:
                await self.client.patch(BATCHRELEASES, name, patch, ns)
            return Result()
        if not is_deleting(br):
            patch = finalizers_patch(br, BATCH_RELEASE_FINALIZER, present=True)
            if patch:
                br = await self.client.patch(BATCHRELEASES, name, patch, ns)
        ref = (br.get("spec") or {}).get("workloadRef") or {}
        row = await kind_of(self.client, ref)
        if row is None:
            if self.events is not None:
                self.events.event(br, "Warning", "UnsupportedWorkload",
                                  f"the workload type '{ref.get('apiVersion')}/{ref.get('kind')}' is not supported")
            return Result()
        requeue = await self._execute(br, status, row)
        await self._write_status(br, status)
        return Result(requeue_after=requeue) if requeue is not None else Result()

    async def _execute(self, br: dict[str, Any], status: dict[str, Any], row: Any) -> float | None:
        if not status.get("phase"):
            status.update(executor.initial_status())
        ref = (br.get("spec") or {}).get("workloadRef") or {}
        stores = {DEPLOYMENTS: self.deployments, **self.workload_stores}
        workload = await get_workload(self.client, row, ref.get("name", ""), meta(br).get("namespace", ""), stores)
        control = control_plane(group_of(str(ref.get("apiVersion", ""))), str(ref.get("kind", "")))(
            self.client, br, thaw(workload) if workload is not None else None, row)
        event, info = await control.workload_info()
        if not executor.sync_status(br, status, event, info):
            return None if status.get("phase") == executor.COMPLETED else executor.REQUEUE_SECONDS
        status["observedGeneration"] = meta(br).get("generation", 0)
        if status != (br.get("status") or {}):
            return executor.REQUEUE_SECONDS  # persist every state change before acting on it (§2.4)
        return await executor.execute(br, status, control, self.clock.now())

    async def _write_status(self, br: Mapping[str, Any], status: dict[str, Any]) -> None:
        status["observedGeneration"] = meta(br).get("generation", 0)
        patch = merge_patch(br.get("status") or {}, status)
        if not patch:
            return
        md = meta(br)
        written = await self.client.patch_status(BATCHRELEASES, md["name"], {"status": patch}, md["namespace"])
        self._writes.record(md["namespace"], md["name"], written)


def batch_release_for_workload(br_store: Any, obj: Mapping[str, Any]) -> list[Request]:
    """§1 watches: control-info names the BR; else the last BR in the namespace referencing the workload."""
    md = meta(obj)
    raw = annotations(obj).get(CONTROL_INFO_ANNOTATION)
    if raw:
        try:
            ref = json.loads(raw)
        except ValueError:
            ref = {}
        if ref.get("apiVersion") == "rollouts.kruise.io/v1beta1" and ref.get("kind") == "BatchRelease":
            return [Request(md.get("namespace"), ref.get("name"))]
    found = []
    for br in br_store.list(md.get("namespace")):
        wref = (br.get("spec") or {}).get("workloadRef") or {}
        if ref_matches(wref, obj.get("apiVersion", "apps/v1"), obj.get("kind", "Deployment"), md.get("name")):
            found = [Request(md.get("namespace"), meta(br)["name"])]
    return found


def batch_release_for_pod(br_store: Any, rs_store: Any, deploy_store: Any, pod: Mapping[str, Any]) -> list[Request]:
    """Pod → ReplicaSet → Deployment → (control-info) BatchRelease."""
    rs = deployment_pods_owner(pod, rs_store)
    if rs is None:
        return []
    for ref in meta(rs).get("ownerReferences") or []:
        if ref.get("controller") and ref.get("kind") == "Deployment":
            deployment = deploy_store.get(ref.get("name"), meta(rs).get("namespace"))
            if deployment is not None and annotations(deployment).get(CONTROL_INFO_ANNOTATION):
                return batch_release_for_workload(br_store, deployment)
    return []
