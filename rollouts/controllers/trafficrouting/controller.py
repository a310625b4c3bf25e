"""TrafficRouting reconciler (traffic-routing.md §8): finalizer, one phase step, one status patch.

Each reconcile reads the object from the informer cache, makes sure our finalizer is on it (unless
it is being deleted), asks :func:`~rollouts.controllers.trafficrouting.phases.decide` what the phase
needs, performs that traffic call through the shared :class:`TrafficRoutingManager` (the same code
the Rollout controller uses, in only-traffic-routing mode) and writes ``phase``, ``message`` and
``observedGeneration`` as one merge patch to ``/status``, skipped when nothing changed.

A call that is not done yet (a grace period, a route just written) requeues after the wait without
writing the status, as upstream does, except that a phase just entered (``Initial``, ``Terminating``)
is shown at once rather than after the call completes; a problem the user must fix (a missing Service or Ingress, a
strategy the provider cannot express) is written as the message, naming the field and the fix, and
the phase stays where it is.

Deletion: the restore runs first and our finalizer goes only once it is complete, so the gateway
never keeps canary routes after the object is gone (the upstream order is the bug §8 records).
Rollouts that are still releasing keep their own finalizers and so keep the object until they finish.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import structlog

from rollouts.api import keys
from rollouts.api.v1alpha1.trafficrouting import TrafficRouting, TrafficRoutingStatus
from rollouts.api.wire import from_dict, to_dict
from rollouts.controllers.common import (
    ROLLOUTS,
    STALE_CACHE_RETRY_SECONDS,
    TRAFFICROUTINGS,
    OwnWrites,
    finalizers_patch,
    merge_patch,
    traffic_routing_name,
)
from rollouts.controllers.trafficrouting import phases as ph
from rollouts.objects import meta as objmeta
from rollouts.trafficrouting.manager import Outcome, RoutingContext, TrafficRoutingManager
from rollouts.trafficrouting.provider import TrafficRoutingError
from runtime.cache.frozen import thaw
from runtime.cache.protocols import CacheReader, Informer
from runtime.clock import REAL_CLOCK, Clock
from runtime.kube.errors import NotFound
from runtime.kube.protocols import KubeApi
from runtime.reconcile import Request, Result

log = structlog.get_logger("rollouts.controllers.trafficrouting")

FINALIZER = keys.TRAFFIC_ROUTING_FINALIZER


@attrs.frozen
class CallResult:
    """A traffic call's answer: done, or the wait / the problem the user must fix."""

    done: bool
    problem: str = ""
    requeue_after: float = ph.RECHECK_SECONDS


