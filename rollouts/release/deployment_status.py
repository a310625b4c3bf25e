"""Deployment status as the Kubernetes Deployment controller computes it (``calculateStatus``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from rollouts.objects import meta
from rollouts.release.deployment_rs import ReplicaSetView, spec_replicas


def calculate_status(
    deployment: Mapping[str, Any],
    rss: list[ReplicaSetView],
    new_rs: ReplicaSetView | None,
    max_unavailable: int,
    now: datetime,
) -> dict[str, Any]:
    """Kubernetes ``calculateStatus`` from ReplicaSet statuses (scaling does not change them)."""
    replicas = spec_replicas(deployment)
    old_status = deployment.get("status") or {}
    available = sum(rs.available for rs in rss)
    status: dict[str, Any] = {
        "observedGeneration": meta.generation(deployment),
        "replicas": sum(rs.status_replicas for rs in rss),
        "updatedReplicas": new_rs.status_replicas if new_rs else 0,
        "readyReplicas": sum(rs.ready for rs in rss),
        "availableReplicas": available,
        "unavailableReplicas": max(0, replicas - available),
    }
    if old_status.get("collisionCount") is not None:
        status["collisionCount"] = old_status["collisionCount"]
    unavailable = 0 if replicas == 0 else max_unavailable
    if available >= replicas - unavailable:
        cond = ("True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
    else:
        cond = ("False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
    status["conditions"] = _set_condition(list(old_status.get("conditions") or []), "Available", *cond, now=now)
    return status


def _set_condition(
    conditions: list[dict[str, Any]], ctype: str, status: str, reason: str, message: str, *, now: datetime
) -> list[dict[str, Any]]:
    """``SetDeploymentCondition``: no-op on same status+reason; keep transition time on same status."""
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    current = next((c for c in conditions if c.get("type") == ctype), None)
    if current is not None and current.get("status") == status and current.get("reason") == reason:
        return conditions
    new = {
        "type": ctype,
        "status": status,
        "lastUpdateTime": stamp,
        "lastTransitionTime": stamp,
        "reason": reason,
        "message": message,
    }
    if current is not None and current.get("status") == status:
        new["lastTransitionTime"] = current.get("lastTransitionTime", stamp)
    return [c for c in conditions if c.get("type") != ctype] + [new]
