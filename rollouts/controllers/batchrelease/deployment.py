"""Partition-style Deployment control plane (batch-release.md §4, §9.2).

The Deployment is frozen for the native controller (paused + Recreate) and its real strategy lives
in ``rollouts.kruise.io/deployment-strategy``; raising the annotation's ``partition`` is how a batch
is released, the advanced Deployment controller (``rollouts.controllers.deployment``) does the
rolling. All patches come from the pure ``rollouts.release.deployment_strategy``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from rollouts.api.decode import batch_release as batch_release_model
from rollouts.api.intstr import WireIntOrStr
from rollouts.api.v1beta1.batchrelease import BatchRelease, BatchReleaseStatus
from rollouts.api.wire import is_present
from rollouts.controllers.batchrelease.brstatus import dict_adapter, record_revisions
from rollouts.controllers.batchrelease.labelpatch import apply_pod_labels, list_pods, plan_labels
from rollouts.controllers.rollout.workload import owned_replica_sets, update_revision
from rollouts.objects import workload as wl
from rollouts.objects.meta import annotations_of, labels
from rollouts.objects.meta import metadata as meta
from rollouts.release.batch import new_rs_replicas_limit
from rollouts.release.deployment_strategy import (
    CONTROL_INFO_ANNOTATION,
    STABLE_REVISION_LABEL,
    control_info,
    extra_status,
    finalize_patch,
    initialize_patch,
    upgrade_batch_patch,
)
from rollouts.release.readiness import is_batch_ready
from rollouts.release.template_hash import POD_TEMPLATE_HASH_LABEL
from runtime.cache.protocols import CacheReader, SyncedInformer
from runtime.kube.errors import NotFound
from runtime.kube.protocols import KubeApi
from runtime.kube.resources import DEPLOYMENTS

# SyncWorkloadInformation events (§2.4)
HAS_GONE = "HasGone"
STILL_RECONCILING = "StillReconciling"
REPLICAS_CHANGED = "ReplicasChanged"
ROLLBACK_IN_BATCH = "RollbackInBatch"
POD_TEMPLATE_CHANGED = "PodTemplateChanged"
NORMAL = "NormalState"


@attrs.frozen
class WorkloadInfo:
    replicas: int = 0
    updated: int = 0
    updated_ready: int = 0
    update_revision: str = ""
    stable_revision: str = ""


def workload_info(
    batch_release: BatchRelease | Mapping[str, Any], deployment: Mapping[str, Any] | None
) -> tuple[str, WorkloadInfo | None]:
    """§2.6 for the partition Deployment: (event, info)."""
    br = batch_release_model(batch_release)
    if br.metadata.get("deletionTimestamp"):
        return NORMAL, None
    if deployment is None:
        return HAS_GONE, None
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    info = WorkloadInfo(
        replicas=int(spec.get("replicas", 1)),
        updated=int(status.get("updatedReplicas", 0)),
        updated_ready=int(extra_status(deployment).get("updatedReadyReplicas", 0)),
        update_revision=update_revision(deployment),
        stable_revision=labels(deployment).get(STABLE_REVISION_LABEL, ""),
    )
    if int(meta(deployment).get("generation", 0)) > int(status.get("observedGeneration", 0)):
        return STILL_RECONCILING, info
    if int(status.get("replicas", 0)) == int(status.get("updatedReplicas", 0)):
        return NORMAL, info
    observed = observed_workload_replicas(br)
    if observed != -1 and info.replicas != observed:
        return REPLICAS_CHANGED, info
    br_update, br_stable = stored_revisions(br)
    if br_update and info.update_revision == info.stable_revision and br_stable == info.update_revision \
            and br_stable != br_update:
        return ROLLBACK_IN_BATCH, info
    if br_update and br_update != info.update_revision:
        return POD_TEMPLATE_CHANGED, info
    return NORMAL, info


def observed_workload_replicas(br: BatchRelease) -> int:
    """``status.observedWorkloadReplicas`` as stored; -1 (the reset value) when not recorded yet."""
    status = br.status
    if status is None or not is_present(status, "observed_workload_replicas"):
        return -1
    return status.observed_workload_replicas


def stored_revisions(br: BatchRelease) -> tuple[str, str]:
    """(updateRevision, stableRevision) the BatchRelease recorded."""
    status = br.status
    return (status.update_revision, status.stable_revision) if status is not None else ("", "")


@attrs.define
class DeploymentControl:
    """One executor instance per reconcile (holds the BR, decoded, and the Deployment as read)."""

    client: KubeApi
    br: BatchRelease = attrs.field(converter=batch_release_model)
    deployment: Mapping[str, Any] | None
    pods: list[Mapping[str, Any]] | None = None
    #: The manager's pod informer (None: list pods from the API server).
    pod_informer: SyncedInformer | None = None
    #: The KeepWorkloadPausedOnRolloutDeletion decision for this reconcile (``keeppaused``): Finalize
    #: then leaves the Deployment paused.
    keep_paused: bool = False

    @property
    def _ns(self) -> str:
        return self.br.namespace

    def _batch(self, st: BatchReleaseStatus) -> tuple[WireIntOrStr, int]:
        """(canaryReplicas of the current batch in wire form, current batch index)."""
        batches = self.br.spec.release_plan.batches
        current = st.canary_status.current_batch
        current = min(current, len(batches) - 1) if batches else 0
        partition = batches[current].canary_replicas.value if batches else 0
        return partition, current

    async def _patch(self, body: dict[str, Any]) -> None:
        assert self.deployment is not None
        await self.client.patch(DEPLOYMENTS, meta(self.deployment)["name"], body, self._ns)

    async def observed_info(self) -> tuple[str, WorkloadInfo | None]:
        """:func:`workload_info`, with the *updated* count raised to what the pods show.

        Why raise it: ``status.updatedReplicas`` reaches us two writes after the pods do
        (kube-controller-manager's ReplicaSet status, then the advanced Deployment controller's
        status); the pod informer has it first. Pods only ever raise it, so a lagging pod cache
        changes nothing, and the "still reconciling" and promotion checks keep reading the
        Deployment itself.

        Why the *ready* count is never raised: it is what the Deployment's extra-status annotation
        (``rollouts.kruise.io/deployment-extra-status``) publishes, and clients read it there. A batch
        judged ready from pods before the annotation says so showed a paused step over a batch the
        annotation still called not ready; readiness is decided on the published number only.
        """
        event, info = workload_info(self.br, self.deployment)
        if info is None or self.pod_informer is None or not info.update_revision:
            return event, info
        on_revision = [p for p in await self._list_pods()
                       if labels(p).get(POD_TEMPLATE_HASH_LABEL) == info.update_revision]
        return event, attrs.evolve(info, updated=max(info.updated, len(on_revision)))

    @dict_adapter
    async def initialize(self, st: BatchReleaseStatus) -> bool:
        """Claim the Deployment; record revisions and replicas."""
        if self.deployment is None:
            return False
        patch = initialize_patch(self.deployment, control_info(self.br.name, str(self.br.metadata.get("uid", ""))))
        if patch:
            await self._patch(patch)
        _, info = workload_info(self.br, self.deployment)
        if info is not None:
            record_revisions(st, info.stable_revision, info.update_revision, info.replicas)
        return True

    @dict_adapter
    async def upgrade_batch(self, st: BatchReleaseStatus) -> bool:
        """Raise the annotation partition to this batch, then label the batch's pods."""
        if self.deployment is None:
            return False
        if wl.spec_replicas(self.deployment) == 0:
            return True
        partition, _ = self._batch(st)
        patch = upgrade_batch_patch(self.deployment, partition)
        if patch:
            await self._patch(patch)
        await self._label_pods(st)
        return True

    async def _list_pods(self) -> list[Mapping[str, Any]]:
        if self.pods is None:
            assert self.deployment is not None
            selector = wl.match_labels(self.deployment)
            self.pods = await list_pods(self.client, self.pod_informer, self._ns, selector)
        return self.pods

    async def _label_pods(self, st: BatchReleaseStatus) -> None:
        plan = self.br.spec.release_plan
        if not plan.rollout_id:
            return
        _, current = self._batch(st)
        wanted = plan_labels(
            await self._list_pods(),
            batches=[b.canary_replicas for b in plan.batches],
            current_batch=current,
            replicas=wl.spec_replicas(self.deployment),
            rollout_id=plan.rollout_id,
            update_revision=st.update_revision,
        )
        self.pods = await apply_pod_labels(self.client, self._ns, await self._list_pods(), wanted)

    @dict_adapter
    async def batch_ready(self, st: BatchReleaseStatus) -> str | None:
        """EnsureBatchPodsReadyAndLabeled: ``None`` when ready, else the reason with the numbers."""
        if self.deployment is None:
            return "workload not found"
        replicas = wl.spec_replicas(self.deployment)
        if replicas == 0:
            return None
        plan = self.br.spec.release_plan
        partition, _ = self._batch(st)
        planned = new_rs_replicas_limit(partition, replicas)
        _, info = await self.observed_info()
        assert info is not None
        rollout_id = plan.rollout_id
        pods = [p for p in await self._list_pods()] if rollout_id else None
        return is_batch_ready(updated=info.updated, updated_ready=info.updated_ready, desired=planned,
                              planned=planned, failure_threshold=plan.failure_threshold,
                              rollout_id=rollout_id, pods=pods)

    async def finalize(self) -> bool:
        """Hand the Deployment back (restore strategy when ``batchPartition`` is null)."""
        if self.deployment is None:
            return True
        released = self.br.spec.release_plan.batch_partition is None
        patch = finalize_patch(self.deployment, batch_partition_is_nil=released, keep_paused=self.keep_paused)
        if patch is None and annotations_of(self.deployment).get(CONTROL_INFO_ANNOTATION) and released:
            patch = {"metadata": {"annotations": {CONTROL_INFO_ANNOTATION: None}}}
        if patch:
            try:
                await self._patch(patch)
            except NotFound:
                return True
        return True


def deployment_pods_owner(pod: Mapping[str, Any], rs_store: CacheReader) -> Mapping[str, Any] | None:
    """The ReplicaSet controlling ``pod`` (from the cache), or None."""
    for ref in meta(pod).get("ownerReferences") or []:
        if ref.get("controller") and ref.get("kind") == "ReplicaSet":
            return rs_store.get(ref.get("name"), meta(pod).get("namespace"))
    return None


__all__ = ["DeploymentControl", "workload_info", "owned_replica_sets", "deployment_pods_owner"]
