"""``/mutate-apps-v1-daemonset`` (workload-webhook.md §5): switch a native DaemonSet to ``OnDelete``
when a release starts, remembering its original update strategy type.

Deviation from upstream (spec §5 recommends it): the original type is saved only when the
annotation is absent, so a second template change during a release does not overwrite it with
``OnDelete`` and finalisation restores the real original.
"""

from __future__ import annotations

from typing import Any

from rollouts.api import keys
from webhooks.workload.partition import Obj, PartitionWebhook, mark_in_progressing
from webhooks.workload.release import is_effective_release_change

ORIGINAL_STRATEGY_ANNOTATION = keys.DAEMONSET_ORIGINAL_UPDATE_STRATEGY_ANNOTATION


class NativeDaemonSetHandler(PartitionWebhook):
    def mutate(self, rollout: Obj, old: Obj, new: Obj, mutated: dict[str, Any]) -> None:
        if not is_effective_release_change(old, new):
            return
        strategy = mutated.setdefault("spec", {}).setdefault("updateStrategy", {})
        anns = mutated.setdefault("metadata", {}).setdefault("annotations", {})
        if ORIGINAL_STRATEGY_ANNOTATION not in anns:
            anns[ORIGINAL_STRATEGY_ANNOTATION] = strategy.get("type") or "RollingUpdate"
        strategy["type"] = "OnDelete"
        mark_in_progressing(mutated, rollout)
