"""Ingress classes through Lua (rollouts/trafficrouting/luaingress.py) over a fake client and ConfigMap cache.

Each shipped class gives the spec's annotations through the provider (lua-contract.md §4.4); a
ConfigMap script replaces a shipped one and an edit applies to the next provider; a broken or
missing script is a TrafficRoutingError naming the script (or the key to add), with nothing written.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import attrs
import pytest

from rollouts.api import keys
from rollouts.api.common import HTTPHeaderFilter, TrafficRoutingRef
from rollouts.api.v1beta1.rollout import HttpRouteMatch
from rollouts.api.wire import from_dict
from rollouts.lua import LuaLimits, LuaRunner
from rollouts.lua.configuration import ScriptConfiguration
from rollouts.trafficrouting.luaingress import LuaIngressProvider
from rollouts.trafficrouting.manager import RoutingContext, TrafficRoutingManager
from rollouts.trafficrouting.provider import TrafficRoutingError
from runtime.clock import FakeClock
from runtime.kube.resources import INGRESSES, SERVICES
from tests.unit.trafficrouting.fakes import SEED_INGRESS, SEED_SERVICE, ConfigMapStore, FakeClient

N, A, M = "nginx.ingress.kubernetes.io/", "alb.ingress.kubernetes.io/", "mse.ingress.kubernetes.io/"
NS = "kruise-rollout"
KEY = keys.LUA_INGRESS_SCRIPT_KEY_PREFIX
CM_NAME = f"ConfigMap {NS}/{keys.ROLLOUT_CONFIGURATION_CONFIGMAP}"
OWNER = {"apiVersion": "rollouts.kruise.io/v1beta1", "kind": "Rollout", "name": "r", "uid": "u",
         "controller": True, "blockOwnerDeletion": True}
ALB_CONDITIONS = (Path(__file__).parents[3] / "docs/examples/aliyun-alb-conditions.lua").read_text()


def match(*headers: dict, **extra: Any) -> HttpRouteMatch:
    return from_dict(HttpRouteMatch, {"headers": list(headers), **extra})


def setup(class_type: str, *, annotations: dict[str, str] | None = None, cm: ConfigMapStore | None = None,
          lua: LuaRunner | None = None) -> tuple[TrafficRoutingManager, FakeClient, RoutingContext]:
    client = FakeClient()
    client.put(SERVICES, SEED_SERVICE, "default")
    ingress = copy.deepcopy(SEED_INGRESS)
    if annotations:
        ingress["metadata"]["annotations"] = annotations
    client.put(INGRESSES, ingress, "default")
    mgr = TrafficRoutingManager(client, clock=FakeClock(), lua=lua,
                                scripts=ScriptConfiguration(namespace=NS, store=cm or ConfigMapStore()))
    ref = from_dict(TrafficRoutingRef, {"service": "echoserver", "ingress": {"name": "echoserver",
                                                                             "classType": class_type}})
    ctx = RoutingContext(namespace="default", refs=[ref], owner_ref=OWNER, revision_label_key="pod-template-hash",
                         stable_revision="s", canary_revision="c")
    return mgr, client, ctx


async def route(mgr: TrafficRoutingManager, ctx: RoutingContext, *, weight: int | None,
                matches: tuple[HttpRouteMatch, ...] | list[HttpRouteMatch] = (),
                modifier: HTTPHeaderFilter | None = None) -> dict[str, str]:
    """Create the canary Ingress if needed, then apply the step; the canary's annotations."""
    provider = mgr.provider(ctx)
    for _ in range(3):
        if await provider.ensure_routes(weight=weight, matches=list(matches), header_modifier=modifier):
            break
    else:
        raise AssertionError("not verified after three rounds")
    ing = await mgr._client.get(INGRESSES, "echoserver-canary", "default")
    return dict(ing["metadata"]["annotations"])


USER_ID = {"type": "Exact", "name": "user_id", "value": "123456"}
COOKIE = {"name": "canary-by-cookie", "value": "demo"}


