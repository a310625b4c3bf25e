"""BatchRelease ``rollouts.kruise.io/v1alpha1`` (api.md §3.2): v1beta1 with ``targetReference``.

The release plan and canary status structs are identical in both versions and shared.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from rollouts.api import constants as C
from rollouts.api.common import KubeObject, ObjectRef
from rollouts.api.v1beta1.batchrelease import BatchReleaseStatusBase, ReleasePlan
from rollouts.api.wire import WireModel, field


@attrs.define(kw_only=True)
class ReleaseTarget(WireModel):
    workload_ref: ObjectRef | None = field("workloadRef", omitempty=True)


@attrs.define(kw_only=True)
class BatchReleaseSpec(WireModel):
    target_reference: ReleaseTarget = field("targetReference", required=True, factory=ReleaseTarget)
    release_plan: ReleasePlan = field("releasePlan", required=True, factory=ReleasePlan)


@attrs.define(kw_only=True)
class BatchReleaseStatus(BatchReleaseStatusBase):
    """Same as v1beta1 minus ``message``."""


@attrs.define(kw_only=True)
class BatchRelease(KubeObject):
    API_VERSION: ClassVar[str] = C.API_VERSION_V1ALPHA1
    KIND: ClassVar[str] = C.KIND_BATCH_RELEASE

    api_version: str = field("apiVersion", omitempty=True, default=C.API_VERSION_V1ALPHA1)
    kind: str = field("kind", omitempty=True, default=C.KIND_BATCH_RELEASE)
    metadata: dict[str, Any] = field("metadata", factory=dict)
    spec: BatchReleaseSpec = field("spec", factory=BatchReleaseSpec)
    status: BatchReleaseStatus | None = field("status", omitempty=True)
