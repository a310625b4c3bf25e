"""Which control plane drives a BatchRelease's workload (batch-release.md §2.2), as a table.

Keyed by the workload's (API group, kind) — versions are ignored, so Advanced StatefulSet
``v1alpha1`` and ``v1beta1`` share a row. Anything not in the table falls through to the
StatefulSet-like control plane when its kind can be resolved (a CRD serves it), exactly as upstream
falls through to its StatefulSet-like executor for unstructured kinds.

Each entry builds an adapter with one shape — ``workload_info() -> (event, info)``,
``initialize``, ``upgrade_batch``, ``batch_ready``, ``finalize`` — so the BatchRelease reconciler
never branches on kind. The partition Deployment control (``deployment.py``) is registered as-is
behind a thin adapter (its ``workload_info`` is a module function).

The rolling style picks before the table (§2.2): ``BlueGreen`` on an ``apps/v1`` Deployment or an
``apps.kruise.io/v1alpha1`` CloneSet is the blue-green control (``bluegreen.py``); ``Canary`` (or an empty style with
``enableExtraWorkloadForCanary``) on an ``apps/v1`` Deployment — that exact apiVersion, as upstream
matches it — is the canary Deployment control (``canary.py``); every other kind falls through to
the partition rules. The canary control needs two things the others do not, the Deployment cache
and the create expectations shared by every reconcile: :class:`CanaryDeps` carries them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from rollouts.api import constants as C
from rollouts.api.v1beta1.batchrelease import BatchRelease, ReleasePlan
from rollouts.controllers.batchrelease import deployment as dep
from rollouts.controllers.batchrelease.bluegreen import BlueGreenCloneSetControl, BlueGreenDeploymentControl
from rollouts.controllers.batchrelease.canary import CanaryControl
from rollouts.controllers.batchrelease.cloneset import CloneSetControl
from rollouts.controllers.batchrelease.daemonset import AdvancedDaemonSetControl
from rollouts.controllers.batchrelease.nativedaemonset import NativeDaemonSetControl
from rollouts.controllers.batchrelease.statefulset import StatefulSetControl
from rollouts.controllers.workloads import KRUISE_GROUP, WorkloadKind
from runtime.cache.protocols import CacheReader
from runtime.expectations import CreateExpectations
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
#: ``BlueGreen`` style (§2.2): only these two exact apiVersions; other kinds fall through to partition.
BLUE_GREEN_CONTROL_PLANES: dict[tuple[str, str], Callable[[KubeApi, BatchReleaseLike, Obj | None, WorkloadKind],
                                                           Any]] = {
    ("apps/v1", "Deployment"): _partition(BlueGreenDeploymentControl),
    (f"{KRUISE_GROUP}/v1alpha1", "CloneSet"): _partition(BlueGreenCloneSetControl),
}
#: Upstream's fall-through: apps StatefulSet, Advanced StatefulSet, StatefulSet-like custom kinds.
STATEFULSET_LIKE = _partition(StatefulSetControl)


Factory = Callable[[KubeApi, BatchReleaseLike, Obj | None, WorkloadKind], Any]


@attrs.frozen
class CanaryDeps:
    """What the canary control shares across reconciles."""

    #: The Deployment informer's store (canary Deployments are looked up by owner in it).
    deployments: CacheReader | None = None
    #: Canary creates not yet seen by that informer, keyed by BatchRelease.
    expectations: CreateExpectations | None = None


def rolling_style(plan: ReleasePlan) -> str:
    """§2.2: ``releasePlan.rollingStyle``; empty with ``enableExtraWorkloadForCanary`` means Canary."""
    if not plan.rolling_style and plan.enable_extra_workload_for_canary:
        return C.ROLLING_STYLE_CANARY
    return plan.rolling_style


def control_plane(group: str, kind: str, *, api_version: str = "", style: str = "",
                  canary: CanaryDeps | None = None) -> Factory:
    """The control-plane factory ``(client, br, workload, row) -> control`` for a kind and style."""
    if style == C.ROLLING_STYLE_CANARY and api_version == "apps/v1" and kind == "Deployment":
        deps = canary or CanaryDeps()
        return lambda client, br, obj, _row: CanaryControl(client, br, obj, deployments=deps.deployments,
                                                           expectations=deps.expectations)
    if style == C.ROLLING_STYLE_BLUE_GREEN and (api_version, kind) in BLUE_GREEN_CONTROL_PLANES:
        return BLUE_GREEN_CONTROL_PLANES[(api_version, kind)]
    return CONTROL_PLANES.get((group, kind), STATEFULSET_LIKE)
