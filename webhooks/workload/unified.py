"""``/mutate-unified-workload`` (workload-webhook.md §6): StatefulSet-like workloads.

Matches ``*/*/*`` for objects labelled ``rollouts.kruise.io/workload-type``; acts on StatefulSets of
any group (apps, apps.kruise.io) and on any kind labelled ``workload-type: statefulset``
(third-party StatefulSet-like CRDs). CloneSets, Advanced DaemonSets and Deployments have their own
paths and pass unchanged. A release freezes the workload with
``updateStrategy.rollingUpdate.partition: 32767``.
"""

from __future__ import annotations

from typing import Any

from rollouts.api import keys
from rollouts.objects import meta, workload
from webhooks.admission import AdmissionRequest
from webhooks.workload.partition import MAX_PARTITION, Obj, PartitionWebhook, mark_in_progressing
from webhooks.workload.release import is_effective_release_change

WORKLOAD_TYPE_LABEL = keys.WORKLOAD_TYPE_LABEL


def is_statefulset_like(obj: Obj) -> bool:
    return obj.get("kind") == "StatefulSet" or meta.labels(obj).get(WORKLOAD_TYPE_LABEL, "").lower() == "statefulset"


class UnifiedHandler(PartitionWebhook):
    def skip(self, request: AdmissionRequest) -> bool:
        group = (request.kind or {}).get("group", "")
        kind = (request.kind or {}).get("kind", "")
        if (group, kind) in (("apps.kruise.io", "CloneSet"), ("apps.kruise.io", "DaemonSet"), ("apps", "Deployment")):
            return True
        return not is_statefulset_like(request.object or {})

    def mutate(self, rollout: Obj, old: Obj, new: Obj, mutated: dict[str, Any]) -> None:
        if workload.spec_replicas(new) == 0 or workload.update_strategy(new).get("type") not in (None, "",
                                                                                                   "RollingUpdate"):
            return
        if not workload.template(old) or not workload.template(new):
            return
        if not is_effective_release_change(old, new):
            return
        strategy = mutated.setdefault("spec", {}).setdefault("updateStrategy", {})
        strategy.setdefault("type", "RollingUpdate")
        rolling = strategy.get("rollingUpdate")
        if not isinstance(rolling, dict):
            rolling = strategy["rollingUpdate"] = {}
        rolling["partition"] = MAX_PARTITION
        mark_in_progressing(mutated, rollout)
