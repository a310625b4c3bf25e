"""The TrafficRouting phase machine (traffic-routing.md §8, §4.4), as one pure decision per phase.

A ``TrafficRouting`` (api.md §4) names a gateway object (an Ingress or an HTTPRoute in front of a
Service) and one canary strategy. It routes nothing by itself: a Rollout that points at it (annotation
``rollouts.kruise.io/trafficrouting``) puts the finalizer ``progressing.rollouts.kruise.io/<rollout>``
on it while that Rollout is releasing, and the object applies its strategy to the gateway for as long
as any such finalizer is present; when the last one is gone it restores the gateway.

Vocabulary:

* *attached* Rollouts — the names in the ``progressing.rollouts.kruise.io/*`` finalizers;
* *our finalizer* — ``rollouts.kruise.io/trafficrouting``, held while the gateway may carry canary
  routes, so deleting the object first restores them (upstream removes it at the start of the
  deleting round, before the restore: the object could vanish with canary routes left in the
  gateway; we do not copy that);
* *only-traffic-routing mode* (§4.4) — the "canary Service" is the stable Service itself: no
  ``-canary`` Service, no selector pinning, no grace wait before routing.

:func:`decide` is what one reconcile does in one phase, given the result of the traffic call that
phase needs; the reconciler (``controller.py``) performs the call and writes the status.
"""

from __future__ import annotations

from typing import Final

import attrs

from rollouts.api import constants as C
from rollouts.api import keys
from rollouts.api.v1alpha1.trafficrouting import TrafficRouting
from rollouts.api.v1beta1.rollout import HttpRouteMatch
from rollouts.api.wire import from_dict, to_dict
from rollouts.trafficrouting.manager import RoutingContext

PHASE_INITIAL: Final = C.TR_PHASE_INITIAL
PHASE_HEALTHY: Final = C.TR_PHASE_HEALTHY
PHASE_PROGRESSING: Final = C.TR_PHASE_PROGRESSING
PHASE_FINALIZING: Final = C.TR_PHASE_FINALIZING
PHASE_TERMINATING: Final = C.TR_PHASE_TERMINATING

MSG_INITIALIZING: Final = "TrafficRouting is Initializing"
MSG_HEALTHY: Final = "TrafficRouting is Healthy"
MSG_PROGRESSING: Final = "TrafficRouting is Progressing"
MSG_FINALIZING: Final = "TrafficRouting is Finalizing"
#: Upstream leaves the previous message in place when it switches to Terminating (the spec names no
#: message); a "Progressing" message on a deleting object misleads, so we say what happens.
MSG_TERMINATING: Final = "TrafficRouting is Terminating"

#: Upstream requeues a round that is not done after 3 s (trafficrouting_controller.go).
RECHECK_SECONDS: Final = 3.0

#: Pods are not told apart in this mode (the stable Service is the canary Service), so there is no
#: revision label: upstream leaves it empty, which also makes RestoreStableService a no-op, as it
#: must be: the shared Service's selector is not ours to edit.
NO_REVISION_KEY: Final = ""

#: An HTTPRoute is refused, not routed. In this mode the canary backend *is* the stable Service, and
#: the HTTPRoute provider recognises its own canary rules and refs by the canary Service's name: its
#: weights would land on the user's own backendRef and its finalise would delete every rule that
#: sends only to that Service, i.e. the user's routes. (A Rollout with
#: ``disableGenerateCanaryService`` over an HTTPRoute shares the defect; not this module's to fix.)
HTTPROUTE_REFUSED: Final = (
    "spec.objectRef[0].gateway: a TrafficRouting cannot route an HTTPRoute yet (its canary backend would be the "
    "stable Service itself, which the HTTPRoute provider cannot tell apart from your own rules); route through an "
    "nginx Ingress (spec.objectRef[0].ingress), or give the Rollouts their own spec.strategy.canary.trafficRoutings "
    "instead of the TrafficRouting")

