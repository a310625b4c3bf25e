"""networking.k8s.io/v1 Ingresses, kept as the API server's dicts: the fields the nginx provider
reads to build ``<ingress>-canary`` (``spec.rules[].http.paths[].backend.service``,
``ingressClassName``, ``tls``). Why dicts: rules are copied verbatim (host, pathType, port), and only
annotations are ever written. ObjectMeta is in :mod:`rollouts.objects.meta`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Obj = Mapping[str, Any]
_EMPTY: Mapping[str, Any] = {}


def spec(ingress: Obj | None) -> Obj:
    """``spec`` (empty when absent)."""
    return (ingress or _EMPTY).get("spec") or _EMPTY


def rules(ingress: Obj | None) -> Sequence[Obj]:
    """``spec.rules`` (empty when absent)."""
    return spec(ingress).get("rules") or ()


def http_paths(rule: Obj) -> Sequence[Obj]:
    """``rule.http.paths`` of one rule (empty when the rule has no HTTP section)."""
    return (rule.get("http") or _EMPTY).get("paths") or ()


def backend_service_name(path: Obj) -> str | None:
    """``path.backend.service.name``; ``None`` for a resource backend or no backend."""
    service = (path.get("backend") or _EMPTY).get("service")
    return service.get("name") if service else None


__all__ = ["backend_service_name", "http_paths", "rules", "spec"]
