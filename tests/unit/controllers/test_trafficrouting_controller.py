"""The TrafficRouting controller over an in-memory client and a fake clock (traffic-routing.md §8).

Each transition with its exact message, the computed status patch, the owner of the canary Ingress,
the strategy conversion, and the finalizer order on deletion: the gateway is restored *before* our
finalizer goes (upstream removes it first, which §8 records as a bug we do not copy).
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest

from rollouts.api.v1alpha1.trafficrouting import TrafficRouting
from rollouts.api.wire import from_dict
from rollouts.controllers.common import ROLLOUTS, TRAFFICROUTINGS, traffic_routing_name
from rollouts.controllers.rollout.attach import attach, detach
from rollouts.controllers.trafficrouting import phases as ph
from rollouts.controllers.trafficrouting.controller import (
    FINALIZER,
    TrafficRoutingReconciler,
    traffic_routing_for_rollout,
    traffic_routings_for_rollout,
)
from runtime.clock import FakeClock
from runtime.kube.errors import NotFound
from runtime.kube.resources import HTTPROUTES, INGRESSES, SERVICES, Resource
from runtime.reconcile import Request, Result
from tests.unit.trafficrouting.fakes import SEED_INGRESS, SEED_SERVICE, FakeClient, merge_patch

P = "nginx.ingress.kubernetes.io/"
NS = "default"
PROGRESSING_A = "progressing.rollouts.kruise.io/rollout-a"
TR_ANNOTATION = "rollouts.kruise.io/trafficrouting"
NAMES_TR_DEMO = {TR_ANNOTATION: "tr-demo"}
HEALTHY = ("Healthy", "TrafficRouting is Healthy")
TR_BODY: dict = {
    "apiVersion": "rollouts.kruise.io/v1alpha1", "kind": "TrafficRouting",
    "metadata": {"name": "tr-demo", "generation": 1},
    "spec": {"objectRef": [{"service": "echoserver", "gracePeriodSeconds": 3, "ingress": {"name": "echoserver"}}],
             "strategy": {"weight": 10}},
}


class Client(FakeClient):
    """Adds ``/status`` and the API server's finalizer rule: a deleted object goes when its last finalizer does."""

    async def patch_status(self, res: Resource, name: str, body: Any, namespace: str | None = None) -> dict:
        self.writes.append(("status", res.kind, name))
        return await super().patch(res, name, {"status": body["status"]}, namespace)

    async def patch(self, res: Resource, name: str, body: Any, namespace: str | None = None, **kw: Any) -> dict:
        out = await super().patch(res, name, body, namespace, **kw)
        md = out["metadata"]
        if md.get("deletionTimestamp") and not md.get("finalizers"):
            del self.objects[(res.plural, namespace, name)]
        return out


class Store:
    """The informer store of one resource, read straight from the fake client."""

    def __init__(self, client: Client, res: Resource) -> None:
        self.client, self.res = client, res

    def get(self, name: str, namespace: str | None = None) -> dict | None:
        return copy.deepcopy(self.client.find(self.res, name, namespace or ""))

    def list(self, namespace: str | None = None, **_: Any) -> list[dict]:
        return [o for (p, ns, _n), o in self.client.objects.items() if p == self.res.plural and ns == namespace]


class Informer:
    def __init__(self, store: Store) -> None:
        self.store = store


def setup(tr: dict | None = None, *, ingress: bool = True) -> tuple[Client, TrafficRoutingReconciler, FakeClock]:
    client, clock = Client(), FakeClock()
    client.put(SERVICES, SEED_SERVICE, NS)
    if ingress:
        client.put(INGRESSES, SEED_INGRESS, NS)
    client.put(TRAFFICROUTINGS, tr or TR_BODY, NS)
    return client, TrafficRoutingReconciler(client, Informer(Store(client, TRAFFICROUTINGS)), clock), clock


def run(rec: TrafficRoutingReconciler) -> Result:
    return asyncio.run(rec.reconcile(Request(NS, "tr-demo")))


def tr_of(client: Client) -> dict:
    obj = client.find(TRAFFICROUTINGS, "tr-demo", NS)
    assert obj is not None
    return obj


