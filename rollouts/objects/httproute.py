"""gateway.networking.k8s.io HTTPRoutes, kept as the API server's dicts: the fields the Gateway API
provider reads and rewrites (``spec.rules[].backendRefs[]`` and ``spec.rules[].matches[]``).

Why dicts: rules are copied verbatim (filters, timeouts, fields of Gateway API versions newer than
ours) and written back whole, so a typed model would silently drop what it does not know. Why the
``kind`` test: Gateway API defaults ``backendRefs[].kind`` to ``Service`` on write, and upstream
matches a backend by ``kind == "Service"`` and name (traffic-routing.md §4.2); a ref whose kind is
absent (an object not yet defaulted, e.g. in unit tests) is treated as a Service as the default says.
ObjectMeta is in :mod:`rollouts.objects.meta`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Obj = Mapping[str, Any]
_EMPTY: Mapping[str, Any] = {}

#: ``backendRefs[].kind`` default of the Gateway API schema.
SERVICE_KIND = "Service"


def spec(route: Obj | None) -> Obj:
    """``spec`` (empty when absent)."""
    return (route or _EMPTY).get("spec") or _EMPTY


def rules(route: Obj | None) -> Sequence[Obj]:
    """``spec.rules`` (empty when absent)."""
    return spec(route).get("rules") or ()


def backend_refs(rule: Obj) -> Sequence[Obj]:
    """``rule.backendRefs`` (empty when absent)."""
    return rule.get("backendRefs") or ()


def rule_matches(rule: Obj) -> Sequence[Obj]:
    """``rule.matches`` (empty when absent; the schema defaults it to one ``PathPrefix /`` match)."""
    return rule.get("matches") or ()


def is_service_ref(ref: Obj, service: str) -> bool:
    """Whether a backendRef points at the Service ``service`` (same namespace; kind absent = Service)."""
    return (ref.get("kind") or SERVICE_KIND) == SERVICE_KIND and ref.get("name") == service and not ref.get("group")


def service_ref(rule: Obj, service: str) -> Obj | None:
    """The first backendRef of ``rule`` pointing at ``service``, or None."""
    return next((ref for ref in backend_refs(rule) if is_service_ref(ref, service)), None)


__all__ = ["SERVICE_KIND", "backend_refs", "is_service_ref", "rule_matches", "rules", "service_ref", "spec"]
