"""The manager over a fake client and a fake clock: per-step routing, grace, finalise order, errors."""

from __future__ import annotations

import asyncio
import copy
import re
from collections.abc import Awaitable, Callable

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rollouts.api.common import TrafficRoutingRef
from rollouts.api.v1beta1.rollout import HttpRouteMatch
from rollouts.api.wire import from_dict
from rollouts.trafficrouting.manager import Outcome, RoutingContext, TrafficRoutingManager
from rollouts.trafficrouting.provider import TrafficRoutingError
from runtime.clock import FakeClock
from runtime.kube.errors import ConnectionFailed
from runtime.kube.resources import HTTPROUTES, INGRESSES, SERVICES
from tests.unit.trafficrouting.fakes import SEED_INGRESS, SEED_SERVICE, FakeClient

P = "nginx.ingress.kubernetes.io/"
KEY = "pod-template-hash"
OWNER = {"apiVersion": "rollouts.kruise.io/v1beta1", "kind": "Rollout", "name": "rollouts-canary-demo",
         "uid": "rollout-uid", "controller": True, "blockOwnerDeletion": True}
USER_AGENT_PC = from_dict(HttpRouteMatch, {"headers": [{"name": "user-agent", "value": "pc", "type": "Exact"}]})


def ref(**extra: object) -> TrafficRoutingRef:
    wire = {"service": "echoserver", "gracePeriodSeconds": 3, "ingress": {"classType": "nginx", "name": "echoserver"}}
    return from_dict(TrafficRoutingRef, {**wire, **extra})


def context(**kw: object) -> RoutingContext:
    base: dict = {"namespace": "default", "refs": [ref()], "owner_ref": OWNER, "revision_label_key": KEY,
                  "stable_revision": "6995b4bc86", "canary_revision": "5ccc576f44"}
    return RoutingContext(**{**base, **kw})


def seeded() -> FakeClient:
    client = FakeClient()
    client.put(SERVICES, SEED_SERVICE, "default")
    client.put(INGRESSES, SEED_INGRESS, "default")
    return client


Call = Callable[[RoutingContext], Awaitable[Outcome]]


async def settle(call: Call, ctx: RoutingContext, clock: FakeClock, *, limit: int = 20) -> tuple[RoutingContext, int]:
    """Call until done, copying lastUpdateTime back and stepping the clock as the controller would requeue."""
    for rounds in range(1, limit + 1):
        out = await call(ctx)
        ctx = attrs.evolve(ctx, last_update_time=out.last_update_time)
        if out.done:
            return ctx, rounds
        clock.step(out.requeue_after or 3)
    raise AssertionError(f"not done after {limit} rounds: {out.reason}")


def canary_annotations(client: FakeClient) -> dict:
    ing = client.find(INGRESSES, "echoserver-canary")
    assert ing is not None, "canary Ingress missing"
    return ing["metadata"]["annotations"]


async def test_seed_steps_then_finalise_restores_everything() -> None:
    client, clock = seeded(), FakeClock()
    before = copy.deepcopy(client.objects)
    mgr = TrafficRoutingManager(client, clock=clock)
    ctx = context(last_update_time=clock.now())
    assert await mgr.initialize(ctx) is None
    for weight in (5, 40, 60, 80, 100):
        ctx, _ = await settle(mgr.do_traffic_routing, attrs.evolve(ctx, traffic=f"{weight}%"), clock)
        assert canary_annotations(client) == {P + "canary": "true", P + "canary-weight": str(weight)}
    assert client.find(SERVICES, "echoserver")["spec"]["selector"] == {"app": "echoserver", KEY: "6995b4bc86"}
    canary_svc = client.find(SERVICES, "echoserver-canary")
    assert canary_svc["spec"]["selector"] == {"app": "echoserver", KEY: "5ccc576f44"}
    assert canary_svc["metadata"]["ownerReferences"] == [OWNER]
    assert client.writes[:4] == [("create", "Service", "echoserver-canary"), ("patch", "Service", "echoserver"),
                                 ("create", "Ingress", "echoserver-canary"), ("patch", "Ingress", "echoserver-canary")]
    client.writes.clear()
    await settle(mgr.finalising_traffic_routing, ctx, clock)
    assert client.writes == [("patch", "Service", "echoserver"), ("delete", "Ingress", "echoserver-canary"),
                             ("delete", "Service", "echoserver-canary")]
    assert client.objects == before
    assert mgr.grace.pending() == 0


