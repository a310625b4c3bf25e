"""Rollout rules beyond upstream's webhook: inputs upstream admits but nothing can release, and warnings.

Upstream (api.md §7) admits Rollouts that then fail at run time or do something surprising; a
fuzzing run of hostile Rollouts found them. Two kinds of answers live here:

* **errors** — inputs no controller can act on, refused with the field and the fix: integers beyond
  the int32/int64 the Go types hold (upstream's decoder refuses those too, with a less useful
  message), a workload apiVersion/kind that is not served or cannot be released (a ReplicaSet,
  ``apps/v2``), a workload name that cannot name an object, an unparsable ``failureThreshold``,
  traffic settings in steps of a Rollout that routes no traffic, a v1alpha1 ``weight`` beside
  ``replicas`` outside 0–100 (upstream checks weight only when replicas is absent), and A/B matches the
  nginx Ingress provider cannot express (every ingress ``classType`` is admitted: a user script for
  it may be added to the ConfigMap at any time; without one the Rollout's status names the key);
* **warnings** — inputs the spec says upstream accepts (api.md §7.3: ``pause.duration`` sign,
  ``failureThreshold`` range) or ignores (``spec.rolloutID``): still admitted, but the response
  carries a warning that ``kubectl`` prints.

Features we have not built yet are not here: see :mod:`rollouts.api.unsupported`.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any, Final

from rollouts.api import gateway_matches, keys
from rollouts.api import v1alpha1 as a
from rollouts.api import v1beta1 as b
from rollouts.api.common import ObjectRef
from rollouts.api.field_errors import FieldError, invalid
from rollouts.api.intstr import IntOrString
from rollouts.api.nginx_matches import match_problem
from rollouts.api.schema import root_schema
from rollouts.api.unsupported import NGINX_MATCH_INGRESS_CLASSES

INT32: Final = (-(2**31), 2**31 - 1)
INT64: Final = (-(2**63), 2**63 - 1)
#: Kubernetes object names (DNS-1123 subdomain, k8s.io/apimachinery validation.IsDNS1123Subdomain).
DNS1123_SUBDOMAIN: Final = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_SUBDOMAIN_MAX: Final = 253

#: API versions served for each releasable (group, kind). Upstream checks group and kind only, so it
#: admits ``apps/v2`` (no such API) and lets the release fail later; built-in ``apps`` serves only
#: v1 since Kubernetes 1.16, OpenKruise serves the versions listed. ReplicaSet is deliberately
#: absent: upstream's webhook lists it, but no finder (upstream's or ours) can release one.
SERVED_VERSIONS: Final[dict[tuple[str, str], frozenset[str]]] = {
    ("apps", "Deployment"): frozenset({"v1"}),
    ("apps", "StatefulSet"): frozenset({"v1"}),
    ("apps", "DaemonSet"): frozenset({"v1"}),
    ("apps.kruise.io", "CloneSet"): frozenset({"v1alpha1"}),
    ("apps.kruise.io", "DaemonSet"): frozenset({"v1alpha1"}),
    ("apps.kruise.io", "StatefulSet"): frozenset({"v1alpha1", "v1beta1"}),
}


def _bounds(schema: dict[str, Any]) -> tuple[int, int] | None:
    if schema.get("x-kubernetes-int-or-string"):
        return INT32  # Go intstr.IntOrString holds an int32
    if schema.get("type") == "integer":
        return INT32 if schema.get("format") == "int32" else INT64
    return None


def int_range_errors(value: Any, schema: dict[str, Any], path: str) -> list[FieldError]:
    """Every integer of ``value`` beyond the range its schema field holds (walks properties/items)."""
    errs: list[FieldError] = []
    bounds = _bounds(schema)
    if bounds is not None and isinstance(value, int) and not isinstance(value, bool):
        if not bounds[0] <= value <= bounds[1]:
            kind = "int32" if bounds == INT32 else "int64"
            errs.append(invalid(path, value, f"must fit in an {kind} ({bounds[0]}..{bounds[1]}); use a smaller "
                                             "number" + (' or a percentage such as "50%"'
                                                         if schema.get("x-kubernetes-int-or-string") else "")))
        return errs
    if isinstance(value, dict):
        for key, sub in (schema.get("properties") or {}).items():
            if key in value:
                errs += int_range_errors(value[key], sub, f"{path}.{key}" if path else key)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            errs += int_range_errors(item, schema["items"], f"{path}[{i}]")
    return errs


@cache
def _spec_schema(cls: type) -> dict[str, Any]:
    return root_schema(cls, "")["properties"]["spec"]


def spec_int_range_errors(obj: dict[str, Any]) -> list[FieldError]:
    """int32/int64 overflow anywhere in the raw ``spec`` of a Rollout dict (either version)."""
    cls = a.Rollout if str(obj.get("apiVersion", "")).endswith("/v1alpha1") else b.Rollout
    return int_range_errors(obj.get("spec"), _spec_schema(cls), "spec")


def workload_ref_errors(ref: ObjectRef, path: str, *, filter_workload_type: bool = True) -> list[FieldError]:
    """A target that can name an object and that a controller can release (served apiVersion + kind)."""
    errs: list[FieldError] = []
    group, _, version = ref.api_version.rpartition("/")
    served = SERVED_VERSIONS.get((group, ref.kind))
    if group == "apps" and ref.kind == "ReplicaSet":
        errs.append(invalid(f"{path}.kind", ref.kind, "a Rollout cannot release a ReplicaSet; reference the "
                                                      "Deployment that owns it (apiVersion apps/v1, kind Deployment)"))
    elif filter_workload_type and served is not None and version not in served:
        want = " or ".join(f"{group}/{v}" for v in sorted(served))
        errs.append(invalid(f"{path}.apiVersion", ref.api_version,
                            f"{ref.kind} is not served as {ref.api_version}; use apiVersion {want}"))
    if len(ref.name) > DNS1123_SUBDOMAIN_MAX or not DNS1123_SUBDOMAIN.match(ref.name):
        shown = ref.name if len(ref.name) <= 80 else f"{ref.name[:60]}...({len(ref.name)} characters)"
        errs.append(invalid(f"{path}.name", shown, "must be the name of a workload: a lowercase RFC 1123 subdomain "
                                                   f"of at most {DNS1123_SUBDOMAIN_MAX} characters (a-z, 0-9, '-' "
                                                   "and '.', starting and ending with a letter or digit)"))
    return errs


def _strategy_path(r: a.Rollout | b.Rollout) -> tuple[str, Any]:
    if isinstance(r, b.Rollout) and r.spec.strategy.blue_green is not None:
        return "spec.strategy.blueGreen", r.spec.strategy.blue_green
    return "spec.strategy.canary", r.spec.strategy.canary


def _routes_traffic(r: a.Rollout | b.Rollout, strategy: Any) -> bool:
    if strategy.traffic_routings or getattr(strategy, "traffic_routing_ref", ""):
        return True
    return bool(r.annotations.get(keys.TRAFFIC_ROUTING_ANNOTATION))


def traffic_without_routing_errors(r: a.Rollout | b.Rollout) -> list[FieldError]:
    """A step's ``traffic``/``weight``/``matches`` mean nothing when no traffic routing is configured."""
    path, strategy = _strategy_path(r)
    if strategy is None or _routes_traffic(r, strategy):
        return []
    for i, step in enumerate(strategy.steps):
        weight_key = "weight" if isinstance(r, a.Rollout) else "traffic"
        weight = getattr(step, weight_key)
        if weight is not None:
            return [invalid(f"{path}.steps[{i}].{weight_key}", weight,
                            f"{weight_key} needs a traffic routing; add {path}.trafficRoutings or remove "
                            f'{weight_key} and set replicas (e.g. replicas: "20%")')]
        if step.matches:
            return [invalid(f"{path}.steps[{i}].matches", None,
                            f"matches need a traffic routing; add {path}.trafficRoutings or remove matches")]
    return []


