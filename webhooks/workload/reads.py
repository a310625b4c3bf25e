"""What every workload handler reads before deciding: the live mutating configuration and the Rollout.

The manager hands the handlers a cached reader (``runtime.cache.reader.CachedReader`` over its
informers) plus the plain client. Why both: the webhooks answer every update of a watched workload,
including our own controllers' bookkeeping writes, and two API round trips per answer sat on the
critical path of every batch. A cache can lag, though, and "no Rollout" must never be concluded
from a lagging cache — a GitOps sync applies a new Rollout and its workload's new template at the
same moment, and missing the Rollout would let the workload roll natively. So a cache miss is
confirmed against the API server; a hit (the common case) costs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runtime.kube.resources import MUTATING_WEBHOOK_CONFIGURATIONS, Resource
from webhooks.admission import AdmissionRequest
from webhooks.configs import MUTATING_CONFIGURATION_NAME
from webhooks.workload.release import matched_rollout, request_matches_configuration

ROLLOUTS = Resource("rollouts.kruise.io", "v1beta1", "rollouts", "Rollout")

Obj = Mapping[str, Any]


class WorkloadReads:
    """``reads``: may serve from caches; ``api``: always asks the API server (default: ``reads``)."""

    def __init__(self, reads: Any, api: Any = None) -> None:
        self.reads = reads
        self.api = api if api is not None else reads

    async def matches_live_configuration(self, request: AdmissionRequest, new: Obj) -> bool:
        """§1 ``checkWorkloadRules``: the request matches a rule and objectSelector of our configuration."""
        configuration = await self.reads.get(MUTATING_WEBHOOK_CONFIGURATIONS, MUTATING_CONFIGURATION_NAME)
        res = request.resource or {}
        return request_matches_configuration(
            configuration, group=res.get("group", ""), version=res.get("version", ""),
            resource=res.get("resource", ""), operation=request.operation,
            labels=(new.get("metadata") or {}).get("labels") or {})

    async def rollout_for(self, namespace: str, api_version: str, kind: str, name: str) -> Obj | None:
        """§1.1 ``fetchMatchedRollout``; a miss in a cache is confirmed on the API server."""
        items = (await self.reads.list(ROLLOUTS, namespace)).get("items") or []
        found = matched_rollout(items, api_version, kind, name)
        if found is None and self.api is not self.reads:
            items = (await self.api.list(ROLLOUTS, namespace)).get("items") or []
            found = matched_rollout(items, api_version, kind, name)
        return found
