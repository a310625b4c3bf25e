"""Gateway API HTTPRoute provider: desired rules per step, finalise, the two upstream defects, the I/O.

ROUTE is an HTTPRoute as the API server stores it (Gateway API v1.6 schema defaults written out:
``group``/``kind``/``weight`` of backendRefs, ``type`` of path/header matches), so "restored byte for
byte" below means equal to what a user would read back with kubectl.
"""

from __future__ import annotations

import copy

import attrs
import pytest

from rollouts.api.common import TrafficRoutingRef
from rollouts.api.v1beta1.rollout import HttpRouteMatch
from rollouts.api.wire import from_dict
from rollouts.trafficrouting.gateway import (
    GatewayProvider,
    desired_rules,
    finalised_rules,
)
from rollouts.trafficrouting.manager import RoutingContext, TrafficRoutingManager
from rollouts.trafficrouting.provider import TrafficRoutingError
from runtime.clock import FakeClock
from runtime.kube.errors import Conflict, Invalid
from runtime.kube.resources import HTTPROUTES, SERVICES
from tests.unit.trafficrouting.fakes import SEED_SERVICE, FakeClient


def svc_ref(name: str, weight: int = 1) -> dict:
    return {"group": "", "kind": "Service", "name": name, "port": 80, "weight": weight}


def prefix(value: str) -> dict:
    return {"path": {"type": "PathPrefix", "value": value}}


STABLE, CANARY = "echoserver", "echoserver-canary"
RULES = [
    {"matches": [prefix("/apis/echo")], "backendRefs": [svc_ref(STABLE)]},
    {"matches": [prefix("/other")], "backendRefs": [svc_ref("other")]},
]
ROUTE = {"apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "HTTPRoute",
         "metadata": {"name": "echoserver"},
         "spec": {"parentRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "gw"}],
                  "hostnames": ["echo.k8s.local"], "rules": RULES}}


def match(**wire: object) -> HttpRouteMatch:
    return from_dict(HttpRouteMatch, wire)


def hdr(name: str, value: str, type_: str = "Exact") -> dict:
    return {"name": name, "type": type_, "value": value}


def desired(rules: list, *, weight: int | None = None, matches: list | None = None) -> list:
    return desired_rules(rules, stable=STABLE, canary=CANARY, weight=weight, matches=matches or [])


def finalised(rules: list) -> list:
    return finalised_rules(rules, stable=STABLE, canary=CANARY)


@pytest.mark.parametrize("canary", [0, 5, 20, 40, 50, 60, 80, 90, 100])
def test_weight_step_splits_every_stable_rule_and_finalise_restores_it(canary: int) -> None:
    got = desired(RULES, weight=canary)
    assert got == [
        {"matches": [prefix("/apis/echo")], "backendRefs": [svc_ref(STABLE, 100 - canary), svc_ref(CANARY, canary)]},
        RULES[1],
    ]
    assert desired(got, weight=canary) == got, "a second round must verify, not rewrite"
    assert finalised(got) == RULES


def test_weights_walk_80_20_to_10_90_in_place_and_back() -> None:
    rules = RULES
    for canary in (20, 40, 60, 80, 90):
        rules = desired(rules, weight=canary)
        assert [(r["name"], r["weight"]) for r in rules[0]["backendRefs"]] == [(STABLE, 100 - canary),
                                                                                (CANARY, canary)]
    assert finalised(rules) == RULES


def test_header_match_appends_a_canary_rule_narrowing_each_stable_match() -> None:
    rules = [{"matches": [prefix("/a"), {**prefix("/b"), "headers": [hdr("x-env", "prod")]}],
              "filters": [{"type": "RequestHeaderModifier", "requestHeaderModifier": {"add": [hdr("k", "v")]}}],
              "backendRefs": [svc_ref(STABLE), svc_ref("other")], "name": "main"}]
    step = [match(headers=[{"name": "user-agent", "value": "pc"}]), match(headers=[hdr("x-env", "canary")])]
    got = desired(rules, matches=step)
    assert got[0] == rules[0]
    assert got[1] == {
        "matches": [{**prefix("/a"), "headers": [hdr("user-agent", "pc")]},
                    {**prefix("/a"), "headers": [hdr("x-env", "canary")]},
                    {**prefix("/b"), "headers": [hdr("x-env", "prod"), hdr("user-agent", "pc")]},
                    # a step header of a name the stable match tests replaces that test (names must be unique)
                    {**prefix("/b"), "headers": [hdr("x-env", "canary")]}],
        "filters": rules[0]["filters"], "backendRefs": [svc_ref(CANARY)],
    }, "canary rule: filters kept, only the canary backend, no rule name"
    assert len(got) == 2 and finalised(got) == rules


