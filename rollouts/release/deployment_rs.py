"""Working types shared by the advanced Deployment planner modules.

``ReplicaSetView`` is a mutable working copy of a ReplicaSet dict (``replicas`` changes as actions
are planned, so later steps of the same sync see earlier decisions, exactly like the Go controller
that re-uses the updated objects). ``SyncContext`` gathers every input of one sync and accumulates
the actions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from rollouts.api.intstr import IntOrStrLike, scaled_value
from rollouts.objects import workload
from rollouts.release.deployment_strategy import DeploymentStrategy

REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
DESIRED_REPLICAS_ANNOTATION = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS_ANNOTATION = "deployment.kubernetes.io/max-replicas"
#: Deployment annotations Kubernetes never copies onto its ReplicaSets.
ANNOTATIONS_NOT_COPIED = frozenset(
    {
        "kubectl.kubernetes.io/last-applied-configuration",
        REVISION_ANNOTATION,
        "deployment.kubernetes.io/revision-history",
        DESIRED_REPLICAS_ANNOTATION,
        MAX_REPLICAS_ANNOTATION,
        "deprecated.deployment.rollback.to",
    }
)
#: The controller requeues this often until the Deployment satisfies its partition (upstream 2 s).


def resolve_fenceposts(
    max_surge: IntOrStrLike | None, max_unavailable: IntOrStrLike | None, replicas: int
) -> tuple[int, int]:
    """Kubernetes ``ResolveFenceposts``: surge rounds up, unavailable down; both 0 → unavailable 1.

    The "1" keeps a rollout able to make progress when a user writes 0%/0% on a small Deployment.
    """
    surge = scaled_value(max_surge, replicas, round_up=True)
    unavailable = scaled_value(max_unavailable, replicas, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


@attrs.frozen
class ScaleReplicaSet:
    """Set ``spec.replicas`` of ReplicaSet ``name`` (and its desired/max-replicas annotations)."""

    name: str
    from_replicas: int
    to_replicas: int
    annotations: Mapping[str, str]

    def patch(self) -> dict[str, Any]:
        """The merge patch to send to the ReplicaSet."""
        return {"metadata": {"annotations": dict(self.annotations)}, "spec": {"replicas": self.to_replicas}}


@attrs.frozen
class CreateReplicaSet:
    """Create the new ReplicaSet ``body`` (an apps/v1 ReplicaSet dict)."""

    body: Mapping[str, Any]


Action = ScaleReplicaSet | CreateReplicaSet


@attrs.define
class ReplicaSetView:
    """Working copy of a ReplicaSet; ``replicas`` is mutated as actions are planned."""

    name: str
    replicas: int
    status_replicas: int
    ready: int
    available: int
    revision: int
    created: str
    desired_annotation: str | None
    max_annotation: str | None
    template: Mapping[str, Any]

    @classmethod
    def from_dict(cls, rs: Mapping[str, Any]) -> ReplicaSetView:
        meta = rs.get("metadata") or {}
        anns = meta.get("annotations") or {}
        status = rs.get("status") or {}
        try:
            revision = int(anns.get(REVISION_ANNOTATION, "0"))
        except ValueError:
            revision = 0
        return cls(
            name=meta.get("name", ""),
            replicas=workload.spec_replicas(rs),
            status_replicas=int(status.get("replicas", 0)),
            ready=int(status.get("readyReplicas", 0)),
            available=int(status.get("availableReplicas", 0)),
            revision=revision,
            created=str(meta.get("creationTimestamp", "")),
            desired_annotation=anns.get(DESIRED_REPLICAS_ANNOTATION),
            max_annotation=anns.get(MAX_REPLICAS_ANNOTATION),
            template=workload.template(rs),
        )


@attrs.define
class SyncContext:
    """Everything one sync needs; ``actions`` accumulates the plan."""

    deployment: Mapping[str, Any]
    replicas: int
    strategy: DeploymentStrategy
    surge: int
    unavailable: int
    limit: int
    new_rs: ReplicaSetView | None
    old_rss: list[ReplicaSetView]
    actions: list[Action] = attrs.field(factory=list)

    def scale(self, rs: ReplicaSetView, to: int, *, always_annotate: bool = False) -> bool:
        """Record a scale action; returns whether the size changed (Go ``scaleReplicaSet``)."""
        anns = {
            DESIRED_REPLICAS_ANNOTATION: str(self.replicas),
            MAX_REPLICAS_ANNOTATION: str(self.replicas + self.surge),
        }
        size_changed = rs.replicas != to
        anns_changed = (
            rs.desired_annotation != anns[DESIRED_REPLICAS_ANNOTATION]
            or rs.max_annotation != anns[MAX_REPLICAS_ANNOTATION]
        )
        if size_changed or (always_annotate and anns_changed):
            self.actions.append(ScaleReplicaSet(rs.name, rs.replicas, to, anns))
            rs.replicas = to
            rs.desired_annotation = anns[DESIRED_REPLICAS_ANNOTATION]
            rs.max_annotation = anns[MAX_REPLICAS_ANNOTATION]
        return size_changed

    def all_rss(self) -> list[ReplicaSetView]:
        return self.old_rss + ([self.new_rs] if self.new_rs else [])


def spec_replicas(deployment: Mapping[str, Any]) -> int:
    return workload.spec_replicas(deployment)


def cleanup_unhealthy(ctx: SyncContext, old: list[ReplicaSetView], max_cleanup: int) -> None:
    """Scale away not-available old pods first (oldest RS first) — they cost no availability."""
    done = 0
    for rs in sorted(old, key=lambda r: (r.created, r.name)):
        if done >= max_cleanup:
            break
        if rs.replicas == 0 or rs.replicas <= rs.available:
            # available > replicas: the status still counts pods of an earlier scale-down that are
            # being deleted; "cleaning" them would scale the RS back *up* (Kubernetes refuses too).
            continue
        n = min(max_cleanup - done, rs.replicas - rs.available)
        ctx.scale(rs, rs.replicas - n)
        done += n