def status(client: Client) -> tuple[str, str]:
    st = tr_of(client).get("status") or {}
    return st.get("phase", ""), st.get("message", "")


def edit(client: Client, patch: dict) -> None:
    key = (TRAFFICROUTINGS.plural, NS, "tr-demo")
    client.objects[key] = merge_patch(client.objects[key], patch)


def settle(rec: TrafficRoutingReconciler, clock: FakeClock, *, limit: int = 10) -> int:
    """Reconcile until a round asks for no requeue, stepping the clock by each requested wait."""
    for rounds in range(1, limit + 1):
        result = run(rec)
        if result.requeue_after is None:
            return rounds
        clock.step(result.requeue_after)
    raise AssertionError("not settled")


# -- the pure phase table ---------------------------------------------------------------------------
DECIDE = [
    # (phase, deleting, attached) -> (phase, message, call)
    (("", False, []), ("Initial", ph.MSG_INITIALIZING, "initialize")),
    (("Healthy", False, []), ("Healthy", "m", None)),
    (("Healthy", False, ["a"]), ("Progressing", "TrafficRouting is Progressing", None)),
    (("Progressing", False, ["a"]), ("Progressing", "m", "route")),
    (("Progressing", False, []), ("Finalizing", "TrafficRouting is Finalizing", None)),
    (("Finalizing", False, ["a"]), ("Finalizing", "m", "finalise")),
    (("Progressing", True, ["a"]), ("Terminating", "TrafficRouting is Terminating", "finalise")),
    (("Terminating", True, []), ("Terminating", "m", "finalise")),
    (("Bogus", False, []), ("Initial", ph.MSG_INITIALIZING, "initialize")),
]


@pytest.mark.parametrize("given, want", DECIDE, ids=[f"{g[0] or 'empty'}-{g[1]}-{len(g[2])}" for g, _ in DECIDE])
def test_decide(given: tuple, want: tuple) -> None:
    phase, deleting, attached = given
    d = ph.decide(phase, "m", deleting=deleting, attached=attached)
    assert (d.phase, d.message, d.call) == want


def test_completed_calls_move_on_with_the_exact_messages() -> None:
    initial = ph.decide("", "", deleting=False, attached=[])
    assert ph.after_call(initial, False) == initial
    assert ph.after_call(initial, True) == ph.Decision("Healthy", "TrafficRouting is Healthy")
    finalizing = ph.decide("Finalizing", "x", deleting=False, attached=[])
    assert ph.after_call(finalizing, True) == ph.Decision("Healthy", "TrafficRouting is Healthy")
    assert ph.attached_rollouts([FINALIZER, PROGRESSING_A, "other/x"]) == ["rollout-a"]


def test_strategy_conversion() -> None:
    body = copy.deepcopy(TR_BODY)
    body["metadata"].update(namespace=NS, uid="tr-uid")
    body["spec"]["strategy"] = {"weight": 20, "matches": [{"headers": [{"name": "version", "value": "canary"}]}],
                                "requestHeaderModifier": {"set": [{"name": "x-env", "value": "canary"}]}}
    ctx = ph.routing_context(from_dict(TrafficRouting, body))
    assert ctx.traffic == "20%"
    assert [[(h.name, h.value) for h in m.headers] for m in ctx.matches] == [[("version", "canary")]]
    assert ctx.header_modifier is not None and ctx.header_modifier.set[0].name == "x-env"
    assert ctx.only_traffic_routing and ctx.canary_service == "echoserver"
    assert ctx.owner_ref == {"apiVersion": "rollouts.kruise.io/v1alpha1", "kind": "TrafficRouting",
                             "name": "tr-demo", "uid": "tr-uid", "controller": True, "blockOwnerDeletion": True}
    no_weight = copy.deepcopy(body)
    no_weight["spec"]["strategy"] = {}
    assert ph.routing_context(from_dict(TrafficRouting, no_weight)).traffic is None


