"""Wire mapping: names, omitempty, unknown-field preservation, strict decoding, IntOrString."""

from __future__ import annotations

import copy

import pytest

from rollouts.api import DecodeError, IntOrString, dump, from_dict, load, to_dict
from rollouts.api import v1beta1 as b
from rollouts.api.common import RolloutPause, TrafficRoutingRef
from rollouts.api.status import CanaryStatus
from rollouts.api.wire import converter, mark_new


def test_snake_case_attributes_map_to_camel_case_keys(v1beta1_rollout: dict) -> None:
    r = load(v1beta1_rollout)
    assert r.spec.workload_ref.api_version == "apps/v1"
    assert r.spec.strategy.canary.enable_extra_workload_for_canary is True
    assert r.spec.strategy.canary.traffic_routings[0].grace_period_seconds == 3
    assert r.spec.strategy.canary.steps[1].replicas == IntOrString("50%")


def test_cattrs_converter_uses_the_same_hooks(v1beta1_rollout: dict) -> None:
    r = converter.structure(v1beta1_rollout, b.Rollout)
    assert converter.unstructure(r) == v1beta1_rollout


def test_unknown_fields_survive_at_every_level(v1beta1_rollout: dict) -> None:
    doc = copy.deepcopy(v1beta1_rollout)
    doc["futureTop"] = {"x": 1}
    doc["spec"]["futureSpec"] = [1, 2]
    doc["spec"]["workloadRef"]["futureRef"] = "y"
    doc["spec"]["strategy"]["futureStrategy"] = True
    doc["spec"]["strategy"]["canary"]["futureCanary"] = None
    doc["spec"]["strategy"]["canary"]["steps"][0]["futureStep"] = {"deep": {"er": [1]}}
    doc["spec"]["strategy"]["canary"]["steps"][0]["pause"]["futurePause"] = 1
    doc["spec"]["strategy"]["canary"]["trafficRoutings"][0]["ingress"]["futureIngress"] = "z"
    doc["status"] = {"currentStepIndex": 1, "currentStepState": "StepPaused", "futureStatus": 7,
                     "canaryStatus": {"podTemplateHash": "h", "nextStepIndex": 2, "finalisingStep": "",
                                      "currentStepState": "StepPaused", "canaryRevision": "r",
                                      "canaryReplicas": 1, "canaryReadyReplicas": 1, "futureSub": "s"}}
    r = load(doc)
    # Modify something and write back: the unknown fields are still there.
    r.spec.strategy.paused = True
    out = dump(r)
    assert out["spec"]["strategy"]["paused"] is True
    del out["spec"]["strategy"]["paused"]
    assert out == doc


def test_unknown_fields_never_override_known_ones() -> None:
    r = from_dict(RolloutPause, {"duration": 5})
    r._extra["duration"] = 99
    assert to_dict(r) == {"duration": 5}


def test_loaded_objects_keep_explicit_zero_values() -> None:
    doc = {"service": "s", "gracePeriodSeconds": 0, "ingress": {"name": "i", "classType": ""}}
    assert to_dict(from_dict(TrafficRoutingRef, doc)) == doc


def test_loaded_objects_do_not_gain_always_serialized_defaults(v1beta1_rollout: dict) -> None:
    out = dump(load(v1beta1_rollout))
    assert "disabled" not in out["spec"]
    assert "pause" not in out["spec"]["strategy"]["canary"]["steps"][2]


def test_new_objects_follow_go_encoding() -> None:
    step = b.CanaryStep(replicas=IntOrString(1))
    assert to_dict(step) == {"replicas": 1, "pause": {}}
    status = b.RolloutStatus()
    assert to_dict(status) == {"currentStepIndex": 0, "currentStepState": ""}
    sub = CanaryStatus()
    assert to_dict(sub) == {"podTemplateHash": "", "currentStepIndex": 0, "nextStepIndex": 0, "finalisingStep": "",
                            "currentStepState": "", "canaryRevision": "", "canaryReplicas": 0,
                            "canaryReadyReplicas": 0}
    spec = b.RolloutSpec()
    assert to_dict(spec) == {"workloadRef": {"apiVersion": "", "kind": "", "name": ""}, "strategy": {},
                             "disabled": False}


def test_mark_new_switches_a_loaded_object_to_go_encoding(v1beta1_rollout: dict) -> None:
    out = to_dict(mark_new(load(v1beta1_rollout)))
    assert out["spec"]["disabled"] is False
    assert out["spec"]["strategy"]["canary"]["steps"][2]["pause"] == {}


