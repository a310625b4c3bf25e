"""Conversion between ``v1alpha1`` and ``v1beta1`` (the hub) for Rollout and BatchRelease.

Follows api.md §2.1 and §3 (upstream api/v1alpha1/conversion.go). The webhook calls
:func:`convert` once per object of a ConversionReview; it works on whole JSON objects:
``metadata`` is copied verbatim except for the annotations that carry fields one version cannot
express (``rollouts.kruise.io/rolling-style``, ``rollouts.kruise.io/trafficrouting``).

Choices beyond upstream (see docs/api.md "Known deviations"):

* upstream dereferences nil ``objectRef.workloadRef`` / ``strategy.canary`` / ``targetReference.
  workloadRef`` and crashes; we raise :class:`ConversionError` naming the field instead;
* ``canary.disableGenerateCanaryService`` exists in both versions but upstream forgets to copy it
  (so a v1alpha1 user's setting is lost on storage); we copy it so round trips preserve it;
* unknown fields of analogous nodes (object, spec, strategy, step, status) are carried across so a
  newer client's field is not dropped by a conversion round trip (the apiserver prunes them anyway
  when the CRD schema does not know them);
* the result is encoded with Go semantics (always-serialized fields present), like the Go webhook.
"""

from __future__ import annotations

import copy
from contextvars import ContextVar
from typing import Any

from rollouts.api import constants as C
from rollouts.api import keys
from rollouts.api import v1alpha1 as a
from rollouts.api import v1beta1 as b
from rollouts.api.common import ObjectRef, PatchPodTemplateMetadata
from rollouts.api.intstr import IntOrString
from rollouts.api.v1beta1.batchrelease import BatchReleaseStatusBase
from rollouts.api.wire import DecodeError, WireModel, from_dict, mark_new, string_map, to_dict

_SUPPORTED_VERSIONS = (C.API_VERSION_V1ALPHA1, C.API_VERSION_V1BETA1)
_CONVERTIBLE_KINDS = (C.KIND_ROLLOUT, C.KIND_BATCH_RELEASE)


class ConversionError(ValueError):
    """The object cannot be converted; the message says which object/field and why."""


_SOURCE_OWNED: ContextVar[bool] = ContextVar("conversion_source_owned", default=False)
"""Set by :func:`convert` with ``owned=True``: the source object is this conversion's to take apart."""


def _dc(x: Any) -> Any:
    """A copy of a source part placed in the result, so the result shares nothing with the source.

    Skipped when the caller gave the source away (``convert(..., owned=True)``: the webhook's freshly
    parsed ConversionReview). The API server's watch cache of each non-storage version converts every
    write through the webhook, so this path runs once per Rollout/BatchRelease write even when no
    client reads v1alpha1; deep copies were ~45 % of its cost."""
    return x if _SOURCE_OWNED.get() else copy.deepcopy(x)


def _copy_extra(dst: WireModel, src: WireModel) -> None:
    dst._extra = _dc(src._extra)


def _annotations(metadata: dict[str, Any]) -> dict[str, str]:
    return string_map(metadata.get("annotations"))


def _set_annotation(metadata: dict[str, Any], key: str, value: str) -> None:
    if not isinstance(metadata.get("annotations"), dict):
        metadata["annotations"] = {}
    metadata["annotations"][key] = value


def _copy_ppm(src: PatchPodTemplateMetadata | None) -> PatchPodTemplateMetadata | None:
    """Upstream copies into fresh (non-nil) maps, so an empty object stays ``{}``."""
    return None if src is None else _dc(src)


# --------------------------------------------------------------------------------------------
# Rollout
# --------------------------------------------------------------------------------------------


def _step_to_v1beta1(step: a.CanaryStep) -> b.CanaryStep:
    out = b.CanaryStep(
        traffic=None if step.weight is None else f"{step.weight}%",
        request_header_modifier=_dc(step.request_header_modifier),
        matches=[b.HttpRouteMatch(headers=_dc(m.headers), extra=_dc(m._extra)) for m in step.matches],
        replicas=step.replicas,
        pause=_dc(step.pause),
    )
    if step.replicas is None and step.weight is not None:
        out.replicas = IntOrString(f"{step.weight}%")
    _copy_extra(out, step)
    return out