# -- the reconciler -------------------------------------------------------------------------------
def test_a_new_object_gets_the_finalizer_and_becomes_healthy_in_one_status_write() -> None:
    client, rec, clock = setup()
    assert settle(rec, clock) == 1
    assert tr_of(client)["metadata"]["finalizers"] == [FINALIZER]
    assert tr_of(client)["status"] == {"observedGeneration": 1, "phase": "Healthy",
                                       "message": "TrafficRouting is Healthy"}
    assert [w for w in client.writes if w[0] == "status"] == [("status", "TrafficRouting", "tr-demo")]
    writes = len(client.writes)
    assert run(rec) == Result() and len(client.writes) == writes  # nothing changed: no patch


def test_a_missing_ingress_is_named_and_the_object_stays_initial() -> None:
    client, rec, clock = setup(ingress=False)
    result = run(rec)
    assert result.requeue_after == ph.RECHECK_SECONDS
    phase, message = status(client)
    assert phase == "Initial" and "echoserver" in message and "spec.objectRef[0].ingress.name" in message
    client.put(INGRESSES, SEED_INGRESS, NS)
    settle(rec, clock)
    assert status(client) == ("Healthy", "TrafficRouting is Healthy")


def test_release_progressing_routes_then_finalizing_restores_then_healthy() -> None:
    client, rec, clock = setup()
    settle(rec, clock)
    edit(client, {"metadata": {"finalizers": [FINALIZER, PROGRESSING_A]}})  # a Rollout attaches
    run(rec)
    assert status(client) == ("Progressing", "TrafficRouting is Progressing")
    assert client.find(INGRESSES, "echoserver-canary", NS) is None  # the phase is written before routing
    settle(rec, clock)
    canary = client.find(INGRESSES, "echoserver-canary", NS)
    assert canary is not None
    assert canary["metadata"]["annotations"][P + "canary-weight"] == "10"
    assert canary["metadata"]["ownerReferences"][0]["kind"] == "TrafficRouting"
    backend = canary["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"]
    assert backend == "echoserver"  # only-traffic-routing mode: no -canary Service
    assert client.find(SERVICES, "echoserver-canary", NS) is None
    assert status(client) == ("Progressing", "TrafficRouting is Progressing")

    edit(client, {"metadata": {"finalizers": [FINALIZER]}})  # the Rollout finished and detached
    run(rec)
    assert status(client) == ("Finalizing", "TrafficRouting is Finalizing")
    result = run(rec)  # deletes the canary Ingress, then waits the grace period before Healthy
    assert client.find(INGRESSES, "echoserver-canary", NS) is None
    assert result.requeue_after == 3 and status(client)[0] == "Finalizing"
    clock.step(3)
    run(rec)
    assert status(client) == ("Healthy", "TrafficRouting is Healthy")
    assert client.find(SERVICES, "echoserver", NS)["spec"]["selector"] == {"app": "echoserver"}


def test_deleting_restores_the_gateway_before_removing_the_finalizer() -> None:
    """The bug §8 records (finalizer removed first) is not copied: the object outlives the restore."""
    client, rec, clock = setup()
    settle(rec, clock)
    edit(client, {"metadata": {"finalizers": [FINALIZER, PROGRESSING_A]}})
    run(rec)  # → Progressing (its status write is the event of the next round)
    settle(rec, clock)
    assert client.find(INGRESSES, "echoserver-canary", NS) is not None
    edit(client, {"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"}})
    run(rec)
    assert status(client) == ("Terminating", "TrafficRouting is Terminating")
    assert client.find(INGRESSES, "echoserver-canary", NS) is None
    assert FINALIZER in tr_of(client)["metadata"]["finalizers"]  # restore done, grace not yet over
    clock.step(3)
    run(rec)
    assert tr_of(client)["metadata"]["finalizers"] == [PROGRESSING_A]  # the Rollout still holds it
    order = [w for w in client.writes if w[1] in ("Ingress", "TrafficRouting") and w[0] in ("delete", "patch")]
    assert order.index(("delete", "Ingress", "echoserver-canary")) < len(order) - 1
    assert order[-1] == ("patch", "TrafficRouting", "tr-demo")
    edit(client, {"metadata": {"finalizers": []}})  # the Rollout detaches: the API server removes it
    del client.objects[(TRAFFICROUTINGS.plural, NS, "tr-demo")]
    assert run(rec) == Result()