@pytest.mark.parametrize(("class_type", "prefix", "extra"), [
    ("", N, {}), ("nginx", N, {}), ("higress", N, {}), ("aliyun-alb", A, {A + "order": "1"}),
])
async def test_shipped_nginx_like_classes(class_type: str, prefix: str, extra: dict) -> None:
    mgr, client, ctx = setup(class_type, annotations={"kubernetes.io/ingress.class": "x"})
    assert await mgr.provider(ctx).initialize() is None
    assert await mgr.provider(ctx).ensure_routes(weight=0, matches=[])  # nothing to route to yet: no canary
    assert not await mgr.provider(ctx).ensure_routes(weight=5, matches=[])
    created = client.find(INGRESSES, "echoserver-canary")["metadata"]["annotations"]  # type: ignore[index]
    assert created == {"kubernetes.io/ingress.class": "x", prefix + "canary": "true", prefix + "canary-weight": "0",
                       **extra}
    assert await route(mgr, ctx, weight=40) == {**created, prefix + "canary-weight": "40"}
    got = await route(mgr, ctx, weight=None, matches=[match(USER_ID), match(COOKIE)])
    assert got == {"kubernetes.io/ingress.class": "x", prefix + "canary": "true",
                   prefix + "canary-by-header": "user_id", prefix + "canary-by-header-value": "123456",
                   prefix + "canary-by-cookie": "demo", **extra}
    assert [w[0] for w in client.writes] == ["create", "patch", "patch"]
    assert not await mgr.provider(ctx).finalise()
    assert client.find(INGRESSES, "echoserver-canary") is None


async def test_mse_applies_the_header_modifier_and_service_subset() -> None:
    mgr, _, ctx = setup("mse", annotations={M + "service-subset": "base"})
    modifier = from_dict(HTTPHeaderFilter, {"set": [{"name": "gray", "value": "blue"},
                                                    {"name": "gray", "value": "green"}]})
    mgr.provider(ctx).check(weight=None, matches=[match(USER_ID)], header_modifier=modifier)
    got = await route(mgr, ctx, weight=None, matches=[match(USER_ID)], modifier=modifier)
    assert got == {N + "canary": "true", N + "canary-by-header": "user_id", N + "canary-by-header-value": "123456",
                   M + "service-subset": "gray", M + "request-header-control-update": "gray bluegray green"}


@pytest.mark.parametrize("class_type", ["nginx", "higress", "aliyun-alb"])
def test_modifier_and_what_nginx_cannot_express_are_refused_by_nginx_like_scripts(class_type: str) -> None:
    mgr, _, ctx = setup(class_type)
    provider = mgr.provider(ctx)
    modifier = from_dict(HTTPHeaderFilter, {"set": [{"name": "a", "value": "b"}]})
    with pytest.raises(TrafficRoutingError, match=r"steps\[0\]\.requestHeaderModifier: the .* cannot modify"):
        provider.check(weight=None, matches=[], header_modifier=modifier)
    with pytest.raises(TrafficRoutingError, match=r"matches\[0\]\.headers: .*exactly one header"):
        provider.check(weight=None, matches=[match(USER_ID, COOKIE)])


async def test_a_configmap_script_overrides_nginx_and_an_edit_applies_without_restart() -> None:
    cm = ConfigMapStore({KEY + "nginx": 'local a = obj.annotations or {}\na["x/w"] = obj.weight\nreturn a'})
    mgr, _, ctx = setup("", cm=cm)
    assert mgr.provider(ctx).script.name == f"{CM_NAME} key {KEY}nginx"  # type: ignore[attr-defined]
    assert await route(mgr, ctx, weight=20) == {"x/w": "20"}
    cm.data = {KEY + "nginx": 'local a = obj.annotations or {}\na["x/w"] = nil\na["x/v"] = "2"\nreturn a'}
    assert await route(mgr, ctx, weight=20) == {"x/v": "2"}  # "x/w" sent as null
    cm.data = None  # ConfigMap deleted: the shipped nginx.lua again
    assert await route(mgr, ctx, weight=20) == {"x/v": "2", N + "canary": "true", N + "canary-weight": "20"}