def _traffic_to_weight(traffic: str | None) -> int | None:
    """``"5%"`` → 5 (ceil against 100). Upstream ignores parse errors, yielding weight 0."""
    if traffic is None:
        return None
    try:
        return IntOrString(traffic).scaled_value(100, True)
    except ValueError:
        return 0


def _step_to_v1alpha1(step: b.CanaryStep) -> a.CanaryStep:
    out = a.CanaryStep(
        weight=_traffic_to_weight(step.traffic),
        request_header_modifier=_dc(step.request_header_modifier),
        # path and queryParams cannot be expressed in v1alpha1 and are lost.
        matches=[a.HttpRouteMatch(headers=_dc(m.headers)) for m in step.matches],
        replicas=step.replicas,
        pause=_dc(step.pause),
    )
    _copy_extra(out, step)
    return out


def rollout_to_v1beta1(src: a.Rollout) -> b.Rollout:
    """v1alpha1 → v1beta1 (api.md §2.1)."""
    name = src.metadata.get("name", "")
    ref = src.spec.object_ref.workload_ref
    if ref is None:
        raise ConversionError(f"Rollout {name!r}: spec.objectRef.workloadRef is required to convert to v1beta1")
    canary = src.spec.strategy.canary
    if canary is None:
        raise ConversionError(f"Rollout {name!r}: spec.strategy.canary is required to convert to v1beta1")
    ann = _annotations(src.metadata)
    dst_canary = b.CanaryStrategy(
        steps=[_step_to_v1beta1(s) for s in canary.steps],
        traffic_routings=_dc(canary.traffic_routings),
        failure_threshold=canary.failure_threshold,
        patch_pod_template_metadata=_copy_ppm(canary.patch_pod_template_metadata),
        enable_extra_workload_for_canary=ann.get(keys.ROLLING_STYLE_ANNOTATION, "").lower() != "partition",
        traffic_routing_ref=ann.get(keys.TRAFFIC_ROUTING_ANNOTATION, ""),
        disable_generate_canary_service=canary.disable_generate_canary_service,
        extra=_dc(canary._extra),
    )
    spec = b.RolloutSpec(
        workload_ref=ObjectRef(api_version=ref.api_version, kind=ref.kind, name=ref.name, extra=_dc(ref._extra)),
        strategy=b.RolloutStrategy(paused=src.spec.strategy.paused, canary=dst_canary,
                                   extra=_dc(src.spec.strategy._extra)),
        disabled=src.spec.disabled,
        extra=_dc(src.spec._extra),
    )
    status = None
    if src.status is not None:
        status = b.RolloutStatus(
            observed_generation=src.status.observed_generation,
            canary_status=_dc(src.status.canary_status),
            conditions=_dc(src.status.conditions),
            phase=src.status.phase,
            message=src.status.message,
            extra=_dc(src.status._extra),
        )
    return b.Rollout(metadata=_dc(src.metadata), spec=spec, status=status, extra=_dc(src._extra))


def rollout_to_v1alpha1(src: b.Rollout) -> a.Rollout:
    """v1beta1 → v1alpha1 (api.md §2.1). Blue-green Rollouts come back with metadata only."""
    metadata = _dc(src.metadata)
    canary = src.spec.strategy.canary
    if src.spec.strategy.blue_green is not None or canary is None:
        # Limitation kept from the spec: v1alpha1 clients cannot see blue-green rollouts.
        return a.Rollout(metadata=metadata)
    _set_annotation(metadata, keys.ROLLING_STYLE_ANNOTATION,
                    "canary" if canary.enable_extra_workload_for_canary else "partition")
    if canary.traffic_routing_ref:
        _set_annotation(metadata, keys.TRAFFIC_ROUTING_ANNOTATION, canary.traffic_routing_ref)
    ref = src.spec.workload_ref
    dst_canary = a.CanaryStrategy(
        steps=[_step_to_v1alpha1(s) for s in canary.steps],
        traffic_routings=_dc(canary.traffic_routings),
        failure_threshold=canary.failure_threshold,
        patch_pod_template_metadata=_copy_ppm(canary.patch_pod_template_metadata),
        disable_generate_canary_service=canary.disable_generate_canary_service,
        extra=_dc(canary._extra),
    )
    spec = a.RolloutSpec(
        object_ref=a.RolloutObjectRef(
            workload_ref=ObjectRef(api_version=ref.api_version, kind=ref.kind, name=ref.name, extra=_dc(ref._extra))
        ),
        strategy=a.RolloutStrategy(paused=src.spec.strategy.paused, canary=dst_canary,
                                   extra=_dc(src.spec.strategy._extra)),
        disabled=src.spec.disabled,
        extra=_dc(src.spec._extra),
    )
    status = None
    if src.status is not None:
        status = a.RolloutStatus(
            observed_generation=src.status.observed_generation,
            canary_status=_dc(src.status.canary_status),
            conditions=_dc(src.status.conditions),
            phase=src.status.phase,
            message=src.status.message,
            extra=_dc(src.status._extra),
        )
    return a.Rollout(metadata=metadata, spec=spec, status=status, extra=_dc(src._extra))