def test_deleting_a_healthy_object_lets_it_go() -> None:
    client, rec, clock = setup()
    settle(rec, clock)
    edit(client, {"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"}})
    settle(rec, clock)
    assert client.find(TRAFFICROUTINGS, "tr-demo", NS) is None


def test_a_strategy_the_provider_cannot_express_is_named() -> None:
    body = copy.deepcopy(TR_BODY)
    body["spec"]["strategy"]["requestHeaderModifier"] = {"set": [{"name": "x-env", "value": "canary"}]}
    client, rec, clock = setup(body)
    settle(rec, clock)
    edit(client, {"metadata": {"finalizers": [FINALIZER, PROGRESSING_A]}})
    run(rec)
    assert run(rec).requeue_after == ph.RECHECK_SECONDS
    phase, message = status(client)
    assert phase == "Progressing" and "spec.strategy.requestHeaderModifier" in message
    assert client.find(INGRESSES, "echoserver-canary", NS) is None


# -- the Rollout side -----------------------------------------------------------------------------
def test_rollout_attach_waits_for_the_object_and_for_a_restore_then_adds_its_finalizer() -> None:
    client = Client()
    missing = asyncio.run(attach(client, NS, "tr-demo", "rollout-a"))
    assert missing is not None and "does not exist" in missing and "rollouts.kruise.io/trafficrouting" in missing
    client.put(TRAFFICROUTINGS, {**TR_BODY, "status": {"phase": "Finalizing"}}, NS)
    assert "restore" in (asyncio.run(attach(client, NS, "tr-demo", "rollout-a")) or "")
    edit(client, {"status": {"phase": "Healthy"}, "metadata": {"finalizers": [FINALIZER]}})
    assert asyncio.run(attach(client, NS, "tr-demo", "rollout-a")) is None
    assert tr_of(client)["metadata"]["finalizers"] == [FINALIZER, PROGRESSING_A]
    writes = len(client.writes)
    assert asyncio.run(attach(client, NS, "tr-demo", "rollout-a")) is None and len(client.writes) == writes
    asyncio.run(detach(client, NS, "tr-demo", "rollout-a"))
    assert tr_of(client)["metadata"]["finalizers"] == [FINALIZER]
    asyncio.run(detach(client, NS, "gone", "rollout-a"))  # NotFound is fine


def test_the_trafficrouting_name_of_a_rollout() -> None:
    ann = {"metadata": {"annotations": {"rollouts.kruise.io/trafficrouting": "a"}}}
    ref = {"metadata": {}, "spec": {"strategy": {"canary": {"trafficRoutingRef": "b"}}}}
    assert traffic_routing_name(ann) == "a" and traffic_routing_name(ref) == "b"
    assert traffic_routing_name({"metadata": {}, "spec": {}}) == ""
    with pytest.raises(NotFound):
        asyncio.run(Client().get(TRAFFICROUTINGS, "x", NS))


def test_a_vanished_rollout_is_let_go_and_the_gateway_restored() -> None:
    """A Rollout removed without its finalising (never detached) must not hold the canary route for ever."""
    client, rec, clock = setup()
    rec.rollouts = Informer(Store(client, ROLLOUTS))
    client.put(ROLLOUTS, {"metadata": {"name": "rollout-b", "annotations": NAMES_TR_DEMO}}, NS)
    settle(rec, clock)
    edit(client, {"metadata": {"finalizers": [FINALIZER, PROGRESSING_A, "progressing.rollouts.kruise.io/rollout-b"]}})
    run(rec)
    assert tr_of(client)["metadata"]["finalizers"] == [FINALIZER, "progressing.rollouts.kruise.io/rollout-b"]
    settle(rec, clock)
    assert status(client)[0] == "Progressing"  # rollout-b exists: it still holds the route
    assert client.find(INGRESSES, "echoserver-canary", NS) is not None
    del client.objects[(ROLLOUTS.plural, NS, "rollout-b")]
    assert traffic_routing_for_rollout({"metadata": {"name": "rollout-b", "namespace": NS, "annotations": {
        "rollouts.kruise.io/trafficrouting": "tr-demo"}}}) == [Request(NS, "tr-demo")]
    run(rec)
    assert tr_of(client)["metadata"]["finalizers"] == [FINALIZER]
    assert status(client)[0] == "Finalizing"
    settle(rec, clock)
    assert status(client) == HEALTHY and client.find(INGRESSES, "echoserver-canary", NS) is None


