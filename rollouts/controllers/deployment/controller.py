"""Advanced Deployment reconciler: executes :func:`rollouts.release.deployment_partition.plan_deployment_sync`.

One sync = one planned step (create the new ReplicaSet / scale ReplicaSets), then the status and
the extra-status annotation; requeue 2 s until the Deployment satisfies its partition.

Expectations (STYLE 10): a ReplicaSet we created or scaled is remembered with the resourceVersion
the API server returned; until the cache has caught up with every such write we do not plan again
(planning from an older cache would scale twice). Not ported: the "operator removed" safety valve
(mutating configuration deleted → return Deployments to RollingUpdate), see docs/walkthrough.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import structlog

from rollouts.controllers.common import merge_patch, resource_version
from rollouts.controllers.rollout.workload import owned_replica_sets
from rollouts.objects import meta as objmeta
from rollouts.objects import workload
from rollouts.objects.meta import metadata as meta
from rollouts.release.deployment_partition import (
    REQUEUE_SECONDS,
    CreateReplicaSet,
    ScaleReplicaSet,
    plan_deployment_sync,
)
from rollouts.release.deployment_strategy import (
    DEPLOYMENT_EXTRA_STATUS_ANNOTATION,
    DEPLOYMENT_STRATEGY_ANNOTATION,
    is_under_rollout_control,
)
from runtime.cache.frozen import thaw
from runtime.cache.protocols import IndexedInformer, Informer
from runtime.cache.store import OWNER_UID_INDEX
from runtime.clock import REAL_CLOCK, Clock
from runtime.kube.errors import AlreadyExists, Conflict, NotFound
from runtime.kube.protocols import KubeApi
from runtime.kube.resources import DEPLOYMENTS, REPLICASETS
from runtime.reconcile import Request, Result

#: Fallback recheck while the cache lags behind our own ReplicaSet writes: the ReplicaSet's watch
#: event enqueues its Deployment as soon as the cache has it, so this only bounds a lost event.
EXPECTATION_RETRY_SECONDS = 1.0
#: Forget an expectation the cache never satisfied (the RS was deleted meanwhile); upstream uses 5 min,
#: a watch delivers our own write within milliseconds, so 30 s only bounds a pathological case.
EXPECTATION_TIMEOUT_SECONDS = 30.0

log = structlog.get_logger("rollouts.controllers.deployment")


@attrs.define
class AdvancedDeploymentReconciler:
    client: KubeApi
    deployments: Informer
    replica_sets: IndexedInformer
    clock: Clock = REAL_CLOCK
    #: (namespace, rs name) → (resourceVersion of our last write, monotonic time of the write).
    _expect: dict[tuple[str, str], tuple[int, float]] = attrs.field(factory=dict)

    def _caught_up(self, ns: str) -> bool:
        """True when the RS cache reflects every write we made in ``ns`` (expired ones are dropped)."""
        for (ens, name), (rv, since) in list(self._expect.items()):
            if ens != ns:
                continue
            cached = self.replica_sets.store.get(name, ns)
            lagging = cached is None or resource_version(cached) < rv
            if lagging and self.clock.monotonic() - since < EXPECTATION_TIMEOUT_SECONDS:
                return False
            del self._expect[(ens, name)]
        return True

    async def reconcile(self, request: Request) -> Result:
        ns, name = request.namespace or "", request.name
        cached = self.deployments.store.get(name, ns)
        if cached is None or not is_under_rollout_control(cached):
            return Result()
        if not self._caught_up(ns):
            return Result(requeue_after=EXPECTATION_RETRY_SECONDS)
        deployment = thaw(cached)
        uid = meta(deployment).get("uid", "")
        rss = [thaw(rs) for rs in owned_replica_sets(self.replica_sets.store.by_index(OWNER_UID_INDEX, uid), uid)]
        plan = plan_deployment_sync(deployment, rss, now=self.clock.now())
        if plan.status is None:
            return Result()
        for action in plan.actions:
            await self._apply(ns, action)
        if not await self._write(deployment, plan):
            return Result(requeue_after=EXPECTATION_RETRY_SECONDS)
        return Result() if plan.satisfied and not plan.actions else Result(requeue_after=REQUEUE_SECONDS)

    async def _apply(self, ns: str, action: Any) -> None:
        if isinstance(action, CreateReplicaSet):
            body = thaw(action.body)
            try:
                created = await self.client.create(REPLICASETS, body, ns)
            except AlreadyExists:
                return
            self._expect[(ns, meta(created)["name"])] = (resource_version(created), self.clock.monotonic())
            log.info("created replica set", replicaset=meta(created)["name"], replicas=body["spec"]["replicas"])
        elif isinstance(action, ScaleReplicaSet):
            try:
                scaled = await self.client.patch(REPLICASETS, action.name, action.patch(), ns)
            except NotFound:
                return
            self._expect[(ns, action.name)] = (resource_version(scaled), self.clock.monotonic())
            log.info("scaled replica set", replicaset=action.name,
                     replicas=f"{action.from_replicas}->{action.to_replicas}")

    async def _write(self, deployment: Mapping[str, Any], plan: Any) -> bool:
        """The extra-status annotation, then the status, both conditional on the Deployment as read.

        kube-controller-manager keeps writing a paused Deployment's status too; an unconditional
        write computed from our (slightly older) cache made the status flap back and forth. With
        the resourceVersion precondition a stale write fails instead (False: the newer version's
        watch event brings a sync computed from fresher data)."""
        md = meta(deployment)
        rv = md.get("resourceVersion")
        status = thaw(plan.status)
        try:
            if plan.extra_status is not None:
                body = {"metadata": {"resourceVersion": rv,
                                     "annotations": {DEPLOYMENT_EXTRA_STATUS_ANNOTATION: plan.extra_status}}}
                written = await self.client.patch(DEPLOYMENTS, md["name"], body, md["namespace"])
                status["observedGeneration"] = observed_generation_after(deployment, written, status)
                rv = meta(written).get("resourceVersion", rv)
            if plan.collision:
                status["collisionCount"] = int(status.get("collisionCount") or 0) + 1
            patch = status_patch(deployment.get("status") or {}, status)
            if patch:
                await self.client.patch_status(DEPLOYMENTS, md["name"],
                                               {"metadata": {"resourceVersion": rv}, "status": patch}, md["namespace"])
        except Conflict:
            return False
        return True


#: ``DeploymentStatus`` counters: ``omitempty`` in Go, so kube-controller-manager stores a zero as no field.
_OMITEMPTY_COUNTERS = ("observedGeneration", "replicas", "updatedReplicas", "readyReplicas", "availableReplicas",
                       "unavailableReplicas")


def status_patch(stored: Mapping[str, Any], planned: Mapping[str, Any]) -> dict[str, Any]:
    """The merge patch from the stored Deployment status to ``planned``; ``{}`` when they agree.

    Why the zeros: kube-controller-manager keeps writing a paused Deployment's status and drops every
    zero counter (Go ``omitempty``). Compared field by field, our planned ``unavailableReplicas: 0``
    differed from its absent field on every sync, so each of our writes was undone by its next one and
    the two controllers traded status writes (and 409s) for as long as the release lasted (audit log of
    ``bench/scale.py``, 100 releases: our status writes 537 → 250 with this). An absent counter is 0 here. Fields the
    plan does not carry are never dropped: the native controller maintains them."""
    base = {**dict.fromkeys(_OMITEMPTY_COUNTERS, 0), **stored}
    patch = merge_patch(base, planned)
    return {k: v for k, v in patch.items() if v is not None}


def observed_generation_after(planned: Mapping[str, Any], written: Mapping[str, Any], status: Mapping[str, Any]) -> int:
    """The observedGeneration to report after our own extra-status annotation write.

    The API server bumps a Deployment's generation on *any* annotation change, so our own
    bookkeeping write would leave ``observedGeneration`` one behind and make every reader (the
    BatchRelease's "still reconciling" check) wait for another sync. When the written object's spec
    and strategy annotation are the ones we planned from, we have observed its new generation; if
    someone changed either in between, we keep the planned generation so that change is still seen
    as unobserved.
    """
    same_strategy = _strategy(written) == _strategy(planned)
    if same_strategy and workload.spec(written) == workload.spec(planned):
        return int(meta(written).get("generation", 0))
    return int(status.get("observedGeneration", 0))


def _strategy(deployment: Mapping[str, Any]) -> Any:
    return objmeta.annotations_of(deployment).get(DEPLOYMENT_STRATEGY_ANNOTATION)