def routing_object_errors(r: a.Rollout | b.Rollout) -> list[FieldError]:
    """A Rollout releasing through a TrafficRouting object routes no traffic itself.

    Upstream admits both and then drives the same gateway twice (its own canary routes and the
    object's), and finalises them in unrelated orders; we refuse the pair, naming both fields.
    """
    path, strategy = _strategy_path(r)
    if strategy is None or not strategy.traffic_routings:
        return []
    annotated = r.annotations.get(keys.TRAFFIC_ROUTING_ANNOTATION, "")
    ref = getattr(strategy, "traffic_routing_ref", "")
    if not annotated and not ref:
        return []
    other = (f"metadata.annotations[{keys.TRAFFIC_ROUTING_ANNOTATION}]" if annotated
             else f"{path}.trafficRoutingRef")
    return [invalid(f"{path}.trafficRoutings", [t.service for t in strategy.traffic_routings],
                    f"cannot be set together with {other} (TrafficRouting {annotated or ref}): the TrafficRouting "
                    f"object routes the traffic of this Rollout; remove {path}.trafficRoutings, or remove {other} "
                    "to route through the Rollout's own trafficRoutings")]


def weight_range_errors(r: a.Rollout | b.Rollout) -> list[FieldError]:
    """A v1alpha1 ``weight`` is a traffic percentage even when ``replicas`` is set; upstream only
    range-checks it when replicas is absent and then routes e.g. 150% at run time."""
    if not isinstance(r, a.Rollout) or r.spec.strategy.canary is None:
        return []
    for i, step in enumerate(r.spec.strategy.canary.steps):
        w = step.weight
        if w is not None and step.replicas is not None and not 0 <= w <= 100 and INT32[0] <= w <= INT32[1]:
            return [invalid(f"spec.strategy.canary.steps[{i}].weight", w,
                            "weight is the percentage of traffic routed to the new version; use 0 to 100")]
    return []


