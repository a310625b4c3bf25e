"""The canary Ingress (nginx.py) and the nginx class's annotations through nginx.lua (traffic-routing.md §4.1, §9)."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from rollouts.api import dump
from rollouts.api.v1beta1.rollout import HttpRouteMatch
from rollouts.api.wire import from_dict
from rollouts.lua import LuaRunner, LuaScript
from rollouts.lua.contract import ingress_annotations, ingress_input
from rollouts.lua.scripts import ingress_script
from rollouts.trafficrouting.nginx import annotations_patch, build_canary_ingress, check_matches
from rollouts.trafficrouting.provider import TrafficRoutingError
from tests.unit.trafficrouting.fakes import SEED_INGRESS

OWNER = {"apiVersion": "rollouts.kruise.io/v1beta1", "kind": "Rollout", "name": "r", "uid": "u1",
         "controller": True, "blockOwnerDeletion": True}
P = "nginx.ingress.kubernetes.io/"


def canary_annotations(current: Mapping[str, str], weight: int | None, matches: list[HttpRouteMatch]) -> dict:
    """What the shipped nginx.lua gives for a step (the provider's annotations for the nginx class)."""
    script = ingress_script("nginx", None, namespace="kruise-rollout")
    assert isinstance(script, LuaScript)
    obj = ingress_input(annotations=current, weight=weight, matches=[dump(x) for x in matches],
                        canary_service="echoserver-canary")
    out = ingress_annotations(LuaRunner().run(script, obj))
    assert isinstance(out, dict), out
    return out


def build(stable: dict, **kw: str) -> dict:
    return build_canary_ingress(stable, owner_ref=OWNER, annotations=canary_annotations(
        stable["metadata"].get("annotations") or {}, 0, []), **kw)


def m(*headers: dict, **extra: object) -> HttpRouteMatch:
    return from_dict(HttpRouteMatch, {"headers": list(headers), **extra})


def test_canary_ingress_of_the_seed() -> None:
    stable = {**SEED_INGRESS, "metadata": {"name": "echoserver", "namespace": "default"}}
    got = build(stable, stable_service="echoserver", canary_service="echoserver-canary")
    assert got == {
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "echoserver-canary", "namespace": "default", "ownerReferences": [OWNER],
                     "annotations": {P + "canary": "true", P + "canary-weight": "0"}},
        "spec": {"ingressClassName": "nginx", "rules": [{"host": "echo.k8s.local", "http": {"paths": [
            {"path": "/apis/echo", "pathType": "Exact",
             "backend": {"service": {"name": "echoserver-canary", "port": {"number": 80}}}}]}}]},
    }


