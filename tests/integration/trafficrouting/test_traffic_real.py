"""The traffic routing core driven through the seed's steps against the real kube-apiserver."""

from __future__ import annotations

import attrs
import pytest

from rollouts.api.v1beta1.rollout import HttpRouteMatch
from rollouts.api.wire import from_dict
from rollouts.trafficrouting.manager import TrafficRoutingManager
from runtime.kube import ConnectionFailed, KubeClient, NotFound
from runtime.kube.resources import INGRESSES, SERVICES, Resource
from tests.unit.trafficrouting.test_manager import context, run_and_kill, settle

pytestmark = pytest.mark.integration

P = "nginx.ingress.kubernetes.io/"
KEY = "pod-template-hash"
#: Fields the API server changes on every write; "equal to the pre-release form" ignores them.
VOLATILE = ("resourceVersion", "managedFields", "generation")


def comparable(obj: dict) -> dict:
    meta = {k: v for k, v in obj["metadata"].items() if k not in VOLATILE}
    return {**obj, "metadata": meta}


async def snapshot(kube: KubeClient, ns: str) -> dict:
    return {"svc": comparable(await kube.get(SERVICES, "echoserver", ns)),
            "ing": comparable(await kube.get(INGRESSES, "echoserver", ns))}


async def assert_gone(kube: KubeClient, res: Resource, name: str, ns: str) -> None:
    with pytest.raises(NotFound):
        await kube.get(res, name, ns)


async def assert_restored(kube: KubeClient, ns: str, before: dict) -> None:
    assert await snapshot(kube, ns) == before
    await assert_gone(kube, INGRESSES, "echoserver-canary", ns)
    await assert_gone(kube, SERVICES, "echoserver-canary", ns)


async def test_seed_canary_steps_then_finalise(kube, namespace, seed, manager, clock):
    before = await snapshot(kube, namespace)
    ctx = context(namespace=namespace, owner_ref=seed, last_update_time=clock.now())
    assert await manager.initialize(ctx) is None
    for weight in (5, 40, 60, 80, 100):
        ctx, _ = await settle(manager.do_traffic_routing, attrs.evolve(ctx, traffic=f"{weight}%"), clock)
        canary = await kube.get(INGRESSES, "echoserver-canary", namespace)
        assert canary["metadata"]["annotations"] == {P + "canary": "true", P + "canary-weight": str(weight)}
    assert canary["metadata"]["ownerReferences"] == [seed]
    assert canary["spec"] == {"ingressClassName": "nginx", "rules": [{"host": "echo.k8s.local", "http": {"paths": [
        {"path": "/apis/echo", "pathType": "Exact",
         "backend": {"service": {"name": "echoserver-canary", "port": {"number": 80}}}}]}}]}
    canary_svc = await kube.get(SERVICES, "echoserver-canary", namespace)
    assert canary_svc["spec"]["selector"] == {"app": "echoserver", KEY: "5ccc576f44"}
    assert canary_svc["spec"]["clusterIP"] != before["svc"]["spec"]["clusterIP"]  # allocated afresh
    stable = await kube.get(SERVICES, "echoserver", namespace)
    assert stable["spec"]["selector"] == {"app": "echoserver", KEY: "6995b4bc86"}
    await settle(manager.finalising_traffic_routing, ctx, clock)
    await assert_restored(kube, namespace, before)


async def test_ab_header_step_then_a_plain_step_tears_it_down(kube, namespace, seed, manager, clock):
    before = await snapshot(kube, namespace)
    pc = from_dict(HttpRouteMatch, {"headers": [{"name": "user-agent", "type": "Exact", "value": "pc"}]})
    ctx, _ = await settle(manager.do_traffic_routing,
                          context(namespace=namespace, owner_ref=seed, matches=[pc]), clock)
    canary = await kube.get(INGRESSES, "echoserver-canary", namespace)
    assert canary["metadata"]["annotations"] == {P + "canary": "true", P + "canary-by-header": "user-agent",
                                                 P + "canary-by-header-value": "pc"}
    # step 2 (replicas: 50%) has neither traffic nor matches: the machine's prologue finalises routing
    step2 = attrs.evolve(ctx, matches=[], step_field="spec.strategy.canary.steps[1]")
    assert (await manager.do_traffic_routing(step2)).done
    await settle(manager.finalising_traffic_routing, step2, clock)
    await assert_restored(kube, namespace, before)


