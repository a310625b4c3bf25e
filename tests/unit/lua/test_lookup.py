"""Script lookup order against the ConfigMap data (lua-contract.md §4.1, §5.1) and the obj/result contract."""

from __future__ import annotations

from rollouts.lua import LuaFailure, LuaScript, LuaSuccess
from rollouts.lua.contract import CustomObjectState, custom_input, custom_output, ingress_annotations, ingress_input
from rollouts.lua.scripts import ScriptNotFound, custom_script, ingress_script, shipped_scripts

NS = "kruise-rollout"
VS = "networking.istio.io/v1beta1"


def test_ingress_configmap_wins_over_shipped() -> None:
    got = ingress_script("nginx", {"lua.traffic.routing.ingress.nginx": "return {}"}, namespace=NS)
    assert got == LuaScript(f"ConfigMap {NS}/kruise-rollout-configuration key lua.traffic.routing.ingress.nginx",
                            "return {}")


def test_ingress_shipped_when_no_configmap_and_empty_class_is_nginx() -> None:
    got = ingress_script("", None, namespace=NS)
    assert isinstance(got, LuaScript) and got.name == "built-in trafficrouting_ingress/nginx.lua"
    assert got.source == shipped_scripts()["trafficrouting_ingress/nginx.lua"]


def test_ingress_unknown_class_says_which_key_to_add() -> None:
    got = ingress_script("kong", {}, namespace=NS)
    assert isinstance(got, ScriptNotFound)
    assert got.message.startswith("kong lua script is not found: add key lua.traffic.routing.ingress.kong to "
                                  f"ConfigMap {NS}/kruise-rollout-configuration")


def test_custom_shipped_wins_over_configmap() -> None:
    got = custom_script(VS, "VirtualService", {"lua.traffic.routing.VirtualService.networking.istio.io": "x"},
                        namespace=NS)
    assert isinstance(got, LuaScript) and got.name == "built-in networking.istio.io/VirtualService/trafficRouting.lua"


def test_custom_from_configmap() -> None:
    got = custom_script("gateway.example.io/v1", "Route", {"lua.traffic.routing.Route.gateway.example.io": "s"},
                        namespace=NS)
    key = "lua.traffic.routing.Route.gateway.example.io"
    assert got == LuaScript(f"ConfigMap {NS}/kruise-rollout-configuration key {key}", "s")


def test_custom_missing_configmap_and_missing_key() -> None:
    none = custom_script("x.io/v1", "Foo", None, namespace=NS)
    assert isinstance(none, ScriptNotFound)
    assert none.message.startswith(f"failed to get ConfigMap({NS}/kruise-rollout-configuration)")
    missing = custom_script("x.io/v1", "Foo", {}, namespace=NS)
    assert isinstance(missing, ScriptNotFound)
    assert missing.message.startswith("expected script not found neither locally nor in ConfigMap: "
                                      "add key lua.traffic.routing.Foo.x.io")


def test_ingress_input_omits_empty_fields() -> None:
    assert ingress_input(annotations={}, weight=None, matches=[], canary_service="c") == {
        "weight": "-1", "canaryService": "c"}
    assert ingress_input(annotations={"a": "b"}, weight=0, matches=[{"headers": []}], canary_service="c",
                         header_modifier={"set": [{"name": "n", "value": "v"}]}) == {
        "weight": "0", "canaryService": "c", "annotations": {"a": "b"}, "matches": [{"headers": []}],
        "requestHeaderModifier": {"set": [{"name": "n", "value": "v"}]}}


def test_custom_input_weights() -> None:
    obj = custom_input(data={"spec": {"a": 1}, "labels": {}}, canary_weight=None, stable_service="s",
                       canary_service="s-canary")
    assert obj == {"data": {"spec": {"a": 1}}, "canaryWeight": -1, "stableWeight": 101,
                   "stableService": "s", "canaryService": "s-canary"}


def test_ingress_annotations_must_be_strings() -> None:
    got = ingress_annotations(LuaSuccess({"a": 1}, "s.lua"))
    assert isinstance(got, LuaFailure) and got.kind == "output"
    assert got.detail == "the returned annotations: value of 'a' must be a string, got number; wrap it in tostring()"
    assert ingress_annotations(LuaSuccess(None, "s.lua")) == {}


def test_custom_output() -> None:
    assert custom_output(LuaSuccess({"spec": {"x": 1}, "labels": {"a": "b"}}, "s")) == CustomObjectState(
        {"x": 1}, {"a": "b"}, {})
    bad = custom_output(LuaSuccess({"annotations": [1]}, "s"))
    assert isinstance(bad, LuaFailure) and "annotations must be a table of strings, got array" in bad.detail
