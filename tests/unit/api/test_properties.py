"""Property tests: random documents never crash; expressible documents survive conversion round trips."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rollouts.api import load
from rollouts.api.conversion import ConversionError, convert
from rollouts.api.validation import FieldError, validate_rollout
from rollouts.api.wire import mark_new, to_dict

A = "rollouts.kruise.io/v1alpha1"
B = "rollouts.kruise.io/v1beta1"
STYLE = "rollouts.kruise.io/rolling-style"
TR = "rollouts.kruise.io/trafficrouting"
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ------------------------------------------------------------------ arbitrary (possibly broken) documents
json_scalar = (st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False)
               | st.text(max_size=8))
json_value = st.recursive(json_scalar, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c,
                                                                                            max_size=3), max_leaves=8)


def maybe(strategy: st.SearchStrategy) -> st.SearchStrategy:
    """Usually the well-shaped value, sometimes (1 in 6) any JSON at all."""
    return st.one_of(*[strategy] * 5, json_value)


int_or_str = st.one_of(st.integers(-5, 200), st.sampled_from(["0%", "1%", "50%", "100%", "101%", "5", "x%", "", "-1%"]))
traffic_str = st.sampled_from(["0%", "5%", "50%", "100%", "101%", "abc", "5", "-5%"])
header = st.fixed_dictionaries({"name": maybe(st.sampled_from(["a", "", "user-agent"])),
                                "value": maybe(st.text(max_size=3))},
                               optional={"type": maybe(st.sampled_from(["Exact", "RegularExpression"]))})
routing = st.fixed_dictionaries({}, optional={
    "service": maybe(st.sampled_from(["svc", ""])), "gracePeriodSeconds": maybe(st.integers(-3, 10)),
    "ingress": maybe(st.fixed_dictionaries({}, optional={"name": st.sampled_from(["i", ""]),
                                                         "classType": st.sampled_from(["nginx", ""])})),
    "gateway": maybe(st.fixed_dictionaries({}, optional={"httpRouteName": st.sampled_from(["h", ""])})),
    "customNetworkRefs": maybe(st.lists(st.fixed_dictionaries({"apiVersion": st.just("v1"), "kind": st.just("K"),
                                                               "name": st.just("n")}), max_size=2)),
})
pause = st.fixed_dictionaries({}, optional={"duration": maybe(st.integers(-5, 100))})
beta_step = st.fixed_dictionaries({}, optional={
    "traffic": maybe(traffic_str), "replicas": maybe(int_or_str), "pause": maybe(pause),
    "matches": maybe(st.lists(st.fixed_dictionaries({}, optional={
        "headers": st.lists(header, max_size=2), "path": st.fixed_dictionaries({"value": st.just("/a")}),
        "queryParams": st.lists(header, max_size=1)}), max_size=2)),
})
alpha_step = st.fixed_dictionaries({}, optional={
    "weight": maybe(st.integers(-5, 120)), "replicas": maybe(int_or_str), "pause": maybe(pause),
    "matches": maybe(st.lists(st.fixed_dictionaries({"headers": st.lists(header, max_size=2)}), max_size=2)),
})
workload = st.fixed_dictionaries({"apiVersion": st.sampled_from(["apps/v1", "apps/v1", "apps.kruise.io/v1alpha1", ""]),
                                  "kind": st.sampled_from(["Deployment", "Deployment", "CloneSet", "StatefulSet",
                                                           "Job"]),
                                  "name": st.sampled_from(["w", ""])})


def strategy_body(step: st.SearchStrategy) -> st.SearchStrategy:
    return st.fixed_dictionaries({"steps": maybe(st.lists(step, min_size=1, max_size=4))}, optional={
        "trafficRoutings": maybe(st.lists(routing, max_size=2)),
        "failureThreshold": maybe(int_or_str), "enableExtraWorkloadForCanary": maybe(st.booleans()),
        "trafficRoutingRef": st.sampled_from(["", "tr"]),
    })


metadata = st.fixed_dictionaries({"name": maybe(st.sampled_from(["r", "other"])), "namespace": maybe(st.just("ns"))},
                                 optional={"annotations": maybe(st.dictionaries(
                                     st.sampled_from([STYLE, TR, "x"]),
                                     maybe(st.sampled_from(["canary", "Partition", "bad", ""])), max_size=2))})
status = st.fixed_dictionaries({}, optional={"phase": st.sampled_from(["Progressing", "Healthy", "Terminating"]),
                                             "currentStepIndex": maybe(st.integers(0, 3))})
beta_strategy = st.one_of(
    st.fixed_dictionaries({"canary": maybe(strategy_body(beta_step))}, optional={"paused": maybe(st.booleans())}),
    st.fixed_dictionaries({"blueGreen": maybe(strategy_body(beta_step))}),
    st.fixed_dictionaries({}, optional={"canary": maybe(strategy_body(beta_step)),
                                        "blueGreen": maybe(strategy_body(beta_step))}),
)
beta_doc = st.fixed_dictionaries(
    {"apiVersion": st.just(B), "kind": st.just("Rollout"), "metadata": metadata,
     "spec": maybe(st.fixed_dictionaries({"workloadRef": maybe(workload), "strategy": maybe(beta_strategy)},
                                         optional={"disabled": maybe(st.booleans())}))},
    optional={"status": maybe(status)})
alpha_doc = st.fixed_dictionaries(
    {"apiVersion": st.just(A), "kind": st.just("Rollout"), "metadata": metadata,
     "spec": maybe(st.fixed_dictionaries(
         {"objectRef": maybe(st.fixed_dictionaries({"workloadRef": maybe(workload)})),
          "strategy": maybe(st.fixed_dictionaries({"canary": maybe(strategy_body(alpha_step))}))},
         optional={"rolloutID": st.just("id")}))},
    optional={"status": maybe(status)})
any_doc = st.one_of(alpha_doc, beta_doc)


@SETTINGS
@given(doc=any_doc, old=st.none() | any_doc, others=st.lists(any_doc, max_size=2))
def test_validation_never_crashes(doc: dict, old: dict | None, others: list[dict]) -> None:
    errors = validate_rollout(copy.deepcopy(doc), copy.deepcopy(old), others=others)
    assert isinstance(errors, list) and all(isinstance(e, FieldError) for e in errors)
    for e in errors:
        assert str(e)


@SETTINGS
@given(doc=any_doc, target=st.sampled_from([A, B]))
def test_conversion_never_crashes(doc: dict, target: str) -> None:
    original = copy.deepcopy(doc)
    try:
        out = convert(doc, target)
    except ConversionError as e:
        assert str(e)
        return
    finally:
        assert doc == original  # input never mutated
    assert out["apiVersion"] == target
    _assert_metadata_preserved(original["metadata"], out["metadata"])


def _assert_metadata_preserved(src: dict, out: dict) -> None:
    """Metadata is copied verbatim except the two annotations conversion owns."""
    assert {k: v for k, v in out.items() if k != "annotations"} == {k: v for k, v in src.items() if k != "annotations"}
    if isinstance(src.get("annotations"), dict):
        kept = {k: v for k, v in src["annotations"].items() if k not in (STYLE, TR)}
        assert {k: v for k, v in out["annotations"].items() if k not in (STYLE, TR)} == kept


# ------------------------------------------------------------------ expressible, valid v1alpha1 documents
positive_pct = st.integers(1, 100).map(lambda n: f"{n}%")


@st.composite
def valid_alpha(draw: st.DrawFn) -> dict:
    style = draw(st.sampled_from(["canary", "partition"]))
    annotations = {STYLE: style}
    if draw(st.booleans()):
        annotations[TR] = draw(st.sampled_from(["tr-a", "tr-b"]))
    n = draw(st.integers(1, 5))
    replicas = sorted(draw(st.lists(st.integers(1, 50), min_size=n, max_size=n)))
    as_pct = draw(st.booleans())
    weights = sorted(draw(st.lists(st.integers(1, 50), min_size=n, max_size=n)))
    steps = []
    for i in range(n):
        step: dict[str, Any] = {"replicas": f"{replicas[i]}%" if as_pct else replicas[i],
                                "pause": draw(st.sampled_from([{}, {"duration": 0}, {"duration": 30}]))}
        if draw(st.booleans()):
            step["weight"] = weights[i]
        if draw(st.booleans()):
            step["matches"] = [{"headers": [{"type": "Exact", "name": "user-agent", "value": "pc"}]}]
        if draw(st.booleans()):
            step["requestHeaderModifier"] = {"set": [{"name": "x", "value": "1"}], "remove": ["y"]}
        steps.append(step)
    canary: dict[str, Any] = {"steps": steps}
    if draw(st.booleans()):
        canary["trafficRoutings"] = [draw(st.sampled_from([
            {"service": "s", "gracePeriodSeconds": 3, "ingress": {"classType": "nginx", "name": "i"}},
            {"service": "s", "gracePeriodSeconds": 1, "gateway": {"httpRouteName": "h"}},
            {"service": "s", "gracePeriodSeconds": 5, "customNetworkRefs": [
                {"apiVersion": "networking.istio.io/v1beta1", "kind": "VirtualService", "name": "vs"}]},
        ]))]
    if draw(st.booleans()):
        canary["failureThreshold"] = draw(st.sampled_from([0, 1, "10%"]))
    if draw(st.booleans()):
        canary["patchPodTemplateMetadata"] = {"labels": {"a": "b"}}
    if draw(st.booleans()):
        canary["disableGenerateCanaryService"] = True
    doc = {"apiVersion": A, "kind": "Rollout",
           "metadata": {"name": "r", "namespace": "ns", "annotations": annotations},
           "spec": {"objectRef": {"workloadRef": draw(st.sampled_from([
               {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"},
               {"apiVersion": "apps.kruise.io/v1alpha1", "kind": "CloneSet", "name": "c"}]))},
                    "strategy": {"canary": canary, "paused": draw(st.booleans())},
                    "disabled": draw(st.booleans())}}
    if draw(st.booleans()):
        doc["status"] = {"observedGeneration": 2, "phase": "Progressing", "message": "m", "canaryStatus": {
            "podTemplateHash": "p", "currentStepIndex": 1, "nextStepIndex": 2, "finalisingStep": "",
            "currentStepState": "StepPaused", "canaryRevision": "c", "canaryReplicas": 1, "canaryReadyReplicas": 0}}
    return doc


def go_normal(doc: dict) -> dict:
    """What the Go structs would write for ``doc`` (always-serialized fields present, zeros omitted)."""
    return to_dict(mark_new(load(doc)))


@SETTINGS
@given(doc=valid_alpha())
def test_valid_v1alpha1_round_trips_unchanged(doc: dict) -> None:
    assert validate_rollout(doc) == []
    beta = convert(doc, B)
    assert validate_rollout(beta) == []  # the hub view of a valid object is valid too
    assert convert(beta, A) == go_normal(doc)
    assert convert(convert(beta, A), B) == beta  # and the hub view is stable


@SETTINGS
@given(doc=valid_alpha())
def test_valid_v1beta1_canary_round_trips_through_v1alpha1(doc: dict) -> None:
    beta = convert(doc, B)
    beta["metadata"].pop("annotations")  # conversion re-derives them from the spec
    back = convert(convert(beta, A), B)
    assert back["spec"] == beta["spec"] and back.get("status") == beta.get("status")


@SETTINGS
@given(doc=any_doc, target=st.sampled_from([A, B]))
def test_an_owned_source_converts_exactly_like_a_copied_one(doc: dict, target: str) -> None:
    """The webhook's no-copy path (``owned=True``) gives the same answer, also after a round trip."""
    def outcome(source: dict, version: str, owned: bool) -> object:
        try:
            return convert(source, version, owned=owned)
        except ConversionError as e:
            return str(e)

    expected = outcome(doc, target, False)
    got = outcome(copy.deepcopy(doc), target, True)
    assert got == expected
    if isinstance(expected, dict) and isinstance(got, dict):
        other = B if target == A else A
        assert outcome(copy.deepcopy(got), other, True) == outcome(expected, other, False)


