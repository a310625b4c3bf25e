"""``/mutate-apps-v1-deployment`` (workload-webhook.md §2): freeze a Deployment when a release starts.

The handler edits a deep copy of the incoming Deployment and answers with the JSON patch of the
difference (``webhooks.admission.patched``). The configuration and the Rollout come through
:class:`webhooks.workload.reads.WorkloadReads` (informer caches, a miss confirmed on the API server);
the ReplicaSets that decide the stable revision are listed on the API server, once per release.

Like upstream, the handler first re-checks that the request matches a rule and objectSelector of the
live mutating configuration (§1 ``checkWorkloadRules``); if not, it allows without changes; if the
configuration cannot be read, it answers 400.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import structlog

from rollouts.api import keys
from rollouts.api.decode import as_rollout
from rollouts.objects import deployment as deploy
from rollouts.objects import meta, replicaset, workload
from rollouts.release.deployment_strategy import deployment_strategy, webhook_partition_patch
from rollouts.release.template_hash import POD_TEMPLATE_HASH_LABEL, equal_ignore_hash
from runtime.kube.errors import ApiError
from runtime.kube.resources import REPLICASETS
from runtime.labels import to_query
from webhooks.admission import AdmissionRequest, AdmissionResponse, errored, patched
from webhooks.rollout_query import RolloutsByWorkload
from webhooks.workload.reads import ReleaseTarget, WorkloadReads
from webhooks.workload.release import apply_merge_patch, is_effective_release_change

IN_PROGRESSING_ANNOTATION = keys.IN_PROGRESSING_ANNOTATION
STABLE_REVISION_LABEL = keys.STABLE_REVISION_LABEL
ORIGINAL_STRATEGY_ANNOTATION = keys.ORIGINAL_DEPLOYMENT_STRATEGY_ANNOTATION
REVISION_ANNOTATION = replicaset.REVISION_ANNOTATION

log = structlog.get_logger("webhooks.workload.deployment")


class DeploymentHandler:
    """Mutating handler for Deployments; ``client`` needs ``list(resource, namespace)``."""

    def __init__(self, client: Any, api: Any = None, *, by_workload: RolloutsByWorkload | None = None) -> None:
        """``client`` may serve reads from caches; ``api`` (default ``client``) always asks the server."""
        self.reads = WorkloadReads(client, api, by_workload=by_workload)
        self.client = self.reads.api

    async def __call__(self, request: AdmissionRequest) -> AdmissionResponse:
        target = await self.reads.release_target(request, api_version="apps/v1", kind="Deployment")
        if not isinstance(target, ReleaseTarget):
            return target
        mutated = copy.deepcopy(target.obj)
        try:
            await self._mutate(target.rollout, target.old, target.new, mutated)
        except ApiError as e:
            return errored(400, e)
        return patched(target.obj, mutated)

    async def _mutate(self, rollout: Mapping[str, Any], old: Mapping[str, Any], new: Mapping[str, Any],
                      mutated: dict[str, Any]) -> None:
        if meta.annotations_of(new).get(IN_PROGRESSING_ANNOTATION) is not None:
            in_release(old, new, mutated)
            return
        await self._start_release(rollout, old, new, mutated)

    async def _start_release(self, rollout: Mapping[str, Any], old: Mapping[str, Any], new: Mapping[str, Any],
                             mutated: dict[str, Any]) -> None:
        """§2.2: freeze the Deployment, remember the stable revision, mark it in progress."""
        if workload.spec_replicas(new) == 0 or not is_effective_release_change(old, new):
            return
        # Only this Deployment's ReplicaSets, selected on the server: the namespace's whole list was
        # ~100 MB at 10,000 Deployments in one namespace, per admission (bench/RESULTS.md "Scale",
        # the burst: 100 releases at once took the manager to 6.5 GB). The owner check below still
        # decides; a selector that matches another Deployment's ReplicaSets is only filtered out.
        query = to_query(workload.selector(new) or {})
        rss = (await self.client.list(REPLICASETS, meta.namespace(new) or None,
                                      label_selector=query or None)).get("items") or []
        active = replicaset.active_replica_sets(rss, meta.uid(new))
        if not active:
            log.info("no activate replicaset", deployment=meta.name(new))
            return
        ro = as_rollout(rollout)
        if ro.spec.strategy.traffic_routings() and len(active) > 1:  # canary or blue-green
            return
        stable = stable_replica_set(active, workload.template(new))
        if stable is not None:
            stable_hash = meta.labels(stable).get(POD_TEMPLATE_HASH_LABEL, "")
            mutated["metadata"].setdefault("labels", {})[STABLE_REVISION_LABEL] = stable_hash
        else:
            log.info("no stable replicaset found", deployment=meta.name(new))
        mutated["spec"]["paused"] = True
        mutated["metadata"].setdefault("annotations", {})[IN_PROGRESSING_ANNOTATION] = json.dumps(
            {"rolloutName": ro.name}, separators=(",", ":"))


def in_release(old: Mapping[str, Any], new: Mapping[str, Any], mutated: dict[str, Any]) -> None:
    """§2.1: a Deployment already in a release stays frozen (partition / blue-green / canary)."""
    partition = webhook_partition_patch(new, release_changed=is_effective_release_change(old, new))
    anns = meta.annotations_of(new)
    strategy = deployment_strategy(new)
    if strategy is not None and strategy.rolling_style.lower() == "partition":
        if partition:
            apply_merge_patch(mutated, partition)
        return
    spec = mutated.setdefault("spec", {})
    if anns.get(ORIGINAL_STRATEGY_ANNOTATION):
        if is_effective_release_change(old, new):
            spec["paused"] = True
        if deploy.strategy_type(mutated) != "RollingUpdate":
            spec.setdefault("strategy", {})["type"] = deploy.strategy_type(old)
        return
    spec["paused"] = True
    if deploy.strategy_type(mutated) == "Recreate":
        spec["strategy"] = copy.deepcopy(workload.spec(old).get("strategy"))


def _revision_key(rs: Mapping[str, Any]) -> tuple[int, str]:
    revision = replicaset.revision(rs)
    created = meta.creation_timestamp(rs)
    try:
        created = datetime.fromisoformat(created.replace("Z", "+00:00")).isoformat()
    except ValueError:
        pass
    return revision, created


def stable_replica_set(active: list[Mapping[str, Any]], template: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """§2.2 step 5: by revision ascending, the first RS whose template differs from the new one."""
    for rs in sorted(active, key=_revision_key):
        if workload.spec_replicas(rs) > 0 and not equal_ignore_hash(workload.template(rs), template):
            return rs
    return None
