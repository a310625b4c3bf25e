"""Workload objects we release but do not own: apps/v1 Deployment, ReplicaSet, StatefulSet, DaemonSet and
the OpenKruise CloneSet / Advanced StatefulSet / Advanced DaemonSet. They share the shape read here
(``spec.replicas``, ``spec.selector``, ``spec.template``, ``spec.updateStrategy``, ``status.*``).

Numbers are read with the default of the caller's choosing and converted with ``int`` (a malformed
value raises, as it did inline); ``None`` objects read as empty so callers need not guard.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Obj = Mapping[str, Any]
_EMPTY: Mapping[str, Any] = {}


def spec(obj: Obj | None) -> Obj:
    return (obj or _EMPTY).get("spec") or _EMPTY


def status(obj: Obj | None) -> Obj:
    return (obj or _EMPTY).get("status") or _EMPTY


def spec_replicas(obj: Obj | None, default: int = 1) -> int:
    """``spec.replicas``; absent or ``null`` means ``default`` (the API server defaults it to 1)."""
    value = spec(obj).get("replicas")
    return default if value is None else int(value)


def status_int(obj: Obj | None, key: str, default: int = 0) -> int:
    """An integer of ``status`` (``updatedReplicas``, ``desiredNumberScheduled``, ``observedGeneration`` ...)."""
    return int(status(obj).get(key, default))


def status_str(obj: Obj | None, key: str) -> str:
    """A string of ``status`` (``updateRevision``, ``currentRevision``, ``daemonSetHash``); ``""`` when absent."""
    value = status(obj).get(key)
    return "" if value is None else str(value)


def match_labels(obj: Obj | None) -> Mapping[str, str]:
    """``spec.selector.matchLabels`` (``matchExpressions`` are not read: see docs/domain.md)."""
    return selector(obj).get("matchLabels") or _EMPTY


def selector(obj: Obj | None) -> Obj:
    """``spec.selector`` (a LabelSelector; empty when absent)."""
    return spec(obj).get("selector") or _EMPTY


def template_labels(obj: Obj | None) -> Mapping[str, str]:
    """``spec.template.metadata.labels``."""
    return (template(obj).get("metadata") or _EMPTY).get("labels") or _EMPTY


def template(obj: Obj | None) -> Obj:
    """``spec.template`` (the pod template)."""
    return spec(obj).get("template") or _EMPTY


def update_strategy(obj: Obj | None) -> Obj:
    return spec(obj).get("updateStrategy") or _EMPTY


def rolling_update(obj: Obj | None) -> Obj:
    """``spec.updateStrategy.rollingUpdate`` (StatefulSet-like kinds, DaemonSets)."""
    return update_strategy(obj).get("rollingUpdate") or _EMPTY


def generation(obj: Obj | None) -> int:
    return int(((obj or _EMPTY).get("metadata") or _EMPTY).get("generation", 0))


__all__ = ["generation", "match_labels", "rolling_update", "selector", "spec", "spec_replicas", "status", "status_int",
           "status_str", "template", "template_labels", "update_strategy"]