async def test_service_changes_wait_the_grace_before_the_ingress() -> None:
    client, clock = seeded(), FakeClock()
    mgr = TrafficRoutingManager(client, clock=clock)
    ctx = context(traffic="5%", last_update_time=clock.now())
    out = await mgr.do_traffic_routing(ctx)
    assert (out.done, out.requeue_after) == (False, 3)
    assert out.reason == "waiting 3s grace period after the last traffic change"
    assert client.writes == []
    clock.step(3)
    out = await mgr.do_traffic_routing(ctx)
    assert not out.done and out.last_update_time == clock.now() and "Services" in out.reason
    clock.step(1)
    out = await mgr.do_traffic_routing(attrs.evolve(ctx, last_update_time=out.last_update_time))
    assert not out.done and "waiting 2s" in out.reason
    assert client.find(INGRESSES, "echoserver-canary") is None


async def test_ab_header_step_then_weight_steps() -> None:
    client, clock = seeded(), FakeClock()
    mgr = TrafficRoutingManager(client, clock=clock)
    ctx, _ = await settle(mgr.do_traffic_routing, context(matches=[USER_AGENT_PC]), clock)
    assert canary_annotations(client) == {P + "canary": "true", P + "canary-by-header": "user-agent",
                                          P + "canary-by-header-value": "pc"}
    ctx, _ = await settle(mgr.do_traffic_routing, attrs.evolve(ctx, matches=[], traffic="50%"), clock)
    assert canary_annotations(client) == {P + "canary": "true", P + "canary-weight": "50"}


async def test_no_revisions_yet_means_wait_without_writes() -> None:
    client, clock = seeded(), FakeClock()
    out = await TrafficRoutingManager(client, clock=clock).do_traffic_routing(context(traffic="5%", canary_revision=""))
    assert not out.done and "waiting for revisions" in out.reason
    assert client.writes == []


async def test_steps_without_traffic_are_done_at_once() -> None:
    client, clock = seeded(), FakeClock()
    assert (await TrafficRoutingManager(client, clock=clock).do_traffic_routing(context())).done
    assert (await TrafficRoutingManager(client, clock=clock).do_traffic_routing(context(refs=[], traffic="5%"))).done
    assert client.writes == []


async def test_disable_generate_canary_service_routes_with_the_stable_service() -> None:
    client, clock = seeded(), FakeClock()
    mgr = TrafficRoutingManager(client, clock=clock)
    ctx = context(traffic="20%", disable_generate_canary_service=True)
    await settle(mgr.do_traffic_routing, ctx, clock)
    assert client.find(SERVICES, "echoserver-canary") is None
    assert client.find(SERVICES, "echoserver")["spec"]["selector"] == {"app": "echoserver"}
    backend = client.find(INGRESSES, "echoserver-canary")["spec"]["rules"][0]["http"]["paths"][0]["backend"]
    assert backend["service"]["name"] == "echoserver"
    assert (await mgr.patch_stable_service(ctx)).done
    await settle(mgr.finalising_traffic_routing, ctx, clock)
    assert client.find(INGRESSES, "echoserver-canary") is None


async def test_disable_generate_canary_service_over_an_httproute_is_refused_and_never_written() -> None:
    """Issue 12 leftover: the canary backend would be the stable Service, which the HTTPRoute provider
    cannot tell from the user's backendRef; routing and finalising would rewrite the user's rules."""
    client, clock = FakeClient(), FakeClock()
    client.put(SERVICES, SEED_SERVICE, "default")
    route = {"apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "HTTPRoute",
             "metadata": {"name": "r", "namespace": "default"},
             "spec": {"rules": [{"backendRefs": [{"kind": "Service", "name": "echoserver", "port": 80}]}]}}
    client.put(HTTPROUTES, route, "default")
    gateway = from_dict(TrafficRoutingRef, {"service": "echoserver", "gateway": {"httpRouteName": "r"}})
    ctx = context(refs=[gateway], traffic="20%", disable_generate_canary_service=True)
    mgr = TrafficRoutingManager(client, clock=clock)
    field = "spec.strategy.canary.trafficRoutings[0].gateway"
    with pytest.raises(TrafficRoutingError, match=re.escape(field) + r".*spec\.strategy\.canary\."
                       r"disableGenerateCanaryService: true.*remove disableGenerateCanaryService"):
        await mgr.initialize(ctx)
    with pytest.raises(TrafficRoutingError, match="Nothing was written"):
        await mgr.do_traffic_routing(ctx)
    for task in (mgr.restore_gateway, mgr.finalising_traffic_routing):  # deletion/disable: done, route untouched
        assert (await task(ctx)).done
    assert client.writes == []
    assert client.find(HTTPROUTES, "r")["spec"] == route["spec"]


