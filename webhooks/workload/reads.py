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

import copy
from collections.abc import Mapping
from typing import Any

import attrs

from rollouts.objects import meta
from rollouts.objects.workloadref import WORKLOAD_REF_INDEX, workload_index_value
from runtime.kube.errors import ApiError
from runtime.kube.resources import MUTATING_WEBHOOK_CONFIGURATIONS
from webhooks.admission import AdmissionRequest, AdmissionResponse, allowed, errored
from webhooks.configs import MUTATING_CONFIGURATION_NAME
from webhooks.rollout_query import ROLLOUTS, RolloutsByWorkload
from webhooks.workload.release import matched_rollout, request_matches_configuration

Obj = Mapping[str, Any]


@attrs.frozen
class ReleaseTarget:
    """An intercepted workload update with the Rollout that references the workload."""

    rollout: Obj
    old: Obj
    #: The new object as the handlers read it (uid filled in from ``old`` when missing).
    new: Obj
    #: The request's object as sent: what the answer's JSON patch is computed against.
    obj: dict[str, Any]


class WorkloadReads:
    """``reads``: may serve from caches; ``api``: always asks the API server (default: ``reads``)."""

    def __init__(self, reads: Any, api: Any = None, *, by_workload: RolloutsByWorkload | None = None) -> None:
        """``by_workload``: one shared by every workload handler (its fallback state is per API server)."""
        self.reads = reads
        self.api = api if api is not None else reads
        self.by_workload = by_workload if by_workload is not None else RolloutsByWorkload(self.api)

    async def matches_live_configuration(self, request: AdmissionRequest, new: Obj) -> bool:
        """§1 ``checkWorkloadRules``: the request matches a rule and objectSelector of our configuration."""
        configuration = await self.reads.get(MUTATING_WEBHOOK_CONFIGURATIONS, MUTATING_CONFIGURATION_NAME)
        res = request.resource or {}
        return request_matches_configuration(
            configuration, group=res.get("group", ""), version=res.get("version", ""),
            resource=res.get("resource", ""), operation=request.operation,
            labels=meta.labels(new))

    async def rollout_for(self, namespace: str, api_version: str, kind: str, name: str) -> Obj | None:
        """§1.1 ``fetchMatchedRollout``; a miss in a cache is confirmed on the API server.

        From a cache with the ``workload-ref`` index, only the Rollouts targeting this workload are
        read (in the same name order as a list, so "the first match" is the same Rollout): the scan
        decoded every Rollout of the namespace on every update of a watched workload."""
        by_index = getattr(self.reads, "by_index", None)  # a CachedReader; a plain client has none
        items = by_index(ROLLOUTS, WORKLOAD_REF_INDEX, workload_index_value(namespace, api_version, kind, name)) \
            if by_index is not None else None
        if items is None:
            items = (await self.reads.list(ROLLOUTS, namespace)).get("items") or []
        found = matched_rollout(items, api_version, kind, name)
        if found is None and self.api is not self.reads:
            # The confirmation every update of a workload without a Rollout pays: filtered on the server.
            found = matched_rollout(await self.by_workload.list(namespace, name), api_version, kind, name)
        return found

    async def release_target(
        self, request: AdmissionRequest, *, api_version: str = "", kind: str = ""
    ) -> ReleaseTarget | AdmissionResponse:
        """The start every workload handler shares: the :class:`ReleaseTarget`, or the answer now.

        Only UPDATEs without a subresource are handled; ``new`` gets the old object's uid when it
        lacks one; a request outside our live configuration, or a workload no Rollout references,
        is allowed unchanged; a failing read is a 400. ``api_version``/``kind`` default to the
        object's own.
        """
        if request.operation != "UPDATE" or request.sub_resource or not request.object or not request.old_object:
            return allowed()
        new, old = request.object, request.old_object
        if not meta.uid(new):
            new = copy.deepcopy(new)
            new["metadata"]["uid"] = meta.metadata(old).get("uid")
        try:
            if not await self.matches_live_configuration(request, new):
                return allowed()
            rollout = await self.rollout_for(request.namespace or meta.namespace(new),
                                             api_version or str(new.get("apiVersion", "")),
                                             kind or str(new.get("kind", "")), meta.name(new))
        except ApiError as e:
            return errored(400, e)
        return allowed() if rollout is None else ReleaseTarget(rollout, old, new, request.object)
