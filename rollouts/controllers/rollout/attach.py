"""A Rollout attaches to / detaches from the TrafficRouting object it names (rollout-lifecycle.md §5.2, §8).

A Rollout with the annotation ``rollouts.kruise.io/trafficrouting: <name>`` (or, on v1beta1, the
``trafficRoutingRef`` field the v1alpha1 conversion maps it to) routes no traffic itself: while it
releases, it holds the finalizer ``progressing.rollouts.kruise.io/<rollout>`` on that TrafficRouting,
whose controller applies the object's own strategy to the shared gateway for as long as any such
finalizer is present (``rollouts.controllers.trafficrouting``).

* attach — Initializing (§5.2 step 4): wait until the object exists and is not restoring
  (``Finalizing``/``Terminating``), then add the finalizer;
* detach — every finalising round (§8 step 1: success, rollback, delete, disable): remove it;
  a missing object is fine.

Deliberate difference: upstream reads only the annotation, so a v1beta1 Rollout with
``trafficRoutingRef`` and no annotation silently released without its TrafficRouting; we read the
field too (the annotation wins when both are set, as the conversion keeps them equal).
"""

from __future__ import annotations

from typing import Final

from rollouts.api import constants as C
from rollouts.api import keys
from rollouts.controllers.common import TRAFFICROUTINGS, finalizers_patch
from rollouts.objects import meta as objmeta
from runtime.kube.errors import Conflict, NotFound
from runtime.kube.protocols import KubeApi

#: TrafficRouting phases during which a new Rollout may not attach (the gateway is being restored).
RESTORING_PHASES: Final = (C.TR_PHASE_FINALIZING, C.TR_PHASE_TERMINATING)
_WHERE: Final = f"metadata.annotations[{keys.TRAFFIC_ROUTING_ANNOTATION}]"


async def attach(client: KubeApi, namespace: str, tr_name: str, rollout_name: str) -> str | None:
    """§5.2 step 4: None once the TrafficRouting carries our finalizer, else what we wait for."""
    try:
        tr = await client.get(TRAFFICROUTINGS, tr_name, namespace)
    except NotFound:
        return (f"TrafficRouting {namespace}/{tr_name} named in {_WHERE} does not exist; create it or "
                "correct the name")
    finalizer = keys.progressing_rollout_finalizer(rollout_name)
    if finalizer in objmeta.finalizers(tr):
        return None
    phase = (tr.get("status") or {}).get("phase", "")
    if objmeta.is_deleting(tr) or phase in RESTORING_PHASES:
        return (f"waiting for TrafficRouting {namespace}/{tr_name} to restore its traffic "
                f"(phase {phase or 'Terminating'}) before releasing through it")
    patch = finalizers_patch(tr, finalizer, present=True)
    try:
        await client.patch(TRAFFICROUTINGS, tr_name, patch, namespace)
    except Conflict:  # another Rollout attached at the same time: look again next round
        return f"attaching to TrafficRouting {namespace}/{tr_name}"
    except NotFound:
        return f"TrafficRouting {namespace}/{tr_name} named in {_WHERE} was deleted"
    return None


async def detach(client: KubeApi, namespace: str, tr_name: str, rollout_name: str) -> None:
    """§8 step 1: remove our finalizer from the TrafficRouting (NotFound ignored; Conflict raises: retry)."""
    try:
        tr = await client.get(TRAFFICROUTINGS, tr_name, namespace)
        patch = finalizers_patch(tr, keys.progressing_rollout_finalizer(rollout_name), present=False)
        if patch:
            await client.patch(TRAFFICROUTINGS, tr_name, patch, namespace)
    except NotFound:
        pass