async def test_rollback_order_moves_traffic_first() -> None:
    client, clock = seeded(), FakeClock()
    mgr = TrafficRoutingManager(client, clock=clock)
    ctx, _ = await settle(mgr.do_traffic_routing, context(traffic="40%"), clock)
    client.writes.clear()
    for task in (mgr.restore_gateway, mgr.restore_stable_service, mgr.remove_canary_service):
        await settle(task, ctx, clock)
    assert [w[:2] for w in client.writes] == [("delete", "Ingress"), ("patch", "Service"), ("delete", "Service")]


async def test_patch_stable_service_waits_grace_once() -> None:
    client, clock = seeded(), FakeClock()
    mgr = TrafficRoutingManager(client, clock=clock)
    out = await mgr.patch_stable_service(context())
    assert not out.done and out.requeue_after == 3
    clock.step(3)
    assert (await mgr.patch_stable_service(context())).done
    assert client.writes == [("patch", "Service", "echoserver")]


async def test_zero_grace_finalise_completes_in_one_call() -> None:
    client, clock = seeded(), FakeClock()
    mgr = TrafficRoutingManager(client, clock=clock)
    ctx, _ = await settle(mgr.do_traffic_routing, context(traffic="5%"), clock)
    ctx = attrs.evolve(ctx, refs=[ref(gracePeriodSeconds=0)])
    assert (await mgr.finalising_traffic_routing(ctx)).done
    assert len(client.writes) == 7


async def test_user_errors_name_object_field_and_fix() -> None:
    clock = FakeClock()
    empty = TrafficRoutingManager(FakeClient(), clock=clock)
    reason = await empty.initialize(context())
    assert reason == ("Service default/echoserver named in spec.strategy.canary.trafficRoutings[0].service does "
                      "not exist; create it or correct the name")
    out = await empty.do_traffic_routing(context(traffic="5%"))
    assert not out.done and out.reason == reason
    no_ingress = FakeClient()
    no_ingress.put(SERVICES, SEED_SERVICE, "default")
    assert "Ingress default/echoserver named in spec.strategy.canary.trafficRoutings[0].ingress.name" in str(
        await TrafficRoutingManager(no_ingress, clock=clock).initialize(context()))
    mgr = TrafficRoutingManager(seeded(), clock=clock)
    assert await mgr.initialize(context(refs=[ref(ingress={"classType": "traefik", "name": "echoserver"})])) == (
        "spec.strategy.canary.trafficRoutings[0].ingress.classType: traefik lua script is not found: add key "
        "lua.traffic.routing.ingress.traefik to ConfigMap kruise-rollout/kruise-rollout-configuration or use a "
        "built-in classType (aliyun-alb, higress, mse, nginx)")
    gateway = from_dict(TrafficRoutingRef, {"service": "echoserver", "gateway": {"httpRouteName": "r"}})
    assert await mgr.initialize(context(refs=[gateway])) == (
        "HTTPRoute default/r named in spec.strategy.canary.trafficRoutings[0].gateway.httpRouteName does not exist "
        "(or the Gateway API CRDs are not installed); create it or correct the name")
    with pytest.raises(TrafficRoutingError, match=r"trafficRoutings\[0\]\.gateway\.httpRouteName: required"):
        await mgr.initialize(context(refs=[from_dict(TrafficRoutingRef, {"service": "echoserver", "gateway": {}})]))
    with pytest.raises(TrafficRoutingError, match=r"steps\[0\]\.traffic: '150%' is not a percentage"):
        await mgr.do_traffic_routing(context(traffic="150%"))


