"""core/v1 Services, kept as the API server's dicts: the fields traffic routing reads
(``spec``, ``spec.selector``). Why dicts: we copy the whole spec into the canary Service and write
back only the selector key we own, so a model would have to carry every Service field unchanged.
ObjectMeta is in :mod:`rollouts.objects.meta`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Obj = Mapping[str, Any]
_EMPTY: Mapping[str, Any] = {}


def spec(service: Obj | None) -> Obj:
    """``spec`` (empty when absent)."""
    return (service or _EMPTY).get("spec") or _EMPTY


def selector(service: Obj | None) -> Mapping[str, str]:
    """``spec.selector`` (empty when absent or ``null``)."""
    return spec(service).get("selector") or _EMPTY


def selector_value(service: Obj | None, key: str) -> str | None:
    """``spec.selector[key]``; ``None`` when absent or empty (an empty value selects nothing we set)."""
    return selector(service).get(key) or None


__all__ = ["selector", "selector_value", "spec"]
