"""CloneSet partition control plane (batch-release.md §9.1).

CloneSet's ``updateStrategy.partition`` counts pods kept on the *old* revision and may be a
percentage; when the batch is a percentage the partition is written as one too (§3.4) so CloneSet's
own rounding stays in step with the plan, which keeps releases HPA-friendly (a percentage follows
replica changes). The partition is never raised during a release.
"""

from __future__ import annotations

from typing import Any

from rollouts.api.intstr import IntOrStrLike, WireIntOrStr, is_string
from rollouts.controllers.batchrelease.partition import PartitionControl
from rollouts.objects import workload as wl
from rollouts.release.batch import BatchTarget, parse_integer_as_percentage_if_possible
from rollouts.release.deployment_strategy import CONTROL_INFO_ANNOTATION


class CloneSetControl(PartitionControl):
    def revisions(self) -> tuple[str, str]:
        return wl.status_str(self.obj, "updateRevision"), wl.status_str(self.obj, "currentRevision")

    def status_updated_ready(self) -> int | None:
        return wl.status_int(self.obj, "updatedReadyReplicas")

    def initialize_patch(self, info: str) -> dict[str, Any]:
        return {"metadata": {"annotations": {CONTROL_INFO_ANNOTATION: info}},
                "spec": {"updateStrategy": {"paused": False, "partition": "100%"}}}

    def current_partition(self) -> WireIntOrStr:
        value = wl.update_strategy(self.obj).get("partition")
        return 0 if value is None else value

    def desired_partition(self, target: BatchTarget, canary_replicas: IntOrStrLike | None) -> WireIntOrStr:
        stable = max(0, target.desired_stable)
        if is_string(canary_replicas):
            return parse_integer_as_percentage_if_possible(stable, self.replicas(), canary_replicas)
        return stable

    def partition_patch(self, desired: WireIntOrStr) -> dict[str, Any]:
        return {"spec": {"updateStrategy": {"partition": desired}}}

    def finalize_patch(self, release: bool, keep: bool = False) -> dict[str, Any]:
        patch: dict[str, Any] = {"metadata": {"annotations": {CONTROL_INFO_ANNOTATION: None}}}
        if release:
            strategy: dict[str, Any] = {"paused": False} if keep else {"partition": None, "paused": False}
            patch["spec"] = {"updateStrategy": strategy}
        return patch
