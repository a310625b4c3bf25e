"""Canary-style control plane: a Deployment released through an extra canary Deployment (batch-release.md §7).

Selected by ``registry.control_plane`` for ``apps/v1`` Deployments when the plan's rolling style is
``Canary`` (or empty with ``enableExtraWorkloadForCanary``). The decisions are pure functions in
``rollouts.release.canary_deployment``; this module reads and writes.

Reading the canary. It is found by ownership (controller ownerRef → this BatchRelease) among the
Deployments of the namespace, from the Deployment informer when the reconciler gave us its store. Its
name comes from the API server (``generateName``), so right after the create the cache may not hold
it: a :class:`runtime.expectations.CreateExpectations` entry (keyed by the BatchRelease) makes the
next rounds wait for the informer instead of creating a second canary. Within one reconcile the
created object is remembered, so the round that created it can go on to scale it.

Pods. The canary has the stable Deployment's selector, so "pods matching the selector" are old and
new pods alike; the canary's pods are those whose ReplicaSet is ``<canary>-<pod-template-hash>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import structlog

from rollouts.api import constants as C
from rollouts.api.decode import batch_release as batch_release_model
from rollouts.api.intstr import WireIntOrStr
from rollouts.api.v1beta1.batchrelease import BatchRelease, BatchReleaseStatus, ReleasePlan
from rollouts.controllers.batchrelease.brstatus import dict_adapter, record_revisions
from rollouts.controllers.batchrelease.deployment import (
    HAS_GONE,
    NORMAL,
    POD_TEMPLATE_CHANGED,
    REPLICAS_CHANGED,
    STILL_RECONCILING,
    WorkloadInfo,
    observed_workload_replicas,
    stored_revisions,
)
from rollouts.controllers.batchrelease.labelpatch import apply_pod_labels, list_pods, plan_labels
from rollouts.objects import meta
from rollouts.objects import pod as podobj
from rollouts.objects import workload as wl
from rollouts.release import canary_deployment as cd
from rollouts.release.deployment_strategy import control_info
from rollouts.release.readiness import is_batch_ready
from rollouts.release.template_hash import POD_TEMPLATE_HASH_LABEL
from runtime.cache.protocols import CacheReader, SyncedInformer
from runtime.expectations import CreateExpectations
from runtime.kube.errors import ApiError, NotFound
from runtime.kube.protocols import KubeApi
from runtime.kube.resources import DEPLOYMENTS

Obj = Mapping[str, Any]

log = structlog.get_logger("rollouts.controllers.batchrelease.canary")


@attrs.define
class CanaryControl:
    """One instance per reconcile: the BatchRelease (decoded), the stable Deployment as read."""

    client: KubeApi
    br: BatchRelease = attrs.field(converter=batch_release_model)
    stable: Obj | None
    #: The Deployment informer's store (None: list Deployments from the API server).
    deployments: CacheReader | None = None
    #: Pending canary creates, shared by every reconcile (None: no guard, for one-shot use and tests).
    expectations: CreateExpectations | None = None
    pods: list[Obj] | None = None
    #: The manager's pod informer (None: list pods from the API server).
    pod_informer: SyncedInformer | None = None
    #: Not read: the KeepWorkloadPausedOnRolloutDeletion gate covers the partition executors only (§11).
    keep_paused: bool = False
    #: The canary of this reconcile once looked up (``_looked_up``) or created.
    _canary: Obj | None = attrs.field(default=None, init=False)
    _looked_up: bool = attrs.field(default=False, init=False)
    #: False while a canary we created is not in the Deployment cache yet (see the module docstring).
    _create_observed: bool = attrs.field(default=True, init=False)

    # ---- reading -----------------------------------------------------------------------------
    @property
    def _ns(self) -> str:
        return self.br.namespace

    @property
    def _plan(self) -> ReleasePlan:
        return self.br.spec.release_plan

    @property
    def _uid(self) -> str:
        return str(self.br.metadata.get("uid", ""))

    @property
    def _key(self) -> str:
        return f"{self._ns}/{self.br.name}"

    def _batch(self, st: BatchReleaseStatus) -> tuple[WireIntOrStr, int]:
        """(canaryReplicas of the current batch in wire form, current batch index)."""
        batches = self._plan.batches
        current = st.canary_status.current_batch
        current = min(current, len(batches) - 1) if batches else 0
        return (batches[current].canary_replicas.value if batches else 0), current

    async def _namespace_deployments(self, *, fresh: bool = False) -> list[Obj]:
        if self.deployments is not None and not fresh:
            return list(self.deployments.list(self._ns))
        return list((await self.client.list(DEPLOYMENTS, self._ns)).get("items") or [])

    async def canary(self) -> Obj | None:
        """The canary Deployment of this release (§7 "Lookup"), once per reconcile."""
        if not self._looked_up and self.stable is not None:
            found = await self._namespace_deployments()
            self._canary = cd.pick_canary(found, self.stable, self._uid, self._plan.patch_pod_template_metadata)
            self._looked_up = True
            if self.expectations is not None:
                uids = {meta.uid(d) for d in found}
                self._create_observed = self.expectations.satisfied(self._key, lambda uid: uid in uids)
        return self._canary

    async def _ensure_canary(self) -> Obj | None:
        """The canary, created if missing; None while a create of ours is not in the cache yet."""
        canary = await self.canary()
        if canary is not None or not self._create_observed or self.stable is None:
            return canary
        info = control_info(self.br.name, self._uid)
        body = cd.canary_body(self.stable, info, self._plan.patch_pod_template_metadata)
        created = await self.client.create(DEPLOYMENTS, body, self._ns)
        if self.expectations is not None:
            self.expectations.expect(self._key, meta.uid(created))
        self._canary = created
        return created

    def _revision(self) -> str:
        assert self.stable is not None
        return cd.canary_revision(self.stable, self._plan.patch_pod_template_metadata)

    async def workload_info(self) -> tuple[str, WorkloadInfo | None]:
        """§2.6 for the canary executor: numbers from the canary, events from the stable Deployment."""
        if self.br.metadata.get("deletionTimestamp"):
            return NORMAL, None
        if self.stable is None:
            return HAS_GONE, None
        canary = await self.canary()
        info = WorkloadInfo(replicas=wl.spec_replicas(self.stable), updated=wl.status_int(canary, "replicas"),
                            updated_ready=wl.status_int(canary, "availableReplicas"),
                            update_revision=self._revision(), stable_revision="")
        if wl.generation(self.stable) > wl.status_int(self.stable, "observedGeneration"):
            return STILL_RECONCILING, info
        if wl.status_int(self.stable, "replicas") == wl.status_int(self.stable, "updatedReplicas"):
            return NORMAL, info
        observed = observed_workload_replicas(self.br)
        if observed != -1 and info.replicas != observed:
            return REPLICAS_CHANGED, info
        br_update, _ = stored_revisions(self.br)
        if br_update and br_update != info.update_revision:
            return POD_TEMPLATE_CHANGED, info
        return NORMAL, info

    # ---- the release lifecycle ------------------------------------------------------------------
    @dict_adapter
    async def initialize(self, st: BatchReleaseStatus) -> bool:
        """Create the canary (replicas 0), claim the stable Deployment, record revisions and replicas."""
        if self.stable is None:
            return False
        if await self._ensure_canary() is None:
            return False  # our create is not in the cache yet: wait for it rather than create twice
        info = control_info(self.br.name, self._uid)
        if meta.annotations_of(self.stable).get(cd.CONTROL_INFO) != info:
            await self.client.patch(DEPLOYMENTS, meta.name(self.stable),
                                    {"metadata": {"annotations": {cd.CONTROL_INFO: info}}}, self._ns)
        record_revisions(st, "", self._revision(), wl.spec_replicas(self.stable))
        return True

    @dict_adapter
    async def upgrade_batch(self, st: BatchReleaseStatus) -> bool:
        """Raise the canary to planned(batch) of the stable replicas; never lower it."""
        if self.stable is None:
            return False
        replicas = wl.spec_replicas(self.stable)
        if replicas == 0:
            return True
        # Found, never created, here (§7: only Initialize creates): after the stable template changed,
        # the template matches no canary of this BatchRelease, which the Rollout is about to replace.
        canary = await self.canary()
        if canary is None or wl.generation(canary) > wl.status_int(canary, "observedGeneration"):
            return False  # not in the cache (yet), or its last scale not observed: retry in 2 s
        canary_replicas, _ = self._batch(st)
        patch = cd.scale_patch(canary, cd.desired_canary_replicas(canary_replicas, replicas))
        if patch:
            self._canary = await self.client.patch(DEPLOYMENTS, meta.name(canary), patch, self._ns)
        return True

    async def _canary_pods(self, canary: Obj) -> list[Obj]:
        """Non-terminating pods whose controlling ReplicaSet is one of the canary's."""
        if self.pods is None:
            prefix = f"{meta.name(canary)}-"
            candidates = await list_pods(self.client, self.pod_informer, self._ns, wl.match_labels(canary))
            self.pods = [p for p in candidates if _rs_owner(p).startswith(prefix)
                         and _rs_owner(p) == prefix + podobj.labels(p).get(POD_TEMPLATE_HASH_LABEL, "")]
        return self.pods

    async def _label_pods(self, canary: Obj, st: BatchReleaseStatus) -> None:
        """§5 on the canary pods (errors ignored, as upstream: labels never block a batch)."""
        if not self._plan.rollout_id:
            return
        _, current = self._batch(st)
        pods = await self._canary_pods(canary)
        wanted = plan_labels(pods, batches=[b.canary_replicas for b in self._plan.batches], current_batch=current,
                             replicas=wl.spec_replicas(self.stable), rollout_id=self._plan.rollout_id,
                             update_revision=_pods_revision(pods) or st.update_revision)
        try:
            self.pods = await apply_pod_labels(self.client, self._ns, pods, wanted)
        except ApiError:  # §7: EnsureBatchPodsReadyAndLabeled ignores label errors (next round retries)
            pass

    @dict_adapter
    async def batch_ready(self, st: BatchReleaseStatus) -> str | None:
        """EnsureBatchPodsReadyAndLabeled: ``None`` when ready, else the reason with the canary's numbers."""
        if self.stable is None:
            return "workload not found"
        replicas = wl.spec_replicas(self.stable)
        if replicas == 0:
            return None
        canary = await self.canary()
        if canary is None:
            return f"canary Deployment of {meta.name(self.stable)} not found yet"
        await self._label_pods(canary, st)
        canary_replicas, _ = self._batch(st)
        desired = cd.desired_canary_replicas(canary_replicas, replicas)
        updated, ready = wl.status_int(canary, "replicas"), wl.status_int(canary, "availableReplicas")
        rollout_id = self._plan.rollout_id
        # planned 0: upstream's canary batch context leaves it unset, so the label count never blocks
        reason = is_batch_ready(updated=updated, updated_ready=ready, desired=desired, planned=0,
                                failure_threshold=self._plan.failure_threshold, rollout_id=rollout_id,
                                pods=await self._canary_pods(canary) if rollout_id else None)
        if reason is None:
            return None
        return cd.readiness_message(meta.name(canary), available=ready, updated=updated, desired=desired,
                                    reason=reason)

    async def finalize(self) -> bool:
        """§7 Finalize: hand the stable Deployment back (and wait for it with WaitResume), then
        release our finalizer from every canary Deployment so the garbage collector can delete them
        with the BatchRelease."""
        if not await self._hand_back_stable():
            return False
        for canary in await self._namespace_deployments(fresh=True):
            body = cd.canary_finalizer_patch(canary) if meta.is_controlled_by(canary, self._uid) else None
            if body:
                try:
                    await self.client.patch(DEPLOYMENTS, meta.name(canary), body, self._ns)
                except NotFound:
                    pass
        if self.expectations is not None:
            self.expectations.forget(self._key)
        return True

    async def _hand_back_stable(self) -> bool:
        """Unpause (release over) and unclaim the stable Deployment; False while WaitResume waits."""
        if self.stable is None:
            return True
        patch = cd.stable_finalize_patch(self.stable, batch_partition_is_nil=self._plan.batch_partition is None)
        stable: Obj = self.stable
        try:
            if patch:
                stable = await self.client.patch(DEPLOYMENTS, meta.name(self.stable), patch, self._ns)
        except NotFound:
            return True
        if self._plan.finalizing_policy != C.FINALIZING_POLICY_WAIT_RESUME:
            return True
        reason = cd.wait_resume_reason(stable)
        if reason is not None:
            log.info("waiting for the stable Deployment to finish rolling", batchrelease=self._key, reason=reason)
        return reason is None


def _rs_owner(pod: Obj) -> str:
    """Name of the ReplicaSet controlling ``pod`` ("" if none)."""
    for ref in meta.owner_references(pod):
        if ref.get("controller") and ref.get("kind") == "ReplicaSet":
            return str(ref.get("name", ""))
    return ""


def _pods_revision(pods: list[Obj]) -> str:
    """The canary pods' ``pod-template-hash`` (they all share it: a canary's template never changes).

    Why not the BatchRelease's ``updateRevision``: that is our hash of the canary template; the pods
    carry kube-controller-manager's, equal wherever both hash the same Go types, not guaranteed."""
    hashes = {podobj.labels(p).get(POD_TEMPLATE_HASH_LABEL, "") for p in pods} - {""}
    return hashes.pop() if len(hashes) == 1 else ""
