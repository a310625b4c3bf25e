"""StatefulSet-like partition control plane (batch-release.md §9.3).

Serves native ``apps/v1`` StatefulSets, Advanced StatefulSets (``apps.kruise.io``, any version) and
custom kinds labelled ``rollouts.kruise.io/workload-type: statefulset`` that follow the StatefulSet
conventions (``spec.updateStrategy.rollingUpdate.partition``, ``status.updateRevision``,
``currentRevision``, ``updatedReplicas``). The partition is an *ordinal*: pods with ordinal ≥
partition run the update revision, so the StatefulSet controller updates the highest ordinals first.
``updatedReadyReplicas`` is counted from pods (native StatefulSets do not report it).
"""

from __future__ import annotations

from typing import Any, ClassVar

from rollouts.controllers.batchrelease.partition import RollingUpdatePartition
from rollouts.release.deployment_strategy import CONTROL_INFO_ANNOTATION

#: Upstream's "freeze everything" partition (larger than any realistic replica count).
MAX_PARTITION = 32767


class StatefulSetControl(RollingUpdatePartition):
    ordered: ClassVar[bool] = True

    def initialize_patch(self, info: str) -> dict[str, Any]:
        # ``paused`` is an Advanced StatefulSet field; the API server prunes it on native ones.
        return {"metadata": {"annotations": {CONTROL_INFO_ANNOTATION: info}},
                "spec": {"updateStrategy": {"rollingUpdate": {"partition": MAX_PARTITION, "paused": False}}}}

    def finalize_patch(self, release: bool, keep: bool = False) -> dict[str, Any]:
        patch: dict[str, Any] = {"metadata": {"annotations": {CONTROL_INFO_ANNOTATION: None}}}
        if release and not keep:
            patch["spec"] = {"updateStrategy": {"rollingUpdate": {"partition": None}}}
        return patch
