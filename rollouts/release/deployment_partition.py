"""Planner of the in-house "advanced Deployment" controller (batch-release.md §9.2).

A partition-style Deployment is frozen for the native controller (paused, Recreate) and rolled by
us: a port of the Kubernetes rolling-update logic with one extra cap — the new ReplicaSet never
exceeds ``NewRSReplicasLimit(partition)`` and old ReplicaSets are kept at ``replicas − limit``. This
is what yields "exactly N updated pods per batch" while still honouring maxSurge/maxUnavailable.

:func:`plan_deployment_sync` is one sync of that controller as a pure function: given the
Deployment and the ReplicaSets it owns (plain dicts, already filtered by controller ownerReference),
it returns the actions to perform (create the new RS, scale RS x to n) and the Deployment status
plus extra-status annotation to write. Like the Go controller it makes *one* step per sync; the
caller requeues (2 s) until :attr:`DeploymentSyncPlan.satisfied`.

Not ported (documented weaknesses): revision-history cleanup of old ReplicaSets, the Progressing
condition / progressDeadlineSeconds bookkeeping, RS adoption/orphaning, the webhook-configuration
safety valve (the caller checks that), and RS revision-history annotations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from rollouts.api.intstr import WireIntOrStr
from rollouts.objects import meta as objmeta
from rollouts.objects import workload
from rollouts.release.batch import new_rs_replicas_limit
from rollouts.release.deployment_rs import (
    ANNOTATIONS_NOT_COPIED,
    DESIRED_REPLICAS_ANNOTATION,
    MAX_REPLICAS_ANNOTATION,
    REVISION_ANNOTATION,
    Action,
    CreateReplicaSet,
    ReplicaSetView,
    ScaleReplicaSet,
    SyncContext,
    cleanup_unhealthy,
    resolve_fenceposts,
    spec_replicas,
)
from rollouts.release.deployment_scaling import proportional_scale
from rollouts.release.deployment_status import calculate_status
from rollouts.release.deployment_strategy import (
    CANARY_ROLLING_STYLE,
    DEPLOYMENT_EXTRA_STATUS_ANNOTATION,
    DeploymentStrategy,
    annotations_of,
    deployment_strategy,
    extra_status_json,
    is_under_rollout_control,
    with_defaults,
)
from rollouts.release.template_hash import POD_TEMPLATE_HASH_LABEL, compute_template_hash, equal_ignore_hash

#: The controller requeues this often until the Deployment satisfies its partition (upstream 2 s).
REQUEUE_SECONDS = 2.0

__all__ = [
    "Action",
    "CreateReplicaSet",
    "DeploymentSyncPlan",
    "ScaleReplicaSet",
    "plan_deployment_sync",
    "resolve_fenceposts",
    "rollout_satisfied",
    "calculate_status",
    "build_context",
    "reconcile_new_replica_set",
    "reconcile_old_replica_sets",
    "REQUEUE_SECONDS",
]


@attrs.frozen
class DeploymentSyncPlan:
    """Outcome of one sync.

    Invariant: ``status`` is ``None`` exactly when the Deployment is not ours to manage (then
    ``actions`` is empty and ``message`` says why).
    """

    actions: tuple[Action, ...] = ()
    #: Full ``status`` to write to the Deployment (``None``: leave it alone).
    status: Mapping[str, Any] | None = None
    #: Value of ``rollouts.kruise.io/deployment-extra-status`` (``None``: unchanged/not managed).
    extra_status: str | None = None
    #: A ReplicaSet with the new RS's name but another template exists: bump ``status.collisionCount``.
    collision: bool = False
    #: ``DeploymentRolloutSatisfied`` on the Deployment as read; False → requeue after 2 s.
    satisfied: bool = True
    message: str = ""


def rollout_satisfied(deployment: Mapping[str, Any], partition: WireIntOrStr) -> bool:
    """``DeploymentRolloutSatisfied``: generation observed, replicas settled, partition reached."""
    status = workload.status(deployment)
    replicas = spec_replicas(deployment)
    return (
        workload.status_int(deployment, "observedGeneration") >= objmeta.generation(deployment)
        and int(status.get("replicas", 0)) == replicas
        and int(status.get("updatedReplicas", 0)) >= new_rs_replicas_limit(partition, replicas)
    )


def plan_deployment_sync(
    deployment: Mapping[str, Any],
    replica_sets: Sequence[Mapping[str, Any]],
    *,
    now: datetime,
) -> DeploymentSyncPlan:
    """One sync of the advanced Deployment controller (see module docstring)."""
    strategy = deployment_strategy(deployment)
    if not is_under_rollout_control(deployment) or strategy is None:
        return DeploymentSyncPlan(message="deployment is not under rollout control")
    if strategy.rolling_style == CANARY_ROLLING_STYLE:
        return DeploymentSyncPlan(message="canary rolling style is handled by the canary executor")
    ctx = build_context(deployment, replica_sets, with_defaults(strategy))
    satisfied = rollout_satisfied(deployment, strategy.partition)
    selector = workload.selector(deployment)
    if not selector.get("matchLabels") and not selector.get("matchExpressions"):
        status = dict(workload.status(deployment))
        status["observedGeneration"] = objmeta.generation(deployment)
        return DeploymentSyncPlan(status=status, satisfied=satisfied, message="SelectingAll: empty selector")
    if objmeta.is_deleting(deployment):
        return _finish(ctx, now, satisfied, "deployment is being deleted")
    if strategy.paused or _is_scaling_event(ctx):
        proportional_scale(ctx)
        return _finish(ctx, now, satisfied, "scaled proportionally")
    collision = _rolling(ctx)
    plan = _finish(ctx, now, satisfied, "rolling")
    return attrs.evolve(plan, collision=collision) if collision else plan


def build_context(
    deployment: Mapping[str, Any], replica_sets: Sequence[Mapping[str, Any]], strategy: DeploymentStrategy
) -> SyncContext:
    """Gather one sync's inputs: fenceposts, partition limit, new RS and old RSs (deleting RSs ignored)."""
    replicas = spec_replicas(deployment)
    surge, unavailable = resolve_fenceposts(strategy.max_surge, strategy.max_unavailable, replicas)
    # MaxUnavailable: never more than the replicas, 0 for an empty Deployment.
    unavailable = 0 if replicas == 0 else min(unavailable, replicas)
    template = workload.template(deployment)
    rss = [ReplicaSetView.from_dict(rs) for rs in replica_sets if not objmeta.is_deleting(rs)]
    new_rs = _find_new_rs(template, rss)
    return SyncContext(
        deployment=deployment,
        replicas=replicas,
        strategy=strategy,
        surge=surge,
        unavailable=unavailable,
        limit=new_rs_replicas_limit(strategy.partition, replicas),
        new_rs=new_rs,
        old_rss=[rs for rs in rss if rs is not new_rs],
    )


