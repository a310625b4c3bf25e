"""Rollout ``rollouts.kruise.io/v1beta1`` (api.md §1; upstream api/v1beta1/rollout_types.go)."""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from rollouts.api import constants as C
from rollouts.api.common import (
    I32,
    I64,
    HTTPHeaderFilter,
    HTTPHeaderMatch,
    HTTPPathMatch,
    HTTPQueryParamMatch,
    KubeObject,
    ObjectRef,
    PatchPodTemplateMetadata,
    RolloutCondition,
    RolloutPause,
    TrafficRoutingRef,
)
from rollouts.api.intstr import IntOrString
from rollouts.api.status import BlueGreenStatus, CanaryStatus
from rollouts.api.wire import WireModel, field

_STEPS = "Ordered release steps (at least one; each needs replicas)"
_TR = "Traffic routing configuration (ingress, gateway or custom network refs); at most one element"
_FT = "How many updated pods may be not ready while a batch still counts as ready (number or percentage)"
_TRREF = "Name of a TrafficRouting object driven during this release"
_DGCS = "Do not create a <service>-canary Service; providers route with the stable Service"
_MAX16 = {"maxItems": 16}
_MAP_BY_NAME = {"maxItems": 16, "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]}


@attrs.define(kw_only=True)
class HttpRouteMatch(WireModel):
    """One A/B condition; conditions inside one match are ANDed, matches are ORed."""

    path: HTTPPathMatch | None = field("path", omitempty=True)
    headers: list[HTTPHeaderMatch] = field("headers", omitempty=True, factory=list, schema=_MAP_BY_NAME)
    query_params: list[HTTPQueryParamMatch] = field("queryParams", omitempty=True, factory=list, schema=_MAP_BY_NAME)


@attrs.define(kw_only=True)
class CanaryStep(WireModel):
    """One release step. Field order (traffic, requestHeaderModifier, matches, replicas, pause) feeds the hash."""

    traffic: str | None = field("traffic", omitempty=True, doc='Traffic percentage for the new version, e.g. "5%"')
    request_header_modifier: HTTPHeaderFilter | None = field(
        "requestHeaderModifier", omitempty=True, doc="Header changes applied to requests routed to the new version")
    matches: list[HttpRouteMatch] = field("matches", omitempty=True, factory=list, schema=_MAX16,
                                          doc="A/B conditions routing matching requests to the new version (ORed)")
    replicas: IntOrString | None = field("replicas", omitempty=True,
                                         doc='Pods on the new version at this step: a number (5) or percentage ("20%")')
    # Go struct (not pointer): always serialized, `{}` means manual approval.
    pause: RolloutPause = field("pause", factory=RolloutPause,
                                doc="{} waits for manual approval; {duration: N} continues after N seconds")


@attrs.define(kw_only=True)
class CanaryStrategy(WireModel):
    steps: list[CanaryStep] = field("steps", omitempty=True, factory=list, schema={"maxItems": 50}, doc=_STEPS)
    traffic_routings: list[TrafficRoutingRef] = field("trafficRoutings", omitempty=True, factory=list, doc=_TR)
    failure_threshold: IntOrString | None = field("failureThreshold", omitempty=True, doc=_FT)
    patch_pod_template_metadata: PatchPodTemplateMetadata | None = field("patchPodTemplateMetadata", omitempty=True)
    enable_extra_workload_for_canary: bool = field(
        "enableExtraWorkloadForCanary", omitempty=True, default=False,
        doc="true: release through an extra canary Deployment (apps/v1 Deployment only); false: in-place partition",
    )
    traffic_routing_ref: str = field("trafficRoutingRef", omitempty=True, default="", doc=_TRREF)
    disable_generate_canary_service: bool = field("disableGenerateCanaryService", omitempty=True, default=False,
                                                  doc=_DGCS)


@attrs.define(kw_only=True)
class BlueGreenStrategy(WireModel):
    steps: list[CanaryStep] = field("steps", omitempty=True, factory=list, schema={"maxItems": 50}, doc=_STEPS)
    traffic_routings: list[TrafficRoutingRef] = field("trafficRoutings", omitempty=True, factory=list, doc=_TR)
    failure_threshold: IntOrString | None = field("failureThreshold", omitempty=True, doc=_FT)
    traffic_routing_ref: str = field("trafficRoutingRef", omitempty=True, default="", doc=_TRREF)
    disable_generate_canary_service: bool = field("disableGenerateCanaryService", omitempty=True, default=False,
                                                  doc=_DGCS)


@attrs.define(kw_only=True)
class RolloutStrategy(WireModel):
    paused: bool = field("paused", omitempty=True, default=False, doc="Stop advancing the release while true")
    canary: CanaryStrategy | None = field("canary", omitempty=True, doc="Canary or partition release")
    blue_green: BlueGreenStrategy | None = field("blueGreen", omitempty=True,
                                                 doc="Blue-green release (Deployment and CloneSet only)")

    def rolling_style(self) -> str:
        """Upstream ``GetRollingStyle``: BlueGreen, else Canary if extra workload, else Partition."""
        if self.blue_green is not None:
            return C.ROLLING_STYLE_BLUE_GREEN
        if self.canary is not None and self.canary.enable_extra_workload_for_canary:
            return C.ROLLING_STYLE_CANARY
        return C.ROLLING_STYLE_PARTITION

    def active(self) -> CanaryStrategy | BlueGreenStrategy | None:
        """The strategy object that drives the release (blue-green wins, as upstream)."""
        return self.blue_green if self.blue_green is not None else self.canary

    def steps(self) -> list[CanaryStep]:
        active = self.active()
        return active.steps if active is not None else []

    def traffic_routings(self) -> list[TrafficRoutingRef]:
        active = self.active()
        return active.traffic_routings if active is not None else []


@attrs.define(kw_only=True)
class RolloutSpec(WireModel):
    workload_ref: ObjectRef = field("workloadRef", required=True, factory=ObjectRef,
                                    doc="The workload released by this Rollout, in the same namespace")
    strategy: RolloutStrategy = field("strategy", required=True, factory=RolloutStrategy, doc="Release strategy")
    # Always serialized; schema default false.
    disabled: bool = field("disabled", default=False, schema={"default": False},
                           doc="Release all control of the workload and stop reacting to its changes")


@attrs.define(kw_only=True)
class RolloutStatus(WireModel):
    observed_generation: int = field("observedGeneration", omitempty=True, default=0, schema=I64)
    canary_status: CanaryStatus | None = field("canaryStatus", omitempty=True)
    blue_green_status: BlueGreenStatus | None = field("blueGreenStatus", omitempty=True)
    conditions: list[RolloutCondition] = field("conditions", omitempty=True, factory=list)
    phase: str = field("phase", omitempty=True, default="")
    message: str = field("message", omitempty=True, default="")
    # Mirrors of the active sub-status for `kubectl get` (always serialized, schema-required).
    current_step_index: int = field("currentStepIndex", required=True, default=0, schema=I32)
    current_step_state: str = field("currentStepState", required=True, default="")

    def sub_status(self) -> CanaryStatus | BlueGreenStatus | None:
        """Upstream ``GetSubStatus``: canary first, then blue-green."""
        return self.canary_status if self.canary_status is not None else self.blue_green_status


@attrs.define(kw_only=True)
class Rollout(KubeObject):
    """A Rollout object. ``metadata`` is the raw ObjectMeta dict (kept verbatim)."""

    API_VERSION: ClassVar[str] = C.API_VERSION_V1BETA1
    KIND: ClassVar[str] = C.KIND_ROLLOUT

    api_version: str = field("apiVersion", omitempty=True, default=C.API_VERSION_V1BETA1)
    kind: str = field("kind", omitempty=True, default=C.KIND_ROLLOUT)
    metadata: dict[str, Any] = field("metadata", factory=dict)
    spec: RolloutSpec = field("spec", factory=RolloutSpec)
    status: RolloutStatus | None = field("status", omitempty=True)


    def is_real_partition(self) -> bool:
        """Upstream ``IsRealPartition``: canary strategy but not (apps/v1 Deployment + extra workload)."""
        strategy = self.spec.strategy
        if strategy.canary is None and strategy.blue_green is None:
            return False
        style = strategy.rolling_style()
        if style == C.ROLLING_STYLE_BLUE_GREEN:
            return False
        ref = self.spec.workload_ref
        return not (ref.api_version == "apps/v1" and ref.kind == "Deployment" and style == C.ROLLING_STYLE_CANARY)
