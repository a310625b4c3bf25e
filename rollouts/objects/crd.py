"""apiextensions.k8s.io/v1 CustomResourceDefinitions, kept as the API server's dicts: what the
workload finder, the installer and the webhook triggers read (group, kind, versions, conditions)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Obj = Mapping[str, Any]
_EMPTY: Mapping[str, Any] = {}


def spec(crd: Obj | None) -> Obj:
    return (crd or _EMPTY).get("spec") or _EMPTY


def group(crd: Obj | None) -> str:
    return str(spec(crd).get("group") or "")


def names(crd: Obj | None) -> Obj:
    """``spec.names`` (``kind``, ``plural``, ...)."""
    return spec(crd).get("names") or _EMPTY


def kind(crd: Obj | None) -> str:
    return str(names(crd).get("kind") or "")


def defines(crd: Obj | None, group_name: str, kind_name: str) -> bool:
    """The CRD defines ``kind_name`` in API group ``group_name``."""
    return group(crd) == group_name and kind(crd) == kind_name


def served_versions(crd: Obj | None) -> list[str]:
    """Names of the versions with ``served: true``, in declaration order."""
    return [v.get("name") for v in spec(crd).get("versions") or [] if v.get("served")]


def conversion(crd: Obj | None) -> Any:
    """``spec.conversion`` as written (``None`` when absent)."""
    return spec(crd).get("conversion")


def is_established(crd: Obj | None) -> bool:
    """The ``Established`` condition is ``True`` (the API server serves the kind)."""
    conditions = ((crd or _EMPTY).get("status") or _EMPTY).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)


__all__ = ["conversion", "defines", "group", "is_established", "kind", "names", "served_versions", "spec"]
