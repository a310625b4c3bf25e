"""The customNetworkRefs provider over an in-memory client: snapshot bytes, steps from the snapshot,
exact restore, several objects, and every error leaving the objects untouched."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from rollouts.api.common import CustomNetworkRef, HTTPHeaderFilter
from rollouts.api.v1beta1.rollout import HttpRouteMatch
from rollouts.api.wire import from_dict
from rollouts.lua.configuration import ScriptConfiguration
from rollouts.lua.sandbox import LuaLimits, LuaRunner
from rollouts.trafficrouting.custom import (
    SNAPSHOT_ANNOTATION,
    CustomNetworkProvider,
    Snapshot,
    decode_snapshot,
    encode_snapshot,
)
from rollouts.trafficrouting.provider import TrafficRoutingError
from runtime.kube.errors import Conflict, NotFound
from runtime.kube.resources import Resource
from tests.unit.trafficrouting.fakes import ConfigMapStore, FakeClient

VS = Resource("networking.istio.io", "v1alpha3", "virtualservices", "VirtualService")
DR = Resource("networking.istio.io", "v1beta1", "destinationrules", "DestinationRule")
WIDGET = Resource("example.com", "v1", "widgets", "Widget")
KINDS = {("networking.istio.io/v1alpha3", "VirtualService"): VS, ("networking.istio.io/v1beta1", "DestinationRule"): DR,
         ("example.com/v1", "Widget"): WIDGET}
CM_NS = "kruise-rollout"
WIDGET_KEY = "lua.traffic.routing.Widget.example.com"
WIDGET_SCRIPT = """
local data = obj.data
data.spec.canaryWeight = obj.canaryWeight
data.labels = data.labels or {}
data.labels["routed"] = tostring(obj.canaryWeight)
return data
"""

VS_SPEC = {"gateways": ["nginx-gateway"], "hosts": ["*"],
           "http": [{"route": [{"destination": {"host": "echoserver"}}]}]}
VS_OBJ = {"apiVersion": "networking.istio.io/v1alpha3", "kind": "VirtualService",
          "metadata": {"name": "vs-demo", "labels": {"team": "a"}, "annotations": {"note": "<keep & me>"}},
          "spec": VS_SPEC}
DR_OBJ = {"apiVersion": "networking.istio.io/v1beta1", "kind": "DestinationRule", "metadata": {"name": "dr-demo"},
          "spec": {"host": "svc-demo", "subsets": [{"labels": {"version": "base"}, "name": "echoserver"}],
                   "trafficPolicy": {"loadBalancer": {"simple": "ROUND_ROBIN"}}}}
WIDGET_OBJ = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 1}}


def match(wire: dict) -> HttpRouteMatch:
    return from_dict(HttpRouteMatch, wire)


HEADER = match({"headers": [{"type": "Exact", "name": "user-agent", "value": "pc"}]})
QUERY = match({"queryParams": [{"type": "Exact", "name": "user-agent", "value": "pc"}]})
PATH = match({"path": {"type": "PathPrefix", "value": "/pc"}})


class Client(FakeClient):
    """FakeClient plus full updates (resourceVersion checked) and a resourceVersion on every write; ``scripts``
    is the manager's cached ConfigMap of user scripts, beside it."""

    scripts: ScriptConfiguration = ScriptConfiguration(namespace=CM_NS, store=ConfigMapStore(None, namespace=CM_NS))

    def put(self, res: Resource, body: dict, namespace: str) -> dict:
        obj = super().put(res, body, namespace)
        obj["metadata"]["resourceVersion"] = "1"
        return obj

    async def update(self, res: Resource, body: dict, *, subresource: str | None = None,
                     dry_run: bool = False) -> dict:
        meta = body["metadata"]
        key = (res.plural, meta["namespace"], meta["name"])
        live = self.objects.get(key)
        if live is None:
            raise NotFound(f"{res.plural} {meta['name']!r} not found")
        if meta.get("resourceVersion") != live["metadata"]["resourceVersion"]:
            raise Conflict("stale resourceVersion")
        self.writes.append(("update", res.kind, meta["name"]))
        stored = copy.deepcopy(body)
        stored["metadata"]["resourceVersion"] = str(int(live["metadata"]["resourceVersion"]) + 1)
        self.objects[key] = stored
        return copy.deepcopy(stored)


class Resolver:
    async def resource_for(self, api_version: str, kind: str) -> Resource | None:
        return KINDS.get((api_version, kind))


def ref(obj: dict) -> CustomNetworkRef:
    return CustomNetworkRef(api_version=obj["apiVersion"], kind=obj["kind"], name=obj["metadata"]["name"])


