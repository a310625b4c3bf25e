"""``rollouts.kruise.io/v1beta1`` — the storage (hub) version of Rollout and BatchRelease."""

from rollouts.api.v1beta1.batchrelease import (
    BatchRelease,
    BatchReleaseCanaryStatus,
    BatchReleaseSpec,
    BatchReleaseStatus,
    ReleaseBatch,
    ReleasePlan,
)
from rollouts.api.v1beta1.rollout import (
    BlueGreenStrategy,
    CanaryStep,
    CanaryStrategy,
    HttpRouteMatch,
    Rollout,
    RolloutSpec,
    RolloutStatus,
    RolloutStrategy,
)

__all__ = [
    "BatchRelease", "BatchReleaseCanaryStatus", "BatchReleaseSpec", "BatchReleaseStatus", "ReleaseBatch",
    "ReleasePlan", "BlueGreenStrategy", "CanaryStep", "CanaryStrategy", "HttpRouteMatch", "Rollout",
    "RolloutSpec", "RolloutStatus", "RolloutStrategy",
]
