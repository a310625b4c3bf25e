"""Shared flow of the partition-kind workload webhooks (workload-webhook.md §1, §3–§7).

Every kind handler does the same thing around a small kind-specific ``mutate``: act only on
UPDATE without a subresource, copy a missing uid from the old object, find the matching Rollout
(§1.1, through :class:`webhooks.workload.reads.WorkloadReads`: cached, a miss confirmed on the server), apply the kind's
no-op rules and freeze, then answer with the JSON patch of the difference.

Like the Deployment path, every request is first re-checked against the rules and objectSelector of
the live mutating configuration (§1 ``checkWorkloadRules``; it matters for the unified ``*`` webhook):
no match → allowed unchanged; configuration unreadable → 400.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from runtime.kube.errors import ApiError
from webhooks.admission import AdmissionRequest, AdmissionResponse, allowed, errored, patched
from webhooks.workload.reads import WorkloadReads

IN_PROGRESSING_ANNOTATION = "rollouts.kruise.io/in-progressing"
#: Upstream's "freeze everything" partition for StatefulSets and Advanced DaemonSets.
MAX_PARTITION = 32767

Obj = Mapping[str, Any]


def mark_in_progressing(mutated: dict[str, Any], rollout: Obj) -> None:
    """``rollouts.kruise.io/in-progressing: {"rolloutName": ...}`` (what the Rollout controller waits for)."""
    value = json.dumps({"rolloutName": (rollout.get("metadata") or {}).get("name", "")}, separators=(",", ":"))
    mutated.setdefault("metadata", {}).setdefault("annotations", {})[IN_PROGRESSING_ANNOTATION] = value


class PartitionWebhook:
    """Base handler; subclasses implement :meth:`mutate` (return without changes for a no-op)."""

    def __init__(self, client: Any, api: Any = None) -> None:
        """``client`` may serve reads from caches; ``api`` (default ``client``) always asks the server."""
        self.reads = WorkloadReads(client, api)
        self.client = self.reads.api

    def skip(self, request: AdmissionRequest) -> bool:
        """Requests this path never handles (beyond non-UPDATE/subresource)."""
        return False

    def mutate(self, rollout: Obj, old: Obj, new: Obj, mutated: dict[str, Any]) -> None:
        raise NotImplementedError

    async def __call__(self, request: AdmissionRequest) -> AdmissionResponse:
        if request.operation != "UPDATE" or request.sub_resource or not request.object or not request.old_object:
            return allowed()
        if self.skip(request):
            return allowed()
        new, old = request.object, request.old_object
        if not (new.get("metadata") or {}).get("uid"):
            new = copy.deepcopy(new)
            new["metadata"]["uid"] = (old.get("metadata") or {}).get("uid")
        namespace = request.namespace or (new.get("metadata") or {}).get("namespace", "")
        name = (new.get("metadata") or {}).get("name", "")
        try:
            if not await self.reads.matches_live_configuration(request, new):
                return allowed()
            rollout = await self.reads.rollout_for(namespace, str(new.get("apiVersion", "")),
                                                   str(new.get("kind", "")), name)
        except ApiError as e:
            return errored(400, e)
        if rollout is None:
            return allowed()
        mutated = copy.deepcopy(request.object)
        self.mutate(rollout, old, new, mutated)
        return patched(request.object, mutated)



def has_traffic_routing(rollout: Obj) -> bool:
    canary = (((rollout.get("spec") or {}).get("strategy") or {}).get("canary")) or {}
    return bool(canary.get("trafficRoutings"))
