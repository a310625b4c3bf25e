"""apps/v1 ReplicaSets, kept as the API server's dicts: what the Deployment release reads beyond the
shared workload shape (:mod:`rollouts.objects.workload`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rollouts.objects.meta import annotations_of

Obj = Mapping[str, Any]
#: The Deployment controller's revision annotation on its ReplicaSets (a Kubernetes key, not ours).
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"


def revision(rs: Obj | None, default: int = -1) -> int:
    """``deployment.kubernetes.io/revision`` as an integer; ``default`` when absent or malformed."""
    try:
        return int(annotations_of(rs).get(REVISION_ANNOTATION, ""))
    except ValueError:
        return default


__all__ = ["REVISION_ANNOTATION", "revision"]
