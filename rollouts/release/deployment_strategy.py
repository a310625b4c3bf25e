"""Strategy bookkeeping of partition-style Deployments (batch-release.md §9.2, workload-webhook.md §2.1a).

While a Deployment is released in batches, the native Deployment controller must not roll it, yet
the user's rolling parameters must survive. Upstream therefore:

- freezes the native controller (``spec.paused: true``, ``spec.strategy: {type: Recreate}``), and
- keeps the real strategy in the annotation ``rollouts.kruise.io/deployment-strategy`` as JSON
  ``{"rollingStyle":"Partition","rollingUpdate":{...},"paused":<omitted if false>,"partition":N}``,
  where ``partition`` is the number (or percent) of pods that should run the **new** version.

This module parses/serialises that annotation and produces the JSON merge patches for the
BatchRelease executor (Initialize / UpgradeBatch / Finalize) and for the mutating webhook. Patches
are plain dicts; ``None`` means "nothing to change" so callers can skip the request.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

from rollouts.api import keys
from rollouts.api.intstr import WireIntOrStr
from rollouts.objects import deployment as deploy
from rollouts.objects import meta
from rollouts.release.batch import is_current_more_than_or_equal_to_desired

DEPLOYMENT_STRATEGY_ANNOTATION = keys.DEPLOYMENT_STRATEGY_ANNOTATION
DEPLOYMENT_EXTRA_STATUS_ANNOTATION = keys.DEPLOYMENT_EXTRA_STATUS_ANNOTATION
CONTROL_INFO_ANNOTATION = keys.BATCH_RELEASE_CONTROL_ANNOTATION
STABLE_REVISION_LABEL = keys.STABLE_REVISION_LABEL
ADVANCED_CONTROLLED_LABEL = keys.ADVANCED_DEPLOYMENT_CONTROL_LABEL

PARTITION_ROLLING_STYLE = "Partition"
CANARY_ROLLING_STYLE = "Canary"
#: Kubernetes' own defaults for a RollingUpdate Deployment; also upstream's defaults here.
DEFAULT_MAX_UNAVAILABLE: WireIntOrStr = "25%"
DEFAULT_MAX_SURGE: WireIntOrStr = "25%"


@attrs.frozen
class DeploymentStrategy:
    """The parsed ``rollouts.kruise.io/deployment-strategy`` annotation."""

    rolling_style: str = PARTITION_ROLLING_STYLE
    #: ``None`` means "not set" (defaults applied by :func:`with_defaults`).
    max_unavailable: WireIntOrStr | None = None
    max_surge: WireIntOrStr | None = None
    #: True → the advanced controller only scales proportionally (a new version arrived mid-release).
    paused: bool = False
    #: Pods that should run the new version (int or percent); never counts old pods.
    partition: WireIntOrStr = 0
    #: Whether the annotation carried a ``rollingUpdate`` object at all.
    has_rolling_update: bool = True

    def to_json(self) -> str:
        """Serialise with Go's field order and omitempty rules (compact, ``paused`` omitted if false)."""
        out: dict[str, Any] = {}
        if self.rolling_style:
            out["rollingStyle"] = self.rolling_style
        if self.has_rolling_update:
            ru: dict[str, Any] = {}
            if self.max_unavailable is not None:
                ru["maxUnavailable"] = self.max_unavailable
            if self.max_surge is not None:
                ru["maxSurge"] = self.max_surge
            out["rollingUpdate"] = ru
        if self.paused:
            out["paused"] = True
        out["partition"] = self.partition
        return json.dumps(out, separators=(",", ":"))


def with_defaults(strategy: DeploymentStrategy) -> DeploymentStrategy:
    """``SetDefaultDeploymentStrategy`` — 25%/25% for missing values (Canary style untouched).

    Deliberate fix of an upstream bug: Go writes the maxSurge default into ``maxUnavailable`` when
    only maxSurge is missing (leaving maxSurge unset, i.e. 0). We default maxSurge itself; the
    difference is only visible for hand-written annotations, since the API server always defaults
    both fields of a RollingUpdate Deployment.
    """
    if strategy.rolling_style == CANARY_ROLLING_STYLE:
        return strategy
    return attrs.evolve(
        strategy,
        has_rolling_update=True,
        max_unavailable=DEFAULT_MAX_UNAVAILABLE if strategy.max_unavailable is None else strategy.max_unavailable,
        max_surge=DEFAULT_MAX_SURGE if strategy.max_surge is None else strategy.max_surge,
    )


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def annotations_of(obj: Mapping[str, Any]) -> Mapping[str, str]:
    return _meta(obj).get("annotations") or {}