def test_canary_ingress_keeps_only_stable_paths_and_copies_the_listed_fields() -> None:
    def path(p: str, svc: str) -> dict:
        return {"path": p, "pathType": "Prefix", "backend": {"service": {"name": svc, "port": {"name": "http"}}}}
    stable = {
        "metadata": {"name": "web", "namespace": "ns", "labels": {"a": "b"}, "resourceVersion": "9",
                     "annotations": {"x": "y", P + "canary-by-header": "stale"}},
        "spec": {"ingressClassName": "nginx", "tls": [{"hosts": ["h"], "secretName": "s"}],
                 "defaultBackend": {"service": {"name": "web", "port": {"number": 80}}},
                 "rules": [{"host": "h", "http": {"paths": [path("/a", "web"), path("/b", "other")]}},
                           {"host": "only-other", "http": {"paths": [path("/", "other")]}},
                           {"host": "no-http"}]},
    }
    got = build(stable, stable_service="web", canary_service="web-canary")
    assert got["metadata"]["labels"] == {"a": "b"}
    assert "resourceVersion" not in got["metadata"]
    # the stable annotations are copied, then the script's weight-0 pass clears stale canary keys
    assert got["metadata"]["annotations"] == {"x": "y", P + "canary": "true", P + "canary-weight": "0"}
    assert got["spec"] == {"ingressClassName": "nginx", "tls": [{"hosts": ["h"], "secretName": "s"}],
                           "rules": [{"host": "h", "http": {"paths": [path("/a", "web-canary")]}}]}
    assert stable["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] == "web"  # not mutated


BASE = {P + "canary": "true", P + "canary-weight": "0"}


@pytest.mark.parametrize("weight", [5, 40, 60, 80, 100])
def test_weight_steps(weight: int) -> None:
    assert canary_annotations(BASE, weight, []) == {P + "canary": "true", P + "canary-weight": str(weight)}


@pytest.mark.parametrize(("weight", "matches", "expected"), [
    (None, [m({"name": "user-agent", "value": "pc"})],
     {P + "canary-by-header": "user-agent", P + "canary-by-header-value": "pc"}),
    (None, [m({"name": "user-agent", "value": "pc", "type": "Exact"})],
     {P + "canary-by-header": "user-agent", P + "canary-by-header-value": "pc"}),
    (None, [m({"name": "user-agent", "value": "pc|mac", "type": "RegularExpression"})],
     {P + "canary-by-header": "user-agent", P + "canary-by-header-pattern": "pc|mac"}),
    (None, [m({"name": "canary-by-cookie", "value": "demo"})], {P + "canary-by-cookie": "demo"}),
    (20, [m({"name": "x-beta", "value": "1"}), m({"name": "canary-by-cookie", "value": "always"})],
     {P + "canary-weight": "20", P + "canary-by-header": "x-beta", P + "canary-by-header-value": "1",
      P + "canary-by-cookie": "always"}),
], ids=["header", "header-exact", "header-regex", "cookie", "weight-header-cookie"])
def test_match_steps(weight: int | None, matches: list[HttpRouteMatch], expected: dict) -> None:
    assert canary_annotations(BASE, weight, matches) == {P + "canary": "true", **expected}


def test_weight_then_matches_then_weight_leaves_no_stale_key() -> None:
    header = [m({"name": "user-agent", "value": "pc"})]
    seen = []
    current = BASE
    for weight, matches in [(5, []), (None, header), (50, []), (None, [])]:
        current = canary_annotations(current, weight, matches)
        seen.append(current)
    assert seen == [
        {P + "canary": "true", P + "canary-weight": "5"},
        {P + "canary": "true", P + "canary-by-header": "user-agent", P + "canary-by-header-value": "pc"},
        {P + "canary": "true", P + "canary-weight": "50"},
        {P + "canary": "true"},
    ]


def test_foreign_annotations_survive() -> None:
    assert canary_annotations({"team": "a"}, 5, [])["team"] == "a"


def test_annotations_patch_sends_nulls_for_removed_keys() -> None:
    assert annotations_patch({"a": "1", "b": "2"}, {"a": "1", "c": "3"}) == \
        {"metadata": {"annotations": {"c": "3", "b": None}}}
    assert annotations_patch({"a": "1"}, {"a": "1"}) is None


@pytest.mark.parametrize(("matches", "field", "words"), [
    ([m({"name": "a", "value": "1"}, path={"value": "/x"})], "steps[0].matches[0]", "path"),
    ([m({"name": "a", "value": "1"}, queryParams=[{"name": "q", "value": "1"}])], "steps[0].matches[0]",
     "queryParams"),
    ([m({"name": "a", "value": "1"}, {"name": "b", "value": "2"})], "steps[0].matches[0].headers", "exactly one"),
    ([m()], "steps[0].matches[0].headers", "exactly one"),
    ([m({"name": "a", "value": "1"}), m({"name": "b", "value": "2"})], "steps[0].matches[1]", "one header rule"),
    ([m({"name": "canary-by-cookie", "value": "x"}), m({"name": "canary-by-cookie", "value": "y"})],
     "steps[0].matches[1]", "one cookie rule"),
    ([m({"name": "canary-by-cookie", "value": "x", "type": "RegularExpression"})],
     "steps[0].matches[0].headers[0].type", "use Exact"),
], ids=["path", "query", "two-headers", "no-header", "two-header-matches", "two-cookies", "cookie-regex"])
def test_what_nginx_cannot_express_is_refused(matches: list[HttpRouteMatch], field: str, words: str) -> None:
    with pytest.raises(TrafficRoutingError) as err:
        check_matches(matches, where="spec.strategy.canary.steps[0]")
    assert f"spec.strategy.canary.{field}:" in str(err.value)
    assert words in str(err.value)


def test_one_header_and_one_cookie_are_accepted() -> None:
    check_matches([m({"name": "a", "value": "1"}), m({"name": "canary-by-cookie", "value": "x"})], where="s")


def test_a_step_modifying_request_headers_is_refused_naming_the_field() -> None:
    from rollouts.api.common import HTTPHeaderFilter
    from rollouts.trafficrouting.provider import refuse_header_modifier

    modifier = from_dict(HTTPHeaderFilter, {"set": [{"name": "x-canary", "value": "1"}]})
    refuse_header_modifier(None, where="spec.strategy.canary.steps[0]", provider="nginx Ingress")
    with pytest.raises(TrafficRoutingError, match=r"steps\[0\]\.requestHeaderModifier: the nginx Ingress provider"):
        refuse_header_modifier(modifier, where="spec.strategy.canary.steps[0]", provider="nginx Ingress")