@SETTINGS
@given(doc=valid_alpha())
def test_an_owned_valid_rollout_converts_exactly_like_a_copied_one_both_ways(doc: dict) -> None:
    beta = convert(doc, B)
    assert convert(copy.deepcopy(doc), B, owned=True) == beta
    assert convert(copy.deepcopy(beta), A, owned=True) == convert(beta, A)


# ------------------------------------------------------------------ unknown fields anywhere, any kind
_MAPS = {"metadata", "labels", "annotations"}  # free-form maps, not structs


def _struct_nodes(node: Any, out: list[dict]) -> list[dict]:
    if isinstance(node, dict):
        out.append(node)
        for k, v in node.items():
            if k not in _MAPS:
                _struct_nodes(v, out)
    elif isinstance(node, list):
        for v in node:
            _struct_nodes(v, out)
    return out


@SETTINGS
@given(name=st.sampled_from(["rollout_v1beta1_spec.yaml", "rollout_v1alpha1_spec.yaml",
                             "batchrelease_v1beta1_spec.yaml", "trafficrouting_v1alpha1_spec.yaml",
                             "rollout_v1alpha1_seed_ab_fixed.yaml"]),
       data=st.data())
def test_unknown_fields_survive_anywhere(name: str, data: st.DataObject) -> None:
    from .conftest import load_sample

    doc = load_sample(name)
    nodes = _struct_nodes(doc, [])
    for _ in range(data.draw(st.integers(1, 3))):
        node = data.draw(st.sampled_from(nodes))
        node[data.draw(st.sampled_from(["zFuture", "x-extra", "newField"]))] = data.draw(json_value)
    assert to_dict(load(doc)) == doc
