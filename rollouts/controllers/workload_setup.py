"""Informers and watches for the workload kinds beyond Deployment (StatefulSet, DaemonSet and —
when their CRDs exist — CloneSet, Advanced DaemonSet, Advanced StatefulSet), plus the native
DaemonSet pod deleter (batch-release.md §1 watches, §9.5; rollout-lifecycle.md §1 step 2).

Kept apart from ``setup.py`` so adding a kind touches one table (``workloads.KINDS``) and this
file only. OpenKruise informers are created only for resources discovered at start
(``workloads.available_kruise_resources``): an informer on a missing CRD would 404 forever.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rollouts.controllers.batchrelease.controller import batch_release_for_workload
from rollouts.controllers.batchrelease.nativedaemonset import PodDeleter
from rollouts.controllers.common import group_of
from rollouts.controllers.rollout.controller import rollouts_for_workload
from rollouts.controllers.sharding import Shard, gated, owns_workload
from rollouts.objects.meta import metadata as meta
from runtime.cache.informer import SharedInformer
from runtime.cache.protocols import IndexedInformer, IndexedReader, Informer
from runtime.controller import Controller
from runtime.controller.controller import ControllerSettings
from runtime.events import EventSink
from runtime.kube.resources import DAEMONSETS, STATEFULSETS, Resource
from runtime.manager import Manager
from runtime.reconcile import Request

#: Pod owners handled here (Deployment pods go through their ReplicaSet in ``controller.py``).
_POD_OWNER_KINDS = ("StatefulSet", "CloneSet", "DaemonSet")


def batch_release_for_owned_pod(br_store: IndexedReader, informers: Mapping[Resource, Informer],
                                pod: Mapping[str, Any]) -> list[Request]:
    """Pod → controlling workload (StatefulSet, CloneSet, DaemonSets) → its BatchRelease."""
    for ref in meta(pod).get("ownerReferences") or []:
        if not ref.get("controller") or ref.get("kind") not in _POD_OWNER_KINDS:
            continue
        group = group_of(str(ref.get("apiVersion", "")))
        for res, informer in informers.items():
            if res.group == group and res.kind == ref.get("kind"):
                owner = informer.store.get(ref.get("name"), meta(pod).get("namespace"))
                if owner is not None:
                    return batch_release_for_workload(br_store, owner)
    return []


def add_workload_kinds(mgr: Manager, *, rollout: Controller, batch: Controller, rollouts: IndexedInformer,
                       brs: IndexedInformer, pods: SharedInformer, kruise_resources: Iterable[Resource] = (),
                       events: EventSink | None = None, shard: Shard | None = None,
                       deleter_workers: int = 1) -> dict[Resource, SharedInformer]:
    """Create the informers, add the watches; returns the informers by resource (for the reconcilers).

    ``shard``: the native DaemonSet pod deleter acts only on DaemonSets a shard's Rollout targets."""
    f = mgr.informers
    informers = {res: f.informer(res) for res in (STATEFULSETS, DAEMONSETS, *kruise_resources)}
    for informer in informers.values():
        rollout.watch_mapped(informer, lambda o: rollouts_for_workload(rollouts.store, o))
        batch.watch_mapped(informer, lambda o: batch_release_for_workload(brs.store, o))
    batch.watch_mapped(pods, lambda o: batch_release_for_owned_pod(brs.store, informers, o))
    daemonsets = informers[DAEMONSETS]
    deleter_reconciler = gated(PodDeleter(mgr.client, daemonsets, events), shard,
                               lambda _: owns_workload(daemonsets, lambda o: rollouts_for_workload(rollouts.store, o)))
    deleter = Controller("native-daemonset", deleter_reconciler,
                         settings=ControllerSettings(workers=deleter_workers), clock=mgr.clock, metrics=mgr.metrics)
    deleter.watch(informers[DAEMONSETS])
    mgr.add_controller(deleter)
    return informers
