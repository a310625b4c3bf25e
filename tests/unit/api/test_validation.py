"""Validation rules of api.md §7 — a table of invalid Rollouts and the field paths they are denied on."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from rollouts.api.validation import FieldError, ValidationSettings, format_errors, validate_rollout

from .conftest import load_sample

B = "rollouts.kruise.io/v1beta1"
A = "rollouts.kruise.io/v1alpha1"
STYLE = "rollouts.kruise.io/rolling-style"


def beta(**canary: Any) -> dict:
    return {"apiVersion": B, "kind": "Rollout", "metadata": {"name": "r", "namespace": "ns"},
            "spec": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"},
                     "strategy": {"canary": {"steps": [{"replicas": 1}], **canary}}}}


def alpha(style: str | None = None, **canary: Any) -> dict:
    doc = {"apiVersion": A, "kind": "Rollout", "metadata": {"name": "r", "namespace": "ns"},
           "spec": {"objectRef": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"}},
                    "strategy": {"canary": {"steps": [{"replicas": 1}], **canary}}}}
    if style is not None:
        doc["metadata"]["annotations"] = {STYLE: style}
    return doc


def with_(doc: dict, fn: Callable[[dict], Any]) -> dict:
    doc = copy.deepcopy(doc)
    fn(doc)
    return doc


def steps(*items: dict) -> list[dict]:
    return list(items)


ING = [{"service": "svc", "ingress": {"name": "ing"}}]
BLUE_GREEN = {"blueGreen": {"steps": [{"replicas": "50%", "traffic": "0%"}, {"replicas": "100%"}]}}

INVALID_V1BETA1 = [
    # rule 1/2: workload reference
    ("kind not supported", with_(beta(), lambda d: d["spec"]["workloadRef"].update(kind="Job", apiVersion="batch/v1")),
     ["spec.workloadRef"], "WorkloadRef kind is not supported"),
    ("core group pod", with_(beta(), lambda d: d["spec"]["workloadRef"].update(kind="Pod", apiVersion="v1")),
     ["spec.workloadRef"], "WorkloadRef kind is not supported"),
    ("blue-green on StatefulSet", with_(beta(), lambda d: (d["spec"].update(strategy=copy.deepcopy(BLUE_GREEN)),
                                                          d["spec"]["workloadRef"].update(kind="StatefulSet"))),
     ["spec.workloadRef"], "not supported for bluegreen style"),
    # rule 3
    ("no strategy", with_(beta(), lambda d: d["spec"].update(strategy={})), ["spec.strategy"], "cannot both be empty"),
    ("both strategies", with_(beta(), lambda d: d["spec"]["strategy"].update(copy.deepcopy(BLUE_GREEN))),
     ["spec.strategy"], "cannot both be set"),
    # rule 4
    ("no steps", beta(steps=[]), ["spec.strategy.canary.steps"], "cannot be empty"),
    # rule 5
    ("replicas missing", beta(steps=steps({"replicas": 1}, {"traffic": "10%"})),
     ["spec.strategy.canary.steps[1].replicas"], "replicas cannot be empty"),
    ("replicas zero", beta(steps=steps({"replicas": 0})), ["spec.strategy.canary.steps[0].replicas"], '"0%" <'),
    ("replicas 0%", beta(steps=steps({"replicas": "0%"})), ["spec.strategy.canary.steps[0].replicas"], "0%"),
    ("replicas negative", beta(steps=steps({"replicas": -1})), ["spec.strategy.canary.steps[0].replicas"], "positive"),
    ("replicas over 100%", beta(steps=steps({"replicas": "101%"})), ["spec.strategy.canary.steps[0].replicas"],
     "100%"),
    ("replicas not a percentage", beta(steps=steps({"replicas": "5"})), ["spec.strategy.canary.steps[0].replicas"],
     "percentage"),
    ("replicas garbage", beta(steps=steps({"replicas": "x%"})), ["spec.strategy.canary.steps[0].replicas"],
     "percentage"),
    ("only first bad step reported", beta(steps=steps({"replicas": 0}, {"replicas": -5})),
     ["spec.strategy.canary.steps[0].replicas"], "positive"),
    ("partition limit with traffic",
     beta(steps=steps({"replicas": "60%", "traffic": "10%"})),
     ["spec.strategy.canary.steps[0].replicas"], "partition-percent-limit"),
    ("partition limit with matches",
     beta(steps=steps({"replicas": "51%", "matches": [{"headers": [{"name": "h", "value": "v"}]}]})),
     ["spec.strategy.canary.steps[0].replicas"], "partition-percent-limit"),
    ("canary traffic 0%", beta(enableExtraWorkloadForCanary=True, steps=steps({"replicas": 1, "traffic": "0%"})),
     ["spec.strategy.canary.steps[0].traffic"], '"0%" < traffic <= "100%"'),
    ("canary traffic over 100", beta(enableExtraWorkloadForCanary=True,
                                     steps=steps({"replicas": 1, "traffic": "101%"})),
     ["spec.strategy.canary.steps[0].traffic"], "canary strategy"),
    ("traffic not a percentage", beta(steps=steps({"replicas": 1, "traffic": "5"})),
     ["spec.strategy.canary.steps[0].traffic"], "percentage"),
    ("blue-green traffic over 100", with_(beta(), lambda d: d["spec"].update(
        strategy={"blueGreen": {"steps": [{"replicas": "50%", "traffic": "101%"}]}})),
     ["spec.strategy.blueGreen.steps[0].traffic"], 'blueGreen strategy'),
    # rule 6
    ("decreasing ints", beta(steps=steps({"replicas": 2}, {"replicas": 1})), ["spec.strategy.canary.steps[1].replicas"],
     "non decreasing"),
    ("decreasing percents", beta(steps=steps({"replicas": "50%"}, {"replicas": "20%"})),
     ["spec.strategy.canary.steps[1].replicas"], "non decreasing"),
    # rule 7
    ("two traffic routings", beta(trafficRoutings=ING + ING), ["spec.strategy.canary.trafficRoutings"],
     "only support single TrafficRouting"),
    ("negative grace", beta(trafficRoutings=[{"service": "s", "gracePeriodSeconds": -1, "ingress": {"name": "i"}}]),
     ["spec.strategy.canary.trafficRoutings[0].gracePeriodSeconds"], "cannot be negative"),
    ("no service", beta(trafficRoutings=[{"service": "", "ingress": {"name": "i"}}]),
     ["spec.strategy.canary.trafficRoutings[0].service"], "Service cannot be empty"),
    ("no provider", beta(trafficRoutings=[{"service": "s"}]), ["spec.strategy.canary.trafficRoutings[0]"],
     "TrafficRoutings are not set"),
    ("ingress without name", beta(trafficRoutings=[{"service": "s", "ingress": {"name": ""}}]),
     ["spec.strategy.canary.trafficRoutings[0].ingress.name"], "Ingress.Ingress cannot be empty"),
    ("gateway without route", beta(trafficRoutings=[{"service": "s", "gateway": {}}]),
     ["spec.strategy.canary.trafficRoutings[0].gateway.httpRouteName"], "HTTPRoute"),
    ("gateway with empty route", beta(trafficRoutings=[{"service": "s", "gateway": {"httpRouteName": ""}}]),
     ["spec.strategy.canary.trafficRoutings[0].gateway.httpRouteName"], "HTTPRoute"),
    ("all routing errors reported", beta(trafficRoutings=[{"service": "", "gracePeriodSeconds": -2}]),
     ["spec.strategy.canary.trafficRoutings[0].gracePeriodSeconds", "spec.strategy.canary.trafficRoutings[0].service",
      "spec.strategy.canary.trafficRoutings[0]"], "cannot be negative"),
    ("ref and steps both reported", with_(beta(steps=[]), lambda d: d["spec"]["workloadRef"].update(kind="Job")),
     ["spec.workloadRef", "spec.strategy.canary.steps"], "not supported"),
    # decoding
    ("wrong JSON type", with_(beta(), lambda d: d["spec"]["strategy"]["canary"].update(steps="x")),
     ["spec.strategy.canary.steps"], "expected an array"),
    ("wrong kind", with_(beta(), lambda d: d.update(kind="Deployment")), ["kind"], "expected kind Rollout"),
    ("wrong version", with_(beta(), lambda d: d.update(apiVersion="rollouts.kruise.io/v2")), ["apiVersion"],
     "unsupported apiVersion"),
]

INVALID_V1ALPHA1 = [
    ("no workloadRef", with_(alpha(), lambda d: d["spec"]["objectRef"].clear()), ["spec.objectRef.workloadRef"],
     "WorkloadRef is required"),
    ("unsupported kind", with_(alpha(), lambda d: d["spec"]["objectRef"]["workloadRef"].update(kind="Job")),
     ["spec.objectRef.workloadRef"], "not supported"),
    ("bad rolling style", alpha(style="bluegreen"), [f"metadata.annotations[{STYLE}]"],
     "Rolling style must be 'Canary', 'Partition' or empty"),
    ("no canary", with_(alpha(), lambda d: d["spec"]["strategy"].clear()), ["spec.strategy.canary"],
     "Canary cannot be empty"),
    ("no steps", alpha(steps=[]), ["spec.strategy.canary.steps"], "cannot be empty"),
    ("weight and replicas empty", alpha(steps=[{"pause": {}}]), ["spec.strategy.canary.steps[0]"],
     "weight and replicas cannot be empty"),
    ("replicas zero", alpha(steps=[{"replicas": 0}]), ["spec.strategy.canary.steps[0].replicas"], "positive"),
    ("partition replicas over limit with weight", alpha(style="partition", steps=[{"replicas": "60%", "weight": 10}]),
     ["spec.strategy.canary.steps[0].replicas"], "replicasLimitWithTraffic"),
    ("partition weight over limit", alpha(style="partition", steps=[{"weight": 60}]),
     ["spec.strategy.canary.steps[0].weight"], "replicasLimitWithTraffic"),
    ("weight zero", alpha(steps=[{"weight": 0}]), ["spec.strategy.canary.steps[0].weight"], "positive"),
    ("weight over 100", alpha(steps=[{"weight": 101}]), ["spec.strategy.canary.steps[0].weight"], "100"),
    ("non-Deployment is partition", with_(alpha(steps=[{"weight": 60}]), lambda d: d["spec"]["objectRef"][
        "workloadRef"].update(apiVersion="apps.kruise.io/v1alpha1", kind="CloneSet")),
     ["spec.strategy.canary.steps[0].weight"], "replicasLimitWithTraffic"),
    ("decreasing weight with routing", alpha(trafficRoutings=ING, steps=[{"weight": 20, "replicas": 1},
                                                                          {"weight": 10, "replicas": 2}]),
     ["spec.strategy.canary.steps[1].weight"], "Steps.Weight must be a non decreasing sequence"),
    ("weight stands in for replicas", alpha(steps=[{"replicas": "40%"}, {"weight": 30}]),
     ["spec.strategy.canary.steps[1].replicas"], "non decreasing"),
    ("traffic routing rules shared", alpha(trafficRoutings=[{"service": "", "ingress": {"name": "i"}}]),
     ["spec.strategy.canary.trafficRoutings[0].service"], "Service cannot be empty"),
]


@pytest.mark.parametrize(("name", "doc", "paths", "fragment"), INVALID_V1BETA1 + INVALID_V1ALPHA1,
                         ids=[c[0] for c in INVALID_V1BETA1 + INVALID_V1ALPHA1])
def test_invalid_rollouts_are_rejected(name: str, doc: dict, paths: list[str], fragment: str) -> None:
    errors = validate_rollout(doc)
    assert [e.field for e in errors] == paths, format_errors(errors)
    assert fragment in errors[0].detail
    assert all(isinstance(e, FieldError) and e.type in ("Invalid", "Required", "Forbidden") for e in errors)


VALID = [
    ("absolute replicas may exceed 100", beta(steps=steps({"replicas": 150}))),
    ("mixed kinds are not compared", beta(steps=steps({"replicas": "50%"}, {"replicas": 2}, {"replicas": "40%"}))),
    ("blue-green allows traffic 0%", with_(beta(), lambda d: d["spec"].update(strategy=copy.deepcopy(BLUE_GREEN)))),
    ("blue-green on CloneSet", with_(beta(), lambda d: (
        d["spec"].update(strategy=copy.deepcopy(BLUE_GREEN)),
        d["spec"]["workloadRef"].update(apiVersion="apps.kruise.io/v1alpha1", kind="CloneSet")))),
    ("canary style ignores partition limit", beta(enableExtraWorkloadForCanary=True,
                                                 steps=steps({"replicas": "80%", "traffic": "80%"}))),
    ("partition percent without traffic", beta(steps=steps({"replicas": "80%"}))),
    ("partition int replicas with traffic", beta(steps=steps({"replicas": 8, "traffic": "80%"}))),
    ("gateway", beta(trafficRoutings=[{"service": "s", "gateway": {"httpRouteName": "h"}}])),
    ("custom refs", beta(trafficRoutings=[{"service": "s", "customNetworkRefs": [
        {"apiVersion": "networking.istio.io/v1beta1", "kind": "VirtualService", "name": "vs"}]}])),
    ("advanced statefulset v1beta1", with_(beta(), lambda d: d["spec"]["workloadRef"].update(
        apiVersion="apps.kruise.io/v1beta1", kind="StatefulSet"))),
    ("v1alpha1 canary style weight 100", alpha(style="Canary", steps=[{"weight": 100}])),
    ("v1alpha1 empty style", alpha(steps=[{"weight": 10}, {"weight": 80}])),
    ("v1alpha1 no routing: weights not compared", alpha(steps=[{"weight": 20, "replicas": 1},
                                                               {"weight": 10, "replicas": 2}])),
]


@pytest.mark.parametrize(("name", "doc"), VALID, ids=[c[0] for c in VALID])
def test_valid_rollouts_pass(name: str, doc: dict) -> None:
    errors = validate_rollout(doc)
    assert errors == [], format_errors(errors)


def test_settings_change_the_limits() -> None:
    doc = beta(steps=steps({"replicas": "60%", "traffic": "10%"}))
    assert validate_rollout(doc, settings=ValidationSettings(partition_percent_limit=60)) == []
    job = with_(beta(), lambda d: d["spec"]["workloadRef"].update(kind="Job", apiVersion="batch/v1"))
    assert validate_rollout(job, settings=ValidationSettings(filter_workload_type=False)) == []


class TestConflict:
    def test_same_workload_in_namespace_conflicts(self) -> None:
        other = with_(beta(), lambda d: d["metadata"].update(name="other"))
        errors = validate_rollout(beta(), others=[beta(), other])
        assert [e.field for e in errors] == ["spec.workloadRef"]
        assert "This rollout conflict with Rollout(ns/other), one workload only have less than one Rollout" in str(
            errors[0])

    def test_other_versions_and_namespaces(self) -> None:
        other_alpha = with_(alpha(), lambda d: d["metadata"].update(name="other"))
        assert validate_rollout(beta(), others=[other_alpha])
        elsewhere = with_(beta(), lambda d: d["metadata"].update(name="other", namespace="elsewhere"))
        different = with_(beta(), lambda d: (d["metadata"].update(name="o"), d["spec"]["workloadRef"].update(name="x")))
        assert validate_rollout(beta(), others=[elsewhere, different]) == []

    def test_v1alpha1_conflict_path(self) -> None:
        errors = validate_rollout(alpha(), others=[with_(beta(), lambda d: d["metadata"].update(name="o"))])
        assert [e.field for e in errors] == ["spec.objectRef.workloadRef"]


def _progressing(doc: dict, phase: str = "Progressing") -> dict:
    return with_(doc, lambda d: d.update(status={"phase": phase, "currentStepIndex": 1, "currentStepState": "x"}))


class TestUpdate:
    @pytest.mark.parametrize(
        ("change", "path", "fragment"),
        [
            (lambda d: d["spec"]["workloadRef"].update(name="other"), "spec.workloadRef",
             "'ObjectRef' field is immutable"),
            (lambda d: d["spec"]["strategy"]["canary"]["trafficRoutings"][0].update(service="x"),
             "spec.strategy.canary.trafficRoutings", "TrafficRoutings' field is immutable"),
            (lambda d: d["spec"]["strategy"]["canary"].update(enableExtraWorkloadForCanary=True),
             "spec.strategy.canary", "Rollout style and enableExtraWorkloadForCanary are immutable"),
            (lambda d: d["spec"]["strategy"]["canary"]["steps"].append({"replicas": 5}),
             "spec.strategy.canary.steps", "Amount of Rollout steps are immutable"),
        ],
    )
    @pytest.mark.parametrize("phase", ["Progressing", "Terminating"])
    def test_frozen_while_progressing(self, change, path, fragment, phase) -> None:
        old = _progressing(beta(trafficRoutings=ING), phase)
        new = with_(old, change)
        errors = validate_rollout(new, old)
        assert [(e.field, e.type) for e in errors] == [(path, "Forbidden")]
        assert fragment in errors[0].detail

    def test_step_contents_may_change(self) -> None:
        old = _progressing(beta(trafficRoutings=ING, steps=[{"replicas": 1}, {"replicas": 2}]))
        new = with_(old, lambda d: d["spec"]["strategy"]["canary"]["steps"][1].update(replicas=3,
                                                                                     pause={"duration": 5}))
        assert validate_rollout(new, old) == []

    @pytest.mark.parametrize("phase", ["Healthy", "Initial", "Disabled", ""])
    def test_anything_goes_when_not_progressing(self, phase) -> None:
        old = _progressing(beta(trafficRoutings=ING), phase)
        new = with_(old, lambda d: d["spec"]["workloadRef"].update(name="other"))
        assert validate_rollout(new, old) == []

    def test_latest_phase_overrides_old(self) -> None:
        old = _progressing(beta(), "Healthy")
        new = with_(old, lambda d: d["spec"]["workloadRef"].update(name="other"))
        assert [e.field for e in validate_rollout(new, old, latest_phase="Progressing")] == ["spec.workloadRef"]

    def test_new_object_errors_come_first(self) -> None:
        old = _progressing(beta())
        new = with_(old, lambda d: (d["spec"]["workloadRef"].update(name="other"),
                                    d["spec"]["strategy"]["canary"].update(steps=[])))
        assert [e.field for e in validate_rollout(new, old)] == ["spec.strategy.canary.steps"]

    @pytest.mark.parametrize(
        ("change", "path"),
        [
            (lambda d: d["spec"]["objectRef"]["workloadRef"].update(name="x"), "spec.objectRef"),
            (lambda d: d["spec"]["strategy"]["canary"]["trafficRoutings"][0]["ingress"].update(name="x"),
             "spec.strategy.canary.trafficRoutings"),
            (lambda d: d["metadata"]["annotations"].update({STYLE: "canary"}), f"metadata.annotations[{STYLE}]"),
        ],
    )
    def test_v1alpha1_frozen_while_progressing(self, change, path) -> None:
        old = _progressing(alpha(style="partition", trafficRoutings=ING))
        new = with_(old, change)
        assert [(e.field, e.type) for e in validate_rollout(new, old)] == [(path, "Forbidden")]

    def test_v1alpha1_style_compare_is_case_insensitive(self) -> None:
        old = _progressing(alpha(style="partition"))
        new = with_(old, lambda d: d["metadata"]["annotations"].update({STYLE: "Partition"}))
        assert validate_rollout(new, old) == []

    def test_old_in_other_version_is_converted(self) -> None:
        old = _progressing(alpha(style="partition", trafficRoutings=ING))
        new = with_(beta(trafficRoutings=ING), lambda d: d["spec"]["workloadRef"].update(name="x"))
        assert [e.field for e in validate_rollout(new, old)] == ["spec.workloadRef"]


def test_format_errors() -> None:
    assert format_errors([]) == ""
    one = validate_rollout(beta(steps=[{"replicas": 0}]))
    assert format_errors(one) == (
        'spec.strategy.canary.steps[0].replicas: Invalid value: 0: replicas must be positive number, or a percentage '
        'with "0%" < canaryReplicas <= "100%"; e.g. 1 or "20%"'
    )
    two = validate_rollout(beta(trafficRoutings=[{"service": ""}]))
    text = format_errors(two)
    assert text.startswith("[spec.strategy.canary.trafficRoutings[0].service: Required value: ") and text.endswith("]")


def test_spec_and_seed_samples_are_valid() -> None:
    for name in ("rollout_v1beta1_spec.yaml", "rollout_v1alpha1_spec.yaml", "rollout_v1alpha1_seed_canary.yaml"):
        assert validate_rollout(load_sample(name)) == []


def test_conflict_when_the_object_has_no_namespace_yet() -> None:
    doc = with_(beta(), lambda d: d["metadata"].pop("namespace"))
    other = with_(beta(), lambda d: d["metadata"].update(name="other"))
    errors = validate_rollout(doc, others=[other])
    assert "Rollout(ns/other)" in errors[0].detail
    elsewhere = with_(other, lambda d: d["metadata"].update(namespace="elsewhere"))
    assert validate_rollout(doc, others=[elsewhere], namespace="ns") == []


def test_decode_errors_are_available_separately() -> None:
    from rollouts.api.validation import decode_errors

    assert decode_errors(beta()) == []
    bad = with_(beta(), lambda d: d["spec"].update(disabled="yes"))
    assert [e.field for e in decode_errors(bad)] == ["spec.disabled"]
    assert [e.field for e in decode_errors([])] == [""]