def labels(obj: Mapping[str, Any]) -> Mapping[str, str]:
    return _meta(obj).get("labels") or {}


def parse_strategy(raw: str | None) -> DeploymentStrategy | None:
    """Parse the annotation value; ``None`` for absent or malformed JSON (upstream ignores those)."""
    data = meta.json_object(raw)
    if data is None:
        return None
    ru = data.get("rollingUpdate")
    ru = ru if isinstance(ru, dict) else None
    return DeploymentStrategy(
        rolling_style=data.get("rollingStyle") or "",
        max_unavailable=ru.get("maxUnavailable") if ru else None,
        max_surge=ru.get("maxSurge") if ru else None,
        paused=bool(data.get("paused", False)),
        partition=data.get("partition", 0) if data.get("partition") is not None else 0,
        has_rolling_update=ru is not None,
    )


def deployment_strategy(deployment: Mapping[str, Any]) -> DeploymentStrategy | None:
    """The strategy stored on a Deployment, or ``None``."""
    return parse_strategy(annotations_of(deployment).get(DEPLOYMENT_STRATEGY_ANNOTATION))


def is_under_rollout_control(deployment: Mapping[str, Any]) -> bool:
    """control-info present AND ``strategy.type == Recreate`` AND ``spec.paused`` (upstream definition)."""
    return (
        bool(annotations_of(deployment).get(CONTROL_INFO_ANNOTATION))
        and deploy.strategy_type(deployment) == "Recreate"
        and deploy.is_paused(deployment)
    )


def _spec_rolling_update(deployment: Mapping[str, Any]) -> Mapping[str, Any] | None:
    ru = deploy.rolling_update(deployment)
    return ru if isinstance(ru, dict) else None


def initialize_patch(deployment: Mapping[str, Any], control_info: str) -> dict[str, Any] | None:
    """Executor ``Initialize``: take the Deployment over (no-op if already under control).

    ``rollingUpdate`` comes from the spec when set (the user's latest word), else from an existing
    annotation; partition restarts at 0.
    """
    if is_under_rollout_control(deployment):
        return None
    existing = deployment_strategy(deployment)
    ru = _spec_rolling_update(deployment)
    if ru is not None:
        base = DeploymentStrategy(max_unavailable=ru.get("maxUnavailable"), max_surge=ru.get("maxSurge"))
    elif existing is not None and existing.has_rolling_update:
        base = DeploymentStrategy(max_unavailable=existing.max_unavailable, max_surge=existing.max_surge)
    else:
        base = DeploymentStrategy(has_rolling_update=False)
    strategy = with_defaults(attrs.evolve(base, rolling_style=PARTITION_ROLLING_STYLE, paused=False, partition=0))
    return {
        "metadata": {
            "labels": {ADVANCED_CONTROLLED_LABEL: "true"},
            "annotations": {DEPLOYMENT_STRATEGY_ANNOTATION: strategy.to_json(), CONTROL_INFO_ANNOTATION: control_info},
        },
        "spec": {"paused": True, "strategy": {"type": "Recreate", "rollingUpdate": None}},
    }


def upgrade_batch_patch(deployment: Mapping[str, Any], desired_partition: WireIntOrStr) -> dict[str, Any] | None:
    """Executor ``UpgradeBatch``: raise the annotation partition to ``desired_partition``.

    Never lowers it (partition is "pods on the new version"; going back is not a batch operation).
    Returns ``None`` when not under control or already far enough.
    """
    if not is_under_rollout_control(deployment):
        return None
    strategy = deployment_strategy(deployment) or with_defaults(DeploymentStrategy(has_rolling_update=False))
    if is_current_more_than_or_equal_to_desired(strategy.partition, desired_partition):
        return None
    updated = attrs.evolve(strategy, partition=desired_partition)
    return {"metadata": {"annotations": {DEPLOYMENT_STRATEGY_ANNOTATION: updated.to_json()}}}