def _find_new_rs(template: Mapping[str, Any], rss: list[ReplicaSetView]) -> ReplicaSetView | None:
    """Oldest RS whose template equals the Deployment's ignoring ``pod-template-hash``."""
    matches = [rs for rs in rss if equal_ignore_hash(rs.template, template)]
    matches.sort(key=lambda rs: (rs.created, rs.name))
    return matches[0] if matches else None


def _is_scaling_event(ctx: SyncContext) -> bool:
    """An active RS whose desired-replicas annotation disagrees with ``spec.replicas``."""
    for rs in ctx.all_rss():
        if rs.replicas > 0 and rs.desired_annotation is not None and rs.desired_annotation != str(ctx.replicas):
            return True
    return False


def _rolling(ctx: SyncContext) -> bool:
    """``rolloutRolling``: create/scale up the new RS, then scale old RSs; returns collision.

    Kubernetes returns after a scale-up and scales the old ReplicaSets down in the next sync. We
    plan both in one sync: the scale-down limit already counts the new RS at its new size as
    unavailable and only removes pods above ``replicas − maxUnavailable`` *currently available*,
    so availability holds exactly as if the syncs were separate, and a batch needs one reaction less.
    """
    if ctx.new_rs is None:
        created = _create_new_rs(ctx)
        if created is None:
            return True
    reconcile_new_replica_set(ctx)
    reconcile_old_replica_sets(ctx)
    return False


def reconcile_new_replica_set(ctx: SyncContext) -> bool:
    """``reconcileNewReplicaSet``: clamp to ``replicas`` or scale up within surge and partition."""
    new_rs = ctx.new_rs
    assert new_rs is not None
    if new_rs.replicas > ctx.replicas:
        return ctx.scale(new_rs, ctx.replicas)
    if new_rs.replicas < ctx.replicas:
        return ctx.scale(new_rs, _new_rs_target(ctx, new_rs))
    return False


def _new_rs_target(ctx: SyncContext, new_rs: ReplicaSetView) -> int:
    """``NewRSNewReplicas`` with the partition cap.

    With no old pods left the new RS simply follows ``spec.replicas`` (upstream: "if there is ONLY
    ONE active replica set, just be in line with deployment replicas"), whatever the partition.
    """
    all_pods = sum(rs.replicas for rs in ctx.all_rss())
    if all_pods <= new_rs.replicas:
        return ctx.replicas
    if new_rs.replicas >= ctx.limit:
        return new_rs.replicas
    max_total = ctx.replicas + ctx.surge
    if all_pods >= max_total:
        return new_rs.replicas
    scale_up = min(max_total - all_pods, ctx.replicas - new_rs.replicas)
    return min(new_rs.replicas + scale_up, ctx.limit)


