"""What the webhook answers beyond upstream's rules: features not built yet, our stricter rules, warnings.

Every row asserts the field path, the complaint and the fix text, because a user reads all three.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from rollouts.api import unsupported
from rollouts.api.field_errors import FORBIDDEN, INVALID
from rollouts.api.validation import ValidationSettings, format_errors, review_rollout, validate_rollout

from .conftest import load_sample

B = "rollouts.kruise.io/v1beta1"
A = "rollouts.kruise.io/v1alpha1"
STYLE = "rollouts.kruise.io/rolling-style"
ING = [{"service": "svc", "ingress": {"name": "ing"}}]
GW = [{"service": "svc", "gateway": {"httpRouteName": "route"}}]
DEMO = Path(__file__).resolve().parents[3] / "deploy" / "demo"


def beta(ref: dict[str, str] | None = None, **canary: Any) -> dict[str, Any]:
    return {"apiVersion": B, "kind": "Rollout", "metadata": {"name": "r", "namespace": "ns"},
            "spec": {"workloadRef": ref or {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"},
                     "strategy": {"canary": {"steps": [{"replicas": 1}], **canary}}}}


def alpha(style: str | None = "partition", annotations: dict[str, str] | None = None, **canary: Any) -> dict[str, Any]:
    anns = {**({STYLE: style} if style is not None else {}), **(annotations or {})}
    return {"apiVersion": A, "kind": "Rollout", "metadata": {"name": "r", "namespace": "ns", "annotations": anns},
            "spec": {"objectRef": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"}},
                     "strategy": {"canary": {"steps": [{"replicas": 1}], **canary}}}}


def blue_green() -> dict[str, Any]:
    doc = beta()
    doc["spec"]["strategy"] = {"blueGreen": {"steps": [{"replicas": "50%"}, {"replicas": "100%"}]}}
    return doc


# (id, object, field, words of the complaint, words of the fix)
NOT_BUILT = [
    ("step header modifier", beta(trafficRoutings=ING, steps=[{"replicas": 1, "requestHeaderModifier": {
        "set": [{"name": "h", "value": "v"}]}}]), "spec.strategy.canary.steps[0].requestHeaderModifier",
     "request header modification", "remove requestHeaderModifier"),
    ("gateway without canary Service", beta(trafficRoutings=GW, disableGenerateCanaryService=True),
     "spec.strategy.canary.disableGenerateCanaryService", "with a Gateway API HTTPRoute (trafficRoutings[0].gateway)",
     "remove disableGenerateCanaryService"),
    ("v1alpha1 gateway without canary Service", alpha(trafficRoutings=GW, disableGenerateCanaryService=True),
     "spec.strategy.canary.disableGenerateCanaryService", "with a Gateway API HTTPRoute",
     "route through an Ingress or customNetworkRefs"),
    ("blue-green gateway without canary Service", {**blue_green(), "spec": {**blue_green()["spec"], "strategy": {
        "blueGreen": {"steps": [{"replicas": "50%", "traffic": "0%"}, {"replicas": "100%"}], "trafficRoutings": GW,
                      "disableGenerateCanaryService": True}}}},
     "spec.strategy.blueGreen.disableGenerateCanaryService", "trafficRoutings[0].gateway",
     "restoring the route would delete your rules"),
]

#: mse and custom (Lua) providers apply requestHeaderModifier; the row only refuses it elsewhere.
MODIFIER_OK = beta(trafficRoutings=[{"service": "s", "ingress": {"name": "i", "classType": "mse"}}],
                   steps=[{"replicas": 1, "traffic": "5%",
                           "requestHeaderModifier": {"set": [{"name": "h", "value": "v"}]}}])


#: Built by issue 11 (nginx Ingress routing, weights, A/B matches) and issue 12 (Gateway API HTTPRoute):
#: admitted without a word.
TRAFFIC_OK = [
    ("nginx ingress with weights", beta(trafficRoutings=ING, steps=[{"replicas": 1, "traffic": "5%"},
                                                                    {"replicas": "100%"}])),
    ("classType nginx", beta(trafficRoutings=[{"service": "s", "ingress": {"name": "i", "classType": "nginx"}}],
                             steps=[{"replicas": 1, "traffic": "5%"}])),
    ("A/B matches", beta(trafficRoutings=ING, steps=[{"replicas": 1, "matches": [{"headers": [
        {"name": "user-agent", "value": "pc"}]}]}, {"replicas": "50%"}])),
    ("v1alpha1 weight", alpha(trafficRoutings=ING, steps=[{"replicas": 1, "weight": 5}])),
    ("gateway weights", beta(trafficRoutings=GW, steps=[{"replicas": 1, "traffic": "20%"}, {"replicas": "100%"}])),
    ("gateway path and query matches", beta(trafficRoutings=GW, steps=[{"replicas": 1, "matches": [
        {"path": {"type": "PathPrefix", "value": "/v2"}}, {"queryParams": [{"name": "canary", "value": "1"}]}]}])),
    ("disableGenerateCanaryService with an Ingress", beta(trafficRoutings=ING, disableGenerateCanaryService=True,
                                                          steps=[{"replicas": 1, "traffic": "5%"}])),
    ("v1alpha1 gateway", alpha(trafficRoutings=[{"service": "svc", "gateway": {"httpRouteName": "h"}}],
                               steps=[{"replicas": 1, "weight": 5}])),
    ("custom network refs", beta(trafficRoutings=[{"service": "svc", "customNetworkRefs": [
        {"apiVersion": "networking.istio.io/v1alpha3", "kind": "VirtualService", "name": "vs"}]}],
        steps=[{"replicas": 1, "traffic": "20%"}])),
    ("v1alpha1 custom refs, header modifier", alpha(trafficRoutings=[{"service": "svc", "customNetworkRefs": [
        {"apiVersion": "networking.istio.io/v1beta1", "kind": "DestinationRule", "name": "dr"}]}],
        steps=[{"replicas": 1, "weight": 5, "requestHeaderModifier": {"set": [{"name": "h", "value": "v"}]}}])),
]


@pytest.mark.parametrize("doc", [r[1] for r in TRAFFIC_OK], ids=[r[0] for r in TRAFFIC_OK])
def test_nginx_traffic_routing_is_admitted(doc: dict) -> None:
    review = review_rollout(copy.deepcopy(doc))
    assert review.errors == [], format_errors(review.errors)


@pytest.mark.parametrize("doc, field, what, fix", [r[1:] for r in NOT_BUILT], ids=[r[0] for r in NOT_BUILT])
def test_features_not_built_are_refused_naming_field_and_fix(doc: dict, field: str, what: str, fix: str) -> None:
    errors = review_rollout(copy.deepcopy(doc)).errors
    mine = [e for e in errors if e.field == field]
    assert mine, format_errors(errors)
    assert mine[0].type == FORBIDDEN
    assert what in mine[0].detail and "is not yet supported by this controller" in mine[0].detail
    assert fix in mine[0].detail
    assert validate_rollout(copy.deepcopy(doc)) == []  # upstream accepts every one of them


def test_every_row_of_the_table_is_exercised() -> None:
    """A row without a test would silently refuse something; deleting a row must delete its test."""
    covered = {re.sub(r"steps\[\d+\]", "steps[{i}]", r[2]) for r in NOT_BUILT}
    for row in unsupported.NOT_BUILT:
        assert row.field.format(strategy="canary", i="{i}") in covered, row.field


TR_ANNOTATION = {"rollouts.kruise.io/trafficrouting": "tr"}
#: Issue 12 item 6 built the TrafficRouting object: a Rollout naming one is admitted (its steps may
#: carry weights, which the object's strategy replaces, as upstream's e2e Rollouts do).
TRAFFIC_ROUTING_OBJECT_OK = [
    ("v1alpha1 annotation", alpha(annotations=TR_ANNOTATION, steps=[{"replicas": 1, "weight": 5}])),
    ("v1beta1 trafficRoutingRef", beta(trafficRoutingRef="tr")),
    ("v1beta1 annotation", {**beta(), "metadata": {"name": "r", "namespace": "ns", "annotations": TR_ANNOTATION}}),
]


@pytest.mark.parametrize("doc", [r[1] for r in TRAFFIC_ROUTING_OBJECT_OK],
                         ids=[r[0] for r in TRAFFIC_ROUTING_OBJECT_OK])
def test_a_rollout_naming_a_trafficrouting_object_is_admitted(doc: dict) -> None:
    review = review_rollout(copy.deepcopy(doc))
    assert review.errors == [], format_errors(review.errors)


BOTH_ROUTINGS = [
    ("v1alpha1 annotation", alpha(annotations=TR_ANNOTATION, trafficRoutings=ING), "spec.strategy.canary",
     "metadata.annotations[rollouts.kruise.io/trafficrouting]"),
    ("v1beta1 trafficRoutingRef", beta(trafficRoutingRef="tr", trafficRoutings=ING), "spec.strategy.canary",
     "spec.strategy.canary.trafficRoutingRef"),
]


@pytest.mark.parametrize("doc, path, other", [r[1:] for r in BOTH_ROUTINGS], ids=[r[0] for r in BOTH_ROUTINGS])
def test_own_traffic_routings_and_a_trafficrouting_object_are_refused_together(doc: dict, path: str,
                                                                              other: str) -> None:
    errors = review_rollout(copy.deepcopy(doc)).errors
    assert [e.field for e in errors] == [f"{path}.trafficRoutings"], format_errors(errors)
    assert errors[0].type == INVALID
    assert f"cannot be set together with {other}" in errors[0].detail
    assert f"remove {path}.trafficRoutings" in errors[0].detail


CANARY_STYLE_OK = [
    ("v1beta1 enableExtraWorkloadForCanary", beta(enableExtraWorkloadForCanary=True)),
    ("v1alpha1 without rolling-style is canary", alpha(style=None)),
    ("v1alpha1 rolling-style canary", alpha(style="Canary")),
    ("v1alpha1 rolling-style canary lower case", alpha(style="canary", steps=[{"replicas": 1}, {"replicas": "40%"}])),
]


@pytest.mark.parametrize("doc", [r[1] for r in CANARY_STYLE_OK], ids=[r[0] for r in CANARY_STYLE_OK])
def test_canary_style_with_an_extra_deployment_is_accepted(doc: dict) -> None:
    """Issue 11: the canary Deployment executor is built, so its row left the table."""
    assert review_rollout(copy.deepcopy(doc)).errors == []


def test_canary_style_on_non_deployment_is_partition_and_accepted() -> None:
    """Upstream runs enableExtraWorkloadForCanary on other kinds as a partition release: that we can do."""
    doc = beta(ref={"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "s"}, enableExtraWorkloadForCanary=True)
    assert review_rollout(doc).errors == []


PARTITION_OK = [
    ("v1beta1 partition", beta(steps=[{"replicas": 1}, {"replicas": "50%"}, {"replicas": "100%"}])),
    ("v1alpha1 rolling-style partition", alpha(steps=[{"replicas": 1}, {"replicas": "100%"}])),
    ("v1alpha1 PARTITION any case", alpha(style="PARTITION")),
    ("v1alpha1 CloneSet without style", {**alpha(style=None), "spec": {
        "objectRef": {"workloadRef": {"apiVersion": "apps.kruise.io/v1alpha1", "kind": "CloneSet", "name": "c"}},
        "strategy": {"canary": {"steps": [{"replicas": 1}]}}}}),
    ("max int32", beta(steps=[{"replicas": 2147483647, "pause": {"duration": 2147483647}}])),
    ("advanced statefulset v1beta1", beta(ref={"apiVersion": "apps.kruise.io/v1beta1", "kind": "StatefulSet",
                                               "name": "s"})),
    ("dotted name", beta(ref={"apiVersion": "apps/v1", "kind": "Deployment", "name": "web.v2-a"})),
]


@pytest.mark.parametrize("doc", [r[1] for r in PARTITION_OK], ids=[r[0] for r in PARTITION_OK])
def test_partition_rollouts_are_accepted_without_warnings(doc: dict) -> None:
    review = review_rollout(copy.deepcopy(doc))
    assert review.errors == [] and review.warnings == [], format_errors(review.errors)


def _deploy_ref(**kw: str) -> dict[str, str]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d", **kw}


# (id, object, field, words of the complaint, words of the fix)
INVALID_OURS = [
    ("replicas beyond int32", beta(steps=[{"replicas": 2147483648}]), "spec.strategy.canary.steps[0].replicas",
     "must fit in an int32", 'a percentage such as "50%"'),
    ("negative replicas beyond int32", beta(steps=[{"replicas": -2147483649}]),
     "spec.strategy.canary.steps[0].replicas", "int32", "smaller number"),
    ("pause beyond int32", beta(steps=[{"replicas": 1, "pause": {"duration": 2**31}}]),
     "spec.strategy.canary.steps[0].pause.duration", "must fit in an int32", "smaller number"),
    ("failureThreshold beyond int32", beta(failureThreshold=2**40), "spec.strategy.canary.failureThreshold",
     "int32", "smaller number"),
    ("v1alpha1 weight beyond int32", alpha(steps=[{"replicas": 1, "weight": 2**31}], trafficRoutings=ING),
     "spec.strategy.canary.steps[0].weight", "int32", "smaller number"),
    ("grace beyond int32", beta(trafficRoutings=[{"service": "s", "ingress": {"name": "i"},
                                                  "gracePeriodSeconds": 2**31}]),
     "spec.strategy.canary.trafficRoutings[0].gracePeriodSeconds", "int32", "smaller number"),
    ("ReplicaSet", beta(ref=_deploy_ref(kind="ReplicaSet")), "spec.workloadRef.kind",
     "cannot release a ReplicaSet", "reference the Deployment that owns it"),
    ("apps/v2", beta(ref=_deploy_ref(apiVersion="apps/v2")), "spec.workloadRef.apiVersion",
     "not served as apps/v2", "use apiVersion apps/v1"),
    ("apps/v1beta1", beta(ref=_deploy_ref(apiVersion="apps/v1beta1")), "spec.workloadRef.apiVersion",
     "not served", "apps/v1"),
    ("CloneSet v1beta1", beta(ref={"apiVersion": "apps.kruise.io/v1beta1", "kind": "CloneSet", "name": "c"}),
     "spec.workloadRef.apiVersion", "CloneSet is not served", "apps.kruise.io/v1alpha1"),
    ("v1alpha1 apps/v2", {**alpha(), "spec": {"objectRef": {"workloadRef": _deploy_ref(apiVersion="apps/v2")},
                                              "strategy": {"canary": {"steps": [{"replicas": 1}]}}}},
     "spec.objectRef.workloadRef.apiVersion", "not served", "apps/v1"),
    ("10,000-character name", beta(ref=_deploy_ref(name="a" * 10_000)), "spec.workloadRef.name",
     "RFC 1123 subdomain", "at most 253 characters"),
    ("upper-case name", beta(ref=_deploy_ref(name="Web")), "spec.workloadRef.name", "lowercase", "a-z, 0-9"),
    ("empty name", beta(ref=_deploy_ref(name="")), "spec.workloadRef.name", "RFC 1123", "253"),
    ("traffic without routing", beta(steps=[{"replicas": 1, "traffic": "5%"}]),
     "spec.strategy.canary.steps[0].traffic", "traffic needs a traffic routing", "add spec.strategy.canary"
                                                                                  ".trafficRoutings or remove"),
    ("v1alpha1 weight without routing", alpha(steps=[{"weight": 20}]), "spec.strategy.canary.steps[0].weight",
     "weight needs a traffic routing", 'set replicas (e.g. replicas: "20%")'),
    ("matches without routing", beta(steps=[{"replicas": 1, "matches": [{"headers": [{"name": "h", "value": "v"}]}]}]),
     "spec.strategy.canary.steps[0].matches", "matches need a traffic routing", "remove matches"),
    ("failureThreshold not a percentage", beta(failureThreshold="5"), "spec.strategy.canary.failureThreshold",
     "must be a number of pods", '"20%"'),
    ("failureThreshold garbage", beta(failureThreshold="x%"), "spec.strategy.canary.failureThreshold",
     "number of pods", "percentage of the batch"),
    ("gateway: empty match", beta(trafficRoutings=GW, steps=[{"replicas": 1, "matches": [
        {"headers": [{"name": "h", "value": "1"}]}, {}]}]), "spec.strategy.canary.steps[0].matches[1]",
     "would send every request to the canary", "add a header or queryParam"),
    ("nginx: path match", beta(trafficRoutings=ING, steps=[{"replicas": 1, "matches": [{"path": {"value": "/a"}}]}]),
     "spec.strategy.canary.steps[0].matches[0]", "not by path or queryParams", "use a Gateway API HTTPRoute"),
    ("nginx: two headers in a match", beta(trafficRoutings=ING, steps=[{"replicas": 1}, {"replicas": 2, "matches": [
        {"headers": [{"name": "a", "value": "1"}, {"name": "b", "value": "2"}]}]}]),
     "spec.strategy.canary.steps[1].matches[0].headers", "exactly one header per match (got 2)", "keep one"),
    ("nginx: two header rules", beta(trafficRoutings=ING, steps=[{"replicas": 1, "matches": [
        {"headers": [{"name": "a", "value": "1"}]}, {"headers": [{"name": "b", "value": "2"}]}]}]),
     "spec.strategy.canary.steps[0].matches[1]", "one header rule and one cookie rule", "merge the matches"),
    ("v1alpha1 nginx: regex cookie", alpha(trafficRoutings=ING, steps=[{"replicas": 1, "matches": [{"headers": [
        {"name": "canary-by-cookie", "type": "RegularExpression", "value": "x.*"}]}]}]),
     "spec.strategy.canary.steps[0].matches[0].headers[0].type", "cannot be matched by RegularExpression",
     "use Exact"),
]


@pytest.mark.parametrize("doc, field, what, fix", [r[1:] for r in INVALID_OURS], ids=[r[0] for r in INVALID_OURS])
def test_inputs_nobody_can_release_are_refused(doc: dict, field: str, what: str, fix: str) -> None:
    errors = review_rollout(copy.deepcopy(doc)).errors
    mine = [e for e in errors if e.field == field and e.type == INVALID]
    assert any(what in e.detail and fix in e.detail for e in mine), format_errors(errors)


def test_long_name_is_shortened_in_the_message() -> None:
    (err,) = [e for e in review_rollout(beta(ref=_deploy_ref(name="a" * 10_000))).errors]
    assert len(str(err)) < 400 and "10000 characters" in str(err)


def test_filter_workload_type_off_still_checks_names_but_not_versions() -> None:
    s = ValidationSettings(filter_workload_type=False)
    assert review_rollout(beta(ref=_deploy_ref(apiVersion="apps/v2")), settings=s).errors == []
    assert [e.field for e in review_rollout(beta(ref=_deploy_ref(name="A")), settings=s).errors] == [
        "spec.workloadRef.name"]


# (id, object, words of the warning)
WARNED = [
    ("negative pause", beta(steps=[{"replicas": 1, "pause": {"duration": -5}}]),
     ["spec.strategy.canary.steps[0].pause.duration: -5 is negative", "remove duration to wait for manual approval"]),
    ("failureThreshold 200%", beta(failureThreshold="200%"),
     ["spec.strategy.canary.failureThreshold: 200% is out of range", "tolerates every not-ready pod",
      '"0%" to "100%"']),
    ("failureThreshold -1", beta(failureThreshold=-1),
     ["spec.strategy.canary.failureThreshold: -1 is out of range", "never advances", "0 or more pods"]),
    ("failureThreshold -10%", beta(failureThreshold="-10%"), ["failureThreshold: -10% is out of range"]),
    ("v1alpha1 rolloutID", {**alpha(), "spec": {**alpha()["spec"], "rolloutID": "v2"}},
     ["spec.rolloutID is deprecated", "rollouts.kruise.io/rollout-id"]),
]


@pytest.mark.parametrize("doc, words", [r[1:] for r in WARNED], ids=[r[0] for r in WARNED])
def test_inputs_upstream_accepts_are_admitted_with_a_warning(doc: dict, words: list[str]) -> None:
    review = review_rollout(copy.deepcopy(doc))
    assert review.errors == [], format_errors(review.errors)
    assert len(review.warnings) == 1
    for w in words:
        assert w in review.warnings[0]


def test_duplicate_rule_compares_group_kind_and_name_not_version() -> None:
    others = []
    for i, version in enumerate(["apps/v1", "apps/v1beta1", "apps/v2"]):
        doc = beta(ref=_deploy_ref(apiVersion=version))
        doc["metadata"]["name"] = f"r{i}"
        others.append(doc)
    new = beta()
    new["metadata"]["name"] = "fourth"
    for other in others:
        errs = validate_rollout(new, others=[other])
        assert [e.field for e in errs] == ["spec.workloadRef"], other["spec"]["workloadRef"]
        assert "conflict with Rollout(ns/" in errs[0].detail and "delete that Rollout" in errs[0].detail
    # another kind or another group with the same name is another workload
    sts = beta(ref=_deploy_ref(kind="StatefulSet"))
    sts["metadata"]["name"] = "sts"
    assert validate_rollout(new, others=[sts]) == []


def test_seed_partition_sample_and_demo_are_accepted() -> None:
    for doc in (load_sample("rollout_v1alpha1_seed_partition.yaml"),
                yaml.safe_load((DEMO / "rollouts-demo.yaml").read_text())):
        review = review_rollout(doc)
        assert review.errors == [] and review.warnings == [], format_errors(review.errors)


@pytest.mark.parametrize("name, fields", [
    ("rollout_v1alpha1_seed_canary.yaml", []),
    ("rollout_v1beta1_spec.yaml", []),
    ("rollout_v1alpha1_seed_ab_fixed.yaml", []),
])
def test_seed_traffic_and_canary_samples_are_admitted(name: str, fields: list[str]) -> None:
    errors = review_rollout(load_sample(name)).errors
    assert [e.field for e in errors] == fields
    assert all(e.type == FORBIDDEN for e in errors)


def test_seed_ab_sample_is_admitted() -> None:
    review = review_rollout(load_sample("rollout_v1alpha1_seed_ab_fixed.yaml"))
    assert review.errors == [], format_errors(review.errors)


def test_unsupported_message_for_status_names_the_field_and_the_fix() -> None:
    from rollouts.api import v1beta1 as b
    from rollouts.api.wire import from_dict

    modifier = beta(trafficRoutings=ING, steps=[{"replicas": 1, "requestHeaderModifier": {
        "set": [{"name": "h", "value": "v"}]}}])
    msg = unsupported.unsupported_message(from_dict(b.Rollout, modifier))
    assert "spec.strategy.canary.steps[0].requestHeaderModifier: request header modification" in msg
    assert "remove requestHeaderModifier" in msg
    assert unsupported.unsupported_message(from_dict(b.Rollout, blue_green())) == ""  # blue-green is built
    mse = beta(trafficRoutings=[{"service": "svc", "ingress": {"name": "i", "classType": "mse"}}],
               steps=[{"replicas": 1, "traffic": "5%"}])
    assert unsupported.unsupported_message(from_dict(b.Rollout, mse)) == ""  # every Ingress class is built
    assert unsupported.unsupported_message(from_dict(b.Rollout, beta())) == ""


def test_update_leaving_the_spec_as_stored_is_not_judged_again() -> None:
    """The controller's finalizer/hash writes on a Rollout stored before a rule existed must pass."""
    stored = beta(trafficRoutings=ING, steps=[{"replicas": 1, "requestHeaderModifier": {
        "set": [{"name": "h", "value": "v"}]}}])
    twin = beta(ref=_deploy_ref(apiVersion="apps/v1beta1"))
    twin["metadata"]["name"] = "twin"
    meta_only = copy.deepcopy(stored)
    meta_only["metadata"]["finalizers"] = ["rollouts.kruise.io/rollout"]
    assert review_rollout(meta_only, stored, others=[twin]) == review_rollout(beta(), None)  # no errors, no warnings
    changed = copy.deepcopy(meta_only)
    changed["spec"]["strategy"]["canary"]["steps"].append({"replicas": 2})
    fields = [e.field for e in review_rollout(changed, stored, others=[twin]).errors]
    assert fields == ["spec.workloadRef", "spec.strategy.canary.steps[0].requestHeaderModifier"]


def test_v1alpha1_strategy_annotations_count_as_spec() -> None:
    stored = alpha(trafficRoutings=ING)
    routed = alpha(annotations={"rollouts.kruise.io/trafficrouting": "tr"}, trafficRoutings=ING)
    assert [e.field for e in review_rollout(routed, stored).errors] == ["spec.strategy.canary.trafficRoutings"]
    stored_canary = alpha(style=None)
    relabelled = alpha(style=None, annotations={"team": "a"})
    assert review_rollout(relabelled, stored_canary).errors == []


def test_header_modifier_is_not_refused_for_a_provider_that_applies_it() -> None:
    errors = review_rollout(copy.deepcopy(MODIFIER_OK)).errors
    assert [e for e in errors if e.field.endswith("requestHeaderModifier")] == [], format_errors(errors)
