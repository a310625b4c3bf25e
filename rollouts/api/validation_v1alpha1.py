"""v1alpha1 Rollout rules (api.md §7.2; upstream validate_v1alphal_rollout.go) and decoding helpers.

v1alpha1 differs from v1beta1 in the step shape (``weight`` + optional ``replicas``), in carrying the
style in the ``rollouts.kruise.io/rolling-style`` annotation, and in the update rules.
"""

from __future__ import annotations

from typing import Any

from rollouts.api import constants as C
from rollouts.api import keys
from rollouts.api import v1alpha1 as a
from rollouts.api import v1beta1 as b
from rollouts.api.field_errors import FieldError, forbidden, invalid, required
from rollouts.api.validation import (
    _SUPPORTED_HINT,
    DEFAULT_SETTINGS,
    ValidationSettings,
    _ref_json,
    is_percentage,
    replicas_error,
    scaled_or_zero,
    validate_traffic_routings,
    workload_supported,
)
from rollouts.api.wire import DecodeError, from_dict

_ROLLOUT_CLASSES = {C.API_VERSION_V1ALPHA1: a.Rollout, C.API_VERSION_V1BETA1: b.Rollout}
_STYLE_PATH = f"metadata.annotations[{keys.ROLLING_STYLE_ANNOTATION}]"


def decode_rollout(obj: Any) -> tuple[a.Rollout | b.Rollout | None, list[FieldError]]:
    """Decode a Rollout dict of either version; problems become FieldErrors (never raises)."""
    if not isinstance(obj, dict):
        return None, [invalid("", None, "expected a Rollout JSON object")]
    cls = _ROLLOUT_CLASSES.get(obj.get("apiVersion"))  # type: ignore[arg-type]
    if cls is None:
        return None, [invalid("apiVersion", obj.get("apiVersion"),
                              f"unsupported apiVersion; use one of {sorted(_ROLLOUT_CLASSES)}")]
    if obj.get("kind") != C.KIND_ROLLOUT:
        return None, [invalid("kind", obj.get("kind"), "expected kind Rollout")]
    try:
        return from_dict(cls, obj), []
    except DecodeError as e:
        return None, [invalid(e.path, None, e.message)]


def decode_old(old: Any, new: a.Rollout | b.Rollout) -> tuple[Any, list[FieldError]]:
    """Decode ``oldObject`` in the version of ``new`` (converting if the versions differ)."""
    from rollouts.api.conversion import ConversionError, convert

    if isinstance(old, dict) and old.get("apiVersion") != new.api_version:
        try:
            old = convert(old, new.api_version)
        except ConversionError as e:
            return None, [invalid("oldObject", None, str(e))]
    model, errs = decode_rollout(old)
    return model, [FieldError(e.type, f"oldObject.{e.field}".rstrip("."), e.detail, e.value) for e in errs]


def v1alpha1_style(r: a.Rollout) -> str:
    """Canary for apps/v1 Deployment with rolling-style empty or ``canary``; otherwise Partition."""
    style = r.annotations.get(keys.ROLLING_STYLE_ANNOTATION, "").lower()
    ref = r.spec.object_ref.workload_ref
    if style in ("", "canary") and ref is not None and ref.api_version == "apps/v1" and ref.kind == "Deployment":
        return C.ROLLING_STYLE_CANARY
    return C.ROLLING_STYLE_PARTITION


def _step_error(step: a.CanaryStep, p: str, style: str, s: ValidationSettings) -> FieldError | None:
    limit = s.partition_percent_limit
    if step.weight is None and step.replicas is None:
        return required(p, 'weight and replicas cannot be empty at the same time; set replicas (e.g. "20%") '
                           "and/or weight (1-100)")
    if step.replicas is not None:
        if (err := replicas_error(step.replicas, f"{p}.replicas")) is not None:
            return err
        if (style == C.ROLLING_STYLE_PARTITION and not step.replicas.is_int
                and step.replicas.scaled_value(100, True) > limit and (step.matches or step.weight is not None)):
            return invalid(f"{p}.replicas", step.replicas.value,
                           "For patition style rollout: step[x].replicas must not greater than "
                           "replicasLimitWithTraffic if traffic or matches specified; use at most "
                           f'"{limit}%" or remove weight/matches from this step')
        return None
    weight = step.weight
    assert weight is not None
    if style == C.ROLLING_STYLE_PARTITION and weight > limit:
        return invalid(f"{p}.weight", weight,
                       "For patition style rollout: step[x].weight must not greater than replicasLimitWithTraffic "
                       f"if replicas is not specified; use a weight of at most {limit} or set replicas")
    if weight <= 0 or weight > 100:
        return invalid(f"{p}.weight", weight, "weight must be positive number, and less than or equal to 100")
    return None