# --------------------------------------------------------------------------------------------
# BatchRelease
# --------------------------------------------------------------------------------------------

_STYLE_FROM_ANNOTATION = {
    "partition": C.ROLLING_STYLE_PARTITION,
    "canary": C.ROLLING_STYLE_CANARY,
    "bluegreen": C.ROLLING_STYLE_BLUE_GREEN,
}


def _copy_plan(src: b.ReleasePlan, rolling_style: str) -> b.ReleasePlan:
    plan = _dc(src)
    plan.rolling_style = rolling_style
    plan.patch_pod_template_metadata = _copy_ppm(src.patch_pod_template_metadata)
    return plan


def _copy_br_status(src: BatchReleaseStatusBase, cls: type) -> Any:
    """Copy the status fields common to both versions (``message`` exists only in v1beta1)."""
    return cls(
        conditions=_dc(src.conditions),
        canary_status=_dc(src.canary_status),
        stable_revision=src.stable_revision,
        update_revision=src.update_revision,
        observed_generation=src.observed_generation,
        observed_rollout_id=src.observed_rollout_id,
        observed_workload_replicas=src.observed_workload_replicas,
        collision_count=src.collision_count,
        observed_release_plan_hash=src.observed_release_plan_hash,
        phase=src.phase,
        extra=_dc(src._extra),
    )


def batchrelease_to_v1beta1(src: a.BatchRelease) -> b.BatchRelease:
    """v1alpha1 → v1beta1 (api.md §3.2). ``rollingStyle`` comes only from the annotation (upstream)."""
    ref = src.spec.target_reference.workload_ref
    if ref is None:
        name = src.metadata.get("name", "")
        raise ConversionError(
            f"BatchRelease {name!r}: spec.targetReference.workloadRef is required to convert to v1beta1"
        )
    style = _STYLE_FROM_ANNOTATION.get(_annotations(src.metadata).get(keys.ROLLING_STYLE_ANNOTATION, "").lower(), "")
    spec = b.BatchReleaseSpec(
        workload_ref=ObjectRef(api_version=ref.api_version, kind=ref.kind, name=ref.name, extra=_dc(ref._extra)),
        release_plan=_copy_plan(src.spec.release_plan, style),
        extra=_dc(src.spec._extra),
    )
    status = None if src.status is None else _copy_br_status(src.status, b.BatchReleaseStatus)
    return b.BatchRelease(metadata=_dc(src.metadata), spec=spec, status=status, extra=_dc(src._extra))


def batchrelease_to_v1alpha1(src: b.BatchRelease) -> a.BatchRelease:
    """v1beta1 → v1alpha1 (api.md §3.2): style mirrored into the annotation; ``status.message`` dropped."""
    metadata = _dc(src.metadata)
    plan = src.spec.release_plan
    _set_annotation(metadata, keys.ROLLING_STYLE_ANNOTATION, plan.rolling_style.lower())
    ref = src.spec.workload_ref
    spec = a.BatchReleaseSpec(
        target_reference=a.ReleaseTarget(
            workload_ref=ObjectRef(api_version=ref.api_version, kind=ref.kind, name=ref.name, extra=_dc(ref._extra))
        ),
        release_plan=_copy_plan(plan, plan.rolling_style),
        extra=_dc(src.spec._extra),
    )
    status = None if src.status is None else _copy_br_status(src.status, a.BatchReleaseStatus)
    return a.BatchRelease(metadata=metadata, spec=spec, status=status, extra=_dc(src._extra))


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------

