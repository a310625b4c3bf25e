"""Proportional scaling of the advanced Deployment controller (Kubernetes ``scale``, upstream-modified).

Used on scaling events (``spec.replicas`` changed, e.g. by an HPA) and while the strategy annotation
is paused: every active ReplicaSet grows or shrinks in proportion to its size, so a 50% release of
10 pods scaled to 20 becomes 10 old + 10 new without releasing anything further. Upstream changed
Kubernetes' allowed size from ``replicas + maxSurge`` to ``replicas`` and cleans up unhealthy old
pods first when scaling down.
"""

from __future__ import annotations

import math

from rollouts.objects import workload
from rollouts.release.deployment_rs import ReplicaSetView, SyncContext, cleanup_unhealthy


def proportional_scale(ctx: SyncContext) -> None:
    """Kubernetes ``scale`` as modified upstream (allowed size = replicas, no surge)."""
    active = [rs for rs in ctx.all_rss() if rs.replicas > 0]
    if len(active) <= 1:
        target = active[0] if active else (ctx.new_rs or _newest(ctx.old_rss))
        if target is not None and target.replicas != ctx.replicas:
            ctx.scale(target, ctx.replicas)
        return
    new_rs = ctx.new_rs
    if new_rs is not None and _is_saturated(ctx, new_rs):
        for rs in ctx.old_rss:
            if rs.replicas > 0:
                ctx.scale(rs, 0)
        return
    to_add = max(ctx.replicas, 0) - sum(rs.replicas for rs in active)
    if to_add < 0:
        before = sum(rs.replicas for rs in ctx.old_rss)
        cleanup_unhealthy(ctx, [rs for rs in ctx.old_rss if rs.replicas > 0], -to_add)
        to_add += before - sum(rs.replicas for rs in ctx.old_rss)
        active = [rs for rs in ctx.all_rss() if rs.replicas > 0]
    if to_add > 0:  # larger first; newer first on ties
        active.sort(key=lambda rs: (-rs.replicas, _neg_time(rs.created), rs.name))
    elif to_add < 0:  # larger first; older first on ties
        active.sort(key=lambda rs: (-rs.replicas, rs.created, rs.name))
    sizes: dict[str, int] = {}
    added = 0
    for rs in active:
        proportion = _proportion(ctx, rs, to_add, added) if to_add else 0
        sizes[rs.name] = rs.replicas + proportion
        added += proportion
    for i, rs in enumerate(active):
        if i == 0 and to_add:
            sizes[rs.name] = max(0, sizes[rs.name] + to_add - added)
        ctx.scale(rs, sizes[rs.name], always_annotate=True)


def _neg_time(created: str) -> tuple[int, ...]:
    """Sort key that orders ISO timestamps newest first."""
    return tuple(-ord(c) for c in created)


def _newest(rss: list[ReplicaSetView]) -> ReplicaSetView | None:
    return max(rss, key=lambda rs: (rs.created, rs.name)) if rss else None


def _is_saturated(ctx: SyncContext, new_rs: ReplicaSetView) -> bool:
    return (
        new_rs.replicas == ctx.replicas
        and new_rs.desired_annotation == str(ctx.replicas)
        and new_rs.available == ctx.replicas
    )


def _proportion(ctx: SyncContext, rs: ReplicaSetView, to_add: int, added: int) -> int:
    """``GetProportion``: this RS's share of ``to_add`` given what was already handed out."""
    if rs.replicas == 0 or to_add == 0 or to_add == added:
        return 0
    fraction = _fraction(ctx, rs)
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def _fraction(ctx: SyncContext, rs: ReplicaSetView) -> int:
    if ctx.replicas == 0:
        return -rs.replicas
    deployment_replicas = ctx.replicas + ctx.surge
    try:
        annotated = int(rs.max_annotation) if rs.max_annotation is not None else None
    except ValueError:
        annotated = None
    if annotated is None:
        annotated = workload.status_int(ctx.deployment, "replicas")
    if annotated <= 0:
        return 0
    new_size = rs.replicas * deployment_replicas / annotated
    return int(math.floor(new_size + 0.5)) - rs.replicas