@attrs.define
class TrafficRoutingReconciler:
    """Dependencies: the client, the TrafficRouting informer and the clock (see ``setup``)."""

    client: KubeApi
    traffic_routings: Informer
    clock: Clock = REAL_CLOCK
    _writes: OwnWrites = attrs.field(factory=OwnWrites)
    #: One per controller: its grace store outlives a reconcile (traffic-routing.md §6).
    manager: TrafficRoutingManager = attrs.field(default=attrs.Factory(
        lambda self: TrafficRoutingManager(self.client, clock=self.clock), takes_self=True))

    #: The Rollout informer, to let go of Rollouts that vanished without detaching (None: not checked).
    rollouts: Informer | None = None

    async def reconcile(self, request: Request) -> Result:
        ns, name = request.namespace or "", request.name
        cached, stale = self._writes.lookup(self.traffic_routings.store, ns, name)
        if cached is None:
            return Result()
        if stale:
            return Result(requeue_after=STALE_CACHE_RETRY_SECONDS)
        obj: dict[str, Any] = thaw(cached)
        deleting = objmeta.is_deleting(obj)
        if not deleting and (patch := finalizers_patch(obj, FINALIZER, present=True)):
            obj = await self.client.patch(TRAFFICROUTINGS, name, patch, ns)
            self._writes.record(ns, name, obj)
        obj = await self._release_departed(obj)
        tr = from_dict(TrafficRouting, obj)
        status = tr.status or TrafficRoutingStatus()
        decision = ph.decide(status.phase, status.message, deleting=deleting,
                             attached=ph.attached_rollouts(list(objmeta.finalizers(obj))))
        if decision.call is not None:
            result = await self._call(decision.call, ph.routing_context(tr))
            if not result.done:
                if result.problem:  # shown to the user; the phase stays
                    await self._write_status(obj, attrs.evolve(decision, message=result.problem))
                elif decision.phase != status.phase:  # Initial / Terminating show while the call runs
                    await self._write_status(obj, decision)
                return Result(requeue_after=result.requeue_after)
            decision = ph.after_call(decision, True)
        if deleting:
            # The restore is complete: only now may the object go (upstream removed it first).
            if patch := finalizers_patch(obj, FINALIZER, present=False):
                try:
                    obj = await self.client.patch(TRAFFICROUTINGS, name, patch, ns)
                except NotFound:
                    return Result()
                log.info("traffic restored, finalizer removed", trafficrouting=f"{ns}/{name}")
        await self._write_status(obj, decision)
        return Result()

    async def _release_departed(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Drop the progressing finalizers of Rollouts that no longer release through this object.

        A Rollout detaches in its finalising (rollout-lifecycle.md §8), but two kinds never do:

        * one removed without it (its own finalizer stripped by hand, its namespace force-cleaned);
        * one whose ``rollouts.kruise.io/trafficrouting`` annotation (and ``trafficRoutingRef``) was
          removed, or changed to another object, mid-release: its finalising detaches from the
          object it names *then*, so this one kept the finalizer until the Rollout was deleted.

        Either would keep this object Progressing, and the canary route in the gateway, for ever (or
        for the Rollout's lifetime). Upstream has no such check. A cache that says so is confirmed
        with a GET before the finalizer goes; once the last one is gone the next rounds restore the
        gateway (Finalizing), the restore that is due when nothing releases through it any more.
        """
        if self.rollouts is None:
            return obj
        ns, name = objmeta.namespace(obj), objmeta.name(obj)
        for rollout in ph.attached_rollouts(list(objmeta.finalizers(obj))):
            cached = self.rollouts.store.get(rollout, ns)
            if cached is not None and traffic_routing_name(cached) == name:
                continue
            try:
                live = await self.client.get(ROLLOUTS, rollout, ns)
            except NotFound:
                why = "vanished"
            else:
                if traffic_routing_name(live) == name:
                    continue
                why = "no longer names it"
            patch = finalizers_patch(obj, keys.progressing_rollout_finalizer(rollout), present=False)
            if patch:
                obj = await self.client.patch(TRAFFICROUTINGS, name, patch, ns)
                self._writes.record(ns, name, obj)
                log.info("released the finalizer of a Rollout that left", trafficrouting=f"{ns}/{name}",
                         rollout=rollout, why=why)
        return obj

    async def _call(self, call: str, ctx: RoutingContext) -> CallResult:
        """Perform ``initialize`` / ``route`` / ``finalise``; user errors become ``problem``."""
        if ctx.refs and ctx.ref.gateway is not None:
            # Never routed, so there is nothing to finalise (and finalising would harm: see the constant).
            return CallResult(True) if call == "finalise" else CallResult(False, ph.HTTPROUTE_REFUSED)
        try:
            if call == "initialize":
                missing = await self.manager.initialize(ctx)
                return CallResult(True) if missing is None else CallResult(False, missing)
            if call == "route":
                return _from_outcome(await self.manager.do_traffic_routing(ctx))
            if call == "finalise":
                return _from_outcome(await self.manager.finalising_traffic_routing(ctx))
        except TrafficRoutingError as e:
            return CallResult(False, str(e))
        raise ValueError(f"unknown traffic call {call!r}")

    async def _write_status(self, obj: dict[str, Any], decision: ph.Decision) -> None:
        """One merge patch to ``/status`` (phase, message, observedGeneration), skipped when unchanged."""
        new = TrafficRoutingStatus(observed_generation=objmeta.generation(obj), phase=decision.phase,
                                   message=decision.message)
        patch = merge_patch(obj.get("status") or {}, to_dict(new))
        if not patch:
            return
        md = objmeta.metadata(obj)
        try:
            written = await self.client.patch_status(TRAFFICROUTINGS, md["name"], {"status": patch}, md["namespace"])
        except NotFound:  # deleted meanwhile (its last finalizer just went)
            return
        self._writes.record(md["namespace"], md["name"], written)


def _from_outcome(outcome: Outcome) -> CallResult:
    wait = outcome.requeue_after if outcome.requeue_after > 0 else ph.RECHECK_SECONDS
    return CallResult(outcome.done, outcome.reason if outcome.blocked else "", wait)


def traffic_routing_for_rollout(rollout: Mapping[str, Any]) -> list[Request]:
    """The TrafficRouting a Rollout names (annotation or ``trafficRoutingRef``), to be looked at again."""
    name = traffic_routing_name(rollout)
    return [Request(objmeta.namespace(rollout), name)] if name else []


def traffic_routings_for_rollout(traffic_routings: CacheReader, rollout: Mapping[str, Any]) -> list[Request]:
    """The TrafficRouting a Rollout names, and every one holding its progressing finalizer.

    The second kind is what a Rollout event must reach when its annotation was just removed or
    changed: the new object no longer names the TrafficRouting it is attached to, which then lets it
    go (:meth:`TrafficRoutingReconciler._release_departed`). A scan of one namespace's cached objects:
    TrafficRoutings are few (one per shared gateway).
    """
    ns = objmeta.namespace(rollout)
    out = traffic_routing_for_rollout(rollout)
    finalizer = keys.progressing_rollout_finalizer(objmeta.name(rollout))
    for tr in traffic_routings.list(ns):
        if finalizer in objmeta.finalizers(tr) and (req := Request(ns, objmeta.name(tr))) not in out:
            out.append(req)
    return out
