"""apps/v1 ReplicaSets, kept as the API server's dicts: what the Deployment release reads beyond the
shared workload shape (:mod:`rollouts.objects.workload`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rollouts.objects.meta import annotations_of, is_controlled_by, is_deleting
from rollouts.objects.workload import spec_replicas

Obj = Mapping[str, Any]
#: The Deployment controller's revision annotation on its ReplicaSets (a Kubernetes key, not ours).
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"


def revision(rs: Obj | None, default: int = -1) -> int:
    """``deployment.kubernetes.io/revision`` as an integer; ``default`` when absent or malformed."""
    try:
        return int(annotations_of(rs).get(REVISION_ANNOTATION, ""))
    except ValueError:
        return default


def active_replica_sets(rss: Iterable[Obj], owner_uid: str) -> list[Obj]:
    """ReplicaSets controlled by ``owner_uid``, not deleting and not scaled to 0 (upstream's "active")."""
    return [rs for rs in rss if not is_deleting(rs) and spec_replicas(rs) != 0 and is_controlled_by(rs, owner_uid)]


__all__ = ["REVISION_ANNOTATION", "active_replica_sets", "revision"]