def test_query_and_regex_matches() -> None:
    step = [match(queryParams=[{"name": "canary", "value": "true"}],
                  headers=[{"name": "cookie", "value": ".*beta=1.*", "type": "RegularExpression"}])]
    got = desired(RULES, matches=step)
    assert got[:2] == RULES
    assert got[2]["matches"] == [{**prefix("/apis/echo"), "headers": [hdr("cookie", ".*beta=1.*", "RegularExpression")],
                                  "queryParams": [hdr("canary", "true")]}]
    assert finalised(got) == RULES


def test_path_matches_stand_alone_on_the_first_stable_rule_only() -> None:
    rules = [*RULES, {"matches": [prefix("/second")], "backendRefs": [svc_ref(STABLE)]}]
    got = desired(rules, matches=[match(path={"type": "Exact", "value": "/v2"}, headers=[{"name": "h", "value": "1"}])])
    assert got[:3] == rules
    assert got[3:] == [{"matches": [{"path": {"type": "Exact", "value": "/v2"}, "headers": [hdr("h", "1")]}],
                        "backendRefs": [svc_ref(CANARY)]}]
    assert finalised(got) == rules


def test_upstream_defect_1_mixing_path_and_non_path_matches_pairs_the_right_headers() -> None:
    """Upstream would narrow /apis/echo with matches[0]'s (empty) headers; we use the non-path match."""
    step = [match(path={"value": "/v2"}), match(headers=[{"name": "user-agent", "value": "pc"}])]
    got = desired(RULES, matches=step)
    assert got[2]["matches"] == [{"path": {"type": "PathPrefix", "value": "/v2"}},
                                 {**prefix("/apis/echo"), "headers": [hdr("user-agent", "pc")]}]


def test_upstream_defect_2_weight_then_match_then_weight_keeps_the_stable_rule() -> None:
    """Upstream would drop the user's rule (it holds the canary ref after a weight step)."""
    weighted = desired(RULES, weight=20)
    matched = desired(weighted, matches=[match(headers=[{"name": "user-agent", "value": "pc"}])])
    assert matched[:2] == RULES, "the stable rule is back at weight 1 without the canary ref"
    assert matched[2]["backendRefs"] == [svc_ref(CANARY)]
    again = desired(matched, weight=50)
    assert again == desired(RULES, weight=50), "the canary rule of the match step is gone"
    assert finalised(again) == RULES and finalised(matched) == RULES


def test_rule_without_matches_is_narrowed_as_match_everything() -> None:
    rules = [{"backendRefs": [svc_ref(STABLE)]}]
    got = desired(rules, matches=[match(headers=[{"name": "h", "value": "1"}])])
    assert got == [rules[0], {"matches": [{"headers": [hdr("h", "1")]}], "backendRefs": [svc_ref(CANARY)]}]


def test_finalise_leaves_an_untouched_route_alone() -> None:
    rules = [{"matches": [prefix("/")], "backendRefs": [svc_ref(STABLE, 7), svc_ref("other", 3)]}]
    assert finalised(rules) == rules, "no canary ref was added here: the stable weight 7 is the user's"


# -- the provider over a fake client ---------------------------------------------------------------
def provider(client: FakeClient) -> GatewayProvider:
    return GatewayProvider(client, namespace="default", route="echoserver", stable_service=STABLE,
                           canary_service=CANARY, where="spec.strategy.canary.steps[0]",
                           ref_field="spec.strategy.canary.trafficRoutings[0]")


def seeded() -> FakeClient:
    client = FakeClient()
    client.put(SERVICES, SEED_SERVICE, "default")
    route = client.put(HTTPROUTES, ROUTE, "default")
    route["metadata"]["resourceVersion"] = "1"
    return client


async def test_ensure_routes_writes_once_then_verifies_and_finalise_restores() -> None:
    client = seeded()
    gw = provider(client)
    assert await gw.initialize() is None
    assert await gw.ensure_routes(weight=20, matches=[]) is False
    assert await gw.ensure_routes(weight=20, matches=[]) is True
    assert client.writes == [("patch", "HTTPRoute", "echoserver")]
    assert await gw.finalise() is False
    assert await gw.finalise() is True
    assert client.find(HTTPROUTES, "echoserver")["spec"] == ROUTE["spec"]