def test_becoming_non_zero_is_emitted_on_loaded_objects(v1beta1_rollout: dict) -> None:
    r = load(v1beta1_rollout)
    r.spec.disabled = True
    r.spec.strategy.canary.steps[2].pause.duration = 10
    out = dump(r)
    assert out["spec"]["disabled"] is True
    assert out["spec"]["strategy"]["canary"]["steps"][2]["pause"] == {"duration": 10}


def test_none_means_absent(v1beta1_rollout: dict) -> None:
    r = load(v1beta1_rollout)
    r.spec.strategy.canary.steps[0].traffic = None
    assert "traffic" not in dump(r)["spec"]["strategy"]["canary"]["steps"][0]


def test_input_is_not_aliased(v1beta1_rollout: dict) -> None:
    doc = copy.deepcopy(v1beta1_rollout)
    doc["metadata"]["labels"] = {"a": "b"}
    r = load(doc)
    r.metadata["labels"]["a"] = "changed"
    assert doc["metadata"]["labels"]["a"] == "b"


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda d: d["spec"].__setitem__("disabled", "yes"), "spec.disabled"),
        (lambda d: d["spec"]["strategy"]["canary"]["steps"][1].__setitem__("replicas", 1.5),
         "spec.strategy.canary.steps[1].replicas"),
        (lambda d: d["spec"]["strategy"]["canary"]["steps"][0]["pause"].__setitem__("duration", "5"),
         "spec.strategy.canary.steps[0].pause.duration"),
        (lambda d: d["spec"]["strategy"]["canary"].__setitem__("steps", {}), "spec.strategy.canary.steps"),
        (lambda d: d["spec"].__setitem__("workloadRef", "x"), "spec.workloadRef"),
        (lambda d: d["spec"]["strategy"]["canary"]["steps"][0].__setitem__("replicas", True),
         "spec.strategy.canary.steps[0].replicas"),
    ],
)
def test_decode_errors_name_the_field(v1beta1_rollout: dict, mutate, path: str) -> None:
    mutate(v1beta1_rollout)
    with pytest.raises(DecodeError) as exc:
        load(v1beta1_rollout)
    assert exc.value.path == path


def test_decode_error_message_and_root_path(v1beta1_rollout: dict) -> None:
    v1beta1_rollout["spec"]["strategy"]["canary"]["steps"][1]["replicas"] = 1.5
    with pytest.raises(DecodeError) as exc:
        load(v1beta1_rollout)
    assert str(exc.value) == "spec.strategy.canary.steps[1].replicas: expected an integer or a string, got number"
    assert exc.value.__cause__ is None and exc.value.__suppress_context__
    with pytest.raises(DecodeError, match=r"^<root>: expected an object, got array$"):
        from_dict(b.Rollout, [])  # type: ignore[arg-type]


def test_decode_reports_the_first_bad_field_in_declaration_order(v1beta1_rollout: dict) -> None:
    """Two bad fields: the one declared first is named, whatever the key order of the input."""
    spec = v1beta1_rollout["spec"]
    spec["disabled"] = "yes"
    spec["workloadRef"] = "x"
    first = None
    for order in (list(spec), list(reversed(spec))):
        v1beta1_rollout["spec"] = {k: spec[k] for k in order}
        with pytest.raises(DecodeError) as exc:
            load(v1beta1_rollout)
        first = first or exc.value.path
        assert exc.value.path == first == "spec.workloadRef"


def test_decoded_unknown_values_are_copies_of_any_json_shape() -> None:
    raw = {"gracePeriodSeconds": 0, "service": "s", "x": {"a": [1, 2.5, None, True, {"b": "c"}]}}
    ref = from_dict(TrafficRoutingRef, raw)
    assert to_dict(ref) == raw
    raw["x"]["a"][4]["b"] = "changed"
    assert to_dict(ref)["x"]["a"][4] == {"b": "c"}


def test_load_rejects_unknown_kinds() -> None:
    with pytest.raises(DecodeError):
        load({"apiVersion": "rollouts.kruise.io/v1beta1", "kind": "TrafficRouting"})