def finalize_patch(
    deployment: Mapping[str, Any],
    *,
    batch_partition_is_nil: bool,
    keep_paused: bool = False,
) -> dict[str, Any] | None:
    """Executor ``Finalize``: hand the Deployment back (§9.2).

    Only acts when control-info is present and the Deployment is paused. With ``batchPartition``
    nil (release over / cancelled) the native strategy is restored from the annotation and the
    bookkeeping removed; otherwise only control-info is dropped. ``keep_paused`` is the
    ``KeepWorkloadPausedOnRolloutDeletion`` gate combined with a non-WaitResume policy.
    """
    if not annotations_of(deployment).get(CONTROL_INFO_ANNOTATION) or not deploy.is_paused(deployment):
        return None
    anns: dict[str, Any] = {CONTROL_INFO_ANNOTATION: None}
    patch: dict[str, Any] = {"metadata": {"annotations": anns}}
    if not batch_partition_is_nil:
        return patch
    patch["spec"] = {"paused": keep_paused}
    if deploy.strategy_type(deployment) == "Recreate":
        strategy = deployment_strategy(deployment) or DeploymentStrategy(has_rolling_update=False)
        ru: dict[str, Any] = {}
        if strategy.max_unavailable is not None:
            ru["maxUnavailable"] = strategy.max_unavailable
        if strategy.max_surge is not None:
            ru["maxSurge"] = strategy.max_surge
        restored: dict[str, Any] = {"type": "RollingUpdate"}
        if strategy.has_rolling_update:
            restored["rollingUpdate"] = ru
        patch["spec"]["strategy"] = restored
    anns[DEPLOYMENT_STRATEGY_ANNOTATION] = None
    anns[DEPLOYMENT_EXTRA_STATUS_ANNOTATION] = None
    patch["metadata"]["labels"] = {STABLE_REVISION_LABEL: None, ADVANCED_CONTROLLED_LABEL: None}
    return patch


def webhook_partition_patch(deployment: Mapping[str, Any], *, release_changed: bool) -> dict[str, Any] | None:
    """Mutating webhook, partition-style Deployment in a release (workload-webhook.md §2.1a).

    Applies only when the strategy annotation parses with rollingStyle ``Partition``
    (case-insensitive); returns a merge patch or ``None`` when nothing changes.
    """
    strategy = deployment_strategy(deployment)
    if strategy is None or strategy.rolling_style.lower() != PARTITION_ROLLING_STYLE.lower():
        return None
    spec_patch: dict[str, Any] = {}
    if not deploy.is_paused(deployment):
        spec_patch["paused"] = True
    stype = deploy.strategy_type(deployment)
    ru = _spec_rolling_update(deployment)
    strategy_patch: dict[str, Any] = {}
    if stype == "RollingUpdate":
        strategy_patch["type"] = "Recreate"
    if ru is not None:
        strategy = attrs.evolve(
            strategy, max_unavailable=ru.get("maxUnavailable"), max_surge=ru.get("maxSurge"), has_rolling_update=True
        )
        strategy_patch["rollingUpdate"] = None
    if strategy_patch:
        spec_patch["strategy"] = strategy_patch
    if release_changed:
        strategy = attrs.evolve(strategy, paused=True)
    new_value = with_defaults(strategy).to_json()
    patch: dict[str, Any] = {}
    if new_value != annotations_of(deployment).get(DEPLOYMENT_STRATEGY_ANNOTATION):
        patch["metadata"] = {"annotations": {DEPLOYMENT_STRATEGY_ANNOTATION: new_value}}
    if spec_patch:
        patch["spec"] = spec_patch
    return patch or None


def extra_status(deployment: Mapping[str, Any]) -> Mapping[str, Any]:
    """Parsed ``rollouts.kruise.io/deployment-extra-status`` ({} when absent or malformed)."""
    raw = annotations_of(deployment).get(DEPLOYMENT_EXTRA_STATUS_ANNOTATION)
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def extra_status_json(updated_ready_replicas: int, expected_updated_replicas: int) -> str:
    """The advanced controller's extra-status annotation value (Go field order, compact)."""
    return json.dumps(
        {"updatedReadyReplicas": updated_ready_replicas, "expectedUpdatedReplicas": expected_updated_replicas},
        separators=(",", ":"),
    )


def control_info(br_name: str, br_uid: str) -> str:
    """control-info value: a JSON OwnerReference to the BatchRelease (batch-release.md §4)."""
    return json.dumps(
        {
            "apiVersion": "rollouts.kruise.io/v1beta1",
            "kind": "BatchRelease",
            "name": br_name,
            "uid": br_uid,
            "controller": True,
            "blockOwnerDeletion": True,
        },
        separators=(",", ":"),
    )
