"""Issue 10 item 2: reconciler dependencies are typed with the runtime protocols, never ``Any``.

mypy only checks a controller's calls on its client and stores when those fields have real types;
this test keeps a new field from slipping back to ``Any`` (mypy itself is happy with ``Any``).
"""

from __future__ import annotations

import typing

import attrs
import pytest

from rollouts.controllers.batchrelease.controller import BatchReleaseReconciler, WorkloadWriteCounter
from rollouts.controllers.batchrelease.deployment import DeploymentControl
from rollouts.controllers.batchrelease.nativedaemonset import PodDeleter
from rollouts.controllers.batchrelease.partition import PartitionControl
from rollouts.controllers.deployment.controller import AdvancedDeploymentReconciler
from rollouts.controllers.rollout.controller import RolloutReconciler
from runtime.cache.protocols import IndexedInformer, Informer, SyncedInformer
from runtime.events import EventSink
from runtime.kube.protocols import KubeApi

CLASSES = [RolloutReconciler, BatchReleaseReconciler, AdvancedDeploymentReconciler, PodDeleter, DeploymentControl,
           PartitionControl, WorkloadWriteCounter]


def _mentions_any(tp: object) -> bool:
    return tp is typing.Any or any(_mentions_any(a) for a in typing.get_args(tp))


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_no_dependency_is_typed_any(cls: type) -> None:
    hints = typing.get_type_hints(cls)
    for f in attrs.fields(cls):
        tp = hints[f.name]
        if f.name in ("br", "obj", "deployment", "pods"):  # the objects of this reconcile (wire data)
            continue
        assert not _mentions_any(tp), f"{cls.__name__}.{f.name} is typed {tp}; use a runtime protocol"


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_clients_stores_and_recorders_use_the_protocols(cls: type) -> None:
    hints = typing.get_type_hints(cls)
    expected = {"client": KubeApi, "events": EventSink | None, "pod_informer": SyncedInformer | None,
                "pods": SyncedInformer | None}
    for name, want in expected.items():
        if name in hints and not (name == "pods" and cls is not BatchReleaseReconciler):
            assert hints[name] == want, f"{cls.__name__}.{name}: {hints[name]}"
    for name in ("rollouts", "batch_releases", "deployments", "replica_sets", "daemonsets"):
        if name in hints:
            # IndexedInformer where the reconciler looks objects up by index (ReplicaSets by owner uid).
            assert hints[name] in (Informer, IndexedInformer), f"{cls.__name__}.{name}: {hints[name]}"
