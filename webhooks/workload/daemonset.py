"""``/mutate-apps-kruise-io-v1alpha1-daemonset`` (workload-webhook.md §4): freeze an Advanced
DaemonSet with ``updateStrategy.rollingUpdate.partition: 32767`` when a release starts.

No replicas check (a DaemonSet's size is its node count). Upstream assumes ``rollingUpdate`` is
present (Kruise defaults it); we create it when missing rather than fail.
"""

from __future__ import annotations

from typing import Any

from webhooks.workload.partition import MAX_PARTITION, Obj, PartitionWebhook, mark_in_progressing
from webhooks.workload.release import is_effective_release_change


class AdvancedDaemonSetHandler(PartitionWebhook):
    def mutate(self, rollout: Obj, old: Obj, new: Obj, mutated: dict[str, Any]) -> None:
        if not is_effective_release_change(old, new):
            return
        strategy = mutated.setdefault("spec", {}).setdefault("updateStrategy", {})
        strategy.setdefault("rollingUpdate", {})["partition"] = MAX_PARTITION
        mark_in_progressing(mutated, rollout)
