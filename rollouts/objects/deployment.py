"""apps/v1 Deployments, kept as the API server's dicts: the Deployment-only fields (``spec.strategy``,
``spec.paused``). The fields Deployments share with the other workloads are in
:mod:`rollouts.objects.workload`, ObjectMeta in :mod:`rollouts.objects.meta`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rollouts.objects.workload import spec

Obj = Mapping[str, Any]
_EMPTY: Mapping[str, Any] = {}


def strategy(deployment: Obj | None) -> Obj:
    """``spec.strategy`` (empty when absent)."""
    return spec(deployment).get("strategy") or _EMPTY


def strategy_type(deployment: Obj | None) -> str | None:
    """``spec.strategy.type`` as written (``None`` when absent: the API server defaults RollingUpdate)."""
    return strategy(deployment).get("type")


def rolling_update(deployment: Obj | None) -> Any:
    """``spec.strategy.rollingUpdate`` as written (``None`` when absent)."""
    return strategy(deployment).get("rollingUpdate")


def max_unavailable(deployment: Obj | None, default: Any = "25%") -> Any:
    """``spec.strategy.rollingUpdate.maxUnavailable`` as written (int or percent), ``default`` when absent."""
    ru = rolling_update(deployment)
    return ru.get("maxUnavailable", default) if isinstance(ru, Mapping) else default


def is_paused(deployment: Obj | None) -> bool:
    return bool(spec(deployment).get("paused"))


__all__ = ["is_paused", "rolling_update", "strategy", "strategy_type"]