class StaleStore(Store):
    """A Rollout cache that has not seen the annotation yet (the API server has it)."""

    def get(self, name: str, namespace: str | None = None) -> dict | None:
        obj = super().get(name, namespace)
        if obj is not None:
            obj["metadata"].pop("annotations", None)
        return obj


def test_a_rollout_whose_annotation_is_removed_mid_release_is_let_go_and_the_gateway_restored() -> None:
    """Issue 12 leftover: its finalising detaches from the object it names *then*, so the one it was
    attached to kept the finalizer (and the canary route) until the Rollout was deleted."""
    client, rec, clock = setup()
    progressing_b = "progressing.rollouts.kruise.io/rollout-b"
    for name in ("rollout-a", "rollout-b"):
        client.put(ROLLOUTS, {"metadata": {"name": name, "annotations": dict(NAMES_TR_DEMO)}}, NS)
    settle(rec, clock)
    edit(client, {"metadata": {"finalizers": [FINALIZER, PROGRESSING_A, progressing_b]}})
    rec.rollouts = Informer(StaleStore(client, ROLLOUTS))
    run(rec)  # Progressing written (the status event would requeue it)
    settle(rec, clock)
    assert tr_of(client)["metadata"]["finalizers"] == [FINALIZER, PROGRESSING_A, progressing_b], "GET confirms"
    assert status(client)[0] == "Progressing" and client.find(INGRESSES, "echoserver-canary", NS) is not None
    rec.rollouts = Informer(Store(client, ROLLOUTS))

    rollout_a = client.find(ROLLOUTS, "rollout-a", NS)
    rollout_a["metadata"]["annotations"] = {}
    trs = Store(client, TRAFFICROUTINGS)
    assert traffic_routings_for_rollout(trs, rollout_a) == [Request(NS, "tr-demo")], "the event reaches it"
    assert traffic_routings_for_rollout(trs, {"metadata": {"name": "rollout-c", "namespace": NS}}) == []
    run(rec)
    assert tr_of(client)["metadata"]["finalizers"] == [FINALIZER, progressing_b]
    settle(rec, clock)
    assert status(client)[0] == "Progressing", "rollout-b still releases through it"

    client.find(ROLLOUTS, "rollout-b", NS)["metadata"]["annotations"] = {TR_ANNOTATION: "another"}
    run(rec)
    assert tr_of(client)["metadata"]["finalizers"] == [FINALIZER]
    assert status(client)[0] == "Finalizing"
    settle(rec, clock)
    assert status(client) == HEALTHY and client.find(INGRESSES, "echoserver-canary", NS) is None


def test_an_httproute_is_refused_named_and_never_touched() -> None:
    body = copy.deepcopy(TR_BODY)
    body["spec"]["objectRef"] = [{"service": "echoserver", "gateway": {"httpRouteName": "echoserver"}}]
    client, rec, clock = setup(body)
    route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "echoserver"},
             "spec": {"rules": [{"backendRefs": [{"name": "echoserver", "port": 80}]}]}}
    client.put(HTTPROUTES, route, NS)
    assert run(rec).requeue_after == ph.RECHECK_SECONDS
    phase, message = status(client)
    assert phase == "Initial" and message.startswith("spec.objectRef[0].gateway: a TrafficRouting cannot route")
    edit(client, {"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"}})
    settle(rec, clock)
    assert client.find(TRAFFICROUTINGS, "tr-demo", NS) is None
    assert client.find(HTTPROUTES, "echoserver", NS)["spec"] == route["spec"]
    assert [w for w in client.writes if w[1] == "HTTPRoute"] == []