_Converted = a.Rollout | b.Rollout | a.BatchRelease | b.BatchRelease
_CONVERTERS: dict[tuple[str, str, str], tuple[type[_Converted], Any]] = {
    (C.KIND_ROLLOUT, C.API_VERSION_V1ALPHA1, C.API_VERSION_V1BETA1): (a.Rollout, rollout_to_v1beta1),
    (C.KIND_ROLLOUT, C.API_VERSION_V1BETA1, C.API_VERSION_V1ALPHA1): (b.Rollout, rollout_to_v1alpha1),
    (C.KIND_BATCH_RELEASE, C.API_VERSION_V1ALPHA1, C.API_VERSION_V1BETA1): (a.BatchRelease, batchrelease_to_v1beta1),
    (C.KIND_BATCH_RELEASE, C.API_VERSION_V1BETA1, C.API_VERSION_V1ALPHA1): (b.BatchRelease, batchrelease_to_v1alpha1),
}


def convert(obj: dict[str, Any], desired_api_version: str, *, owned: bool = False) -> dict[str, Any]:
    """Convert one full JSON object to ``desired_api_version`` (e.g. ``rollouts.kruise.io/v1beta1``).

    Same version in and out → an unchanged deep copy (the apiserver may ask for that). Raises
    :class:`ConversionError` for other kinds, versions, undecodable objects or objects that lack the
    fields conversion needs. ``owned``: the caller hands ``obj`` over (it will not read it again), so
    its parts move into the result uncopied and ``obj`` may be changed.
    """
    if not isinstance(obj, dict):
        raise ConversionError(f"expected a JSON object, got {type(obj).__name__}")
    kind, src_version = obj.get("kind"), obj.get("apiVersion")
    name = (obj.get("metadata") or {}).get("name", "") if isinstance(obj.get("metadata"), dict) else ""
    if desired_api_version not in _SUPPORTED_VERSIONS:
        raise ConversionError(
            f"unsupported desired apiVersion {desired_api_version!r}; expected one of {list(_SUPPORTED_VERSIONS)}"
        )
    if src_version not in _SUPPORTED_VERSIONS:
        raise ConversionError(
            f"{kind} {name!r}: unsupported apiVersion {src_version!r}; expected one of {list(_SUPPORTED_VERSIONS)}"
        )
    if kind not in _CONVERTIBLE_KINDS:
        raise ConversionError(f"unsupported kind {kind!r} for conversion; expected one of {list(_CONVERTIBLE_KINDS)}")
    if src_version == desired_api_version:
        return obj if owned else copy.deepcopy(obj)
    cls, fn = _CONVERTERS[(kind, src_version, desired_api_version)]
    # Owned: metadata bypasses decode and encode (see _encode_moving_metadata); a malformed one does not.
    metadata: dict[str, Any] | None = obj.get("metadata") if owned and type(obj.get("metadata")) is dict else None
    if metadata is not None:
        obj = {k: v for k, v in obj.items() if k != "metadata"}
    try:
        src = from_dict(cls, obj)
    except DecodeError as e:
        raise ConversionError(f"{kind} {name!r}: cannot decode {src_version} object: {e}") from e
    if metadata is not None:
        src.metadata = metadata
    token = _SOURCE_OWNED.set(owned)
    try:
        out: _Converted = fn(src)
        mark_new(out)
    finally:
        _SOURCE_OWNED.reset(token)
    return to_dict(out) if metadata is None else _encode_moving_metadata(out)


def _encode_moving_metadata(out: _Converted) -> dict[str, Any]:
    """``to_dict(out)`` that moves ``out.metadata`` into the result instead of copying it.

    Why: metadata is the largest part of a stored object (managedFields of every writer) and conversion
    never looks inside it beyond two annotations. On the owned path it is the parsed review's own dict,
    so decoding and encoding it was two deep copies of data nobody else holds. ``metadata`` is not
    omitempty, so the placeholder keeps its key (and place) in the result."""
    metadata, out.metadata = out.metadata, {}
    encoded = to_dict(out)
    encoded["metadata"] = metadata
    return encoded
