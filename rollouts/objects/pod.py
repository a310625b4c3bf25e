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


__all__ = ["is_ready", "is_terminating", "labels", "metadata", "name", "phase"]
