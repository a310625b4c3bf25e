"""Pods (core/v1), kept as the API server's dicts: the few fields the release reads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Obj = Mapping[str, Any]
_EMPTY: Mapping[str, Any] = {}


def metadata(pod: Obj) -> Obj:
    return pod.get("metadata") or _EMPTY


def name(pod: Obj) -> str:
    return str(metadata(pod).get("name", ""))


def labels(pod: Obj) -> Mapping[str, str]:
    return metadata(pod).get("labels") or _EMPTY


def is_terminating(pod: Obj) -> bool:
    """``metadata.deletionTimestamp`` is set."""
    return bool(metadata(pod).get("deletionTimestamp"))


def is_ready(pod: Obj) -> bool:
    """The pod's ``Ready`` condition is ``True``."""
    conds = (pod.get("status") or _EMPTY).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)


def phase(pod: Obj) -> str | None:
    """``status.phase`` (``None`` when not reported yet)."""
    return (pod.get("status") or _EMPTY).get("phase")


#: The only ``status`` fields any controller reads from a cached Pod (:func:`is_ready`, :func:`phase`).
CACHED_STATUS_FIELDS = ("phase", "conditions", "podIP")
#: The only fields a cached Pod condition needs (:func:`is_ready`).
CACHED_CONDITION_FIELDS = ("type", "status")


def keep_read_fields(pod: dict[str, Any]) -> dict[str, Any]:
    """Informer transform for Pods: keep what the controllers read, drop the rest.

    Pods are the most numerous objects the manager watches and the biggest (a spec with containers,
    volumes, tolerations; a status with per-container states). Every read of a cached Pod goes
    through this module's accessors or ``metadata`` (labels, ownerReferences, deletionTimestamp,
    name, namespace, resourceVersion, uid): the pod → owner mappings, the batch labeller
    (``labelpatch``) and the readiness counts. So the cache keeps ``metadata`` whole (minus the
    bookkeeping the default transform drops), ``status.phase`` and the ``type``/``status`` of each
    condition, and of the rest only what the RolloutHistory records name per pod: ``status.podIP``
    and ``spec.nodeName``. Anything needing more of a Pod (the native DaemonSet deleter does) lists
    Pods from the API server. Adding a reader of another field means adding it here.
    """
    status = pod.get("status")
    kept: dict[str, Any] = {}
    if isinstance(status, dict):
        for key in CACHED_STATUS_FIELDS:
            if key in status:
                kept[key] = status[key]
        if isinstance(kept.get("conditions"), list):
            kept["conditions"] = [{k: c[k] for k in CACHED_CONDITION_FIELDS if k in c}
                                  for c in kept["conditions"] if isinstance(c, dict)]
    out: dict[str, Any] = {k: pod[k] for k in ("apiVersion", "kind", "metadata") if k in pod}
    out["status"] = kept
    node = (pod.get("spec") or {}).get("nodeName") if isinstance(pod.get("spec"), dict) else None
    if node:
        out["spec"] = {"nodeName": node}
    return out


__all__ = ["is_ready", "is_terminating", "keep_read_fields", "labels", "metadata", "name", "phase"]
