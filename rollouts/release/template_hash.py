"""Pod-template hash (rollout-lifecycle.md §3.2) and template equality ignoring it.

Upstream reports a Deployment's ``canaryRevision`` (blue-green ``updatedRevision``, BatchRelease
``updateRevision``), names the ReplicaSets of its advanced Deployment controller
``<deployment>-<hash>`` and computes pods' ``controller-revision-hash`` with Kubernetes'
``ComputeHash``: FNV-32a over a go-spew dump of the Go ``PodTemplateSpec`` (plus the collision
count), printed in decimal and mapped through ``SafeEncodeString``. :mod:`rollouts.release.podhash`
reproduces it bit-for-bit for the k8s.io/api version upstream is built with (see docs/release.md,
"Revision hash compatibility"), so a controller swap mid-release keeps the same revisions.

The ``pod-template-hash`` label on ReplicaSets the *native* controller created is computed by the
cluster's kube-controller-manager with its own k8s.io/api types, so it equals this value only where
those types print the same (as with upstream). Where a value must match existing pods, the
reconciler reads that label of the ReplicaSet whose template equals the Deployment's
(``podTemplateHash``), never this function.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from rollouts.api import keys
from rollouts.release.podhash import SAFE_ALPHABET, compute_hash, safe_encode_string

__all__ = ["POD_TEMPLATE_HASH_LABEL", "SAFE_ALPHABET", "compute_template_hash", "equal_ignore_hash",
           "safe_encode_string", "strip_hash_label"]

POD_TEMPLATE_HASH_LABEL = keys.POD_TEMPLATE_HASH_LABEL


def strip_hash_label(template: Mapping[str, Any]) -> dict[str, Any]:
    """Deep copy of a pod template without the ``pod-template-hash`` label (ReplicaSet → Deployment form)."""
    out = copy.deepcopy(dict(template))
    labels = (out.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(POD_TEMPLATE_HASH_LABEL, None)
    return out


def compute_template_hash(template: Mapping[str, Any], collision_count: int | None = None) -> str:
    """Kubernetes ``ComputeHash(template, collisionCount)`` of a JSON pod template (see module doc).

    A template the API server would refuse (a malformed quantity or timestamp) raises
    ``rollouts.release.podhash.DecodeError`` naming the field; upstream never sees such an object.
    """
    return compute_hash(template, collision_count)


def equal_ignore_hash(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    """``EqualIgnoreHash``: templates equal once the ``pod-template-hash`` label is removed."""
    return strip_hash_label(a or {}) == strip_hash_label(b or {})
