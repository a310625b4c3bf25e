"""``rollouts.kruise.io/v1alpha1`` — the legacy Rollout/BatchRelease view, TrafficRouting, RolloutHistory."""

from rollouts.api.v1alpha1.batchrelease import BatchRelease, BatchReleaseSpec, BatchReleaseStatus, ReleaseTarget
from rollouts.api.v1alpha1.rollout import (
    CanaryStep,
    CanaryStrategy,
    HttpRouteMatch,
    Rollout,
    RolloutObjectRef,
    RolloutSpec,
    RolloutStatus,
    RolloutStrategy,
)
from rollouts.api.v1alpha1.rollouthistory import RolloutHistory
from rollouts.api.v1alpha1.trafficrouting import TrafficRouting, TrafficRoutingStrategy

__all__ = [
    "BatchRelease", "BatchReleaseSpec", "BatchReleaseStatus", "ReleaseTarget", "CanaryStep", "CanaryStrategy",
    "HttpRouteMatch", "Rollout", "RolloutObjectRef", "RolloutSpec", "RolloutStatus", "RolloutStrategy",
    "RolloutHistory", "TrafficRouting", "TrafficRoutingStrategy",
]
