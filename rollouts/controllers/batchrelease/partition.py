"""Common skeleton of the partition-style control planes (batch-release.md §2.6, §4, §5).

The kinds differ only in where the partition lives and how to read replicas/revisions; everything
else — claiming the workload, the workload-information events, the batch numbers (§3.6), pod batch
labels (§5) and the readiness check (§3.3) — is here once. A kind module subclasses
:class:`PartitionControl` and fills in the small hooks at the top of the class.

Rollback in batches (§6): with the BR annotation ``rollouts.kruise.io/rollback-in-batch``, Initialize
marks the pods already on the revision being rolled back to (``rollouts.release.no_need_update``),
the batch numbers leave them out (§3.6), and the labeller moves the pods the rollback changed first.
With the KeepWorkloadPausedOnRolloutDeletion gate, Finalize keeps the partition (``keeppaused``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

import attrs

from rollouts.api import keys
from rollouts.api.decode import batch_release as batch_release_model
from rollouts.api.edit import set_field
from rollouts.api.intstr import IntOrStrLike, WireIntOrStr, scaled_value
from rollouts.api.v1beta1.batchrelease import BatchRelease, BatchReleaseStatus, ReleasePlan
from rollouts.controllers.batchrelease import brstatus
from rollouts.controllers.batchrelease.brstatus import dict_adapter, record_revisions
from rollouts.controllers.batchrelease.deployment import (
    HAS_GONE,
    NORMAL,
    POD_TEMPLATE_CHANGED,
    REPLICAS_CHANGED,
    ROLLBACK_IN_BATCH,
    STILL_RECONCILING,
    WorkloadInfo,
    observed_workload_replicas,
    stored_revisions,
)
from rollouts.controllers.batchrelease.labelpatch import apply_pod_labels, list_pods, plan_labels
from rollouts.objects import workload as wl
from rollouts.objects.meta import annotations_of
from rollouts.objects.meta import metadata as meta
from rollouts.release.batch import BatchTarget, batch_target
from rollouts.release.deployment_strategy import CONTROL_INFO_ANNOTATION, control_info
from rollouts.release.labels import on_revision
from rollouts.release.no_need_update import (
    NO_NEED_UPDATE_LABEL,
    count_no_need,
    filter_ordered,
    filter_unordered,
    pods_to_mark,
)
from rollouts.release.readiness import is_batch_ready, pod_is_ready
from runtime.cache.protocols import SyncedInformer
from runtime.kube.errors import NotFound
from runtime.kube.protocols import KubeApi
from runtime.kube.resources import Resource

Obj = Mapping[str, Any]


def is_claimed_by(obj: Obj, br: BatchRelease) -> bool:
    """``IsControlledByBatchRelease``: controller ownerRef or control-info naming the BR's UID."""
    uid = br.metadata.get("uid")
    if any(r.get("controller") and r.get("uid") == uid for r in meta(obj).get("ownerReferences") or []):
        return True
    raw = annotations_of(obj).get(CONTROL_INFO_ANNOTATION)
    try:
        return bool(raw and json.loads(raw).get("uid") == uid)
    except ValueError:
        return False


def owned_by(pod: Obj, uid: str) -> bool:
    return any(r.get("controller") and r.get("uid") == uid for r in meta(pod).get("ownerReferences") or [])