def _create_new_rs(ctx: SyncContext) -> ReplicaSetView | None:
    """Plan creation of ``<deployment>-<hash>``; ``None`` on a hash collision."""
    d = ctx.deployment
    collision_count = workload.status(d).get("collisionCount")
    template = workload.template(d)
    pod_hash = compute_template_hash(template, collision_count)
    name = f"{objmeta.name(d)}-{pod_hash}"
    if any(rs.name == name for rs in ctx.old_rss):
        return None
    placeholder = ReplicaSetView(name, 0, 0, 0, 0, 0, "~", None, None, template)
    ctx.new_rs = placeholder
    replicas = _new_rs_target(ctx, placeholder)
    # NewRSReplicasLowerBound: with maxSurge 0 a new RS of 0 pods would make the native Deployment
    # controller fight ours, so upstream creates it with one pod (even above the partition).
    lower = min(1, ctx.replicas) if ctx.surge == 0 else 0
    replicas = max(replicas, lower)
    placeholder.replicas = replicas
    ctx.actions.append(CreateReplicaSet(_new_rs_body(ctx, name, pod_hash, replicas)))
    placeholder.desired_annotation = str(ctx.replicas)
    placeholder.max_annotation = str(ctx.replicas + ctx.surge)
    return placeholder


def _new_rs_body(ctx: SyncContext, name: str, pod_hash: str, replicas: int) -> dict[str, Any]:
    d = ctx.deployment
    meta = objmeta.metadata(d)
    template = dict(workload.template(d))
    tmeta = dict(template.get("metadata") or {})
    tmeta["labels"] = {**workload.template_labels(d), POD_TEMPLATE_HASH_LABEL: pod_hash}
    template["metadata"] = tmeta
    selector = dict(workload.selector(d))
    selector["matchLabels"] = {**workload.match_labels(d), POD_TEMPLATE_HASH_LABEL: pod_hash}
    anns = {k: v for k, v in annotations_of(d).items() if k not in ANNOTATIONS_NOT_COPIED}
    revision = max([rs.revision for rs in ctx.old_rss], default=0) + 1
    anns.update(
        {
            REVISION_ANNOTATION: str(revision),
            DESIRED_REPLICAS_ANNOTATION: str(ctx.replicas),
            MAX_REPLICAS_ANNOTATION: str(ctx.replicas + ctx.surge),
        }
    )
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": name,
            "namespace": meta.get("namespace"),
            "labels": dict(tmeta["labels"]),
            "annotations": anns,
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": meta.get("name"),
                    "uid": meta.get("uid"),
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {
            "replicas": replicas,
            "minReadySeconds": workload.spec(d).get("minReadySeconds", 0),
            "selector": selector,
            "template": template,
        },
    }


def reconcile_old_replica_sets(ctx: SyncContext) -> None:
    """``reconcileOldReplicaSets`` with the partition limit (``ScaleDownLimitForOld``)."""
    new_rs = ctx.new_rs
    assert new_rs is not None
    old = [rs for rs in ctx.old_rss if rs.replicas > 0]
    old_pods = sum(rs.replicas for rs in old)
    if old_pods == 0:
        return
    limit = _scale_down_old_limit(ctx, old)
    if limit <= 0:
        if -limit > 0:
            target = sorted(old, key=lambda rs: (-rs.replicas, rs.created, rs.name))[0]
            ctx.scale(target, target.replicas - limit)
        return
    all_pods = sum(rs.replicas for rs in ctx.all_rss())
    min_available = ctx.replicas - ctx.unavailable
    new_unavailable = new_rs.replicas - new_rs.available
    max_scaled_down = min(all_pods - min_available - new_unavailable, limit)
    if max_scaled_down <= 0:
        return
    cleanup_unhealthy(ctx, old, max_scaled_down)
    _scale_down_old_for_rolling(ctx, old)


def _scale_down_old_limit(ctx: SyncContext, old: list[ReplicaSetView]) -> int:
    """Old pods above what the partition allows: ``old − (replicas − max(limit, newRS))``."""
    assert ctx.new_rs is not None
    new_desired = max(ctx.limit, ctx.new_rs.replicas)
    return sum(rs.replicas for rs in old) - (ctx.replicas - new_desired)


def _scale_down_old_for_rolling(ctx: SyncContext, old: list[ReplicaSetView]) -> None:
    """Scale old RSs down (highest old revision first) while availability stays ≥ replicas − maxUnavailable."""
    min_available = ctx.replicas - ctx.unavailable
    available = sum(rs.available for rs in ctx.all_rss())
    if available <= min_available:
        return
    total = min(available - min_available, _scale_down_old_limit(ctx, old))
    done = 0
    # ReplicaSetsBySmallerRevision: highest revision first ("scale down the middle revision first"),
    # oldest creation first on ties.
    for rs in sorted(old, key=lambda r: (-r.revision, r.created, r.name)):
        if done >= total:
            break
        if rs.replicas == 0:
            continue
        n = min(rs.replicas, total - done)
        ctx.scale(rs, rs.replicas - n)
        done += n


def _finish(ctx: SyncContext, now: datetime, satisfied: bool, message: str) -> DeploymentSyncPlan:
    """Attach the computed status and extra-status annotation to the planned actions."""
    status = calculate_status(ctx.deployment, ctx.all_rss(), ctx.new_rs, ctx.unavailable, now)
    ready = ctx.new_rs.ready if ctx.new_rs else 0
    extra: str | None = extra_status_json(ready, ctx.limit)
    if annotations_of(ctx.deployment).get(DEPLOYMENT_EXTRA_STATUS_ANNOTATION) == extra:
        extra = None
    return DeploymentSyncPlan(tuple(ctx.actions), status, extra, False, satisfied, message)