class ConflictOnce(FakeClient):
    """The first patch loses a race with another writer (who renamed the hostname)."""

    raced = False

    async def patch(self, res, name, body, namespace=None, *, patch_type="merge"):  # type: ignore[no-untyped-def]
        if not self.raced:
            self.raced = True
            self.objects[(res.plural, namespace, name)]["spec"]["hostnames"] = ["raced.local"]
            raise Conflict("the object has been modified")
        assert body["metadata"]["resourceVersion"] == "1", "every write is guarded by the version it read"
        return await super().patch(res, name, body, namespace, patch_type=patch_type)


async def test_conflict_rereads_and_keeps_the_other_writers_change() -> None:
    client = ConflictOnce()
    client.put(HTTPROUTES, ROUTE, "default")["metadata"]["resourceVersion"] = "1"
    assert await provider(client).ensure_routes(weight=30, matches=[]) is False
    stored = client.find(HTTPROUTES, "echoserver")
    assert stored["spec"]["hostnames"] == ["raced.local"]
    assert stored["spec"]["rules"][0]["backendRefs"] == [svc_ref(STABLE, 70), svc_ref(CANARY, 30)]


class RefusesRules(FakeClient):
    async def patch(self, res, name, body, namespace=None, *, patch_type="merge"):  # type: ignore[no-untyped-def]
        raise Invalid("spec.rules: Too many: 17: must have at most 16 items")


async def test_rules_the_api_server_refuses_are_a_user_error_naming_the_step() -> None:
    client = RefusesRules()
    client.put(HTTPROUTES, ROUTE, "default")
    with pytest.raises(TrafficRoutingError, match=r"HTTPRoute default/echoserver: the API server refused the rules "
                                                  r"computed for spec.strategy.canary.steps\[0\]: spec.rules: Too "
                                                  "many.*; use fewer matches in the step or fewer rules"):
        await provider(client).ensure_routes(weight=None, matches=[match(headers=[{"name": "h", "value": "1"}])])


async def test_user_errors_name_the_route_the_field_and_the_fix() -> None:
    empty = FakeClient()
    assert "HTTPRoute default/echoserver named in spec.strategy.canary.trafficRoutings[0].gateway.httpRouteName " \
           "does not exist" in str(await provider(empty).initialize())
    with pytest.raises(TrafficRoutingError, match="does not exist"):
        await provider(empty).ensure_routes(weight=5, matches=[])
    assert await provider(empty).finalise() is True, "a deleted route has nothing left to restore"
    other = FakeClient()
    other.put(HTTPROUTES, {**ROUTE, "spec": {"rules": [RULES[1]]}}, "default")
    with pytest.raises(TrafficRoutingError, match="has no rule with a backendRef to Service echoserver; add one or "
                                                  r"correct spec.strategy.canary.trafficRoutings\[0\].service"):
        await provider(other).ensure_routes(weight=5, matches=[])
    with pytest.raises(TrafficRoutingError, match=r"steps\[0\]\.matches\[1\]: a match without path, headers or "
                                                  "queryParams would send every request to the canary"):
        provider(other).check(weight=None, matches=[match(headers=[{"name": "h", "value": "1"}]), match()])
    assert other.writes == []


async def test_manager_routes_a_release_through_the_httproute_and_restores_it() -> None:
    client, clock = seeded(), FakeClock()
    mgr = TrafficRoutingManager(client, clock=clock)
    ref = from_dict(TrafficRoutingRef, {"service": STABLE, "gracePeriodSeconds": 1,
                                        "gateway": {"httpRouteName": "echoserver"}})
    ctx = RoutingContext(namespace="default", refs=[ref], owner_ref={"uid": "rollout-uid"},
                         revision_label_key="pod-template-hash", stable_revision="s1", canary_revision="c1",
                         traffic="20%")
    for _ in range(6):
        out = await mgr.do_traffic_routing(ctx)
        ctx = attrs.evolve(ctx, last_update_time=out.last_update_time)
        if out.done:
            break
        clock.step(out.requeue_after or 3)
    assert out.done
    rules = client.find(HTTPROUTES, "echoserver")["spec"]["rules"]
    assert rules[0]["backendRefs"] == [svc_ref(STABLE, 80), svc_ref(CANARY, 20)]
    for _ in range(10):
        out = await mgr.finalising_traffic_routing(ctx)
        if out.done:
            break
        clock.step(out.requeue_after or 3)
    assert out.done and client.find(HTTPROUTES, "echoserver")["spec"] == copy.deepcopy(ROUTE["spec"])
    assert client.find(SERVICES, "echoserver-canary") is None
