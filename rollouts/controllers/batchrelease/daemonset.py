"""Advanced DaemonSet (``apps.kruise.io/v1alpha1``) partition control plane (batch-release.md §9.4).

Replicas are ``status.desiredNumberScheduled`` (one pod per eligible node); the update revision is
the hash suffix of ``status.daemonSetHash``; ``spec.updateStrategy.rollingUpdate.partition`` counts
the pods kept on the old revision. Updated-ready pods are counted from pods.
"""

from __future__ import annotations

from typing import Any

from rollouts.controllers.batchrelease.partition import PartitionControl
from rollouts.release.deployment_strategy import CONTROL_INFO_ANNOTATION
from rollouts.release.intstr import IntOrStr


def _suffix(revision: str) -> str:
    return revision.rpartition("-")[2] if revision else ""


class AdvancedDaemonSetControl(PartitionControl):
    def replicas(self) -> int:
        return int(((self.obj or {}).get("status") or {}).get("desiredNumberScheduled", 0))

    def revisions(self) -> tuple[str, str]:
        return _suffix(((self.obj or {}).get("status") or {}).get("daemonSetHash", "")), ""

    def updated(self) -> int:
        return int(((self.obj or {}).get("status") or {}).get("updatedNumberScheduled", 0))

    def promoted(self) -> bool:
        status = (self.obj or {}).get("status") or {}
        return int(status.get("desiredNumberScheduled", 0)) == int(status.get("updatedNumberScheduled", 0))

    def initialize_patch(self, info: str) -> dict[str, Any]:
        return {"metadata": {"annotations": {CONTROL_INFO_ANNOTATION: info}},
                "spec": {"updateStrategy": {"rollingUpdate": {"paused": False, "partition": self.replicas()}}}}

    def current_partition(self) -> IntOrStr:
        strategy = ((self.obj or {}).get("spec") or {}).get("updateStrategy") or {}
        return int((strategy.get("rollingUpdate") or {}).get("partition") or 0)

    def partition_patch(self, desired: IntOrStr) -> dict[str, Any]:
        return {"spec": {"updateStrategy": {"rollingUpdate": {"partition": desired}}}}

    def finalize_patch(self, release: bool) -> dict[str, Any]:
        patch: dict[str, Any] = {"metadata": {"annotations": {CONTROL_INFO_ANNOTATION: None}}}
        if release:
            patch["spec"] = {"updateStrategy": {"rollingUpdate": {"partition": None, "paused": False}}}
        return patch
