"""RolloutHistory ``rollouts.kruise.io/v1alpha1`` (api.md §5): a record of one release.

Snapshots (``data``) are free-form objects (``x-kubernetes-preserve-unknown-fields``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from rollouts.api import constants as C
from rollouts.api.common import I32, KubeObject
from rollouts.api.wire import RawObject, WireModel, field


@attrs.define(kw_only=True)
class NameAndSpecData(WireModel):
    name: str = field("name", required=True, default="")
    data: RawObject | None = field("data", omitempty=True)


@attrs.define(kw_only=True)
class RolloutInfo(NameAndSpecData):
    rollout_id: str = field("rolloutID", omitempty=True, default="")


@attrs.define(kw_only=True)
class WorkloadInfo(NameAndSpecData):
    api_version: str = field("apiVersion", omitempty=True, default="")
    kind: str = field("kind", omitempty=True, default="")


@attrs.define(kw_only=True)
class TrafficRoutingInfo(WireModel):
    ingress: NameAndSpecData | None = field("ingress", omitempty=True)
    http_route: NameAndSpecData | None = field("httpRoute", omitempty=True)


@attrs.define(kw_only=True)
class RolloutHistorySpec(WireModel):
    rollout: RolloutInfo = field("rollout", omitempty=True, factory=RolloutInfo)
    workload: WorkloadInfo = field("workload", omitempty=True, factory=WorkloadInfo)
    service: NameAndSpecData = field("service", omitempty=True, factory=NameAndSpecData)
    traffic_routing: TrafficRoutingInfo = field("trafficRouting", omitempty=True, factory=TrafficRoutingInfo)


@attrs.define(kw_only=True)
class PodInfo(WireModel):
    name: str = field("name", omitempty=True, default="")
    ip: str = field("ip", omitempty=True, default="")
    node_name: str = field("nodeName", omitempty=True, default="")


@attrs.define(kw_only=True)
class CanaryStepInfo(WireModel):
    canary_step_index: int = field("canaryStepIndex", omitempty=True, default=0, schema=I32)
    pods: list[PodInfo] = field("pods", omitempty=True, factory=list)


@attrs.define(kw_only=True)
class RolloutHistoryStatus(WireModel):
    phase: str = field("phase", omitempty=True, default="", doc='"" while recording, "completed" when done')
    canary_steps: list[CanaryStepInfo] = field("canarySteps", omitempty=True, factory=list)


@attrs.define(kw_only=True)
class RolloutHistory(KubeObject):
    API_VERSION: ClassVar[str] = C.API_VERSION_V1ALPHA1
    KIND: ClassVar[str] = C.KIND_ROLLOUT_HISTORY

    api_version: str = field("apiVersion", omitempty=True, default=C.API_VERSION_V1ALPHA1)
    kind: str = field("kind", omitempty=True, default=C.KIND_ROLLOUT_HISTORY)
    metadata: dict[str, Any] = field("metadata", factory=dict)
    spec: RolloutHistorySpec = field("spec", factory=RolloutHistorySpec)
    status: RolloutHistoryStatus | None = field("status", omitempty=True)