class TestIntOrString:
    @pytest.mark.parametrize(
        ("value", "total", "up", "expected"),
        [(5, 10, True, 5), ("50%", 5, True, 3), ("50%", 5, False, 2), ("100%", 7, True, 7), ("0%", 9, True, 0),
         ("+20%", 10, True, 2), ("1%", 1, True, 1), ("1%", 1, False, 0), ("150%", 10, True, 15)],
    )
    def test_scaled_value(self, value, total, up, expected) -> None:
        assert IntOrString(value).scaled_value(total, up) == expected

    @pytest.mark.parametrize("value", ["5", "a%", "%", "5 %", " 5%", "1_0%", "5.5%"])
    def test_scaled_value_rejects_non_percentages(self, value) -> None:
        with pytest.raises(ValueError):
            IntOrString(value).scaled_value(10, True)

    def test_rejects_bool_and_float(self) -> None:
        with pytest.raises(TypeError):
            IntOrString(True)
        with pytest.raises(TypeError):
            IntOrString(1.0)  # type: ignore[arg-type]

    def test_kinds(self) -> None:
        assert IntOrString(3).is_int and not IntOrString(3).is_percent
        assert IntOrString("3%").is_percent and not IntOrString("3%").is_int
        assert not IntOrString("3").is_int and not IntOrString("3").is_percent


class TestGoJson:
    """``go_json`` reproduces Go ``encoding/json`` — checked against the spec's plan-hash test vector."""

    VECTOR_JSON = (
        '{"steps":[{"traffic":"5%","replicas":1,"pause":{}},{"traffic":"20%","replicas":2,"pause":{}},'
        '{"traffic":"60%","replicas":6,"pause":{}},{"traffic":"100%","replicas":10,"pause":{}}],'
        '"trafficRoutings":[{"service":"echoserver","ingress":{"name":"echoserver"}}],'
        '"enableExtraWorkloadForCanary":true}'
    )
    VECTOR_HASH = "75746v7d5z9x59v5c7dff4wd9cv9cc28czf6c2z664w7zbb7vw2bzv76v99z6bd9"

    def test_rollout_hash_vector(self) -> None:
        import hashlib

        from rollouts.api.common import IngressTrafficRouting
        from rollouts.api.wire import go_json

        canary = b.CanaryStrategy(
            steps=[b.CanaryStep(traffic=t, replicas=IntOrString(r)) for t, r in
                   (("5%", 1), ("20%", 2), ("60%", 6), ("100%", 10))],
            traffic_routings=[TrafficRoutingRef(service="echoserver",
                                                ingress=IngressTrafficRouting(name="echoserver"))],
            enable_extra_workload_for_canary=True,
        )
        text = go_json(canary)
        assert text == self.VECTOR_JSON
        digest = hashlib.sha256(text.encode()).hexdigest()
        assert "".join("bcdfghjklmnpqrstvwxz2456789"[ord(c) % 27] for c in digest) == self.VECTOR_HASH

    def test_loaded_objects_encode_like_go(self, v1beta1_rollout: dict) -> None:
        from rollouts.api.wire import go_dict, go_json

        r = load(v1beta1_rollout)
        r.spec.strategy.canary._extra["unknown"] = 1
        d = go_dict(r.spec)
        assert d["disabled"] is False and "unknown" not in d["strategy"]["canary"]
        assert d["strategy"]["canary"]["steps"][2]["pause"] == {}
        meta = b.Rollout(metadata={"labels": {"b": "<&>", "a": "\u2028"}})
        assert go_json(meta).startswith(
            '{"apiVersion":"rollouts.kruise.io/v1beta1","kind":"Rollout","metadata":{"labels":{"a":"\\u2028",'
            '"b":"\\u003c\\u0026\\u003e"}}')


def test_object_accessors_tolerate_malformed_metadata() -> None:
    from rollouts.api import v1alpha1 as a

    r = b.Rollout(metadata={"name": "n", "namespace": "ns", "labels": {"a": "b", "bad": 1}, "annotations": []})
    assert (r.name, r.namespace, r.labels, r.annotations) == ("n", "ns", {"a": "b"}, {})
    assert a.TrafficRouting().name == "" and a.RolloutHistory(metadata={"labels": {"x": "y"}}).labels == {"x": "y"}


def test_go_never_omits_structs_and_pointer_members_count(v1beta1_rollout: dict) -> None:
    from rollouts.api import v1alpha1 as a
    from rollouts.api.wire import go_dict

    r = load(v1beta1_rollout)
    r.spec.strategy.canary.steps[2].pause.duration = 0  # step had no pause key
    assert dump(r)["spec"]["strategy"]["canary"]["steps"][2]["pause"] == {"duration": 0}
    # omitempty on a struct-typed field has no effect in Go.
    assert to_dict(a.RolloutHistory())["spec"] == {"rollout": {"name": ""}, "workload": {"name": ""},
                                                   "service": {"name": ""}, "trafficRouting": {}}
    assert go_dict(a.RolloutHistory())["spec"]["trafficRouting"] == {}
