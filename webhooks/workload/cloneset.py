"""``/mutate-apps-kruise-io-v1alpha1-cloneset`` (workload-webhook.md §3): freeze a CloneSet with
``updateStrategy.partition: "100%"`` when a release starts.

There is no separate "already in a release" branch: each new template change re-applies 100%, so a
continuous release pauses the CloneSet until the Rollout restarts the plan.
"""

from __future__ import annotations

from typing import Any

from rollouts.objects import workload
from webhooks.workload.partition import Obj, PartitionWebhook, has_traffic_routing, mark_in_progressing
from webhooks.workload.release import is_effective_release_change


class CloneSetHandler(PartitionWebhook):
    def mutate(self, rollout: Obj, old: Obj, new: Obj, mutated: dict[str, Any]) -> None:
        if workload.spec_replicas(new) == 0 or not is_effective_release_change(old, new):
            return
        status = workload.status(new)
        if has_traffic_routing(rollout) and status.get("replicas") != status.get("updatedReplicas"):
            return  # already running two versions: no canary traffic split possible
        mutated.setdefault("spec", {}).setdefault("updateStrategy", {})["partition"] = "100%"
        mark_in_progressing(mutated, rollout)
