"""Rollout validation — the rules of the validating webhook (api.md §7, workload-webhook.md §8).

Two entry points, both versions: :func:`validate_rollout` runs upstream's rules; :func:`review_rollout`
(what the webhook uses) adds our stricter rules (:mod:`rollouts.api.validation_extra`), refuses the features
this controller has not built (:mod:`rollouts.api.unsupported`) and collects warnings. The webhook
decodes nothing itself: it passes the admission ``object``/``oldObject`` dicts, the other Rollouts of
the namespace (for the conflict rule) and the operator flags as :class:`ValidationSettings`.

Faithful to upstream (pkg/webhook/rollout/validating/*.go) in *which* rules run and in what order:
spec errors are collected (workload ref, then strategy), step validation stops at the first bad
step, traffic-routing errors are all reported, the conflict check follows, and on UPDATE the
immutability rules run only when the new object is otherwise valid and the stored Rollout is
``Progressing``/``Terminating``. Deliberate differences: paths are wire paths
(``spec.strategy.canary.steps[1].replicas`` instead of Go's ``Spec.Strategy.Canary.Steps[1].Replicas``)
and each upstream message is followed by a hint saying what would be valid; the conflict rule
compares API group, kind and name (not the full apiVersion).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from rollouts.analysis import deadline
from rollouts.api import constants as C
from rollouts.api import keys
from rollouts.api import v1alpha1 as a
from rollouts.api import v1beta1 as b
from rollouts.api import validation_extra as vx
from rollouts.api import validation_fields as vf
from rollouts.api.common import ObjectRef, TrafficRoutingRef
from rollouts.api.field_errors import FieldError, forbidden, format_errors, invalid, required
from rollouts.api.intstr import IntOrString
from rollouts.api.unsupported import unsupported_errors
from rollouts.api.validation_extra import rollout_warnings
from rollouts.api.wire import DecodeError, from_dict

__all__ = [
    "FieldError", "ValidationSettings", "validate_rollout", "review_rollout", "Review", "format_errors",
    "workload_supported", "decode_errors",
    "SUPPORTED_WORKLOADS", "BLUE_GREEN_WORKLOADS",
]


@attrs.frozen(kw_only=True)
class ValidationSettings:
    """Operator flags that change validation."""

    #: ``--partition-percent-limit``: max percentage ``replicas`` of a partition-style step that also
    #: routes traffic (a larger share would leave too few stable pods to absorb a rollback).
    partition_percent_limit: int = C.DEFAULT_PARTITION_PERCENT_LIMIT
    #: ``--filter-workload-type``: when False any workload kind is accepted.
    filter_workload_type: bool = True


DEFAULT_SETTINGS = ValidationSettings()

#: (group, kind) of workloads a Rollout may reference (pkg/util IsSupportedWorkload).
SUPPORTED_WORKLOADS = frozenset({
    ("apps", "ReplicaSet"), ("apps", "Deployment"), ("apps", "StatefulSet"), ("apps", "DaemonSet"),
    ("apps.kruise.io", "CloneSet"), ("apps.kruise.io", "StatefulSet"), ("apps.kruise.io", "DaemonSet"),
})
#: Blue-green supports only these.
BLUE_GREEN_WORKLOADS = frozenset({("apps", "Deployment"), ("apps.kruise.io", "CloneSet")})

_SUPPORTED_HINT = (
    "supported workloads are apps/v1 Deployment, StatefulSet, DaemonSet and apps.kruise.io/v1alpha1 "
    "CloneSet, DaemonSet, apps.kruise.io/v1alpha1 or v1beta1 StatefulSet"
)
_REPLICAS_RANGE = 'replicas must be positive number, or a percentage with "0%" < canaryReplicas <= "100%"'


def group_of(api_version: str) -> str:
    """``apps/v1`` → ``apps``; ``v1`` → ``""`` (core group)."""
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""


def workload_supported(ref: ObjectRef, settings: ValidationSettings = DEFAULT_SETTINGS) -> bool:
    return not settings.filter_workload_type or (group_of(ref.api_version), ref.kind) in SUPPORTED_WORKLOADS


def _ref_json(ref: ObjectRef | None) -> Any:
    return None if ref is None else {"apiVersion": ref.api_version, "kind": ref.kind, "name": ref.name}


# ------------------------------------------------------------------------------------------------
# Shared rules
# ------------------------------------------------------------------------------------------------


def replicas_error(replicas: IntOrString, path: str) -> FieldError | None:
    """Rule 5b: scaled against 100 (ceil) must be > 0; a percentage must be ≤ 100%."""
    try:
        scaled = replicas.scaled_value(100, True)
    except ValueError:
        scaled = None
    if scaled is None or scaled <= 0 or (scaled > 100 and not replicas.is_int):
        return invalid(path, replicas.value, f'{_REPLICAS_RANGE}; e.g. 1 or "20%"')
    return None


def is_percentage(replicas: IntOrString | None) -> bool:
    """Upstream ``IsPercentageCanaryReplicasType``: nil counts as a percentage."""
    return replicas is None or not replicas.is_int


def scaled_or_zero(replicas: IntOrString | None) -> int:
    try:
        return 0 if replicas is None else replicas.scaled_value(100, True)
    except ValueError:
        return 0


def validate_traffic_routings(refs: list[TrafficRoutingRef], path: str) -> list[FieldError]:
    """Rule 7: at most one element; each must name a Service and one provider."""
    errs: list[FieldError] = []
    if len(refs) > 1:
        errs.append(invalid(path, [r.service for r in refs],
                            "Rollout currently only support single TrafficRouting. Keep exactly one element"))
    for i, r in enumerate(refs):
        p = f"{path}[{i}]"
        if r.grace_period_seconds < 0:
            errs.append(invalid(f"{p}.gracePeriodSeconds", r.grace_period_seconds,
                                "TrafficRouting.GracePeriodSeconds cannot be negative; use 0 or more seconds"))
        if not r.service:
            errs.append(required(f"{p}.service",
                                 "TrafficRouting.Service cannot be empty; set the name of the stable Service"))
        if r.gateway is None and r.ingress is None and not r.custom_network_refs:
            errs.append(required(p, "TrafficRoutings are not set; configure one of ingress, gateway or "
                                    "customNetworkRefs"))
        if r.ingress is not None and not r.ingress.name:
            errs.append(required(f"{p}.ingress.name",
                                 "TrafficRouting.Ingress.Ingress cannot be empty; set the name of the Ingress"))
        if r.gateway is not None and not r.gateway.http_route_name:
            errs.append(required(f"{p}.gateway.httpRouteName",
                                 "TrafficRouting.Gateway must set the name of HTTPRoute or HTTPsRoute"))
    return errs


def conflict_errors(name: str, namespace: str, ref: ObjectRef | None, others: Iterable[Mapping[str, Any]],
                    path: str) -> list[FieldError]:
    """Rule 8: another Rollout (any version) in the namespace already targets the same workload.

    Deliberate difference: the same workload is the same API group, kind and name. Upstream compares
    the full apiVersion, so ``apps/v1``, ``apps/v1beta1`` and ``apps/v2`` Rollouts of one Deployment were
    all admitted and then fought over it (the controllers match workloads by group, not version).
    """
    if ref is None:
        return []
    for other in others:
        meta = other.get("metadata") if isinstance(other, dict) else None
        if not isinstance(meta, dict) or meta.get("name") == name:
            continue
        # On CREATE the object may carry no namespace (it comes from the request); the caller lists per
        # namespace, so only a namespace both sides state can rule a Rollout out.
        other_ns = meta.get("namespace") or namespace
        if namespace and other_ns != namespace:
            continue
        other_ref = _workload_ref_of(other)
        if other_ref is not None and (group_of(other_ref.api_version), other_ref.kind, other_ref.name) == (
                group_of(ref.api_version), ref.kind, ref.name):
            return [invalid(path, name,
                            f"This rollout conflict with Rollout({other_ns}/{meta.get('name')}), one workload only "
                            "have less than one Rollout; target another workload or delete that Rollout")]
    return []


def _workload_ref_of(obj: Mapping[str, Any]) -> ObjectRef | None:
    """The workload of a Rollout dict in either version; None when absent or undecodable."""
    raw_spec = obj.get("spec")
    spec: dict[str, Any] = raw_spec if isinstance(raw_spec, dict) else {}
    raw = spec.get("workloadRef")
    if raw is None and isinstance(spec.get("objectRef"), dict):
        raw = spec["objectRef"].get("workloadRef")
    try:
        return None if raw is None else from_dict(ObjectRef, raw)
    except DecodeError:
        return None


# ------------------------------------------------------------------------------------------------
# v1beta1
# ------------------------------------------------------------------------------------------------


def v1beta1_style(r: b.Rollout) -> str:
    """Validation context style: BlueGreen, Partition (real partition) or Canary."""
    if r.spec.strategy.blue_green is not None:
        return C.ROLLING_STYLE_BLUE_GREEN
    return C.ROLLING_STYLE_PARTITION if r.is_real_partition() else C.ROLLING_STYLE_CANARY


def _validate_v1beta1_ref(r: b.Rollout, style: str, s: ValidationSettings) -> list[FieldError]:
    ref = r.spec.workload_ref
    path = "spec.workloadRef"
    if not workload_supported(ref, s):
        return [invalid(path, _ref_json(ref), f"WorkloadRef kind is not supported; {_SUPPORTED_HINT}")]
    if style == C.ROLLING_STYLE_BLUE_GREEN and (group_of(ref.api_version), ref.kind) not in BLUE_GREEN_WORKLOADS:
        return [invalid(path, _ref_json(ref), "WorkloadRef kind is not supported for bluegreen style; blue-green "
                                              "supports apps Deployment and apps.kruise.io CloneSet")]
    return []


def _step_traffic_error(step: b.CanaryStep, style: str, path: str) -> FieldError | None:
    try:
        weight = IntOrString(step.traffic or "").scaled_value(100, True)
    except ValueError:
        weight = None
    if style == C.ROLLING_STYLE_BLUE_GREEN:
        if weight is None or weight < 0 or weight > 100:
            return invalid(path, step.traffic, 'traffic must be percentage with "0%" <= traffic <= "100%" in '
                                               'blueGreen strategy; e.g. "20%"')
    elif weight is None or weight <= 0 or weight > 100:
        return invalid(path, step.traffic, 'traffic must be percentage with "0%" < traffic <= "100%" in canary '
                                           'strategy; e.g. "20%"')
    return None


def _validate_v1beta1_steps(steps: list[b.CanaryStep], style: str, path: str,
                            s: ValidationSettings) -> list[FieldError]:
    """Rules 4–6; returns at the first failing step like upstream."""
    if not steps:
        return [required(path, "The number of Canary.Steps cannot be empty; add at least one step with replicas")]
    for i, step in enumerate(steps):
        p = f"{path}[{i}]"
        if step.replicas is None:
            return [required(f"{p}.replicas", 'replicas cannot be empty; set a number (e.g. 1) or a percentage '
                                              '(e.g. "20%")')]
        if (err := replicas_error(step.replicas, f"{p}.replicas")) is not None:
            return [err]
        if step.traffic is None and not step.matches:
            continue
        if style == C.ROLLING_STYLE_PARTITION and not step.replicas.is_int:
            if step.replicas.scaled_value(100, True) > s.partition_percent_limit:
                return [invalid(f"{p}.replicas", step.replicas.value,
                                "For partition style rollout: step[x].replicas must not greater than "
                                "partition-percent-limit if traffic specified; use at most "
                                f'"{s.partition_percent_limit}%" or remove traffic/matches from this step')]
        if step.traffic is not None and (err := _step_traffic_error(step, style, f"{p}.traffic")) is not None:
            return [err]
    for i in range(1, len(steps)):
        prev, curr = steps[i - 1].replicas, steps[i].replicas
        if is_percentage(prev) != is_percentage(curr):
            continue
        if scaled_or_zero(curr) < scaled_or_zero(prev):
            return [invalid(f"{path}[{i}].replicas", curr.value if curr else None,
                            "Steps.CanaryReplicas must be a non decreasing sequence; "
                            f"step {i + 1} replicas must be at least {prev.value if prev else 0}")]
    return []


def validate_v1beta1(r: b.Rollout, s: ValidationSettings = DEFAULT_SETTINGS) -> list[FieldError]:
    """Spec rules 1–7 for a v1beta1 Rollout (no conflict / update rules)."""
    style = v1beta1_style(r)
    errs = _validate_v1beta1_ref(r, style, s)
    strategy = r.spec.strategy
    if strategy.canary is None and strategy.blue_green is None:
        return errs + [required("spec.strategy", "Canary and BlueGreen cannot both be empty; set "
                                                 "spec.strategy.canary or spec.strategy.blueGreen")]
    if strategy.canary is not None and strategy.blue_green is not None:
        return errs + [forbidden("spec.strategy", "Canary and BlueGreen cannot both be set; keep only one of "
                                                  "spec.strategy.canary and spec.strategy.blueGreen")]
    path = "spec.strategy.blueGreen" if strategy.blue_green is not None else "spec.strategy.canary"
    active = strategy.active()
    assert active is not None
    errs += _validate_v1beta1_steps(active.steps, style, f"{path}.steps", s)
    errs += validate_traffic_routings(active.traffic_routings, f"{path}.trafficRoutings")
    return errs


def validate_v1beta1_update(old: b.Rollout, new: b.Rollout, phase: str) -> list[FieldError]:
    """Rule 9: while Progressing/Terminating, refs, traffic routings, style and step count are frozen."""
    if phase not in (C.PHASE_PROGRESSING, C.PHASE_TERMINATING):
        return []
    path = "spec.strategy.blueGreen" if new.spec.strategy.blue_green is not None else "spec.strategy.canary"
    hint = f"; wait until the Rollout is no longer {phase}"
    if old.spec.workload_ref != new.spec.workload_ref:
        return [forbidden("spec.workloadRef", "Rollout 'ObjectRef' field is immutable" + hint)]
    if old.spec.strategy.traffic_routings() != new.spec.strategy.traffic_routings():
        return [forbidden(f"{path}.trafficRoutings",
                          "Rollout 'Strategy.Canary|BlueGreen.TrafficRoutings' field is immutable" + hint)]
    if old.spec.strategy.rolling_style() != new.spec.strategy.rolling_style():
        return [forbidden(path, "Rollout style and enableExtraWorkloadForCanary are immutable" + hint)]
    if len(old.spec.strategy.steps()) != len(new.spec.strategy.steps()):
        return [forbidden(f"{path}.steps", "Amount of Rollout steps are immutable; keep "
                                            f"{len(old.spec.strategy.steps())} steps" + hint.replace(";", " or"))]
    return []


# ------------------------------------------------------------------------------------------------
# Entry point
# ------------------------------------------------------------------------------------------------


def decode_errors(obj: Any) -> list[FieldError]:
    """Only the decoding problems of a Rollout dict (wrong apiVersion/kind, JSON type mismatches).

    Upstream answers undecodable requests with HTTP 400 rather than 422; a webhook that wants to keep
    that distinction calls this first. :func:`validate_rollout` reports the same errors itself.
    """
    from rollouts.api import validation_v1alpha1 as va

    return va.decode_rollout(obj)[1]


def validate_rollout(
    obj: dict[str, Any],
    old: dict[str, Any] | None = None,
    *,
    others: Iterable[Mapping[str, Any]] = (),
    settings: ValidationSettings = DEFAULT_SETTINGS,
    latest_phase: str | None = None,
    namespace: str | None = None,
) -> list[FieldError]:
    """Validate a Rollout on CREATE (``old`` None) or UPDATE by upstream's rules (api.md §7).

    ``others``: the Rollouts currently in the namespace (any version; itself is skipped by name).
    ``latest_phase``: ``status.phase`` of the stored Rollout (upstream re-reads it); defaults to the
    phase of ``old``. ``namespace``: the request namespace, used when the object does not state one.
    Returns an empty list when the object is acceptable; never raises for bad input. Our stricter
    rules and the features not built yet are *not* checked here: see :func:`review_rollout`.
    """
    from rollouts.api import validation_v1alpha1 as va

    new, errs = va.decode_rollout(obj)
    if errs or new is None:  # decode_rollout returns a model exactly when it returns no errors
        return errs
    return _validate_model(new, obj, old, others=others, settings=settings, latest_phase=latest_phase,
                           namespace=namespace, extra=False)


@attrs.frozen
class Review:
    """The admission answer for a Rollout: refuse when ``errors``; ``warnings`` are shown either way."""

    errors: list[FieldError]
    warnings: list[str] = attrs.field(factory=list)


def review_rollout(
    obj: dict[str, Any],
    old: dict[str, Any] | None = None,
    *,
    others: Iterable[Mapping[str, Any]] = (),
    settings: ValidationSettings = DEFAULT_SETTINGS,
    latest_phase: str | None = None,
    namespace: str | None = None,
) -> Review:
    """What the validating webhook answers: keys the API does not have, with where they belong
    (``rollouts.api.validation_fields``), upstream's rules (:func:`validate_rollout`) and ours
    (``rollouts.api.validation_extra``), then the features this controller has not built
    (``rollouts.api.unsupported``), all refused; plus warnings for inputs upstream accepts but that
    probably do not do what was meant (``validation_extra.rollout_warnings``). An UPDATE that does
    not change the spec is admitted as is (see :func:`_spec_unchanged`)."""
    from rollouts.api import validation_v1alpha1 as va

    new, errs = va.decode_rollout(obj)
    if errs or new is None:
        return Review(errs)
    fields = _new_unknown_fields(obj, old) + _annotation_errors(new, old)
    if old is not None and not fields and _spec_unchanged(old, new):
        return Review([])
    errs = _validate_model(new, obj, old, others=others, settings=settings, latest_phase=latest_phase,
                           namespace=namespace, extra=True)
    return Review(fields + errs + unsupported_errors(new), rollout_warnings(new))


def _annotation_errors(new: a.Rollout | b.Rollout, old: dict[str, Any] | None) -> list[FieldError]:
    """Our annotations whose values form a closed set (the progress deadline action), refused otherwise.

    A value the stored object already carries is kept (ratcheting, as :func:`_spec_unchanged`): a
    Rollout annotated before this rule must stay updatable; the controller treats it as ``none``."""
    raw = new.annotations.get(deadline.ACTION_ANNOTATION)
    if raw is None or (problem := deadline.action_problem(raw)) is None:
        return []
    stored = ((old.get("metadata") or {}).get("annotations") or {}) if isinstance(old, dict) else {}
    if stored.get(deadline.ACTION_ANNOTATION) == raw:
        return []
    return [invalid(f"metadata.annotations[{deadline.ACTION_ANNOTATION}]", raw, problem)]


def _new_unknown_fields(obj: dict[str, Any], old: dict[str, Any] | None) -> list[FieldError]:
    """Keys the model does not have (``validation_fields``), except those ``old`` already carried in
    the same version: a Rollout stored with one (before this webhook ran) must stay updatable."""
    errs = vf.unknown_field_errors(obj)
    if errs and isinstance(old, dict) and old.get("apiVersion") == obj.get("apiVersion"):
        stored = {e.field for e in vf.unknown_field_errors(old)}
        errs = [e for e in errs if e.field not in stored]
    return errs


#: Annotations that are part of a v1alpha1 Rollout's strategy (style and TrafficRouting name).
_STRATEGY_ANNOTATIONS = (keys.ROLLING_STYLE_ANNOTATION, keys.TRAFFIC_ROUTING_ANNOTATION)


def _spec_unchanged(old: dict[str, Any], new: a.Rollout | b.Rollout) -> bool:
    """An UPDATE that leaves the spec (and the strategy annotations) as stored is not judged again.

    Why: the controller's own metadata writes — adding or removing its finalizer, the hash
    annotation — are UPDATEs too. A Rollout stored before a rule existed (an unbuilt feature, two
    Rollouts on one Deployment through different apiVersions) would otherwise have those refused,
    and could never even be deleted. Kubernetes calls this validation ratcheting.
    """
    from rollouts.api import validation_v1alpha1 as va

    old_model, errs = va.decode_old(old, new)
    if errs or old_model is None or old_model.spec != new.spec:
        return False
    return all(old_model.annotations.get(k) == new.annotations.get(k) for k in _STRATEGY_ANNOTATIONS)


def _validate_model(
    new: a.Rollout | b.Rollout,
    obj: dict[str, Any],
    old: dict[str, Any] | None,
    *,
    others: Iterable[Mapping[str, Any]],
    settings: ValidationSettings,
    latest_phase: str | None,
    namespace: str | None,
    extra: bool,
) -> list[FieldError]:
    """Spec rules, conflict, (``extra``: ours), then — only when all pass — the UPDATE rules."""
    from rollouts.api import validation_v1alpha1 as va

    meta = new.metadata
    name = str(meta.get("name", ""))
    namespace = str(meta.get("namespace") or namespace or "")
    if isinstance(new, a.Rollout):
        ref, ref_path = new.spec.object_ref.workload_ref, "spec.objectRef.workloadRef"
        errs = va.validate_v1alpha1(new, settings)
    else:
        ref, ref_path = new.spec.workload_ref, "spec.workloadRef"
        errs = validate_v1beta1(new, settings)
    errs += conflict_errors(name, namespace, ref, others, ref_path)
    if extra:
        errs += _extra_errors(new, obj, ref, ref_path, settings)
    if errs or old is None:
        return errs
    old_model, old_errs = va.decode_old(old, new)
    if old_errs or old_model is None:
        return old_errs
    phase = latest_phase if latest_phase is not None else (old_model.status.phase if old_model.status else "")
    if isinstance(new, a.Rollout):
        return va.validate_v1alpha1_update(old_model, new, phase)
    return validate_v1beta1_update(old_model, new, phase)


def _extra_errors(new: a.Rollout | b.Rollout, obj: dict[str, Any], ref: ObjectRef | None, ref_path: str,
                  settings: ValidationSettings) -> list[FieldError]:
    """Our rules beyond upstream's (``validation_extra``), after upstream's."""
    errs = vx.spec_int_range_errors(obj)
    if isinstance(new, a.Rollout):
        errs += vf.header_name_errors(obj)
    if ref is not None:
        errs += vx.workload_ref_errors(ref, ref_path, filter_workload_type=settings.filter_workload_type)
    return (errs + vx.traffic_without_routing_errors(new) + vx.nginx_match_errors(new)
            + vx.gateway_match_errors(new)
            + vx.failure_threshold_errors(new) + vx.weight_range_errors(new) + vx.routing_object_errors(new))
