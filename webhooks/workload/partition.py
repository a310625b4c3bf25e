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

from rollouts.api import keys
from rollouts.api.decode import as_rollout
from webhooks.admission import AdmissionRequest, AdmissionResponse, allowed, patched
from webhooks.rollout_query import RolloutsByWorkload
from webhooks.workload.reads import ReleaseTarget, WorkloadReads

IN_PROGRESSING_ANNOTATION = keys.IN_PROGRESSING_ANNOTATION
#: Upstream's "freeze everything" partition for StatefulSets and Advanced DaemonSets.
MAX_PARTITION = 32767

Obj = Mapping[str, Any]


def mark_in_progressing(mutated: dict[str, Any], rollout: Obj) -> None:
    """``rollouts.kruise.io/in-progressing: {"rolloutName": ...}`` (what the Rollout controller waits for)."""
    value = json.dumps({"rolloutName": as_rollout(rollout).name}, separators=(",", ":"))
    mutated.setdefault("metadata", {}).setdefault("annotations", {})[IN_PROGRESSING_ANNOTATION] = value


class PartitionWebhook:
    """Base handler; subclasses implement :meth:`mutate` (return without changes for a no-op)."""

    def __init__(self, client: Any, api: Any = None, *, by_workload: RolloutsByWorkload | None = None) -> None:
        """``client`` may serve reads from caches; ``api`` (default ``client``) always asks the server."""
        self.reads = WorkloadReads(client, api, by_workload=by_workload)
        self.client = self.reads.api

    def skip(self, request: AdmissionRequest) -> bool:
        """UPDATE requests this path never handles (others never reach a handler's decision)."""
        return False

    def mutate(self, rollout: Obj, old: Obj, new: Obj, mutated: dict[str, Any]) -> None:
        raise NotImplementedError

    async def __call__(self, request: AdmissionRequest) -> AdmissionResponse:
        if request.operation == "UPDATE" and self.skip(request):
            return allowed()
        target = await self.reads.release_target(request)
        if not isinstance(target, ReleaseTarget):
            return target
        mutated = copy.deepcopy(target.obj)
        self.mutate(target.rollout, target.old, target.new, mutated)
        return patched(target.obj, mutated)



def has_traffic_routing(rollout: Obj) -> bool:
    canary = as_rollout(rollout).spec.strategy.canary
    return canary is not None and bool(canary.traffic_routings)
