"""Kind discovery (runtime/kube/discovery.py), the composite provider and the manager's choice of provider."""

from __future__ import annotations

from typing import Any

import pytest

from rollouts.api.common import HTTPHeaderFilter, TrafficRoutingRef
from rollouts.api.v1beta1.rollout import HttpRouteMatch
from rollouts.api.wire import from_dict
from rollouts.trafficrouting.composite import CompositeProvider, split_ref
from rollouts.trafficrouting.custom import CustomNetworkProvider
from rollouts.trafficrouting.gateway import GatewayProvider
from rollouts.trafficrouting.luaingress import LuaIngressProvider
from rollouts.trafficrouting.manager import RoutingContext, TrafficRoutingManager
from runtime.clock import FakeClock
from runtime.kube.discovery import ResourceDiscovery, group_version_path
from runtime.kube.errors import Forbidden, NotFound
from runtime.kube.resources import Resource
from tests.unit.trafficrouting.fakes import FakeClient

ISTIO = {"kind": "APIResourceList", "groupVersion": "networking.istio.io/v1beta1", "resources": [
    {"name": "virtualservices/status", "kind": "VirtualService", "namespaced": True},
    {"name": "virtualservices", "kind": "VirtualService", "namespaced": True},
    {"name": "clusterthings", "kind": "ClusterThing", "namespaced": False},
]}


class Api:
    """Answers discovery GETs from a table; counts them."""

    def __init__(self, table: dict[str, Any]) -> None:
        self.table, self.calls = table, 0

    async def request(self, method: str, path: str, **_: Any) -> Any:
        self.calls += 1
        answer = self.table.get(path)
        if answer is None:
            raise NotFound(path)
        if isinstance(answer, Exception):
            raise answer
        return answer


async def test_discovery_finds_plural_and_scope_and_caches_hits_only() -> None:
    api = Api({"/apis/networking.istio.io/v1beta1": ISTIO})
    d = ResourceDiscovery(api)
    vs = await d.resource_for("networking.istio.io/v1beta1", "VirtualService")
    assert vs == Resource("networking.istio.io", "v1beta1", "virtualservices", "VirtualService")
    assert (await d.resource_for("networking.istio.io/v1beta1", "ClusterThing")).namespaced is False  # type: ignore[union-attr]
    calls = api.calls
    assert await d.resource_for("networking.istio.io/v1beta1", "VirtualService") == vs and api.calls == calls
    assert await d.resource_for("networking.istio.io/v1beta1", "Gadget") is None
    assert await d.resource_for("networking.istio.io/v1beta1", "Gadget") is None
    assert api.calls == calls + 2  # a miss is asked again: a CRD created later is found
    assert await d.resource_for("nope.io/v1", "X") is None  # 404 group/version
    assert await d.resource_for("v1", "Service") is None  # /api/v1 not in the table → 404 → None


async def test_discovery_propagates_other_errors() -> None:
    with pytest.raises(Forbidden):
        await ResourceDiscovery(Api({"/apis/a.io/v1": Forbidden("no")})).resource_for("a.io/v1", "A")


def test_group_version_path() -> None:
    assert group_version_path("v1") == "/api/v1"
    assert group_version_path("networking.istio.io/v1alpha3") == "/apis/networking.istio.io/v1alpha3"


class Recorder:
    """A provider that records calls; ``done``/``fail`` script its answers."""

    def __init__(self, name: str, log: list[str], *, done: bool = True, fail: bool = False,
                 problem: str | None = None) -> None:
        self.name, self.log, self.done, self.fail, self.problem = name, log, done, fail, problem

    async def initialize(self) -> str | None:
        self.log.append(f"init {self.name}")
        return self.problem

    def check(self, *, weight: int | None, matches: list[HttpRouteMatch],
              header_modifier: HTTPHeaderFilter | None = None) -> None:
        self.log.append(f"check {self.name}")

    async def ensure_routes(self, *, weight: int | None, matches: list[HttpRouteMatch],
                            header_modifier: HTTPHeaderFilter | None = None) -> bool:
        self.log.append(f"ensure {self.name}")
        if self.fail:
            raise RuntimeError(self.name)
        return self.done

    async def finalise(self) -> bool:
        self.log.append(f"finalise {self.name}")
        if self.fail:
            raise RuntimeError(self.name)
        return self.done


async def test_composite_calls_every_provider_in_order() -> None:
    log: list[str] = []
    c = CompositeProvider([Recorder("a", log, done=False), Recorder("b", log)])
    assert await c.ensure_routes(weight=5, matches=[]) is False
    assert log == ["ensure a", "ensure b"]
    log.clear()
    assert await CompositeProvider([Recorder("a", log), Recorder("b", log)]).ensure_routes(weight=5, matches=[])
    log.clear()
    c = CompositeProvider([Recorder("a", log, problem="a missing"), Recorder("b", log, problem="b missing")])
    assert await c.initialize() == "a missing" and log == ["init a"]


async def test_composite_ensure_stops_at_the_first_error_finalise_tries_all() -> None:
    log: list[str] = []
    c = CompositeProvider([Recorder("a", log, fail=True), Recorder("b", log)])
    with pytest.raises(RuntimeError, match="a"):
        await c.ensure_routes(weight=5, matches=[])
    assert log == ["ensure a"]
    log.clear()
    with pytest.raises(RuntimeError, match="a"):
        await c.finalise()
    assert log == ["finalise a", "finalise b"]


REF = {"service": "echoserver", "customNetworkRefs": [
    {"apiVersion": "networking.istio.io/v1alpha3", "kind": "VirtualService", "name": "vs"}],
    "ingress": {"name": "echoserver"}, "gateway": {"httpRouteName": "route"}}


def test_split_ref_keeps_upstreams_order() -> None:
    parts = split_ref(from_dict(TrafficRoutingRef, REF))
    assert [(bool(p.custom_network_refs), p.ingress is not None, p.gateway is not None) for p in parts] == [
        (True, False, False), (False, True, False), (False, False, True)]


def ctx(wire: dict) -> RoutingContext:
    return RoutingContext(namespace="default", refs=[from_dict(TrafficRoutingRef, wire)], owner_ref={},
                          revision_label_key="pod-template-hash")


def test_manager_builds_custom_alone_or_a_composite_in_order() -> None:
    mgr = TrafficRoutingManager(FakeClient(), clock=FakeClock())
    only = {k: v for k, v in REF.items() if k in ("service", "customNetworkRefs")}
    assert isinstance(mgr.provider(ctx(only)), CustomNetworkProvider)
    composite = mgr.provider(ctx(REF))
    assert isinstance(composite, CompositeProvider)
    assert [type(p) for p in composite.providers] == [CustomNetworkProvider, LuaIngressProvider, GatewayProvider]


async def test_manager_without_discovery_says_so_instead_of_guessing() -> None:
    only = {k: v for k, v in REF.items() if k in ("service", "customNetworkRefs")}
    problem = await TrafficRoutingManager(FakeClient(), clock=FakeClock()).provider(ctx(only)).initialize()
    assert problem is not None and "cannot discover kinds" in problem
