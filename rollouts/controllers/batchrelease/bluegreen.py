"""Blue-green control planes for a Deployment and a CloneSet (batch-release.md §8).

The new version comes up *beside* the old one: Initialize takes the workload over (original
setting saved, ``maxSurge: 1``/``maxUnavailable: 0``, availability frozen, HPA disabled), each
batch raises ``maxSurge`` to the batch's ``canaryReplicas`` and the workload's own controller adds
the new pods; Finalize (only once ``batchPartition`` is null) writes the original setting back and
waits for the workload controller to finish the rollout natively, then re-enables the HPA. The
patches and checks are pure functions in :mod:`rollouts.release.bluegreen`; this module reads and
writes. Shared machinery (workload information §2.6, pod listing, batch index) comes from
:class:`~rollouts.controllers.batchrelease.partition.PartitionControl`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import structlog

from rollouts.api.v1beta1.batchrelease import BatchReleaseStatus
from rollouts.controllers.batchrelease import hpa
from rollouts.controllers.batchrelease.brstatus import dict_adapter, record_revisions
from rollouts.controllers.batchrelease.labelpatch import apply_pod_labels, list_pods, plan_labels
from rollouts.controllers.batchrelease.partition import PartitionControl
from rollouts.controllers.rollout.workload import new_replica_set, owned_replica_sets, update_revision
from rollouts.objects import meta
from rollouts.objects import workload as wl
from rollouts.release import bluegreen as bg
from rollouts.release.deployment_strategy import control_info
from rollouts.release.readiness import is_batch_ready
from rollouts.release.template_hash import POD_TEMPLATE_HASH_LABEL
from runtime.kube.errors import BadRequest, NotFound
from runtime.kube.resources import REPLICASETS

Obj = Mapping[str, Any]

log = structlog.get_logger("rollouts.controllers.batchrelease.bluegreen")


@attrs.define
class BlueGreenControl(PartitionControl):
    """The kind-independent half; subclasses give the kind's patches and numbers."""

    #: CloneSet field names and defaults (else Deployment).
    cloneset: bool = attrs.field(default=False, kw_only=True)

    # ---- kind hooks ------------------------------------------------------------------------
    async def _take_over(self, info: str) -> None:
        raise NotImplementedError

    def _not_ready(self) -> str | None:
        raise NotImplementedError

    def _upgrade_patch(self, surge: Any) -> dict[str, Any]:
        raise NotImplementedError

    def _finalize_patch(self) -> dict[str, Any] | None:
        raise NotImplementedError

    def _wait_reason(self, obj: Obj) -> str | None:
        raise NotImplementedError

    async def _pod_revision(self) -> str:
        """The revision label value of the new pods (what labelling and counting match on)."""
        return self.revisions()[0]

    # ---- the release lifecycle -------------------------------------------------------------
    @dict_adapter
    async def initialize(self, st: BatchReleaseStatus) -> bool:
        """Claim the workload once (HPA first, so it cannot scale the old side during the release)."""
        if self.obj is None:
            return False
        uid = str(self.br.metadata.get("uid", ""))
        if not bg.is_claimed(self.obj, uid):
            await hpa.disable(self.client, self.obj, self.resource)
            await self._take_over(control_info(self.br.name, uid))
        _, info = await self.workload_info()
        if info is not None:
            record_revisions(st, info.stable_revision, info.update_revision, info.replicas)
        return True

    @dict_adapter
    async def upgrade_batch(self, st: BatchReleaseStatus) -> bool:
        """Raise the surge to this batch (never lower it); a half-done takeover is a BadRequest."""
        if self.obj is None:
            return False
        if self.replicas() == 0:
            return True
        if (problem := self._not_ready()) is not None:
            raise BadRequest(problem)
        surge, _ = self._batch(st)
        if not bg.surge_reached(self.obj, surge or 0, cloneset=self.cloneset):
            await self._patch(self._upgrade_patch(surge))
        return True

    async def _label_pods(self, st: BatchReleaseStatus) -> None:
        if not self._plan.rollout_id:
            return
        _, current = self._batch(st)
        pods = await self.list_pods()
        wanted = plan_labels(pods, batches=[b.canary_replicas for b in self._plan.batches], current_batch=current,
                             replicas=self.replicas(), rollout_id=self._plan.rollout_id,
                             update_revision=await self._pod_revision() or st.update_revision)
        self.pods = await apply_pod_labels(self.client, self._ns, pods, wanted)

    @dict_adapter
    async def batch_ready(self, st: BatchReleaseStatus) -> str | None:
        """EnsureBatchPodsReadyAndLabeled: label first (as upstream's blue-green), then the numbers."""
        if self.obj is None:
            return "workload not found"
        replicas = self.replicas()
        if replicas == 0:
            return None
        await self._label_pods(st)
        surge, _ = self._batch(st)
        desired = bg.desired_updated(surge or 0, replicas, cloneset=self.cloneset)
        _, info = await self.workload_info()
        assert info is not None
        rollout_id = self._plan.rollout_id
        return is_batch_ready(updated=info.updated, updated_ready=info.updated_ready, desired=desired,
                              planned=desired, failure_threshold=self._plan.failure_threshold,
                              rollout_id=rollout_id, pods=await self.list_pods() if rollout_id else None)

    async def finalize(self) -> bool:
        """Restore the original setting (release over only), wait for the native rollout, re-enable the HPA.

        With ``batchPartition`` still set nothing happens, as upstream: a blue-green release is never
        handed back half-way (a continuous release is refused by the Rollout instead)."""
        if self.obj is None:
            return True
        if self._plan.batch_partition is not None:
            return True
        obj = self.obj
        patch = None if meta.is_deleting(obj) else self._finalize_patch()
        if patch:
            try:
                obj = await self.client.patch(self.resource, meta.name(obj), patch, self._ns)
            except NotFound:
                return True
        reason = self._wait_reason(obj)
        if reason is not None:
            log.info("waiting for the workload to finish its native rollout", batchrelease=self.br.name,
                     reason=reason)
            return False
        await hpa.restore(self.client, obj, self.resource)
        return True