def provider(client: Client, *objs: dict, canary: str = "echoserver-canary",
             runner: LuaRunner | None = None) -> CustomNetworkProvider:
    return CustomNetworkProvider(
        client, resolver=Resolver(), runner=runner or LuaRunner(), namespace="default", refs=[ref(o) for o in objs],
        stable_service="echoserver", canary_service=canary, scripts=client.scripts,
        ref_field="spec.strategy.canary.trafficRoutings[0]")


def seeded(*objs: dict, configmap: dict[str, str] | None = None) -> Client:
    client = Client()
    for obj in objs:
        res = KINDS[(obj["apiVersion"], obj["kind"])]
        client.put(res, obj, "default")
    client.scripts = ScriptConfiguration(namespace=CM_NS, store=ConfigMapStore(configmap, namespace=CM_NS))
    return client


def live(client: Client, obj: dict) -> dict:
    found = client.find(KINDS[(obj["apiVersion"], obj["kind"])], obj["metadata"]["name"])
    assert found is not None
    return found


def spec_json(client: Client, obj: dict) -> str:
    return json.dumps(live(client, obj)["spec"], separators=(",", ":"), sort_keys=True)


async def converge(p: CustomNetworkProvider, **step: Any) -> int:
    """ensure_routes until verified; the number of calls that wrote."""
    for writes in range(5):
        if await p.ensure_routes(**{"weight": None, "matches": [], **step}):
            return writes
    raise AssertionError("never verified")


# -- the snapshot text ---------------------------------------------------------------------------
def test_snapshot_text_is_upstreams_bytes() -> None:
    assert encode_snapshot(Snapshot(VS_SPEC)) == (
        '{"spec":{"gateways":["nginx-gateway"],"hosts":["*"],"http":[{"route":[{"destination":{"host":"echoserver"}}]}]}}')
    # Go struct order (spec, labels, annotations), maps sorted inside, Go's HTML escaping, empties omitted
    text = encode_snapshot(Snapshot({"b": 1.5, "a": 2.0}, {"z": "1", "a": "2"}, {"n": "<x & y>"}))
    assert text == '{"spec":{"a":2,"b":1.5},"labels":{"a":"2","z":"1"},"annotations":{"n":"\\u003cx \\u0026 y\\u003e"}}'
    assert encode_snapshot(Snapshot(None, {}, {})) == "{}"
    assert decode_snapshot(text, where="x") == Snapshot({"a": 2, "b": 1.5}, {"a": "2", "z": "1"}, {"n": "<x & y>"})


@pytest.mark.parametrize("text", ["not json", "[1]", '{"labels": {"a": 1}}'])
def test_a_corrupt_snapshot_names_the_annotation_and_the_fix(text: str) -> None:
    with pytest.raises(TrafficRoutingError, match="original-spec-configuration.*remove the annotation"):
        decode_snapshot(text, where="VirtualService default/vs")


# -- steps ---------------------------------------------------------------------------------------
async def test_the_e2e_steps_then_finalise_restore_the_object_exactly() -> None:
    client = seeded(VS_OBJ)
    original = copy.deepcopy(live(client, VS_OBJ))
    p = provider(client, VS_OBJ)
    assert await p.initialize() is None and client.writes == []
    assert await converge(p, matches=[HEADER, QUERY, PATH]) == 1
    assert spec_json(client, VS_OBJ) == (
        '{"gateways":["nginx-gateway"],"hosts":["*"],"http":[{"match":[{"uri":{"prefix":"/pc"}}],"route":[{"destination"'
        ':{"host":"echoserver-canary"}}]},{"match":[{"queryParams":{"user-agent":{"exact":"pc"}}}],"route":[{"destination"'
        ':{"host":"echoserver-canary"}}]},{"match":[{"headers":{"user-agent":{"exact":"pc"}}}],"route":[{"destination":'
        '{"host":"echoserver-canary"}}]},{"route":[{"destination":{"host":"echoserver"}}]}]}')
    annotations = live(client, VS_OBJ)["metadata"]["annotations"]
    assert annotations[SNAPSHOT_ANNOTATION] == (
        '{"spec":{"gateways":["nginx-gateway"],"hosts":["*"],"http":[{"route":[{"destination":{"host":"echoserver"}}]}]},'
        '"labels":{"team":"a"},"annotations":{"note":"\\u003ckeep \\u0026 me\\u003e"}}')
    assert annotations["note"] == "<keep & me>" and live(client, VS_OBJ)["metadata"]["labels"] == {"team": "a"}
    # the weight step starts from the snapshot: the match routes of the previous step are gone
    assert await converge(p, weight=50) == 1
    assert spec_json(client, VS_OBJ) == (
        '{"gateways":["nginx-gateway"],"hosts":["*"],"http":[{"route":[{"destination":{"host":"echoserver"},"weight":50},'
        '{"destination":{"host":"echoserver-canary"},"weight":50}]}]}')
    assert await p.finalise() is False
    assert await p.finalise() is True
    restored = live(client, VS_OBJ)
    for key in ("spec",):
        assert restored[key] == original[key]
    assert restored["metadata"]["labels"] == original["metadata"]["labels"]
    assert restored["metadata"]["annotations"] == original["metadata"]["annotations"]  # snapshot removed
    assert [w[0] for w in client.writes] == ["update"] * 3


