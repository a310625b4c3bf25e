"""Advanced DaemonSet (``apps.kruise.io/v1alpha1``) partition control plane (batch-release.md §9.4).

Replicas are ``status.desiredNumberScheduled`` (one pod per eligible node); the update revision is
the hash suffix of ``status.daemonSetHash``; ``spec.updateStrategy.rollingUpdate.partition`` counts
the pods kept on the old revision. Updated-ready pods are counted from pods.
"""

from __future__ import annotations

from typing import Any

from rollouts.controllers.batchrelease.partition import DaemonSetCounts, RollingUpdatePartition
from rollouts.objects import workload as wl
from rollouts.release.deployment_strategy import CONTROL_INFO_ANNOTATION


def _suffix(revision: str) -> str:
    return revision.rpartition("-")[2] if revision else ""


class AdvancedDaemonSetControl(DaemonSetCounts, RollingUpdatePartition):
    def revisions(self) -> tuple[str, str]:
        return _suffix(wl.status_str(self.obj, "daemonSetHash")), ""

    def initialize_patch(self, info: str) -> dict[str, Any]:
        return {"metadata": {"annotations": {CONTROL_INFO_ANNOTATION: info}},
                "spec": {"updateStrategy": {"rollingUpdate": {"paused": False, "partition": self.replicas()}}}}

    def finalize_patch(self, release: bool, keep: bool = False) -> dict[str, Any]:
        patch: dict[str, Any] = {"metadata": {"annotations": {CONTROL_INFO_ANNOTATION: None}}}
        if release:
            rolling: dict[str, Any] = {"paused": False} if keep else {"partition": None, "paused": False}
            patch["spec"] = {"updateStrategy": {"rollingUpdate": rolling}}
        return patch