def _threshold_percent(ft: IntOrString) -> int | None:
    """The threshold as an int or a percent number; None when unparsable."""
    if ft.is_int:
        return int(ft.value)
    try:
        return ft.percent()
    except ValueError:
        return None


def failure_threshold_errors(r: a.Rollout | b.Rollout) -> list[FieldError]:
    """Unparsable ``failureThreshold`` (e.g. ``"5"`` or ``"x%"``) would fail every batch check at run time."""
    path, strategy = _strategy_path(r)
    ft = strategy.failure_threshold if strategy is not None else None
    if ft is None or _threshold_percent(ft) is not None:
        return []
    return [invalid(f"{path}.failureThreshold", ft.value,
                    'must be a number of pods (e.g. 1) or a percentage of the batch (e.g. "20%")')]


def rollout_warnings(r: a.Rollout | b.Rollout) -> list[str]:
    """Inputs upstream accepts (api.md §7.3) that probably do not do what was meant."""
    out: list[str] = []
    path, strategy = _strategy_path(r)
    if strategy is None:
        return out
    for i, step in enumerate(strategy.steps):
        d = step.pause.duration
        if d is not None and d < 0:
            out.append(f"{path}.steps[{i}].pause.duration: {d} is negative and continues at once like 0; use 0 or "
                       "more seconds, or remove duration to wait for manual approval")
    ft = strategy.failure_threshold
    value = _threshold_percent(ft) if ft is not None else None
    if ft is not None and value is not None and (value < 0 or (not ft.is_int and value > 100)):
        effect = ("a negative threshold makes every batch wait for more ready pods than it has, so the release "
                  "never advances" if value < 0 else 'a threshold above "100%" tolerates every not-ready pod')
        out.append(f"{path}.failureThreshold: {ft.value!s} is out of range: {effect}; use 0 or more pods, or "
                   '"0%" to "100%"')
    if isinstance(r, a.Rollout) and r.spec.deprecated_rollout_id:
        out.append(f"spec.rolloutID is deprecated and not stored; set the workload label {keys.ROLLOUT_ID_LABEL} "
                   "instead")
    return out


def nginx_match_errors(r: a.Rollout | b.Rollout) -> list[FieldError]:
    """Matches the nginx Ingress provider cannot express (:mod:`rollouts.api.nginx_matches`), refused
    here rather than silently dropped at run time as upstream does; the first bad step only."""
    path, strategy = _strategy_path(r)
    refs = strategy.traffic_routings if strategy is not None else []
    if not refs or refs[0].ingress is None or refs[0].ingress.class_type not in NGINX_MATCH_INGRESS_CLASSES:
        return []
    for i, step in enumerate(strategy.steps):
        problem = match_problem(step.matches, where=f"{path}.steps[{i}]")
        if problem is not None:
            return [invalid(problem[0], None, problem[1])]
    return []


def gateway_match_errors(r: a.Rollout | b.Rollout) -> list[FieldError]:
    """A match the Gateway API provider refuses (:mod:`rollouts.api.gateway_matches`); the first bad step only."""
    path, strategy = _strategy_path(r)
    refs = strategy.traffic_routings if strategy is not None else []
    if not refs or refs[0].gateway is None:
        return []
    for i, step in enumerate(strategy.steps):
        problem = gateway_matches.match_problem(step.matches, where=f"{path}.steps[{i}]")
        if problem is not None:
            return [invalid(problem[0], None, problem[1])]
    return []
