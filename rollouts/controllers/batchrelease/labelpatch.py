"""Pod batch labelling (batch-release.md §5), planned as data and applied by the caller.

:func:`plan_labels` returns ``{pod name: labels to patch}``; pods are chosen exactly as upstream's
``labelpatch/patcher.go``: planned increments per batch, pods already labelled for a batch count
against it, the rest are filled from the last batch down.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rollouts.release.batch import planned_batch_replicas
from rollouts.release.template_hash import POD_TEMPLATE_HASH_LABEL

ROLLOUT_ID_LABEL = "rollouts.kruise.io/rollout-id"
BATCH_ID_LABEL = "rollouts.kruise.io/rollout-batch-id"
REVISION_HASH_LABEL = "controller-revision-hash"


def _on_revision(pod: Mapping[str, Any], update_revision: str) -> bool:
    labels = (pod.get("metadata") or {}).get("labels") or {}
    for key in (POD_TEMPLATE_HASH_LABEL, REVISION_HASH_LABEL):
        value = labels.get(key)
        if value and update_revision.endswith(value):
            return True
    return False


def plan_labels(
    pods: Sequence[Mapping[str, Any]],
    *,
    batches: Sequence[Any],
    current_batch: int,
    replicas: int,
    rollout_id: str,
    update_revision: str,
) -> dict[str, dict[str, str]]:
    """Labels to patch per pod name (empty when ``rollout_id`` is empty)."""
    if not rollout_id:
        return {}
    planned = [min(planned_batch_replicas(b, replicas), replicas) for b in batches[: current_batch + 1]]
    inc = [p - (planned[i - 1] if i else 0) for i, p in enumerate(planned)]
    to_patch: list[str] = []
    for pod in sorted(pods, key=lambda p: (p.get("metadata") or {}).get("name", "")):
        md = pod.get("metadata") or {}
        if md.get("deletionTimestamp") or not _on_revision(pod, update_revision):
            continue
        labels = md.get("labels") or {}
        if labels.get(ROLLOUT_ID_LABEL) != rollout_id:
            to_patch.append(md["name"])
            continue
        try:
            batch_id = int(labels.get(BATCH_ID_LABEL, ""))
        except ValueError:
            batch_id = 0
        if 1 <= batch_id <= len(batches):
            if batch_id - 1 < len(inc):
                inc[batch_id - 1] -= 1
        else:
            to_patch.append(md["name"])
    out: dict[str, dict[str, str]] = {}
    for i in range(len(inc) - 1, -1, -1):
        while inc[i] > 0 and to_patch:
            out[to_patch.pop()] = {ROLLOUT_ID_LABEL: rollout_id, BATCH_ID_LABEL: str(i + 1)}
            inc[i] -= 1
    return out