async def test_zero_percent_before_anything_was_routed_is_done_without_a_script_as_upstream() -> None:
    """Upstream returns done for ``traffic: "0%"`` (blue-green's first step) without touching the
    objects; so do we while nothing is snapshotted — even a kind without any script."""
    client = seeded(VS_OBJ, WIDGET_OBJ)  # no ConfigMap: the Widget has no script
    original = copy.deepcopy(live(client, VS_OBJ))
    p = provider(client, VS_OBJ, WIDGET_OBJ)
    assert await p.ensure_routes(weight=0, matches=[]) is True
    assert client.writes == [] and live(client, VS_OBJ) == original
    with pytest.raises(TrafficRoutingError, match=WIDGET_KEY):  # a match step still needs every script
        await p.ensure_routes(weight=0, matches=[HEADER])


async def test_zero_percent_after_a_routed_step_takes_the_traffic_back() -> None:
    """Where upstream would report done and leave the previous weight, the script runs at 0 %."""
    client = seeded(VS_OBJ)
    p = provider(client, VS_OBJ)
    assert await converge(p, weight=50) == 1
    assert await converge(p, weight=0) == 1
    assert '{"destination":{"host":"echoserver"},"weight":100}' in spec_json(client, VS_OBJ)
    assert '{"destination":{"host":"echoserver-canary"},"weight":0}' in spec_json(client, VS_OBJ)
    assert await converge(p, weight=0, matches=[HEADER]) == 1  # matches in a 0 % step are honoured
    assert '"headers":{"user-agent":{"exact":"pc"}}' in spec_json(client, VS_OBJ)


async def test_a_step_is_computed_from_the_snapshot_not_from_the_live_object() -> None:
    client = seeded(VS_OBJ)
    p = provider(client, VS_OBJ)
    await converge(p, weight=20)
    obj = live(client, VS_OBJ)
    obj["spec"]["http"][0]["route"].append({"destination": {"host": "someone-else"}})  # a foreign edit
    await converge(p, weight=20)
    assert "someone-else" not in spec_json(client, VS_OBJ)
    assert '"weight":80' in spec_json(client, VS_OBJ) and '"weight":20' in spec_json(client, VS_OBJ)


async def test_restore_without_labels_or_annotations_leaves_none() -> None:
    client = seeded(DR_OBJ)
    p = provider(client, DR_OBJ)
    await converge(p, weight=10)
    assert await p.finalise() is False
    metadata = live(client, DR_OBJ)["metadata"]
    assert "annotations" not in metadata and "labels" not in metadata
    assert live(client, DR_OBJ)["spec"] == DR_OBJ["spec"]


async def test_several_refs_at_once_and_the_header_modifier_reaches_the_script() -> None:
    client = seeded(VS_OBJ, DR_OBJ)
    p = provider(client, VS_OBJ, DR_OBJ, canary="echoserver")  # TrafficRouting mode: subsets
    modifier = from_dict(HTTPHeaderFilter, {"set": [{"name": "header-foo", "value": "bar"}]})
    assert await converge(p, matches=[HEADER], header_modifier=modifier) == 1
    assert spec_json(client, VS_OBJ) == (
        '{"gateways":["nginx-gateway"],"hosts":["*"],"http":[{"headers":{"request":{"set":{"header-foo":"bar"}}},'
        '"match":[{"headers":{"user-agent":{"exact":"pc"}}}],"route":[{"destination":{"host":"echoserver",'
        '"subset":"canary"}}]},{"route":[{"destination":{"host":"echoserver"}}]}]}')
    assert spec_json(client, DR_OBJ) == (
        '{"host":"svc-demo","subsets":[{"labels":{"version":"base"},"name":"echoserver"},{"labels":'
        '{"istio.service.tag":"gray"},"name":"canary"}],"trafficPolicy":{"loadBalancer":{"simple":"ROUND_ROBIN"}}}')
    assert await p.finalise() is False
    assert live(client, VS_OBJ)["spec"] == VS_SPEC and live(client, DR_OBJ)["spec"] == DR_OBJ["spec"]