@attrs.define
class BlueGreenDeploymentControl(BlueGreenControl):
    """§8.1: the Deployment's own controller surges; the stable ReplicaSet's pods are frozen too."""

    _rss: list[Obj] | None = attrs.field(default=None, init=False)

    def revisions(self) -> tuple[str, str]:
        """(our template hash, the stable-revision label the workload webhook wrote)."""
        return update_revision(self.obj or {}), meta.labels(self.obj).get(bg.STABLE_REVISION_LABEL, "")

    async def _owned_rss(self) -> list[Obj]:
        if self._rss is None:
            items = (await self.client.list(REPLICASETS, self._ns)).get("items") or []
            self._rss = owned_replica_sets(items, meta.uid(self.obj))
        return self._rss

    async def _new_rs(self) -> Obj | None:
        return new_replica_set(self.obj or {}, await self._owned_rss())

    async def updated_ready(self, update_revision: str) -> int:
        """§8.1: ``readyReplicas`` of the new ReplicaSet (new pods are Ready, never available)."""
        new_rs = await self._new_rs()
        return wl.status_int(new_rs, "readyReplicas") if new_rs is not None else 0

    async def _pod_revision(self) -> str:
        new_rs = await self._new_rs()
        return meta.labels(new_rs).get(POD_TEMPLATE_HASH_LABEL, "") if new_rs is not None else ""

    async def list_pods(self) -> list[Obj]:
        """Pods of the Deployment's selector (owned through its ReplicaSets), once per reconcile."""
        if self.pods is None:
            uids = {meta.uid(rs) for rs in await self._owned_rss()}
            pods = await list_pods(self.client, self.pod_informer, self._ns, wl.match_labels(self.obj))
            self.pods = [p for p in pods if any(r.get("uid") in uids for r in meta.owner_references(p))]
        return self.pods

    async def _take_over(self, info: str) -> None:
        """§8.1 steps 2–4: freeze the stable ReplicaSet's pods, save the setting, claim, surge 1."""
        assert self.obj is not None
        stable = self.revisions()[1]
        for rs in await self._owned_rss():
            if stable and meta.labels(rs).get(POD_TEMPLATE_HASH_LABEL) == stable \
                    and wl.spec(rs).get("minReadySeconds") != bg.MAX_READY_SECONDS:
                await self.client.patch(REPLICASETS, meta.name(rs), {"spec": {"minReadySeconds": bg.MAX_READY_SECONDS}},
                                        self._ns)
        await self._patch(bg.deployment_initialize_patch(self.obj, info))

    def _not_ready(self) -> str | None:
        assert self.obj is not None
        return bg.deployment_not_ready_for_blue_green(self.obj)

    def _upgrade_patch(self, surge: Any) -> dict[str, Any]:
        return bg.deployment_upgrade_patch(surge)

    def _finalize_patch(self) -> dict[str, Any] | None:
        assert self.obj is not None
        return bg.deployment_finalize_patch(self.obj)

    def _wait_reason(self, obj: Obj) -> str | None:
        return bg.deployment_wait_reason(obj)


@attrs.define
class BlueGreenCloneSetControl(BlueGreenControl):
    """§8.2: the CloneSet surges itself (no partition); numbers from its status."""

    cloneset: bool = attrs.field(default=True, kw_only=True)

    def status_updated_ready(self) -> int | None:
        return wl.status_int(self.obj, "updatedReadyReplicas")

    async def _pod_revision(self) -> str:
        """CloneSet pods carry the revision name's suffix in ``pod-template-hash``/``controller-revision-hash``."""
        return self.revisions()[0]

    async def _take_over(self, info: str) -> None:
        assert self.obj is not None
        await self._patch(bg.cloneset_initialize_patch(self.obj, info))

    def _not_ready(self) -> str | None:
        assert self.obj is not None
        return bg.cloneset_not_ready_for_blue_green(self.obj)

    def _upgrade_patch(self, surge: Any) -> dict[str, Any]:
        return bg.cloneset_upgrade_patch(surge)

    def _finalize_patch(self) -> dict[str, Any] | None:
        assert self.obj is not None
        return bg.cloneset_finalize_patch(self.obj)

    def _wait_reason(self, obj: Obj) -> str | None:
        return bg.cloneset_wait_reason(obj)