class DiesAfter:
    """The real client until ``writes`` writes have gone through; then every write fails (killed)."""

    def __init__(self, real: KubeClient, writes: int) -> None:
        self._real, self._left = real, writes
        self.get = real.get

    def _spend(self) -> None:
        if self._left == 0:
            raise ConnectionFailed("controller killed")
        self._left -= 1

    async def create(self, res, body, namespace=None):  # noqa: ANN001, ANN201
        self._spend()
        return await self._real.create(res, body, namespace)

    async def patch(self, res, name, body, namespace=None, *, patch_type="merge"):  # noqa: ANN001, ANN201
        self._spend()
        return await self._real.patch(res, name, body, namespace, patch_type=patch_type)

    async def delete(self, res, name, namespace=None):  # noqa: ANN001, ANN201
        self._spend()
        return await self._real.delete(res, name, namespace)


async def test_controller_killed_mid_restore_completes_after_restart(kube, namespace, seed, manager, clock):
    before = await snapshot(kube, namespace)
    ctx, _ = await settle(manager.do_traffic_routing, context(namespace=namespace, owner_ref=seed, traffic="40%"),
                          clock)
    killed = TrafficRoutingManager(DiesAfter(kube, 1), clock=clock)
    ctx = await run_and_kill(killed.finalising_traffic_routing, ctx, clock, rounds=5)
    # half restored: the selector pin is gone, the canary objects are still there
    assert (await kube.get(SERVICES, "echoserver", namespace))["spec"]["selector"] == {"app": "echoserver"}
    await kube.get(INGRESSES, "echoserver-canary", namespace)
    restarted = TrafficRoutingManager(kube, clock=clock)  # a new process: a new, empty grace store
    await settle(restarted.finalising_traffic_routing, ctx, clock)
    await assert_restored(kube, namespace, before)


async def test_missing_objects_are_reported_and_nothing_is_written(kube, namespace, manager, clock):
    ctx = context(namespace=namespace, traffic="5%")
    reason = await manager.initialize(ctx)
    assert reason == (f"Service {namespace}/echoserver named in spec.strategy.canary.trafficRoutings[0].service "
                      "does not exist; create it or correct the name")
    out = await manager.do_traffic_routing(ctx)
    assert not out.done and out.reason == reason
    assert (await kube.list(SERVICES, namespace))["items"] == []
    assert (await kube.list(INGRESSES, namespace))["items"] == []


async def test_canary_service_from_a_node_port_service(kube, namespace, seed, manager, clock):
    """Spec §2.3: allocated fields (clusterIP(s), nodePort) are not copied, so creation does not conflict."""
    await kube.patch(SERVICES, "echoserver", {"spec": {"type": "NodePort"}}, namespace)
    stable = await kube.get(SERVICES, "echoserver", namespace)
    ctx, _ = await settle(manager.do_traffic_routing, context(namespace=namespace, owner_ref=seed, traffic="5%"),
                          clock)
    canary = await kube.get(SERVICES, "echoserver-canary", namespace)
    assert canary["spec"]["type"] == "NodePort"
    assert canary["spec"]["ports"][0]["nodePort"] != stable["spec"]["ports"][0]["nodePort"]
    await settle(manager.finalising_traffic_routing, ctx, clock)
    assert comparable(await kube.get(SERVICES, "echoserver", namespace)) == comparable(stable)
