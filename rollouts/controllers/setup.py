"""Wire the controllers to a :class:`runtime.manager.Manager` (informers, watches, workers)."""

from __future__ import annotations

import attrs

from rollouts.api import keys
from rollouts.controllers.batchrelease.controller import (
    BatchReleaseReconciler,
    batch_release_for_pod,
    batch_release_for_workload,
)
from rollouts.controllers.common import BATCHRELEASES, ROLLOUTHISTORIES, ROLLOUTS, TRAFFICROUTINGS
from rollouts.controllers.deployment.controller import AdvancedDeploymentReconciler
from rollouts.controllers.rollout.analysis_metrics import register_analysis_metrics
from rollouts.controllers.rollout.controller import RolloutReconciler, rollouts_for_workload, rollouts_using_scripts
from rollouts.controllers.rollout.metrics import register_rollout_metrics
from rollouts.controllers.rollouthistory.controller import (
    RolloutHistoryReconciler,
    rollout_for_history,
    rollout_if_released,
)
from rollouts.controllers.sharding import (
    Shard,
    gated,
    owns_batch_release,
    owns_own_labels,
    owns_workload,
)
from rollouts.controllers.trafficrouting.controller import TrafficRoutingReconciler, traffic_routings_for_rollout
from rollouts.controllers.workload_setup import add_workload_kinds
from rollouts.lua.configuration import ScriptConfiguration, default_namespace
from rollouts.objects import pod as podobj
from rollouts.objects.workloadref import WORKLOAD_REF_INDEX, workload_ref_index
from rollouts.release.canary_deployment import CANARY_OF_INDEX, canary_of_index
from rollouts.trafficrouting.manager import TrafficRoutingManager
from runtime.cache.informer import SharedInformer
from runtime.cache.store import LABELS_INDEX, label_index
from runtime.controller import Controller
from runtime.controller.controller import ControllerSettings
from runtime.controller.handlers import request_for
from runtime.events import EventRecorder, EventSettings
from runtime.kube.resources import CONFIGMAPS, DEPLOYMENTS, PODS, REPLICASETS
from runtime.manager import Manager

ROLLOUT_EVENT_COMPONENT = "rollout-controller"


@attrs.frozen
class ControllerOptions:
    """Worker counts (upstream ``--<controller>-workers``, rollouts.cmd.manager.WORKER_FLAGS) and what to run."""

    rollout_workers: int = 3
    """Concurrent Rollout reconciles (different Rollouts)."""
    batchrelease_workers: int = 3
    """Concurrent BatchRelease reconciles."""
    trafficrouting_workers: int = 3
    """Concurrent TrafficRouting reconciles (``--trafficrouting-workers``)."""
    rollouthistory_workers: int = 3
    """Concurrent RolloutHistory reconciles (``--rollouthistory-workers``)."""
    deployment_workers: int = 2
    """Concurrent advanced-Deployment syncs (``--deployment-workers``)."""
    nativedaemonset_workers: int = 1
    """Concurrent native-DaemonSet pod-deleter syncs (``--nativedaemonset-workers``)."""
    kruise_resources: frozenset = frozenset()
    """OpenKruise workload resources whose CRDs exist (``workloads.available_kruise_resources``)."""
    namespace: str = attrs.field(factory=default_namespace)
    """Operator namespace (``--namespace``): where the ``kruise-rollout-configuration`` ConfigMap
    with user Lua scripts is read."""
    rollout_history: bool = False
    """Feature gate ``RolloutHistory`` (default off, as upstream): record every release."""
    keep_workload_paused_on_deletion: bool = False
    """Feature gate ``KeepWorkloadPausedOnRolloutDeletion`` (batch-release.md §11)."""
    shard: Shard | None = None
    """``--shard-*``: reconcile only this shard's Rollouts (rollouts/controllers/sharding.py); None: all."""


@attrs.frozen
class Controllers:
    rollout: Controller
    batch_release: Controller
    deployment: Controller
    traffic_routing: Controller
    rollout_history: Controller | None = None
    """Only with the ``RolloutHistory`` feature gate."""


