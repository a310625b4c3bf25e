"""Rollout ``rollouts.kruise.io/v1alpha1`` (api.md §2; upstream api/v1alpha1/rollout_types.go).

Differences from v1beta1: ``objectRef.workloadRef`` instead of ``workloadRef``; steps carry an int
``weight`` instead of a ``traffic`` string; matches are header-only; canary is the only strategy and
the style / TrafficRouting name travel in annotations (see :mod:`rollouts.api.conversion`).
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from rollouts.api import constants as C
from rollouts.api.common import (
    I32,
    I64,
    HTTPHeaderFilter,
    HTTPHeaderMatch,
    KubeObject,
    ObjectRef,
    PatchPodTemplateMetadata,
    RolloutCondition,
    RolloutPause,
    TrafficRoutingRef,
)
from rollouts.api.intstr import IntOrString
from rollouts.api.status import CanaryStatus
from rollouts.api.wire import WireModel, field


@attrs.define(kw_only=True)
class HttpRouteMatch(WireModel):
    """v1alpha1 match: headers only (ANDed)."""

    headers: list[HTTPHeaderMatch] = field("headers", omitempty=True, factory=list, schema={"maxItems": 16})


@attrs.define(kw_only=True)
class CanaryStep(WireModel):
    weight: int | None = field("weight", omitempty=True, schema=I32, doc="Traffic percent for the new version")
    request_header_modifier: HTTPHeaderFilter | None = field(
        "requestHeaderModifier", omitempty=True, doc="Header changes applied to requests routed to the new version")
    matches: list[HttpRouteMatch] = field("matches", omitempty=True, factory=list,
                                          doc="Header conditions routing matching requests to the new version (ORed)")
    replicas: IntOrString | None = field("replicas", omitempty=True,
                                         doc='Pods on the new version: a number or percentage; defaults to weight%')
    pause: RolloutPause = field("pause", factory=RolloutPause,
                                doc="{} waits for manual approval; {duration: N} continues after N seconds")


@attrs.define(kw_only=True)
class CanaryStrategy(WireModel):
    steps: list[CanaryStep] = field("steps", omitempty=True, factory=list, schema={"maxItems": 50})
    traffic_routings: list[TrafficRoutingRef] = field("trafficRoutings", omitempty=True, factory=list)
    failure_threshold: IntOrString | None = field("failureThreshold", omitempty=True)
    patch_pod_template_metadata: PatchPodTemplateMetadata | None = field("patchPodTemplateMetadata", omitempty=True)
    disable_generate_canary_service: bool = field("disableGenerateCanaryService", omitempty=True, default=False)


@attrs.define(kw_only=True)
class RolloutStrategy(WireModel):
    paused: bool = field("paused", omitempty=True, default=False)
    canary: CanaryStrategy | None = field("canary", omitempty=True)


@attrs.define(kw_only=True)
class RolloutObjectRef(WireModel):
    """``spec.objectRef``: a Go struct whose only member is the optional ``workloadRef`` pointer."""

    workload_ref: ObjectRef | None = field("workloadRef", omitempty=True)


@attrs.define(kw_only=True)
class RolloutSpec(WireModel):
    object_ref: RolloutObjectRef = field("objectRef", required=True, factory=RolloutObjectRef,
                                         doc="objectRef.workloadRef names the workload released by this Rollout")
    strategy: RolloutStrategy = field("strategy", required=True, factory=RolloutStrategy, doc="Release strategy")
    # Deprecated and dropped by conversion to v1beta1 (the storage version).
    deprecated_rollout_id: str = field("rolloutID", omitempty=True, default="",
                                       doc="Deprecated, not stored; use workload label rollouts.kruise.io/rollout-id")
    disabled: bool = field("disabled", default=False, schema={"default": False},
                           doc="Release all control of the workload and stop reacting to its changes")


@attrs.define(kw_only=True)
class RolloutStatus(WireModel):
    observed_generation: int = field("observedGeneration", omitempty=True, default=0, schema=I64)
    canary_status: CanaryStatus | None = field("canaryStatus", omitempty=True)
    conditions: list[RolloutCondition] = field("conditions", omitempty=True, factory=list)
    phase: str = field("phase", omitempty=True, default="")
    message: str = field("message", omitempty=True, default="")


@attrs.define(kw_only=True)
class Rollout(KubeObject):
    API_VERSION: ClassVar[str] = C.API_VERSION_V1ALPHA1
    KIND: ClassVar[str] = C.KIND_ROLLOUT

    api_version: str = field("apiVersion", omitempty=True, default=C.API_VERSION_V1ALPHA1)
    kind: str = field("kind", omitempty=True, default=C.KIND_ROLLOUT)
    metadata: dict[str, Any] = field("metadata", factory=dict)
    spec: RolloutSpec = field("spec", factory=RolloutSpec)
    status: RolloutStatus | None = field("status", omitempty=True)