@attrs.define
class PartitionControl:
    """One instance per reconcile (the BR and the workload as read). Subclasses set the hooks."""

    client: KubeApi
    br: BatchRelease = attrs.field(converter=batch_release_model)
    obj: Obj | None
    resource: Resource
    pods: list[Obj] | None = None
    #: The manager's pod informer (None: list pods from the API server).
    pod_informer: SyncedInformer | None = None
    #: The KeepWorkloadPausedOnRolloutDeletion decision for this reconcile (``keeppaused``): Finalize
    #: then keeps the partition in place.
    keep_paused: bool = False

    #: StatefulSet ordered mode (§3.6): no-need-update pods are added back to the stable side.
    ordered: ClassVar[bool] = False

    # ---- hooks -------------------------------------------------------------------------------
    def replicas(self) -> int:
        return wl.spec_replicas(self.obj)

    def revisions(self) -> tuple[str, str]:
        """(update, stable) revisions of the workload as the BR records them."""
        return wl.status_str(self.obj, "updateRevision"), wl.status_str(self.obj, "currentRevision")

    def updated(self) -> int:
        return wl.status_int(self.obj, "updatedReplicas")

    def promoted(self) -> bool:
        """All pods on the update revision (§2.6 step 4)."""
        return wl.status_int(self.obj, "replicas") == wl.status_int(self.obj, "updatedReplicas")

    def status_updated_ready(self) -> int | None:
        """``updatedReadyReplicas`` from the status when the kind has it (else counted from pods)."""
        return None

    def initialize_patch(self, info: str) -> dict[str, Any]:
        raise NotImplementedError

    def current_partition(self) -> WireIntOrStr:
        raise NotImplementedError

    def desired_partition(self, target: BatchTarget, canary_replicas: IntOrStrLike | None) -> WireIntOrStr:
        return max(0, target.desired_stable)

    def partition_patch(self, desired: WireIntOrStr) -> dict[str, Any]:
        raise NotImplementedError

    def finalize_patch(self, release: bool, keep: bool = False) -> dict[str, Any]:
        """Patch handing the workload back; ``release`` is "batchPartition is null", ``keep`` the
        KeepWorkloadPausedOnRolloutDeletion decision (the partition stays, the workload is unpaused)."""
        raise NotImplementedError

    # ---- shared machinery ---------------------------------------------------------------------
    @property
    def _ns(self) -> str:
        return self.br.namespace

    @property
    def _plan(self) -> ReleasePlan:
        return self.br.spec.release_plan

    def _batch(self, st: BatchReleaseStatus) -> tuple[WireIntOrStr | None, int]:
        """(canaryReplicas of the current batch in wire form, current batch index)."""
        batches = self._plan.batches
        current = st.canary_status.current_batch
        current = min(current, len(batches) - 1) if batches else 0
        return (batches[current].canary_replicas.value if batches else 0), current

    async def _patch(self, body: dict[str, Any]) -> None:
        assert self.obj is not None
        await self.client.patch(self.resource, meta(self.obj)["name"], body, self._ns)

    async def list_pods(self) -> list[Obj]:
        """Owned, non-terminating pods (read once per reconcile)."""
        if self.pods is None:
            assert self.obj is not None
            selector = wl.match_labels(self.obj)
            uid = meta(self.obj).get("uid", "")
            self.pods = [p for p in await list_pods(self.client, self.pod_informer, self._ns, selector)
                         if owned_by(p, uid)]
        return self.pods

    async def updated_ready(self, update_revision: str) -> int:
        """§2.6: ready owned pods on the update revision when the status lacks the number."""
        from_status = self.status_updated_ready()
        if from_status is not None:
            return from_status
        pods = await self.list_pods()
        return sum(1 for p in pods if on_revision(meta(p).get("labels") or {}, update_revision) and pod_is_ready(p))

    async def workload_info(self) -> tuple[str, WorkloadInfo | None]:
        """§2.6 SyncWorkloadInformation for partition executors."""
        if self.br.metadata.get("deletionTimestamp"):
            return NORMAL, None
        if self.obj is None:
            return HAS_GONE, None
        update, stable = self.revisions()
        info = WorkloadInfo(replicas=self.replicas(), updated=self.updated(),
                            updated_ready=await self.updated_ready(update),
                            update_revision=update, stable_revision=stable)
        if wl.generation(self.obj) > wl.status_int(self.obj, "observedGeneration"):
            return STILL_RECONCILING, info
        if self.promoted():
            return NORMAL, info
        observed = observed_workload_replicas(self.br)
        if observed != -1 and info.replicas != observed:
            return REPLICAS_CHANGED, info
        br_update, br_stable = stored_revisions(self.br)
        if br_update and update == stable and br_stable == update and br_stable != br_update:
            return ROLLBACK_IN_BATCH, info
        if br_update and br_update != update:
            return POD_TEMPLATE_CHANGED, info
        return NORMAL, info

    @dict_adapter
    async def initialize(self, st: BatchReleaseStatus) -> bool:
        """Claim the workload (skipped if already claimed); record revisions and replicas."""
        if self.obj is None:
            return False
        if not is_claimed_by(self.obj, self.br):
            uid = str(self.br.metadata.get("uid", ""))
            await self._patch(self.initialize_patch(control_info(self.br.name, uid)))
        _, info = await self.workload_info()
        if info is not None:
            record_revisions(st, info.stable_revision, info.update_revision, info.replicas)
            if self.rolling_back_in_batches():
                return await self._mark_no_need_update(st, info)
        return True

    def rolling_back_in_batches(self) -> bool:
        """The Rollout copied ``rollback-in-batch`` onto the BR: the workload is rolling back (§6)."""
        return keys.ROLLBACK_IN_BATCH_ANNOTATION in self.br.annotations

    async def _mark_no_need_update(self, st: BatchReleaseStatus, info: WorkloadInfo) -> bool:
        """§6 Initialize: label the pods already on the target revision, then store their count.

        Returns False ("not yet") in a round that patched pods, so the count is taken from pods as
        the API server wrote them, in the next round."""
        cs = brstatus.canary(st)
        rollout_id = self._plan.rollout_id
        if not rollout_id:
            set_field(cs, "no_need_update_replicas", info.updated)
            return True
        pods = await self.list_pods()
        names = pods_to_mark(pods, update_revision=info.update_revision, rollout_id=rollout_id)
        if names:
            self.pods = await apply_pod_labels(self.client, self._ns, pods,
                                               {n: {NO_NEED_UPDATE_LABEL: rollout_id} for n in names})
            return False
        set_field(cs, "no_need_update_replicas",
                  count_no_need(pods, update_revision=info.update_revision, rollout_id=rollout_id))
        return True

    def target(self, st: BatchReleaseStatus) -> tuple[BatchTarget, WireIntOrStr | None]:
        canary, _ = self._batch(st)
        no_need = brstatus.no_need_update(st)
        return batch_target(canary, self.replicas(), no_need_update=no_need, ordered=self.ordered), canary

    @dict_adapter
    async def upgrade_batch(self, st: BatchReleaseStatus) -> bool:
        """Lower the partition to this batch (never raise it), then label the batch's pods."""
        if self.obj is None:
            return False
        replicas = self.replicas()
        if replicas == 0:
            return True
        await self._refresh_no_need_update(st)
        target, canary = self.target(st)
        desired = self.desired_partition(target, canary)
        current = self.current_partition()
        if scaled_value(current, replicas, round_up=True) > scaled_value(desired, replicas, round_up=True):
            await self._patch(self.partition_patch(desired))
        await self._label_pods(st)
        return True

    async def _refresh_no_need_update(self, st: BatchReleaseStatus) -> None:
        """§4 UpgradeBatch: recount the marked pods (only once Initialize stored a count)."""
        rollout_id = self._plan.rollout_id
        if rollout_id and brstatus.no_need_update(st) is not None:
            set_field(st.canary_status, "no_need_update_replicas",
                      count_no_need(await self.list_pods(), rollout_id=rollout_id, update_revision=st.update_revision))

    def _label_candidates(self, pods: list[Obj], st: BatchReleaseStatus) -> list[Obj]:
        """All pods, or in a rollback in batches the §6 filter (moved pods first).

        A rollback in batches is recognised by the annotation *or* by a no-need count already taken:
        the Rollout drops the annotation as soon as every pod is back on the old revision, which
        happens inside the last batch; without the count the last relabelling round would label the
        pods that never moved as part of that batch."""
        counted = brstatus.no_need_update(st) is not None
        if not (self.rolling_back_in_batches() or counted):
            return pods
        target, canary = self.target(st)
        revision = st.update_revision
        if self.ordered:
            partition = scaled_value(self.desired_partition(target, canary), self.replicas(), round_up=True)
            return filter_ordered(pods, update_revision=revision, replicas=self.replicas(), partition=partition,
                                  planned=target.planned)
        return filter_unordered(pods, update_revision=revision, rollout_id=self._plan.rollout_id,
                                desired_update=target.desired_update, planned=target.planned)

    async def _label_pods(self, st: BatchReleaseStatus) -> None:
        if not self._plan.rollout_id:
            return
        _, current = self._batch(st)
        pods = await self.list_pods()
        wanted = plan_labels(self._label_candidates(pods, st),
                             batches=[b.canary_replicas for b in self._plan.batches],
                             current_batch=current, replicas=self.replicas(), rollout_id=self._plan.rollout_id,
                             update_revision=st.update_revision)
        self.pods = await apply_pod_labels(self.client, self._ns, pods, wanted)

    @dict_adapter
    async def batch_ready(self, st: BatchReleaseStatus) -> str | None:
        """EnsureBatchPodsReadyAndLabeled: ``None`` when ready, else the reason with the numbers."""
        if self.obj is None:
            return "workload not found"
        replicas = self.replicas()
        if replicas == 0:
            return None
        target, _ = self.target(st)
        _, info = await self.workload_info()
        assert info is not None
        rollout_id = self._plan.rollout_id
        pods = await self.list_pods() if rollout_id else None
        return is_batch_ready(updated=info.updated, updated_ready=info.updated_ready,
                              desired=target.desired_update, planned=target.planned,
                              failure_threshold=self._plan.failure_threshold, rollout_id=rollout_id,
                              pods=pods)

    async def finalize(self) -> bool:
        """Hand the workload back: drop control-info; clear the partition when the release is over."""
        if self.obj is None:
            return True
        try:
            await self._patch(self.finalize_patch(self._plan.batch_partition is None, keep=self.keep_paused))
        except NotFound:
            return True
        return True


class RollingUpdatePartition(PartitionControl):
    """Kinds whose partition is ``spec.updateStrategy.rollingUpdate.partition`` (StatefulSet-like
    kinds and the Advanced DaemonSet)."""

    def current_partition(self) -> WireIntOrStr:
        return int(wl.rolling_update(self.obj).get("partition") or 0)

    def partition_patch(self, desired: WireIntOrStr) -> dict[str, Any]:
        return {"spec": {"updateStrategy": {"rollingUpdate": {"partition": desired}}}}


class DaemonSetCounts(PartitionControl):
    """DaemonSets (native and Advanced): one pod per eligible node, so replicas and updated pods come
    from ``status.desiredNumberScheduled`` and ``status.updatedNumberScheduled``."""

    def replicas(self) -> int:
        return wl.status_int(self.obj, "desiredNumberScheduled")

    def updated(self) -> int:
        return wl.status_int(self.obj, "updatedNumberScheduled")

    def promoted(self) -> bool:
        return wl.status_int(self.obj, "desiredNumberScheduled") == wl.status_int(self.obj, "updatedNumberScheduled")
