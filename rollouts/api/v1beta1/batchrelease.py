"""BatchRelease ``rollouts.kruise.io/v1beta1`` (api.md §3.1; upstream api/v1beta1/batchrelease_*.go).

Field order of :class:`ReleasePlan` is the Go order: the release-plan hash (batch-release.md §2.3)
is computed over the Go JSON encoding of this struct.
"""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar

import attrs

from rollouts.api import constants as C
from rollouts.api.common import DATE_TIME, I32, I64, KubeObject, ObjectRef, PatchPodTemplateMetadata, RolloutCondition
from rollouts.api.intstr import IntOrString
from rollouts.api.wire import WireModel, field, go_json


@attrs.define(kw_only=True)
class ReleaseBatch(WireModel):
    # Go non-pointer IntOrString: always serialized (0 when unset).
    canary_replicas: IntOrString = field("canaryReplicas", factory=lambda: IntOrString(0))


@attrs.define(kw_only=True)
class ReleasePlan(WireModel):
    """What the BatchRelease executes; written by the Rollout controller."""

    batches: list[ReleaseBatch] = field("batches", required=True, factory=list)
    # 0-based index of the last batch allowed to run; None = release everything / finalize.
    batch_partition: int | None = field("batchPartition", omitempty=True, schema=I32)
    rollout_id: str = field("rolloutID", omitempty=True, default="")
    failure_threshold: IntOrString | None = field("failureThreshold", omitempty=True)
    finalizing_policy: str = field("finalizingPolicy", omitempty=True, default="", doc="WaitResume or Immediate")
    patch_pod_template_metadata: PatchPodTemplateMetadata | None = field("patchPodTemplateMetadata", omitempty=True)
    rolling_style: str = field("rollingStyle", omitempty=True, default="", doc="Partition, Canary or BlueGreen")
    enable_extra_workload_for_canary: bool = field("enableExtraWorkloadForCanary", required=True, default=False)


def plan_hash(plan: ReleasePlan) -> str:
    """Lower-case hex SHA-256 of the Go JSON encoding of ``plan`` (batch-release.md §2.3), straight
    from the model: ``wire.go_json`` knows the Go field order and omitempty rules. It lives beside the
    struct because ``status.observedReleasePlanHash`` is part of the API (``rollouts.release.plan``
    re-exports it and keeps the dict form as ``release_plan_hash``)."""
    return hashlib.sha256(go_json(plan).encode()).hexdigest()


@attrs.define(kw_only=True)
class BatchReleaseSpec(WireModel):
    workload_ref: ObjectRef = field("workloadRef", required=True, factory=ObjectRef)
    release_plan: ReleasePlan = field("releasePlan", required=True, factory=ReleasePlan)


@attrs.define(kw_only=True)
class BatchReleaseCanaryStatus(WireModel):
    batch_state: str = field("batchState", omitempty=True, default="", doc="Upgrading, Verifying or Ready")
    current_batch: int = field("currentBatch", required=True, default=0, schema=I32)
    batch_ready_time: str | None = field("batchReadyTime", omitempty=True, schema=DATE_TIME)
    updated_replicas: int = field("updatedReplicas", omitempty=True, default=0, schema=I32)
    updated_ready_replicas: int = field("updatedReadyReplicas", omitempty=True, default=0, schema=I32)
    no_need_update_replicas: int | None = field("noNeedUpdateReplicas", omitempty=True, schema=I32)


@attrs.define(kw_only=True)
class BatchReleaseStatusBase(WireModel):
    """Status fields common to v1alpha1 and v1beta1 (v1beta1 adds ``message``)."""

    conditions: list[RolloutCondition] = field("conditions", omitempty=True, factory=list)
    # Go struct: always serialized.
    canary_status: BatchReleaseCanaryStatus = field("canaryStatus", factory=BatchReleaseCanaryStatus)
    stable_revision: str = field("stableRevision", omitempty=True, default="")
    update_revision: str = field("updateRevision", omitempty=True, default="")
    observed_generation: int = field("observedGeneration", omitempty=True, default=0, schema=I64)
    observed_rollout_id: str = field("observedRolloutID", omitempty=True, default="")
    # Reset value is -1 (serialized as -1).
    observed_workload_replicas: int = field("observedWorkloadReplicas", omitempty=True, default=0, schema=I32)
    collision_count: int | None = field("collisionCount", omitempty=True, schema=I32)
    observed_release_plan_hash: str = field("observedReleasePlanHash", omitempty=True, default="")
    phase: str = field("phase", omitempty=True, default="", doc="Preparing, Progressing, Finalizing or Completed")


@attrs.define(kw_only=True)
class BatchReleaseStatus(BatchReleaseStatusBase):
    message: str = field("message", omitempty=True, default="")


@attrs.define(kw_only=True)
class BatchRelease(KubeObject):
    API_VERSION: ClassVar[str] = C.API_VERSION_V1BETA1
    KIND: ClassVar[str] = C.KIND_BATCH_RELEASE

    api_version: str = field("apiVersion", omitempty=True, default=C.API_VERSION_V1BETA1)
    kind: str = field("kind", omitempty=True, default=C.KIND_BATCH_RELEASE)
    metadata: dict[str, Any] = field("metadata", factory=dict)
    spec: BatchReleaseSpec = field("spec", factory=BatchReleaseSpec)
    status: BatchReleaseStatus | None = field("status", omitempty=True)