#: Field paths used in messages users read.
OBJECT_REF_FIELD: Final = "spec.objectRef"
STRATEGY_FIELD: Final = "spec.strategy"


def attached_rollouts(finalizers: list[str] | tuple[str, ...]) -> list[str]:
    """Names of the Rollouts releasing through this object (their progressing finalizers)."""
    prefix = keys.PROGRESSING_ROLLOUT_FINALIZER_PREFIX + "/"
    return [f[len(prefix):] for f in finalizers if f.startswith(prefix)]


def owner_reference(tr: TrafficRouting) -> dict:
    """The owner of what the providers create (the canary Ingress): the TrafficRouting itself."""
    md = tr.metadata
    return {"apiVersion": C.API_VERSION_V1ALPHA1, "kind": C.KIND_TRAFFIC_ROUTING, "name": md.get("name"),
            "uid": md.get("uid"), "controller": True, "blockOwnerDeletion": True}


def routing_context(tr: TrafficRouting) -> RoutingContext:
    """Upstream ``newTrafficRoutingContext`` for the CRD (§8 step 3, §4.4).

    The v1alpha1 strategy becomes a step: ``weight`` → ``traffic "N%"``, header matches → matches,
    ``requestHeaderModifier`` passed through (the provider refuses it when it cannot apply it).
    """
    strategy = tr.spec.strategy
    traffic = f"{strategy.weight}%" if strategy.weight is not None else None
    matches = [from_dict(HttpRouteMatch, to_dict(m)) for m in strategy.matches]
    return RoutingContext(
        namespace=str(tr.metadata.get("namespace", "")), refs=list(tr.spec.object_ref),
        owner_ref=owner_reference(tr), revision_label_key=NO_REVISION_KEY,
        traffic=traffic, matches=matches, header_modifier=strategy.request_header_modifier,
        only_traffic_routing=True, step_field=STRATEGY_FIELD, refs_field=OBJECT_REF_FIELD)


@attrs.frozen
class Decision:
    """What one reconcile concluded.

    ``call``: the traffic call the phase needs before it may move on (``initialize``, ``route``,
    ``finalise``) or None. The reconciler performs it and asks :func:`after_call` for the result.
    """

    phase: str
    message: str
    call: str | None = None


def decide(phase: str, message: str, *, deleting: bool, attached: list[str]) -> Decision:
    """The phase this round works in and the traffic call it needs (§8 steps 2 and 4)."""
    if not phase:
        phase, message = PHASE_INITIAL, MSG_INITIALIZING
    if deleting:
        if phase != PHASE_TERMINATING:
            message = MSG_TERMINATING
        return Decision(PHASE_TERMINATING, message, "finalise")
    if phase == PHASE_INITIAL:
        return Decision(phase, message, "initialize")
    if phase == PHASE_HEALTHY:
        if attached:
            return Decision(PHASE_PROGRESSING, MSG_PROGRESSING)
        return Decision(phase, message)
    if phase == PHASE_PROGRESSING:
        if not attached:
            return Decision(PHASE_FINALIZING, MSG_FINALIZING)
        return Decision(phase, message, "route")
    if phase == PHASE_FINALIZING:
        return Decision(phase, message, "finalise")
    # Unknown (hand-edited) or Terminating without a deletionTimestamp: start over from Initial.
    return Decision(PHASE_INITIAL, MSG_INITIALIZING, "initialize")


def after_call(d: Decision, done: bool) -> Decision:
    """The phase once the call of ``d`` completed (``done``); unchanged while it has not."""
    if not done:
        return d
    if d.call == "initialize" and d.phase == PHASE_INITIAL:
        return Decision(PHASE_HEALTHY, MSG_HEALTHY)
    if d.call == "finalise" and d.phase == PHASE_FINALIZING:
        return Decision(PHASE_HEALTHY, MSG_HEALTHY)
    return attrs.evolve(d, call=None)