async def test_alb_conditions_configmap_script_of_the_spec() -> None:
    cm = ConfigMapStore({KEY + "aliyun-alb": ALB_CONDITIONS})
    mgr, _, ctx = setup("aliyun-alb", cm=cm, annotations={A + "backend-svcs-protocols": '{"echoserver":"http"}'})
    headers = [{"name": "Cookie", "value": "demo1=value1;demo2=value2"},
               {"name": "SourceIp", "value": "192.168.0.0/16;172.16.0.0/16"},
               {"name": "headername", "value": "headervalue1;headervalue2"}]
    mgr.provider(ctx).check(weight=None, matches=[match(*headers)])  # the script decides for itself
    got = await route(mgr, ctx, weight=None, matches=[match(*headers)])
    assert got[A + "backend-svcs-protocols"] == '{"echoserver-canary":"http"}'
    assert got[A + "conditions.echoserver-canary"] == (
        '[{"cookieConfig":{"values":[{"key":"demo1","value":"value1"},{"key":"demo2","value":"value2"}]},'
        '"type":"Cookie"},{"sourceIpConfig":{"values":["192.168.0.0/16","172.16.0.0/16"]},"type":"SourceIp"},'
        '{"headerConfig":{"key":"headername","values":["headervalue1","headervalue2"]},"type":"Header"}]')
    assert got[A + "canary"] == "true" and A + "canary-weight" not in got


BROKEN = [
    ("runtime", 'error("boom")', "failed (runtime): ", "boom"),
    ("loop", "while true do end", "failed (instructions): ", "more than 200000 instructions"),
    ("shape", 'return "x"', "failed (output): ", "expect table output from Lua script, not string"),
    ("value", "return {a = 1}", "failed (output): ", "value of 'a' must be a string"),
    ("syntax", "return {", "failed (compile): ", "expected"),
]