def add_controllers(mgr: Manager, options: ControllerOptions = ControllerOptions()) -> Controllers:
    """Create the informers and controllers and register them (leader-only) with ``mgr``."""
    f = mgr.informers
    # The workload-ref index turns every workload/pod event's "which Rollout/BatchRelease?" into a lookup.
    by_workload = {WORKLOAD_REF_INDEX: workload_ref_index}
    shard = options.shard
    # A shard's controllers see only its Rollouts (server-side label selector, client-side namespace
    # set); the webhooks keep their own unfiltered Rollout informer (rollouts/cmd/manager.py).
    rollouts = f.informer(ROLLOUTS, indexers=by_workload, label_selector=shard.label_query if shard else None,
                          keep=shard.in_namespaces if shard and shard.namespaces else None)
    brs = f.informer(BATCHRELEASES, indexers=by_workload)
    # A canary-style Rollout finds its canary Deployments by index (rollouts/release/canary_deployment.py).
    deployments = f.informer(DEPLOYMENTS, indexers={CANARY_OF_INDEX: canary_of_index})
    rss = f.informer(REPLICASETS)
    # BatchReleases list a workload's pods by its labels on every round: an index, not a namespace scan.
    pods = f.informer(PODS, indexers={LABELS_INDEX: label_index})
    # Pods are the most numerous objects watched: cache only the fields the controllers read.
    pods.set_transform(podobj.keep_read_fields)
    clock = mgr.clock
    # Upstream's Rollout events come from "rollout-controller" (seed: `kubectl describe rollout`).
    rollout_events = EventRecorder(mgr.client, settings=EventSettings(component=ROLLOUT_EVENT_COMPONENT), clock=clock)
    mgr.add_runnable("rollout-event-recorder", rollout_events.run)

    # Concrete reconcilers kept in locals: Controller.reconciler is only the Reconciler protocol, and
    # workload_stores is filled below once the workload kinds are known.
    # The one ConfigMap of user Lua scripts, cached (read on every traffic reconcile, rollouts/lua/configuration.py).
    script_config = f.informer(CONFIGMAPS, namespace=options.namespace,
                               field_selector=f"metadata.name={keys.ROLLOUT_CONFIGURATION_CONFIGMAP}")
    rollout_reconciler = RolloutReconciler(mgr.client, rollouts, brs, deployments, rss, rollout_events, clock,
                                           lua_scripts=ScriptConfiguration(namespace=options.namespace,
                                                                           store=script_config.store),
                                           analysis_metrics=register_analysis_metrics(
                                               mgr.registry, rollouts.store, active=lambda: mgr.is_leader))
    rollout = Controller("rollout", rollout_reconciler,
                         settings=ControllerSettings(workers=options.rollout_workers), clock=clock,
                         metrics=mgr.metrics)
    rollout.watch(rollouts)
    # Per-Rollout series on /metrics, exported by the leader only (rollouts/controllers/rollout/metrics.py).
    state_metrics, _ = register_rollout_metrics(mgr.registry, rollouts, clock, active=lambda: mgr.is_leader)
    mgr.add_runnable("rollout-metrics-warm", state_metrics.warm, needs_leader=True)
    rollout.watch_mapped(brs, lambda o: [request_for(o)])
    rollout.watch_mapped(deployments, lambda o: rollouts_for_workload(rollouts.store, o))
    # A script edit requeues the Rollouts routing through Lua, so a fixed script resumes them at once.
    rollout.watch_mapped(script_config, lambda o: rollouts_using_scripts(rollouts.store))

    batch_reconciler = BatchReleaseReconciler(mgr.client, brs, deployments, mgr.events, clock, pods=pods,
                                              keep_workload_paused=options.keep_workload_paused_on_deletion)
    batch = Controller("batchrelease", gated(batch_reconciler, shard, lambda s: owns_batch_release(s, rollouts, brs)),
                       settings=ControllerSettings(workers=options.batchrelease_workers), clock=clock,
                       metrics=mgr.metrics)
    batch.watch(brs)
    batch.watch_mapped(deployments, lambda o: batch_release_for_workload(brs.store, o))
    batch.watch_mapped(pods, lambda o: batch_release_for_pod(brs.store, rss.store, deployments.store, o))

    deployment = Controller("advanced-deployment", gated(
        AdvancedDeploymentReconciler(mgr.client, deployments, rss, clock), shard,
        lambda _: owns_workload(deployments, lambda o: rollouts_for_workload(rollouts.store, o))),
                            settings=ControllerSettings(workers=options.deployment_workers), clock=clock,
                            metrics=mgr.metrics)
    deployment.watch(deployments)
    deployment.watch_owned(rss, kind="Deployment", group="apps")

    trs = f.informer(TRAFFICROUTINGS)
    traffic_routing = Controller("trafficrouting", gated(TrafficRoutingReconciler(
        mgr.client, trs, clock, rollouts=rollouts,
        manager=TrafficRoutingManager(mgr.client, clock=clock, scripts=rollout_reconciler.traffic.manager.scripts)),
        shard, lambda s: owns_own_labels(s, trs)),
                                 settings=ControllerSettings(workers=options.trafficrouting_workers), clock=clock,
                                 metrics=mgr.metrics)
    traffic_routing.watch(trs)
    # A Rollout event (its deletion above all) looks at the TrafficRouting it names and at those holding its
    # finalizer (vanished Rollouts, and Rollouts whose annotation was removed mid-release).
    traffic_routing.watch_mapped(rollouts, lambda o: traffic_routings_for_rollout(trs.store, o))

    stores = add_workload_kinds(mgr, rollout=rollout, batch=batch, rollouts=rollouts, brs=brs, pods=pods,
                                kruise_resources=options.kruise_resources, events=mgr.events, shard=shard,
                                deleter_workers=options.nativedaemonset_workers)
    rollout_reconciler.workload_stores.update(stores)
    batch_reconciler.workload_stores.update(stores)
    for ctl in (rollout, batch, deployment, traffic_routing):
        mgr.add_controller(ctl)
    history = add_rollout_history(mgr, options, rollouts, pods) if options.rollout_history else None
    return Controllers(rollout, batch, deployment, traffic_routing, history)


def add_rollout_history(mgr: Manager, options: ControllerOptions, rollouts: SharedInformer,
                        pods: SharedInformer) -> Controller:
    """The RolloutHistory controller (rollout-history.md §2): keyed by Rollout, woken by its records."""
    histories = mgr.informers.informer(ROLLOUTHISTORIES)
    ctl = Controller("rollouthistory", RolloutHistoryReconciler(mgr.client, rollouts, histories, pods),
                     settings=ControllerSettings(workers=options.rollouthistory_workers), clock=mgr.clock,
                     metrics=mgr.metrics)
    ctl.watch_mapped(rollouts, rollout_if_released)
    ctl.watch_mapped(histories, rollout_for_history)
    mgr.add_controller(ctl)
    return ctl
