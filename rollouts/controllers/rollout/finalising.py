"""Cleanup tasks of the Rollout controller (rollout-lifecycle.md §7.1, §8, §8.3), level-based.

Upstream walks a ``finalisingStep`` cursor through a task list. Without traffic routing the
canary/partition sequences reduce to "remove the in-progressing annotation, ResumeWorkload,
ReleaseWorkloadControl" for every reason, and each task's completion is visible in the cluster (the
BatchRelease's ``batchPartition``/phase, its existence), so we derive the current task from what we
observe instead of persisting a cursor: re-running any round is harmless and a restarted controller
resumes exactly where the cluster is. Traffic tasks (not supported yet) would need the cursor.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog

from rollouts.api.v1beta1.batchrelease import BatchRelease
from rollouts.controllers.common import BATCHRELEASES
from rollouts.controllers.rollout.workload import IN_PROGRESSING_ANNOTATION
from rollouts.controllers.workloads import resource_of
from rollouts.objects.meta import annotations_of
from rollouts.objects.meta import metadata as meta
from rollouts.rollout.model import as_batch_release
from runtime.kube.errors import NotFound
from runtime.kube.protocols import KubeApi

log = structlog.get_logger("rollouts.controllers.rollout")

WAIT_RESUME = "WaitResume"
IMMEDIATE = "Immediate"


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
    br: BatchRelease | Mapping[str, Any] | None, *, wait_ready: bool,
) -> bool:
    """One round of §8 for a canary/partition Rollout without traffic routing; True when done."""
    if not (rollout.get("status") or {}).get("canaryStatus"):
        return True
    await remove_in_progressing(client, deployment)
    return await resume_and_release(client, br, wait_ready=wait_ready)


async def reset_for_continuous_release(
    client: KubeApi, batch_release: BatchRelease | Mapping[str, Any] | None
) -> bool:
    """§8.3 without traffic routing: delete the BatchRelease and wait until it is gone."""
    br = as_batch_release(batch_release)
    if br is None:
        return True
    if not br.metadata.get("deletionTimestamp"):
        try:
            await client.delete(BATCHRELEASES, br.name, br.namespace)
        except NotFound:
            return True
    return False