class DiesAfter(FakeClient):
    """Shares another client's objects; raises after ``writes`` successful writes (a killed controller)."""

    def __init__(self, real: FakeClient, writes: int) -> None:
        super().__init__()
        self.objects, self.left = real.objects, writes

    def _spend(self) -> None:
        if self.left == 0:
            raise ConnectionFailed("controller killed")
        self.left -= 1

    async def patch(self, *a: object, **kw: object) -> dict:  # type: ignore[override]
        self._spend()
        return await super().patch(*a, **kw)  # type: ignore[arg-type]

    async def delete(self, *a: object, **kw: object) -> dict | None:  # type: ignore[override]
        self._spend()
        return await super().delete(*a, **kw)  # type: ignore[arg-type]

    async def create(self, *a: object, **kw: object) -> dict:  # type: ignore[override]
        self._spend()
        return await super().create(*a, **kw)  # type: ignore[arg-type]


async def run_and_kill(call: Call, ctx: RoutingContext, clock: FakeClock, rounds: int) -> RoutingContext:
    """Up to ``rounds`` calls of ``call``; stops quietly at a simulated crash."""
    for _ in range(rounds):
        try:
            out = await call(ctx)
        except ConnectionFailed:
            break
        ctx = attrs.evolve(ctx, last_update_time=out.last_update_time)
        clock.step(out.requeue_after or 3)
    return ctx


STEP = st.one_of(st.integers(0, 100).map(lambda w: (f"{w}%", ())),
                 st.sampled_from([(None, ("user-agent", "pc", "Exact")), (None, ("x", "a.*", "RegularExpression")),
                                  ("10%", ("canary-by-cookie", "always", "Exact"))]))


@settings(max_examples=60, deadline=None)
@given(steps=st.lists(STEP, min_size=1, max_size=4), rounds=st.integers(0, 12), writes=st.integers(0, 8),
       restore_rounds=st.integers(0, 4), crash_writes=st.integers(0, 2))
def test_finalise_from_any_state_restores_the_service_and_leaves_no_canary(
    steps: list, rounds: int, writes: int, restore_rounds: int, crash_writes: int,
) -> None:
    """Whatever step the release reached and wherever routing or a first restore was killed, a fresh
    manager (empty grace store, as after a restart) finalises to the pre-release objects."""

    async def scenario() -> None:
        real, clock = seeded(), FakeClock()
        before = copy.deepcopy(real.objects)
        ctx = context()
        dying = TrafficRoutingManager(DiesAfter(real, writes), clock=clock)
        for traffic, header in steps:
            matches = [] if not header else [from_dict(HttpRouteMatch, {"headers": [
                {"name": header[0], "value": header[1], "type": header[2]}]})]
            ctx = await run_and_kill(dying.do_traffic_routing, attrs.evolve(ctx, traffic=traffic, matches=matches),
                                     clock, rounds)
        killed_restore = TrafficRoutingManager(DiesAfter(real, crash_writes), clock=clock)
        ctx = await run_and_kill(killed_restore.finalising_traffic_routing, ctx, clock, restore_rounds)
        await settle(TrafficRoutingManager(real, clock=clock).finalising_traffic_routing, ctx, clock)
        assert real.objects == before

    asyncio.run(scenario())


async def test_bad_input_is_refused_before_any_write() -> None:
    clock = FakeClock()
    client = seeded()
    mgr = TrafficRoutingManager(client, clock=clock)
    two = [from_dict(HttpRouteMatch, {"headers": [{"name": "a", "value": "1"}, {"name": "b", "value": "2"}]})]
    with pytest.raises(TrafficRoutingError, match=r"steps\[2\]\.matches\[0\]\.headers: .*exactly one header"):
        await mgr.do_traffic_routing(context(matches=two, step_field="spec.strategy.canary.steps[2]"))
    no_ingress = FakeClient()
    no_ingress.put(SERVICES, SEED_SERVICE, "default")
    out = await TrafficRoutingManager(no_ingress, clock=clock).do_traffic_routing(context(traffic="5%"))
    assert not out.done and out.reason.startswith("Ingress default/echoserver named in")
    assert client.writes == no_ingress.writes == []


async def test_an_unsupported_provider_does_not_block_finalise() -> None:
    client, clock = seeded(), FakeClock()
    ctx = context(refs=[ref(ingress={"classType": "mse", "name": "echoserver"})])
    assert (await TrafficRoutingManager(client, clock=clock).finalising_traffic_routing(ctx)).done
    assert client.writes == []
