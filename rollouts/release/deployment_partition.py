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

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from rollouts.release.batch import new_rs_replicas_limit
from rollouts.release.deployment_strategy import (
    CANARY_ROLLING_STYLE,
    DEPLOYMENT_EXTRA_STATUS_ANNOTATION,
    DeploymentStrategy,
    annotations,
    deployment_strategy,
    extra_status_json,
    is_under_rollout_control,
    with_defaults,
)
from rollouts.release.intstr import IntOrStr, scaled_value
from rollouts.release.template_hash import POD_TEMPLATE_HASH_LABEL, compute_template_hash, equal_ignore_hash

REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
DESIRED_REPLICAS_ANNOTATION = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS_ANNOTATION = "deployment.kubernetes.io/max-replicas"
#: Deployment annotations Kubernetes never copies onto its ReplicaSets.
_ANNOTATIONS_NOT_COPIED = frozenset(
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
REQUEUE_SECONDS = 2.0


def resolve_fenceposts(max_surge: IntOrStr | None, max_unavailable: IntOrStr | None, replicas: int) -> tuple[int, int]:
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


@attrs.define
class _RS:
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
    def from_dict(cls, rs: Mapping[str, Any]) -> _RS:
        meta = rs.get("metadata") or {}
        anns = meta.get("annotations") or {}
        status = rs.get("status") or {}
        try:
            revision = int(anns.get(REVISION_ANNOTATION, "0"))
        except ValueError:
            revision = 0
        return cls(
            name=meta.get("name", ""),
            replicas=int((rs.get("spec") or {}).get("replicas", 1)),
            status_replicas=int(status.get("replicas", 0)),
            ready=int(status.get("readyReplicas", 0)),
            available=int(status.get("availableReplicas", 0)),
            revision=revision,
            created=str(meta.get("creationTimestamp", "")),
            desired_annotation=anns.get(DESIRED_REPLICAS_ANNOTATION),
            max_annotation=anns.get(MAX_REPLICAS_ANNOTATION),
            template=(rs.get("spec") or {}).get("template") or {},
        )


@attrs.define
class _Ctx:
    """Everything one sync needs; ``actions`` accumulates the plan."""

    deployment: Mapping[str, Any]
    replicas: int
    strategy: DeploymentStrategy
    surge: int
    unavailable: int
    limit: int
    new_rs: _RS | None
    old_rss: list[_RS]
    actions: list[Action] = attrs.field(factory=list)

    def scale(self, rs: _RS, to: int, *, always_annotate: bool = False) -> bool:
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

    def all_rss(self) -> list[_RS]:
        return self.old_rss + ([self.new_rs] if self.new_rs else [])


def _spec_replicas(deployment: Mapping[str, Any]) -> int:
    value = (deployment.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def rollout_satisfied(deployment: Mapping[str, Any], partition: IntOrStr) -> bool:
    """``DeploymentRolloutSatisfied``: generation observed, replicas settled, partition reached."""
    meta = deployment.get("metadata") or {}
    status = deployment.get("status") or {}
    replicas = _spec_replicas(deployment)
    return (
        int(status.get("observedGeneration", 0)) >= int(meta.get("generation", 0))
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
    strategy = with_defaults(strategy)
    replicas = _spec_replicas(deployment)
    surge, unavailable = resolve_fenceposts(strategy.max_surge, strategy.max_unavailable, replicas)
    template = (deployment.get("spec") or {}).get("template") or {}
    rss = [_RS.from_dict(rs) for rs in replica_sets if not (rs.get("metadata") or {}).get("deletionTimestamp")]
    new_rs = _find_new_rs(template, rss)
    ctx = _Ctx(
        deployment=deployment,
        replicas=replicas,
        strategy=strategy,
        surge=surge,
        unavailable=unavailable,
        limit=new_rs_replicas_limit(strategy.partition, replicas),
        new_rs=new_rs,
        old_rss=[rs for rs in rss if rs is not new_rs],
    )
    satisfied = rollout_satisfied(deployment, strategy.partition)
    meta = deployment.get("metadata") or {}
    selector = (deployment.get("spec") or {}).get("selector") or {}
    if not selector.get("matchLabels") and not selector.get("matchExpressions"):
        status = dict(deployment.get("status") or {})
        status["observedGeneration"] = meta.get("generation", 0)
        return DeploymentSyncPlan(status=status, satisfied=satisfied, message="SelectingAll: empty selector")
    if meta.get("deletionTimestamp"):
        return _finish(ctx, now, satisfied, "deployment is being deleted")
    if strategy.paused or _is_scaling_event(ctx):
        _proportional_scale(ctx)
        return _finish(ctx, now, satisfied, "scaled proportionally")
    collision = _rolling(ctx)
    plan = _finish(ctx, now, satisfied, "rolling")
    return attrs.evolve(plan, collision=collision) if collision else plan


def _find_new_rs(template: Mapping[str, Any], rss: list[_RS]) -> _RS | None:
    """Oldest RS whose template equals the Deployment's ignoring ``pod-template-hash``."""
    matches = [rs for rs in rss if equal_ignore_hash(rs.template, template)]
    matches.sort(key=lambda rs: (rs.created, rs.name))
    return matches[0] if matches else None


def _is_scaling_event(ctx: _Ctx) -> bool:
    """An active RS whose desired-replicas annotation disagrees with ``spec.replicas``."""
    for rs in ctx.all_rss():
        if rs.replicas > 0 and rs.desired_annotation is not None and rs.desired_annotation != str(ctx.replicas):
            return True
    return False


def _rolling(ctx: _Ctx) -> bool:
    """``rolloutRolling``: create/scale up the new RS, else scale old RSs; returns collision."""
    if ctx.new_rs is None:
        created = _create_new_rs(ctx)
        if created is None:
            return True
    new_rs = ctx.new_rs
    assert new_rs is not None
    if new_rs.replicas > ctx.replicas:
        if ctx.scale(new_rs, ctx.replicas):
            return False
    elif new_rs.replicas < ctx.replicas:
        target = _new_rs_target(ctx, new_rs)
        if ctx.scale(new_rs, target):
            return False
    _reconcile_old(ctx)
    return False


def _new_rs_target(ctx: _Ctx, new_rs: _RS) -> int:
    """``NewRSNewReplicas`` with the partition cap."""
    if new_rs.replicas >= ctx.limit:
        return new_rs.replicas
    all_pods = sum(rs.replicas for rs in ctx.all_rss())
    max_total = ctx.replicas + ctx.surge
    if all_pods >= max_total:
        return new_rs.replicas
    scale_up = min(max_total - all_pods, ctx.replicas - new_rs.replicas)
    return min(new_rs.replicas + scale_up, ctx.limit)


def _create_new_rs(ctx: _Ctx) -> _RS | None:
    """Plan creation of ``<deployment>-<hash>``; ``None`` on a hash collision."""
    d = ctx.deployment
    meta = d.get("metadata") or {}
    spec = d.get("spec") or {}
    collision_count = (d.get("status") or {}).get("collisionCount")
    template = spec.get("template") or {}
    pod_hash = compute_template_hash(template, collision_count)
    name = f"{meta.get('name', '')}-{pod_hash}"
    if any(rs.name == name for rs in ctx.old_rss):
        return None
    placeholder = _RS(name, 0, 0, 0, 0, 0, "~", None, None, template)
    ctx.new_rs = placeholder
    replicas = _new_rs_target(ctx, placeholder)
    lower = 1 if ctx.surge == 0 else 0
    replicas = max(replicas, min(lower, ctx.limit))
    placeholder.replicas = replicas
    ctx.actions.append(CreateReplicaSet(_new_rs_body(ctx, name, pod_hash, replicas)))
    placeholder.desired_annotation = str(ctx.replicas)
    placeholder.max_annotation = str(ctx.replicas + ctx.surge)
    return placeholder


def _new_rs_body(ctx: _Ctx, name: str, pod_hash: str, replicas: int) -> dict[str, Any]:
    d = ctx.deployment
    meta = d.get("metadata") or {}
    spec = d.get("spec") or {}
    template = dict(spec.get("template") or {})
    tmeta = dict(template.get("metadata") or {})
    tmeta["labels"] = {**(tmeta.get("labels") or {}), POD_TEMPLATE_HASH_LABEL: pod_hash}
    template["metadata"] = tmeta
    selector = dict(spec.get("selector") or {})
    selector["matchLabels"] = {**(selector.get("matchLabels") or {}), POD_TEMPLATE_HASH_LABEL: pod_hash}
    anns = {k: v for k, v in annotations(d).items() if k not in _ANNOTATIONS_NOT_COPIED}
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
            "minReadySeconds": spec.get("minReadySeconds", 0),
            "selector": selector,
            "template": template,
        },
    }


def _reconcile_old(ctx: _Ctx) -> None:
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
    _cleanup_unhealthy(ctx, old, max_scaled_down)
    _scale_down_old_for_rolling(ctx, old)


def _scale_down_old_limit(ctx: _Ctx, old: list[_RS]) -> int:
    """Old pods above what the partition allows: ``old − (replicas − max(limit, newRS))``."""
    assert ctx.new_rs is not None
    new_desired = max(ctx.limit, ctx.new_rs.replicas)
    return sum(rs.replicas for rs in old) - (ctx.replicas - new_desired)


def _cleanup_unhealthy(ctx: _Ctx, old: list[_RS], max_cleanup: int) -> None:
    """Scale away not-available old pods first (oldest RS first) — they cost no availability."""
    done = 0
    for rs in sorted(old, key=lambda r: (r.created, r.name)):
        if done >= max_cleanup:
            break
        if rs.replicas == 0 or rs.replicas == rs.available:
            continue
        n = min(max_cleanup - done, rs.replicas - rs.available)
        ctx.scale(rs, rs.replicas - n)
        done += n


def _scale_down_old_for_rolling(ctx: _Ctx, old: list[_RS]) -> None:
    """Scale old RSs down (smallest revision first) while availability stays ≥ replicas − maxUnavailable."""
    min_available = ctx.replicas - ctx.unavailable
    available = sum(rs.available for rs in ctx.all_rss())
    if available <= min_available:
        return
    total = min(available - min_available, _scale_down_old_limit(ctx, old))
    done = 0
    for rs in sorted(old, key=lambda r: (r.revision, r.created, r.name)):
        if done >= total:
            break
        if rs.replicas == 0:
            continue
        n = min(rs.replicas, total - done)
        ctx.scale(rs, rs.replicas - n)
        done += n


def _proportional_scale(ctx: _Ctx) -> None:
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
        _cleanup_unhealthy(ctx, [rs for rs in ctx.old_rss if rs.replicas > 0], -to_add)
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


def _newest(rss: list[_RS]) -> _RS | None:
    return max(rss, key=lambda rs: (rs.created, rs.name)) if rss else None


def _is_saturated(ctx: _Ctx, new_rs: _RS) -> bool:
    return (
        new_rs.replicas == ctx.replicas
        and new_rs.desired_annotation == str(ctx.replicas)
        and new_rs.available == ctx.replicas
    )


def _proportion(ctx: _Ctx, rs: _RS, to_add: int, added: int) -> int:
    """``GetProportion``: this RS's share of ``to_add`` given what was already handed out."""
    if rs.replicas == 0 or to_add == 0 or to_add == added:
        return 0
    fraction = _fraction(ctx, rs)
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def _fraction(ctx: _Ctx, rs: _RS) -> int:
    if ctx.replicas == 0:
        return -rs.replicas
    deployment_replicas = ctx.replicas + ctx.surge
    try:
        annotated = int(rs.max_annotation) if rs.max_annotation is not None else None
    except ValueError:
        annotated = None
    if annotated is None:
        annotated = int((ctx.deployment.get("status") or {}).get("replicas", 0))
    if annotated <= 0:
        return 0
    new_size = rs.replicas * deployment_replicas / annotated
    return int(math.floor(new_size + 0.5)) - rs.replicas


def _finish(ctx: _Ctx, now: datetime, satisfied: bool, message: str) -> DeploymentSyncPlan:
    """Attach the computed status and extra-status annotation to the planned actions."""
    status = calculate_status(ctx.deployment, ctx.all_rss(), ctx.new_rs, ctx.unavailable, now)
    ready = ctx.new_rs.ready if ctx.new_rs else 0
    extra = extra_status_json(ready, ctx.limit)
    if annotations(ctx.deployment).get(DEPLOYMENT_EXTRA_STATUS_ANNOTATION) == extra:
        extra = None
    return DeploymentSyncPlan(tuple(ctx.actions), status, extra, False, satisfied, message)


def calculate_status(
    deployment: Mapping[str, Any], rss: list[_RS], new_rs: _RS | None, max_unavailable: int, now: datetime
) -> dict[str, Any]:
    """Kubernetes ``calculateStatus`` from ReplicaSet statuses (scaling does not change them)."""
    replicas = _spec_replicas(deployment)
    old_status = deployment.get("status") or {}
    available = sum(rs.available for rs in rss)
    status: dict[str, Any] = {
        "observedGeneration": (deployment.get("metadata") or {}).get("generation", 0),
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