def _monotonic_error(steps: list[a.CanaryStep], path: str, has_traffic: bool) -> FieldError | None:
    for i in range(1, len(steps)):
        prev, curr = steps[i - 1], steps[i]
        if has_traffic and curr.weight is not None and prev.weight is not None and curr.weight < prev.weight:
            return invalid(f"{path}[{i}].weight", curr.weight, "Steps.Weight must be a non decreasing sequence; "
                                                               f"use a weight of at least {prev.weight}")
        if is_percentage(prev.replicas) != is_percentage(curr.replicas):
            continue
        p = scaled_or_zero(prev.replicas) if prev.replicas is not None else (prev.weight or 0)
        c = scaled_or_zero(curr.replicas) if curr.replicas is not None else (curr.weight or 0)
        if c < p:
            return invalid(f"{path}[{i}].replicas", curr.replicas.value if curr.replicas else None,
                           f"Steps.CanaryReplicas must be a non decreasing sequence; step {i + 1} must release "
                           f"at least as many replicas as step {i}")
    return None


def _validate_steps(canary: a.CanaryStrategy, style: str, path: str, s: ValidationSettings) -> list[FieldError]:
    if not canary.steps:
        return [required(path, "The number of Canary.Steps cannot be empty; add at least one step")]
    for i, step in enumerate(canary.steps):
        if (err := _step_error(step, f"{path}[{i}]", style, s)) is not None:
            return [err]
    err = _monotonic_error(canary.steps, path, bool(canary.traffic_routings))
    return [err] if err is not None else []


def validate_v1alpha1(r: a.Rollout, s: ValidationSettings = DEFAULT_SETTINGS) -> list[FieldError]:
    """Spec §7.2 rules 1–6 (no conflict / update rules)."""
    errs: list[FieldError] = []
    ref = r.spec.object_ref.workload_ref
    if ref is None:
        errs.append(required("spec.objectRef.workloadRef",
                             "WorkloadRef is required; set apiVersion, kind and name of the workload"))
    elif not workload_supported(ref, s):
        errs.append(invalid("spec.objectRef.workloadRef", _ref_json(ref),
                            f"WorkloadRef kind is not supported; {_SUPPORTED_HINT}"))
    raw_style = r.annotations.get(keys.ROLLING_STYLE_ANNOTATION, "")
    if raw_style.lower() not in ("", "canary", "partition"):
        errs.append(invalid(_STYLE_PATH, raw_style, "Rolling style must be 'Canary', 'Partition' or empty"))
    canary = r.spec.strategy.canary
    if canary is None:
        return errs + [required("spec.strategy.canary", "Canary cannot be empty; v1alpha1 supports only "
                                                        "spec.strategy.canary")]
    errs += _validate_steps(canary, v1alpha1_style(r), "spec.strategy.canary.steps", s)
    errs += validate_traffic_routings(canary.traffic_routings, "spec.strategy.canary.trafficRoutings")
    return errs


def validate_v1alpha1_update(old: a.Rollout, new: a.Rollout, phase: str) -> list[FieldError]:
    """§7.2 rule 7: objectRef, canary.trafficRoutings and the rolling-style annotation are frozen."""
    if phase not in (C.PHASE_PROGRESSING, C.PHASE_TERMINATING):
        return []
    hint = f"; wait until the Rollout is no longer {phase}"
    if old.spec.object_ref != new.spec.object_ref:
        return [forbidden("spec.objectRef", "Rollout 'ObjectRef' field is immutable" + hint)]
    old_tr = old.spec.strategy.canary.traffic_routings if old.spec.strategy.canary else None
    new_tr = new.spec.strategy.canary.traffic_routings if new.spec.strategy.canary else None
    if old_tr != new_tr:
        return [forbidden("spec.strategy.canary.trafficRoutings",
                          "Rollout 'Strategy.Canary.TrafficRoutings' field is immutable" + hint)]
    old_style = old.annotations.get(keys.ROLLING_STYLE_ANNOTATION, "")
    if old_style.lower() != new.annotations.get(keys.ROLLING_STYLE_ANNOTATION, "").lower():
        return [forbidden(_STYLE_PATH, "Rollout 'Rolling-Style' annotation is immutable" + hint)]
    return []
