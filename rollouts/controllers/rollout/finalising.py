"""Cleanup tasks of the Rollout controller (rollout-lifecycle.md §7.1, §8, §8.3), level-based.

Upstream walks a ``finalisingStep`` cursor through a task list. We derive the current task from
what we observe instead of persisting a cursor, because every task's completion is visible in the
cluster: the stable Service selector without the revision key (RestoreStableService), no
``<ingress>-canary`` (RouteTrafficToStable), no ``<svc>-canary`` (RemoveCanaryService), the
BatchRelease's ``batchPartition``/phase and then its absence (ResumeWorkload, ReleaseWorkloadControl).
Each round walks the sequence from its first task; a complete task is a cheap no-op (one GET) and
the walk stops at the first task that wrote something or waits for its grace period. So re-running
any round is harmless and a controller killed between two restore writes resumes exactly where the
cluster is (the in-memory grace store is lost with it; upstream accepts that too).

Orders (§8): success, delete and disable restore the stable Service first (old and new pods both
serve), then the gateway, then remove the canary Service, then hand the workload back; a rollback
moves traffic to stable before the workload is touched, then restores the Services. The
blue-green orders differ (§8): success first routes all traffic to the new pods, restores the stable
Service and hands the workload back (the old side is scaled away) before the gateway is restored; a
rollback is the canary rollback without deleting the BatchRelease before the Services. The
continuous-release reset (§8.3) restores the gateway, deletes the BatchRelease and the canary
Service, and keeps the stable Service pinned for the next release's first step.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs
import structlog

from rollouts.api.edit import is_empty
from rollouts.api.v1beta1.batchrelease import BatchRelease
from rollouts.controllers.common import BATCHRELEASES, traffic_routing_name
from rollouts.controllers.rollout.attach import detach
from rollouts.controllers.rollout.workload import IN_PROGRESSING_ANNOTATION
from rollouts.controllers.workloads import resource_of
from rollouts.objects.meta import annotations_of
from rollouts.objects.meta import metadata as meta
from rollouts.rollout.bluegreen import is_blue_green_dict
from rollouts.rollout.model import as_batch_release, as_status
from rollouts.trafficrouting.manager import RoutingContext, TrafficRoutingManager
from runtime.kube.errors import NotFound
from runtime.kube.protocols import KubeApi

log = structlog.get_logger("rollouts.controllers.rollout")

WAIT_RESUME = "WaitResume"
IMMEDIATE = "Immediate"
#: ``RunFinalising.reason`` of a quick rollback: traffic goes back to stable before the workload.
ROLLBACK = "Rollback"
#: ``RunFinalising.reason`` of a completed release.
SUCCESS = "Success"


@attrs.frozen
class TrafficTasks:
    """The traffic tasks of §8 for one Rollout, each ``() -> complete?``; no manager → nothing to do."""

    manager: TrafficRoutingManager | None = None
    ctx: RoutingContext | None = None

    async def restore_stable_service(self) -> bool:
        """RestoreStableService: the revision key removed from the stable selector (grace after a change)."""
        if self.manager is None or self.ctx is None:
            return True
        return (await self.manager.restore_stable_service(self.ctx)).done

    async def restore_gateway(self) -> bool:
        """FinalisingStepRouteTrafficToStable: the canary Ingress gone (grace after the delete)."""
        if self.manager is None or self.ctx is None:
            return True
        return (await self.manager.restore_gateway(self.ctx)).done

    async def route_all_to_new(self) -> bool:
        """FinalisingStepRouteTrafficToNew (blue-green success): 100% to the new pods, no matches."""
        if self.manager is None or self.ctx is None:
            return True
        ctx = attrs.evolve(self.ctx, traffic="100%", matches=[], header_modifier=None)
        return (await self.manager.route_all_traffic_to_new(ctx)).done

    async def remove_canary_service(self, *, ignore_grace: bool = False) -> bool:
        """RemoveCanaryService: ``<svc>-canary`` gone; ``ignore_grace`` (§8.3): done once deleted."""
        if self.manager is None or self.ctx is None:
            return True
        done = (await self.manager.remove_canary_service(self.ctx)).done
        return done or ignore_grace


NO_TRAFFIC = TrafficTasks()


async def remove_in_progressing(client: KubeApi, deployment: Mapping[str, Any] | None) -> None:
    """§7.1: drop ``rollouts.kruise.io/in-progressing`` from the workload (only if present)."""
    if deployment is None or IN_PROGRESSING_ANNOTATION not in annotations_of(deployment):
        return
    md = meta(deployment)
    try:
        await client.patch(resource_of(deployment), md["name"],
                           {"metadata": {"annotations": {IN_PROGRESSING_ANNOTATION: None}}},
                           md.get("namespace"))
    except NotFound:
        pass


async def resume_and_release(
    client: KubeApi, batch_release: BatchRelease | Mapping[str, Any] | None, *, wait_ready: bool
) -> bool:
    """ResumeWorkload then ReleaseWorkloadControl (§7.1); True once the BatchRelease is gone."""
    br = as_batch_release(batch_release)
    if br is None:
        return True
    if br.metadata.get("deletionTimestamp"):
        return False
    plan = br.spec.release_plan
    phase = br.status.phase if br.status is not None else ""
    policy = WAIT_RESUME if wait_ready else IMMEDIATE
    try:
        if plan.batch_partition is None and phase == "Completed":
            await client.delete(BATCHRELEASES, br.name, br.namespace)
            log.info("batch release completed, deleting it", batchrelease=br.name)
        elif plan.batch_partition is not None or plan.finalizing_policy != policy:
            body = {"spec": {"releasePlan": {"batchPartition": None, "finalizingPolicy": policy}}}
            await client.patch(BATCHRELEASES, br.name, body, br.namespace)
    except NotFound:
        return True
    return False


async def run_finalising(
    client: KubeApi, rollout: Mapping[str, Any], deployment: Mapping[str, Any] | None,
    br: BatchRelease | Mapping[str, Any] | None, *, wait_ready: bool, reason: str = "",
    traffic: TrafficTasks = NO_TRAFFIC,
) -> bool:
    """One round of §8 for a canary/partition Rollout; True when every task is complete.

    First (§8 step 1, every round, even before anything was started) the Rollout detaches from the
    TrafficRouting it names, whose controller then restores that gateway (``attach.py``).
    """
    if tr_name := traffic_routing_name(rollout):
        md = meta(rollout)
        await detach(client, md.get("namespace", ""), tr_name, md.get("name", ""))
    if is_empty(as_status(rollout).canary_status):
        return True
    await remove_in_progressing(client, deployment)

    async def workload() -> bool:
        return await resume_and_release(client, br, wait_ready=wait_ready)

    tasks: tuple[Callable[[], Awaitable[bool]], ...]
    blue_green = is_blue_green_dict(rollout)
    if blue_green and reason == SUCCESS:
        # Level-based walk: once the workload is being handed back (batchPartition null, or the
        # BatchRelease gone) "all traffic to new" is complete; re-running it would re-create the
        # canary Ingress that RouteTrafficToStable deletes after it.
        plan = br_model.spec.release_plan if (br_model := as_batch_release(br)) is not None else None
        first = (traffic.route_all_to_new,) if plan is not None and plan.batch_partition is not None else ()
        tasks = (*first, traffic.restore_stable_service, workload, traffic.restore_gateway,
                 traffic.remove_canary_service)
    elif blue_green and reason == ROLLBACK:
        tasks = (traffic.restore_gateway, workload, traffic.restore_stable_service, traffic.remove_canary_service)
    elif reason == ROLLBACK:
        tasks = (traffic.restore_gateway, workload, traffic.restore_stable_service, traffic.remove_canary_service)
    else:
        tasks = (traffic.restore_stable_service, traffic.restore_gateway, traffic.remove_canary_service, workload)
    for task in tasks:
        if not await task():
            return False
    return True


async def reset_for_continuous_release(
    client: KubeApi, batch_release: BatchRelease | Mapping[str, Any] | None, traffic: TrafficTasks = NO_TRAFFIC,
) -> bool:
    """§8.3: restore the gateway, delete the BatchRelease and wait until it is gone, delete the canary
    Service (its grace ignored); the stable Service stays pinned to the stable revision."""
    if not await traffic.restore_gateway():
        return False
    br = as_batch_release(batch_release)
    if br is not None:
        if not br.metadata.get("deletionTimestamp"):
            try:
                await client.delete(BATCHRELEASES, br.name, br.namespace)
            except NotFound:
                return await traffic.remove_canary_service(ignore_grace=True)
        return False
    return await traffic.remove_canary_service(ignore_grace=True)
