"""Rollout reconciler (rollout-lifecycle.md §1): observe → pure rounds → actions → one status patch.

Each reconcile reads the Rollout, its Deployment (+ ReplicaSets) and BatchRelease from the informer
caches, runs :func:`rollouts.rollout.machine.settle` (rounds of ``reconcile_rollout`` chained in
memory until one needs I/O), performs the intended actions in order and writes the status as one
merge patch to ``/status`` (skipped when nothing changed).

Cleanup actions (``RunFinalising``, ``ResetForContinuousRelease``) and traffic actions
(``PatchStableService``, ``RestoreStableService``, ``DoTrafficRouting``, ``FinaliseTrafficRouting``,
performed by ``traffic.py`` through one ``TrafficRoutingManager`` per controller) report completion
back to the machine: we execute them first and, when they are complete, re-run the same round (same
``now``) with ``finalising_done``/``reset_done``/``stable_service_done``/``traffic_done`` set, so
completion is written in the same reconcile. An unfinished traffic call leaves its context's
``lastUpdateTime`` and reason in the sub-status (traffic-routing.md §3); a missing Service/Ingress or
a step the provider cannot express becomes the Rollout's message.

Stale reads: after writing a status we remember the resourceVersion the API server returned; a
cached Rollout older than that is not acted upon (we requeue shortly), so a round never recomputes
from a state older than our own last write (STYLE 10).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs
import structlog

from rollouts.api import keys
from rollouts.api.decode import as_batch_release, as_rollout
from rollouts.api.edit import copy_model
from rollouts.api.v1beta1.batchrelease import BatchRelease
from rollouts.api.v1beta1.rollout import Rollout, RolloutStatus
from rollouts.api.wire import from_dict
from rollouts.controllers.common import (
    BATCHRELEASES,
    ROLLOUTS,
    STALE_CACHE_RETRY_SECONDS,
    OwnWrites,
    finalizers_patch,
    merge_patch,
    traffic_routing_name,
    workload_ref,
)
from rollouts.controllers.rollout.analysis import run_analysis, stored_analysis
from rollouts.controllers.rollout.analysis_metrics import AnalysisMetrics
from rollouts.controllers.rollout.attach import attach
from rollouts.controllers.rollout.finalising import (
    ROLLBACK,
    TrafficTasks,
    reset_for_continuous_release,
    run_finalising,
)
from rollouts.controllers.rollout.traffic import (
    DEFAULT_REVISION_LABEL,
    RolloutTraffic,
    RoutingResult,
    apply_routing,
    is_initializing,
    needs_initial_check,
    routing_context,
)
from rollouts.controllers.rollout.workload import observe_deployment, owned_replica_sets
from rollouts.controllers.workloads import WorkloadKind, get_workload, kind_of, missing_workload_message
from rollouts.lua.configuration import ScriptConfiguration
from rollouts.objects.meta import is_deleting, labels
from rollouts.objects.meta import metadata as meta
from rollouts.objects.workloadref import WORKLOAD_REF_INDEX, workload_index_value
from rollouts.release.canary_deployment import CANARY_OF_INDEX, canary_pod_template_hash
from rollouts.rollout import actions as act
from rollouts.rollout import bluegreen, unsupported
from rollouts.rollout.conditions import PROGRESSING, TERMINATING, find_condition, get_condition, set_progressing_message
from rollouts.rollout.machine import Outcome, Settled, desired_hash, settle
from rollouts.rollout.model import (
    PHASE_PROGRESSING,
    REASON_CANCELLING,
    REASON_INITIALIZING,
    REASON_TERMINATING_CLEANED_UP,
    Observation,
    as_status,
    rollback_in_batch_policy,
    uses_extra_workload,
)
from rollouts.trafficrouting.manager import TrafficRoutingManager
from runtime.cache.frozen import thaw
from runtime.cache.protocols import CacheReader, IndexedInformer, IndexedReader, Informer
from runtime.cache.store import OWNER_UID_INDEX
from runtime.clock import REAL_CLOCK, Clock
from runtime.events import EventSink
from runtime.kube.errors import AlreadyExists, NotFound
from runtime.kube.protocols import KubeApi
from runtime.kube.resources import DEPLOYMENTS, Resource
from runtime.reconcile import Request, Result

ROLLOUT_FINALIZER = keys.ROLLOUT_FINALIZER
WORKLOAD_TYPE_LABEL = keys.WORKLOAD_TYPE_LABEL
HASH_ANNOTATION = keys.ROLLOUT_HASH_ANNOTATION

log = structlog.get_logger("rollouts.controllers.rollout")


@attrs.define
class RolloutReconciler:
    """Dependencies: the client, informer stores and the event recorder (see ``setup``)."""

    client: KubeApi
    rollouts: Informer
    batch_releases: Informer
    deployments: IndexedInformer
    replica_sets: IndexedInformer
    events: EventSink | None = None
    clock: Clock = REAL_CLOCK
    _writes: OwnWrites = attrs.field(factory=OwnWrites)
    #: Informers of the other workload kinds by resource (kinds without one are read with a GET).
    workload_stores: dict[Resource, Informer] = attrs.field(factory=dict)
    #: Resources of custom StatefulSet-like kinds found so far (``workloads.kind_of``).
    _custom_kinds: dict[tuple[str, str], Resource] = attrs.field(factory=dict)
    #: The ``kruise-rollout-configuration`` ConfigMap holding user Lua scripts, in the manager's
    #: namespace (default: none, shipped scripts only).
    lua_scripts: ScriptConfiguration | None = None
    #: Where each analysis round's check values and verdicts go for ``/metrics`` (default: nowhere).
    analysis_metrics: AnalysisMetrics | None = None
    #: The traffic routing core, one per controller: its grace store outlives a reconcile (§6).
    traffic: RolloutTraffic = attrs.field(default=attrs.Factory(
        lambda self: RolloutTraffic(TrafficRoutingManager(self.client, clock=self.clock, scripts=self.lua_scripts)),
        takes_self=True))

    async def reconcile(self, request: Request) -> Result:
        ns, name = request.namespace or "", request.name
        cached, stale = self._writes.lookup(self.rollouts.store, ns, name)
        if cached is None:
            return Result()
        if stale:
            return Result(requeue_after=STALE_CACHE_RETRY_SECONDS)
        rollout = thaw(cached)
        rollout, stop = await self._finalizer(rollout)
        if stop:
            return Result()
        # Decoded once here for the guard, the rollback policy and every chained round (rollouts/api/decode.py).
        model = as_rollout(rollout)
        # A Rollout using a feature not built yet only reports that (rollouts.rollout.unsupported).
        view, halted = unsupported.guard(rollout, self.clock.now(), model=model)
        if halted is not None:
            await self._write_status(rollout, Outcome(from_dict(RolloutStatus, halted)))
            return Result()
        # Blue-green runs through the same machine, translated here and back in _write_status.
        model, view = bluegreen.canary_view(model), bluegreen.rollout_as_canary(view)
        deployment, obs, init_problem = await self._observe(rollout, model, view)
        now = self.clock.now()
        settled, routed = await self._settle(model, view, obs, now, deployment)
        outcome = with_routing(settled.outcome, routed, init_problem, now)
        outcome = attrs.evolve(outcome, actions=settled.events + outcome.actions)
        await self._perform(rollout, outcome)
        await self._write_status(rollout, outcome)
        return Result(requeue_after=outcome.requeue_after) if outcome.requeue_after is not None else Result()

    async def _observe(
        self, rollout: Mapping[str, Any], model: Rollout, view: Mapping[str, Any],
    ) -> tuple[Mapping[str, Any] | None, Observation, str | None]:
        """The workload, the Observation the rounds start from, and the Initializing traffic problem.

        Results of I/O the machine asks for start as "not done" (``_settle`` performs it and re-runs
        the round); the Initializing traffic check (§5.2 step 2) modifies nothing, so it is read here.
        """
        md = meta(rollout)
        ns, name = md.get("namespace", ""), md.get("name", "")
        deployment, row = await self._workload(rollout)
        if row is not None and row.observe is not None and deployment is not None:
            observed = await row.observe(self.client, deployment)
        else:
            uid = meta(deployment).get("uid", "")
            rss = owned_replica_sets(self.replica_sets.store.by_index(OWNER_UID_INDEX, uid), uid) if deployment else []
            observed = observe_deployment(deployment, rss)
            if deployment is not None and uses_extra_workload(model):
                # Canary style: the new pods run in the canary Deployment, the canary Service selects its hash.
                stable = meta(deployment).get("name", "")
                canaries = self.deployments.store.by_index(CANARY_OF_INDEX, f"{ns}/{stable}")
                canary_rss = [rs for d in canaries for rs in self.replica_sets.store.by_index(
                    OWNER_UID_INDEX, meta(d).get("uid", ""))]
                observed = attrs.evolve(observed, pod_template_hash=canary_pod_template_hash(
                    stable, canaries, canary_rss))
        if not observed.found:  # say why when only the cluster knows (e.g. the kind's CRD is not installed)
            missing = await missing_workload_message(self.client, workload_ref(rollout))
            observed = attrs.evolve(observed, missing=missing)
        key = row.revision_label_key if row is not None else DEFAULT_REVISION_LABEL
        observed = attrs.evolve(observed, revision_label_key=key)
        stored = view.get("status") or {}
        init_problem = None
        if needs_initial_check(model, stored, observed.in_progressing):
            ctx = routing_context(model, stored, revision_label_key=key)
            init_problem = await self.traffic.initialize(ctx, model)
        tr_name = traffic_routing_name(rollout)
        if init_problem is None and tr_name and observed.in_progressing and is_initializing(stored):
            init_problem = await attach(self.client, ns, tr_name, name)
        obs = Observation(workload=observed, batch_release=as_batch_release(self.batch_releases.store.get(name, ns)),
                          rollback_in_batch=rollback_in_batch_policy(model, labels(deployment) if deployment else {}),
                          traffic_done=False, stable_service_done=False,
                          initializing_checks_done=init_problem is None,
                          analysis=await stored_analysis(self.client, model, as_status(view).canary_status))
        return deployment, obs, init_problem

    async def _finalizer(self, rollout: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """§9: add our finalizer; remove it once the Terminating cleanup completed."""
        md = meta(rollout)
        if not is_deleting(rollout):
            patch = finalizers_patch(rollout, ROLLOUT_FINALIZER, present=True)
            if patch:
                # A new Rollout's first round would PATCH the plan hash next: store it in this write
                # (one round trip fewer per new Rollout; at 10k they queue on a busy API server).
                wanted = _plan_hash(rollout)
                if wanted is not None and (md.get("annotations") or {}).get(HASH_ANNOTATION) != wanted:
                    patch["metadata"]["annotations"] = {HASH_ANNOTATION: wanted}
                rollout = await self.client.patch(ROLLOUTS, md["name"], patch, md["namespace"])
            return rollout, False
        cond = find_condition(as_status(rollout), TERMINATING)
        if cond is not None and cond.reason == REASON_TERMINATING_CLEANED_UP:
            patch = finalizers_patch(rollout, ROLLOUT_FINALIZER, present=False)
            if patch:
                await self.client.patch(ROLLOUTS, md["name"], patch, md["namespace"])
            return rollout, True
        return rollout, False

    async def _workload(self, rollout: Mapping[str, Any]) -> tuple[Mapping[str, Any] | None, WorkloadKind | None]:
        """The referenced workload (cache or GET, ``workloads.KINDS``), labelled with its
        ``workload-type`` (§1 step 4)."""
        ref = workload_ref(rollout)
        ns = meta(rollout).get("namespace", "")
        row = await kind_of(self.client, ref, self._custom_kinds)
        if row is None:
            return None, None
        stores = {DEPLOYMENTS: self.deployments, **self.workload_stores}
        workload = await get_workload(self.client, row, ref.get("name", ""), ns, stores)
        if workload is not None and row.type_label and not labels(workload).get(WORKLOAD_TYPE_LABEL):
            body = {"metadata": {"labels": {WORKLOAD_TYPE_LABEL: row.type_label}}}
            try:
                workload = await self.client.patch(row.resource, meta(workload)["name"], body, ns)
            except NotFound:
                return None, row
        return workload, row

    async def _settle(
        self, model: Rollout, view: Mapping[str, Any], obs: Observation, now: datetime,
        deployment: Mapping[str, Any] | None,
    ) -> tuple[Settled, list[RoutingResult]]:
        """:func:`settle`, then perform the actions whose result is an observation and re-run the round.

        The cleanup (``RunFinalising``, ``ResetForContinuousRelease``) and traffic actions report
        completion back to the machine: we execute them and, for each that completed, re-run the same
        round (same ``now``) with its flag set, so completion is written in the same reconcile and
        the rounds after it chain too. Each flag's actions run at most once per reconcile.

        Except a rollback's finalising: it starts only once ``Cancelling`` is stored. The rollback
        was decided from the workload's in-progressing annotation, which finalising removes first;
        had we removed it and died (or lost the status write) before storing the decision, the next
        reconcile would see a template change without a rollback and restart the release on the old
        version as a continuous release. Success, delete and disable rest on facts that survive.
        """
        settled = settle(view, obs, now, decoded=model)
        stored = (get_condition(view.get("status") or {}, PROGRESSING) or {}).get("reason")
        br = obs.batch_release if isinstance(obs.batch_release, BatchRelease) else None
        key = obs.workload.revision_label_key
        events, performed, routed = settled.events, set[str](), list[RoutingResult]()
        for _ in range(MAX_FEEDBACK_ROUNDS):
            found = await self._results(model, settled, deployment, br, key, performed, routed,
                                        rollback_stored=stored == REASON_CANCELLING)
            if not found:
                break
            obs = attrs.evolve(obs, **found)
            nxt = settle(settled.view, obs, now, decoded=model)
            events, settled = events + nxt.events, nxt
        return attrs.evolve(settled, events=events), routed

    async def _results(
        self, model: Rollout, settled: Settled, deployment: Mapping[str, Any] | None, br: BatchRelease | None,
        key: str, performed: set[str], routed: list[RoutingResult], *, rollback_stored: bool = True,
    ) -> dict[str, Any]:
        """Perform the not-yet-performed result-bearing actions of the last round; the flags now true
        (and ``analysis``: the run's answer to ``RunAnalysis``)."""
        status = settled.outcome.model if settled.outcome.model is not None else settled.view.get("status") or {}
        ctx = routing_context(model, status, revision_label_key=key)
        tasks = TrafficTasks(self.traffic.manager, ctx)
        pending: dict[str, list[act.Action]] = {}
        for a in settled.outcome.actions:
            flag = RESULT_FLAGS.get(type(a))
            if flag is not None and flag not in performed:
                pending.setdefault(flag, []).append(a)
        found: dict[str, Any] = {}
        for flag, actions in pending.items():
            performed.add(flag)
            if flag == "analysis":
                found[flag] = await self._analyse(model, status, actions[0], key)
                continue
            for a in actions:  # e.g. RestoreStableService then PatchStableService: stop at the first wait
                if isinstance(a, act.RunFinalising) and a.reason == ROLLBACK and not rollback_stored:
                    done = False  # next reconcile, after the status write (see _settle)
                elif isinstance(a, act.RunFinalising):
                    done = await run_finalising(self.client, settled.view, deployment, br, wait_ready=a.wait_ready,
                                                reason=a.reason, traffic=tasks)
                elif isinstance(a, act.ResetForContinuousRelease):
                    done = await reset_for_continuous_release(self.client, br, tasks)
                else:
                    result = await self.traffic.perform(a, ctx)
                    routed.append(result)
                    done = result.done
                if not done:
                    break
            else:
                found[flag] = True
        return found

    async def _analyse(self, model: Rollout, status: RolloutStatus | Mapping[str, Any], a: act.Action,
                       key: str) -> Any:
        """``RunAnalysis``: advance the step's AnalysisRun (``analysis.py``); its answer for the machine."""
        assert isinstance(a, act.RunAnalysis)
        sub = status.canary_status if isinstance(status, RolloutStatus) else as_status({"status": status}).canary_status
        assert sub is not None  # the machine is in a step
        ns, name = model.metadata.get("namespace", ""), model.metadata.get("name", "")
        record = self.analysis_metrics.record if self.analysis_metrics is not None else None
        return await run_analysis(self.client, model, sub, a.step_index, a.template, self.clock.now(),
                                  revision_key=key,
                                  on_checks=(lambda checks: record(ns, name, checks)) if record else None)

    async def _perform(self, rollout: Mapping[str, Any], outcome: Outcome) -> None:
        md = meta(rollout)
        ns, name = md["namespace"], md["name"]
        for a in outcome.actions:
            if isinstance(a, act.PatchHashAnnotation):
                body = {"metadata": {"annotations": {HASH_ANNOTATION: a.value}}}
                await self.client.patch(ROLLOUTS, name, body, ns)
            elif isinstance(a, act.CreateBatchRelease):
                try:
                    await self.client.create(BATCHRELEASES, thaw(a.body), ns)
                except AlreadyExists:
                    pass
            elif isinstance(a, act.UpdateBatchRelease):
                await self._update_batch_release(ns, name, a.body)
            elif isinstance(a, act.PatchBatchReleaseRolloutID):
                body = {"spec": {"releasePlan": {"rolloutID": a.rollout_id}}}
                await self.client.patch(BATCHRELEASES, name, body, ns)
            elif isinstance(a, act.EmitEvent) and self.events is not None:
                self.events.event(rollout, a.type, a.reason, a.message)

    async def _update_batch_release(self, ns: str, name: str, desired: Mapping[str, Any]) -> None:
        """§7: overwrite spec and annotations (read fresh from the API server to avoid stale conflicts)."""
        live = await self.client.get(BATCHRELEASES, name, ns)
        live["spec"] = thaw(desired["spec"])
        anns = (desired.get("metadata") or {}).get("annotations")
        live["metadata"]["annotations"] = dict(anns) if anns else None
        await self.client.update(BATCHRELEASES, live)

    async def _write_status(self, rollout: Mapping[str, Any], outcome: Outcome) -> None:
        """One merge patch to ``/status`` computed from old vs new; skipped when empty."""
        if outcome.status is None:
            return
        body = status_body(outcome)
        if bluegreen.is_blue_green_dict(rollout):
            body = bluegreen.status_as_blue_green(body)
        patch = merge_patch(rollout.get("status") or {}, body)
        if not patch:
            return
        md = meta(rollout)
        written = await self.client.patch_status(ROLLOUTS, md["name"], {"status": patch}, md["namespace"])
        self._writes.record(md["namespace"], md["name"], written)


#: Observation flags of the actions whose completion the machine reads (see ``_settle``).
RESULT_FLAGS: dict[type, str] = {
    act.RunFinalising: "finalising_done", act.ResetForContinuousRelease: "reset_done",
    act.DoTrafficRouting: "traffic_done", act.FinaliseTrafficRouting: "traffic_done",
    act.PatchStableService: "stable_service_done", act.RestoreStableService: "stable_service_done",
    act.RunAnalysis: "analysis", act.RouteTrafficToStable: "traffic_done",
}
#: Cycle guard: a reconcile feeds back at most finalising/reset, stable Service, traffic and analysis results.
MAX_FEEDBACK_ROUNDS = 5


def with_routing(outcome: Outcome, routed: list[RoutingResult], init_problem: str | None, now: datetime) -> Outcome:
    """The outcome with unfinished traffic results copied into its status and their waits into its requeue."""
    unfinished = [r for r in routed if not r.done]
    if outcome.model is None or (not unfinished and init_problem is None):
        return outcome
    status = copy_model(outcome.model)
    apply_routing(status, unfinished, now)
    cond = find_condition(status, PROGRESSING)
    if init_problem and status.phase == PHASE_PROGRESSING and cond is not None and cond.reason == REASON_INITIALIZING:
        set_progressing_message(status, init_problem, now)
    waits = [w for w in [outcome.requeue_after, *(r.requeue_after for r in unfinished)] if w is not None]
    return attrs.evolve(outcome, model=status, wire=None, requeue_after=min(waits) if waits else None)


def status_body(outcome: Outcome) -> dict[str, Any]:
    """The status the reconciler writes: the last round's model encoded once (:attr:`Outcome.status`,
    which ``settle`` may already have computed) with the zero values Go always serialises. The
    encoding is shared, so the two levels :func:`with_go_zero_values` fills are copied, not edited."""
    wire = outcome.status
    assert wire is not None
    body = dict(wire)
    if isinstance(body.get("canaryStatus"), dict):
        body["canaryStatus"] = dict(body["canaryStatus"])
    return with_go_zero_values(body)


#: Status fields Go always serialises (no ``omitempty``); the CRD marks them required.
_STATUS_ZERO = {"currentStepIndex": 0, "currentStepState": ""}
_SUB_STATUS_ZERO = {"canaryReadyReplicas": 0, "canaryReplicas": 0, "canaryRevision": "", "currentStepState": "",
                    "finalisingStep": "", "nextStepIndex": 0, "podTemplateHash": ""}


def with_go_zero_values(status: dict[str, Any]) -> dict[str, Any]:
    """Fill the zero values the Go controller would serialise, so the status validates."""
    for key, zero in _STATUS_ZERO.items():
        status.setdefault(key, zero)
    if isinstance(status.get("canaryStatus"), dict):
        for key, zero in _SUB_STATUS_ZERO.items():
            status["canaryStatus"].setdefault(key, zero)
    return status


def rollouts_using_scripts(rollouts_store: CacheReader) -> list[Request]:
    """A ``kruise-rollout-configuration`` event: every Rollout that routes traffic (any may use a script).

    Read from the raw cached objects (both API versions keep ``trafficRoutings`` under the
    strategy) rather than decoding every Rollout for an event that is rare.
    """
    out = []
    for ro in rollouts_store.list():
        strategy = (ro.get("spec") or {}).get("strategy") or {}
        if any((strategy.get(k) or {}).get("trafficRoutings") for k in ("canary", "blueGreen")):
            out.append(Request(meta(ro).get("namespace"), meta(ro)["name"]))
    return out


def rollouts_for_workload(rollouts_store: IndexedReader, obj: Mapping[str, Any]) -> list[Request]:
    """§1.1: a workload event enqueues the first Rollout (by name) in its namespace that references it.

    One lookup in the ``workload-ref`` index (``rollouts.objects.workloadref``), not a scan of the
    namespace: this runs for every event of every watched workload."""
    md = meta(obj)
    value = workload_index_value(md.get("namespace"), obj.get("apiVersion", "apps/v1"),
                                 obj.get("kind", "Deployment"), md.get("name"))
    for ro in rollouts_store.by_index(WORKLOAD_REF_INDEX, value):
        return [Request(md.get("namespace"), meta(ro)["name"])]
    return []


def _plan_hash(rollout: Mapping[str, Any]) -> str | None:
    """The plan hash to store with the finalizer, or None for a Rollout that does not decode: it still
    gets the finalizer first (a delete then waits for our cleanup), and the round's own decode reports
    the error."""
    try:
        return desired_hash(as_rollout(rollout))
    except Exception:  # noqa: BLE001 - any decode failure: the reconcile's own decode raises it again
        return None