@pytest.mark.parametrize(("source", "kind", "detail"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
async def test_a_broken_script_names_itself_and_writes_nothing(source: str, kind: str, detail: str) -> None:
    cm = ConfigMapStore({KEY + "foo": source})
    lua = LuaRunner(LuaLimits(timeout=0.05, max_instructions=200_000))
    mgr, client, ctx = setup("foo", cm=cm, lua=lua)
    problem = await mgr.provider(ctx).initialize()
    assert problem is not None and f"Lua script {CM_NAME} key {KEY}foo {kind}" in problem and detail in problem
    with pytest.raises(TrafficRoutingError, match=f"key {KEY}foo") as e:
        await mgr.provider(ctx).ensure_routes(weight=20, matches=[])
    assert "nothing was written" in str(e.value)
    out = await mgr.do_traffic_routing(attrs.evolve(ctx, traffic="20%"))
    assert not out.done and out.blocked and f"key {KEY}foo" in out.reason
    assert client.writes == []
    cm.data = {KEY + "foo": "return obj.annotations or {}"}  # fixed: the next round proceeds
    assert await mgr.provider(ctx).initialize() is None


async def test_a_class_without_script_names_the_key_to_add_and_finalise_still_cleans_up() -> None:
    mgr, client, ctx = setup("traefik")
    problem = await mgr.provider(ctx).initialize()
    assert problem == ("spec.strategy.canary.trafficRoutings[0].ingress.classType: traefik lua script is not found: "
                       f"add key {KEY}traefik to {CM_NAME} or use a built-in classType (aliyun-alb, higress, mse, "
                       "nginx)")
    with pytest.raises(TrafficRoutingError, match=f"add key {KEY}traefik"):
        mgr.provider(ctx).check(weight=5, matches=[])
    client.put(INGRESSES, {**SEED_INGRESS, "metadata": {"name": "echoserver-canary"}}, "default")
    provider = mgr.provider(ctx)
    assert isinstance(provider, LuaIngressProvider)
    assert not await provider.finalise()  # a canary left by a script since removed is still deleted
    assert client.find(INGRESSES, "echoserver-canary") is None


def test_a_configmap_event_requeues_every_rollout_that_routes_traffic() -> None:
    from rollouts.controllers.rollout.controller import rollouts_using_scripts
    from runtime.reconcile import Request

    def ro(name: str, strategy: dict) -> dict:
        return {"metadata": {"name": name, "namespace": "ns"}, "spec": {"strategy": strategy}}

    class Store:
        def list(self, namespace: str | None = None, **_: Any) -> list[dict]:
            return [ro("ingress", {"canary": {"trafficRoutings": [{"service": "s", "ingress": {"name": "i"}}]}}),
                    ro("plain", {"canary": {"steps": [{"replicas": 1}]}}),
                    ro("bg", {"blueGreen": {"trafficRoutings": [{"service": "s", "ingress": {"name": "i"}}]}})]

        def get(self, name: str, namespace: str | None = None) -> None:
            return None

    assert rollouts_using_scripts(Store()) == [Request("ns", "ingress"), Request("ns", "bg")]


class CountingRunner(LuaRunner):
    """A real runner that records the weight (``obj.weight``) of every script run."""

    def __init__(self) -> None:
        super().__init__()
        self.weights: list[str] = []

    async def run_async(self, script: Any, obj: Any) -> Any:
        self.weights.append(obj["weight"])
        return await super().run_async(script, obj)


async def test_a_round_runs_the_script_once_the_dry_run_is_remembered_until_its_inputs_change() -> None:
    """Issue 12 leftover: ``initialize`` (every round) dry-runs the script at weight 0 only when the
    script text or the stable Ingress's annotations changed; a broken script still stops the release."""
    cm = ConfigMapStore({KEY + "nginx": 'local a = obj.annotations or {}\na["x/w"] = obj.weight\nreturn a'})
    lua = CountingRunner()
    mgr, client, ctx = setup("", cm=cm, lua=lua)
    step = attrs.evolve(ctx, traffic="20%")
    assert await mgr.initialize(step) is None
    assert lua.weights == ["0"]  # the dry run
    for _ in range(4):  # Services, canary Ingress created (from the remembered dry run), step, verified
        out = await mgr.do_traffic_routing(step)
        step = attrs.evolve(step, last_update_time=None)
    assert out.done, out.reason
    assert lua.weights == ["0", "20", "20"], "the dry run and the creation reuse the remembered run"
    assert client.find(INGRESSES, "echoserver-canary")["metadata"]["annotations"] == {"x/w": "20"}
    lua.weights.clear()
    assert (await mgr.do_traffic_routing(step)).done
    assert lua.weights == ["20"], "one run per round"

    cm.data = {KEY + "nginx": 'local a = obj.annotations or {}\na["x/w"] = obj.weight .. "%"\nreturn a'}
    lua.weights.clear()
    assert not (await mgr.do_traffic_routing(step)).done  # an edited script: dry run again, then the step
    assert lua.weights == ["0", "20"]

    stable = client.find(INGRESSES, "echoserver")
    stable["metadata"]["annotations"] = {"kubernetes.io/ingress.class": "nginx"}
    lua.weights.clear()
    await mgr.do_traffic_routing(step)
    assert lua.weights == ["0", "20"], "the stable Ingress's annotations are an input of the dry run"

    cm.data = {KEY + "nginx": 'error("boom")'}  # broken: the dry run runs and stops the round before any write
    client.writes.clear()
    lua.weights.clear()
    out = await mgr.do_traffic_routing(step)
    assert out.blocked and "boom" in out.reason and client.writes == [] and lua.weights == ["0"]
    lua.weights.clear()
    await mgr.do_traffic_routing(step)
    assert lua.weights == ["0"], "a failure is not remembered: the next round tries again"


def test_the_dry_run_memory_is_bounded_and_keyed_by_every_input() -> None:
    from rollouts.lua import LuaScript
    from rollouts.trafficrouting.dryrun import DryRunCache, dry_run_key

    a, b = LuaScript("a", "return obj.annotations"), LuaScript("renamed", "return obj.annotations")
    base = dry_run_key(a, {"k": "v"}, "svc-canary")
    assert dry_run_key(b, {"k": "v"}, "svc-canary") == base  # the source counts, not the name
    assert len({base, dry_run_key(LuaScript("a", "return {}"), {"k": "v"}, "svc-canary"),
                dry_run_key(a, {"k": "w"}, "svc-canary"), dry_run_key(a, {"k": "v"}, "svc")}) == 4
    cache = DryRunCache(max_entries=2)
    cache.put("1", {"a": "1"})
    cache.put("2", {"a": "2"})
    assert cache.get("1") == {"a": "1"}  # now the most recently used
    cache.put("3", {"a": "3"})
    assert len(cache) == 2 and cache.get("2") is None and cache.get("1") == {"a": "1"}
    got = cache.get("1")
    assert got is not None
    got["a"] = "changed"
    assert cache.get("1") == {"a": "1"}, "callers get a copy"
