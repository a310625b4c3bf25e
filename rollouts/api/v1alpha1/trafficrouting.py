"""TrafficRouting ``rollouts.kruise.io/v1alpha1`` (api.md §4): end-to-end canary on a shared gateway."""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from rollouts.api import constants as C
from rollouts.api.common import I32, I64, HTTPHeaderFilter, KubeObject, TrafficRoutingRef
from rollouts.api.v1alpha1.rollout import HttpRouteMatch
from rollouts.api.wire import WireModel, field


@attrs.define(kw_only=True)
class TrafficRoutingStrategy(WireModel):
    weight: int | None = field("weight", omitempty=True, schema=I32)
    request_header_modifier: HTTPHeaderFilter | None = field("requestHeaderModifier", omitempty=True)
    matches: list[HttpRouteMatch] = field("matches", omitempty=True, factory=list)


@attrs.define(kw_only=True)
class TrafficRoutingSpec(WireModel):
    # Only the first element is used by the controller.
    object_ref: list[TrafficRoutingRef] = field("objectRef", required=True, factory=list)
    strategy: TrafficRoutingStrategy = field("strategy", required=True, factory=TrafficRoutingStrategy)


@attrs.define(kw_only=True)
class TrafficRoutingStatus(WireModel):
    observed_generation: int = field("observedGeneration", omitempty=True, default=0, schema=I64)
    phase: str = field("phase", omitempty=True, default="",
                       doc="Initial, Healthy, Progressing, Finalizing, Terminating")
    message: str = field("message", omitempty=True, default="")


@attrs.define(kw_only=True)
class TrafficRouting(KubeObject):
    API_VERSION: ClassVar[str] = C.API_VERSION_V1ALPHA1
    KIND: ClassVar[str] = C.KIND_TRAFFIC_ROUTING

    api_version: str = field("apiVersion", omitempty=True, default=C.API_VERSION_V1ALPHA1)
    kind: str = field("kind", omitempty=True, default=C.KIND_TRAFFIC_ROUTING)
    metadata: dict[str, Any] = field("metadata", factory=dict)
    spec: TrafficRoutingSpec = field("spec", factory=TrafficRoutingSpec)
    status: TrafficRoutingStatus | None = field("status", omitempty=True)
