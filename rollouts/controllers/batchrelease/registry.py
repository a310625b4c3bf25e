"""Which control plane drives a BatchRelease's workload (batch-release.md §2.2), as a table.

Keyed by the workload's (API group, kind) — versions are ignored, so Advanced StatefulSet
``v1alpha1`` and ``v1beta1`` share a row. Anything not in the table falls through to the
StatefulSet-like control plane when its kind can be resolved (a CRD serves it), exactly as upstream
falls through to its StatefulSet-like executor for unstructured kinds.

Each entry builds an adapter with one shape — ``workload_info() -> (event, info)``,
``initialize``, ``upgrade_batch``, ``batch_ready``, ``finalize`` — so the BatchRelease reconciler
never branches on kind. The partition Deployment control (``deployment.py``) is registered as-is
behind a thin adapter (its ``workload_info`` is a module function).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from rollouts.api.v1beta1.batchrelease import BatchRelease
from rollouts.controllers.batchrelease import deployment as dep
from rollouts.controllers.batchrelease.cloneset import CloneSetControl
from rollouts.controllers.batchrelease.daemonset import AdvancedDaemonSetControl
from rollouts.controllers.batchrelease.nativedaemonset import NativeDaemonSetControl
from rollouts.controllers.batchrelease.statefulset import StatefulSetControl
from rollouts.controllers.workloads import KRUISE_GROUP, WorkloadKind
from runtime.kube.protocols import KubeApi

Obj = Mapping[str, Any]
#: The BatchRelease a control plane is built with: the model, or its wire dict (decoded by the control).
BatchReleaseLike = BatchRelease | Mapping[str, Any]


@attrs.define
class DeploymentAdapter(dep.DeploymentControl):
    """``DeploymentControl`` with the registry's ``workload_info()`` method."""

    async def workload_info(self) -> tuple[str, dep.WorkloadInfo | None]:
        return await self.observed_info()


def _deployment(client: KubeApi, br: BatchReleaseLike, obj: Obj | None, _row: WorkloadKind) -> Any:
    return DeploymentAdapter(client, br, obj)


def _partition(cls: type) -> Callable[[KubeApi, BatchReleaseLike, Obj | None, WorkloadKind], Any]:
    return lambda client, br, obj, row: cls(client, br, obj, row.resource)


CONTROL_PLANES: dict[tuple[str, str], Callable[[KubeApi, BatchReleaseLike, Obj | None, WorkloadKind], Any]] = {
    ("apps", "Deployment"): _deployment,
    ("apps", "DaemonSet"): _partition(NativeDaemonSetControl),
    (KRUISE_GROUP, "CloneSet"): _partition(CloneSetControl),
    (KRUISE_GROUP, "DaemonSet"): _partition(AdvancedDaemonSetControl),
}
#: Upstream's fall-through: apps StatefulSet, Advanced StatefulSet, StatefulSet-like custom kinds.
STATEFULSET_LIKE = _partition(StatefulSetControl)


def control_plane(group: str, kind: str) -> Callable[[KubeApi, BatchReleaseLike, Obj | None, WorkloadKind], Any]:
    """The control-plane factory ``(client, br, workload, row) -> control`` for a kind."""
    return CONTROL_PLANES.get((group, kind), STATEFULSET_LIKE)