async def test_a_user_kind_uses_the_configmap_script_read_on_every_call() -> None:
    client = seeded(WIDGET_OBJ, configmap={WIDGET_KEY: "return nil + 1"})
    p = provider(client, WIDGET_OBJ)
    with pytest.raises(TrafficRoutingError, match=f"ConfigMap {CM_NS}/kruise-rollout-configuration key {WIDGET_KEY}"):
        await p.ensure_routes(weight=30, matches=[])
    assert client.writes == []
    store = client.scripts.store
    assert isinstance(store, ConfigMapStore) and store.data is not None
    store.data[WIDGET_KEY] = WIDGET_SCRIPT  # a ConfigMap edit: the informer's store changes
    assert await converge(p, weight=30) == 1
    assert live(client, WIDGET_OBJ)["spec"] == {"size": 1, "canaryWeight": 30}
    assert live(client, WIDGET_OBJ)["metadata"]["labels"] == {"routed": "30"}


# -- errors: named, nothing written ---------------------------------------------------------------
async def test_a_missing_object_names_the_reference_and_the_object() -> None:
    client = seeded(VS_OBJ)
    p = provider(client, VS_OBJ, DR_OBJ)
    problem = await p.initialize()
    assert problem is not None
    assert "customNetworkRefs[1]" in problem and "DestinationRule default/dr-demo" in problem
    with pytest.raises(TrafficRoutingError, match=r"customNetworkRefs\[1\].*does not exist"):
        await p.ensure_routes(weight=5, matches=[])
    assert client.writes == []
    assert await p.finalise() is True  # nothing to restore; the missing one is skipped


async def test_a_kind_the_server_does_not_serve_is_named() -> None:
    gadget = {**WIDGET_OBJ, "kind": "Gadget"}
    problem = await provider(seeded(), gadget).initialize()
    assert problem is not None and "does not serve kind Gadget in example.com/v1" in problem


@pytest.mark.parametrize("configmap, words", [
    (None, "failed to get ConfigMap(kruise-rollout/kruise-rollout-configuration)"),
    ({}, f"expected script not found neither locally nor in ConfigMap: add key {WIDGET_KEY}"),
])
async def test_no_script_is_a_reason_naming_the_configmap_key(configmap: dict | None, words: str) -> None:
    client = seeded(VS_OBJ, WIDGET_OBJ, configmap=configmap)
    p = provider(client, VS_OBJ, WIDGET_OBJ)
    problem = await p.initialize()
    assert problem is not None and words in problem and "customNetworkRefs[1]" in problem
    with pytest.raises(TrafficRoutingError):
        await p.ensure_routes(weight=5, matches=[])
    assert client.writes == []


@pytest.mark.parametrize("script, words", [
    ("error('boom')", r"failed \(runtime\): .*boom"),
    ("return 5", r"failed \(output\)"),
    ("return {spec = {}, labels = {a = 1}}", r"failed \(output\).*labels"),
    ("while true do end", r"failed \((instructions|time)\)"),
])
async def test_a_broken_script_writes_nothing_even_for_the_other_objects(script: str, words: str) -> None:
    client = seeded(VS_OBJ, WIDGET_OBJ, configmap={WIDGET_KEY: script})
    p = provider(client, VS_OBJ, WIDGET_OBJ, runner=LuaRunner(LuaLimits(max_instructions=100_000)))
    with pytest.raises(TrafficRoutingError, match=rf"customNetworkRefs\[1\].*{WIDGET_KEY}.*{words}"):
        await p.ensure_routes(weight=5, matches=[])
    assert client.writes == []  # the VirtualService (ref 0, whose script is fine) was not touched either


async def test_finalise_restores_the_others_when_one_fails() -> None:
    client = seeded(VS_OBJ, DR_OBJ)
    p = provider(client, VS_OBJ, DR_OBJ)
    await converge(p, weight=40)
    live(client, VS_OBJ)["metadata"]["annotations"][SNAPSHOT_ANNOTATION] = "{broken"
    with pytest.raises(TrafficRoutingError, match="VirtualService default/vs-demo"):
        await p.finalise()
    assert SNAPSHOT_ANNOTATION not in (live(client, DR_OBJ)["metadata"].get("annotations") or {})
    assert live(client, DR_OBJ)["spec"] == DR_OBJ["spec"]
