"""Rollout sub-status structs (``canaryStatus`` / ``blueGreenStatus``), shared by both versions.

v1alpha1 ``canaryStatus`` has exactly the v1beta1 fields, so one class serves both and conversion
copies it as is. Always-serialized Go fields (no omitempty) are the ones the CRD marks required.
"""

from __future__ import annotations

import attrs

from rollouts.api.common import DATE_TIME, I32, I64
from rollouts.api.wire import WireModel, field


@attrs.define(kw_only=True)
class CommonStatus(WireModel):
    """Fields common to canary and blue-green progress (api.md §1.3)."""

    observed_workload_generation: int = field("observedWorkloadGeneration", omitempty=True, default=0, schema=I64)
    observed_rollout_id: str = field("observedRolloutID", omitempty=True, default="")
    rollout_hash: str = field("rolloutHash", omitempty=True, default="")
    stable_revision: str = field("stableRevision", omitempty=True, default="")
    pod_template_hash: str = field("podTemplateHash", required=True, default="",
                                   doc="Revision label value of the new pods (selected by the canary Service)")
    # 1-based; kubebuilder "+optional" so not schema-required, yet always serialized.
    current_step_index: int = field("currentStepIndex", default=0, schema=I32, doc="1-based index of the current step")
    # 1-based index of the next step, -1 after the last one; users may edit it to jump.
    next_step_index: int = field("nextStepIndex", required=True, default=0, schema=I32,
                                 doc="1-based step to go to next (-1 after the last); may be edited to jump")
    finalising_step: str = field("finalisingStep", required=True, default="")
    current_step_state: str = field("currentStepState", required=True, default="")
    message: str = field("message", omitempty=True, default="")
    last_update_time: str | None = field("lastUpdateTime", omitempty=True, schema=DATE_TIME)


@attrs.define(kw_only=True)
class CanaryStatus(CommonStatus):
    canary_revision: str = field("canaryRevision", required=True, default="")
    canary_replicas: int = field("canaryReplicas", required=True, default=0, schema=I32)
    canary_ready_replicas: int = field("canaryReadyReplicas", required=True, default=0, schema=I32)


@attrs.define(kw_only=True)
class BlueGreenStatus(CommonStatus):
    updated_revision: str = field("updatedRevision", required=True, default="")
    updated_replicas: int = field("updatedReplicas", required=True, default=0, schema=I32)
    updated_ready_replicas: int = field("updatedReadyReplicas", required=True, default=0, schema=I32)
