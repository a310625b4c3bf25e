"""Pod batch labelling (batch-release.md §5, upstream labelpatch/patcher.go).

Why: pods released in batch k carry ``rollouts.kruise.io/rollout-id`` and
``rollouts.kruise.io/rollout-batch-id: "k"`` so that readiness can require "at least planned pods
of *this* release" (§3.3 step 4) and so users/traffic rules can select pods by batch. The counts
per batch come from the plan, not from which pods happen to be new, so re-running the labeller is
idempotent: already-correct pods are counted, only the missing number is patched.

Pure: takes pod dicts (already listed and owned by the workload) and returns label patches.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from rollouts.api import keys
from rollouts.api.intstr import IntOrStrLike
from rollouts.objects import meta, workload
from rollouts.objects import pod as pod_objects
from rollouts.release.batch import planned_batch_replicas
from rollouts.release.readiness import ROLLOUT_ID_LABEL, is_terminating
from rollouts.release.template_hash import POD_TEMPLATE_HASH_LABEL, compute_template_hash, strip_hash_label

BATCH_ID_LABEL = keys.ROLLOUT_BATCH_ID_LABEL
CONTROLLER_REVISION_HASH_LABEL = keys.CONTROLLER_REVISION_HASH_LABEL


@attrs.frozen
class PodLabelPatch:
    """Strategic-merge-patch these labels onto pod ``pod_name``."""

    pod_name: str
    labels: Mapping[str, str]

    def patch(self) -> dict[str, Any]:
        return {"metadata": {"labels": dict(self.labels)}}


def batch_increments(batches: Sequence[IntOrStrLike | None], current_batch: int, replicas: int) -> list[int]:
    """Pods to label per batch: ``planned(i) − planned(i−1)`` up to the current batch, 0 after."""
    inc = [0] * len(batches)
    previous = 0
    for i in range(min(current_batch + 1, len(batches))):
        planned = planned_batch_replicas(batches[i], replicas)
        inc[i] = planned - previous
        previous = planned
    return inc


def replica_set_revision_hash(replica_set: Mapping[str, Any], deployment: Mapping[str, Any] | None) -> str:
    """The ``controller-revision-hash`` a pod of this ReplicaSet should get.

    Same function as the Deployment update revision; the RS template loses its
    ``pod-template-hash`` label first unless the Deployment's own template carries that label.
    """
    template = workload.template(replica_set)
    if not workload.template_labels(deployment).get(POD_TEMPLATE_HASH_LABEL):
        template = strip_hash_label(template)
    return compute_template_hash(template)


def _labels(pod: Mapping[str, Any]) -> Mapping[str, str]:
    return pod_objects.labels(pod)


def _owner_rs(pod: Mapping[str, Any]) -> str | None:
    for ref in meta.owner_references(pod):
        if ref.get("controller") and ref.get("kind") == "ReplicaSet":
            return ref.get("name")
    return None


def on_revision(labels: Mapping[str, str], update_revision: str) -> bool:
    """``pod-template-hash`` or ``controller-revision-hash`` is a (non-empty) suffix of the revision."""
    for key in (POD_TEMPLATE_HASH_LABEL, CONTROLLER_REVISION_HASH_LABEL):
        value = labels.get(key)
        if value and update_revision.endswith(value):
            return True
    return False


def plan_batch_labels(
    *,
    pods: Sequence[Mapping[str, Any]] | None,
    batches: Sequence[IntOrStrLike | None],
    current_batch: int,
    replicas: int,
    rollout_id: str,
    update_revision: str,
    rs_revision_hashes: Mapping[str, str] | None = None,
) -> list[PodLabelPatch]:
    """Label patches for the current batch (see module docstring).

    ``rs_revision_hashes`` maps ReplicaSet name → :func:`replica_set_revision_hash`, used for pods
    without ``controller-revision-hash`` (Deployment pods). Returns ``[]`` without a rollout-id or
    when pods were not listed (``None``), as upstream does.
    """
    if not rollout_id or pods is None:
        return []
    inc = batch_increments(batches, current_batch, replicas)
    computed: dict[str, str] = {}
    to_patch: list[str] = []
    for pod in pods:
        if is_terminating(pod):
            continue
        name = pod_objects.name(pod)
        labels = dict(_labels(pod))
        rs = _owner_rs(pod)
        if CONTROLLER_REVISION_HASH_LABEL not in labels and rs and rs_revision_hashes and rs in rs_revision_hashes:
            computed[name] = rs_revision_hashes[rs]
            labels[CONTROLLER_REVISION_HASH_LABEL] = computed[name]
        if not on_revision(labels, update_revision):
            continue
        if labels.get(ROLLOUT_ID_LABEL) != rollout_id:
            to_patch.append(name)
            continue
        try:
            batch_id = int(labels.get(BATCH_ID_LABEL, ""))
        except ValueError:
            batch_id = 0
        if 1 <= batch_id <= len(batches):
            inc[batch_id - 1] -= 1
        else:
            to_patch.append(name)
    patches: list[PodLabelPatch] = []
    patched: set[str] = set()
    for i in range(len(batches) - 1, -1, -1):
        while inc[i] > 0 and to_patch:
            name = to_patch.pop()
            labels = {ROLLOUT_ID_LABEL: rollout_id, BATCH_ID_LABEL: str(i + 1)}
            if name in computed:
                labels[CONTROLLER_REVISION_HASH_LABEL] = computed[name]
            patches.append(PodLabelPatch(name, labels))
            patched.add(name)
            inc[i] -= 1
    for name, value in computed.items():
        if name not in patched:
            patches.append(PodLabelPatch(name, {CONTROLLER_REVISION_HASH_LABEL: value}))
    return patches
