"""Bad input at admission: keys the API does not have are named with where they belong, out-of-range
traffic and unknown ingress classes are refused, and the seed's A/B YAML is refused verbatim but
admitted once its three mistakes are fixed.

Every row asserts the field path and the fix text, because a user reads both.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from rollouts.api import crdgen
from rollouts.api.field_errors import FORBIDDEN, INVALID, REQUIRED, UNKNOWN, format_errors
from rollouts.api.validation import review_rollout, validate_rollout
from rollouts.api.validation_fields import unknown_field_errors

from .conftest import load_sample, sample_names
from .test_review import ING, alpha, beta

NOT_YET = "not yet supported by this controller"
HEADERS = "spec.strategy.canary.steps[0].matches[0].headers[0]"


def _by_field(errors: list[Any]) -> dict[str, str]:
    return {e.field: str(e) for e in errors}


def test_seed_ab_yaml_verbatim_names_each_mistake_and_its_fix() -> None:
    errors = review_rollout(load_sample("invalid_rollout_v1alpha1_seed_ab_typo.yaml")).errors
    got = _by_field(errors)
    for key in ("apiVersion", "kind", "name"):
        assert got[f"spec.objectRef.{key}"] == (
            f"spec.objectRef.{key}: Unknown field: did you mean spec.objectRef.workloadRef.{key}? "
            "indent apiVersion/kind/name under workloadRef")
    assert got["spec.strategy.trafficRoutings"] == (
        "spec.strategy.trafficRoutings: Unknown field: did you mean spec.strategy.canary.trafficRoutings? "
        "indent trafficRoutings under canary")
    assert got[f"{HEADERS}.key"].startswith(f"{HEADERS}.key: Unknown field: did you mean {HEADERS}.name? "
                                            "rename key to name")
    # the unknown fields come first, then what the model is missing because of them
    assert [e.type for e in errors[:5]] == [UNKNOWN] * 5
    assert "spec.objectRef.workloadRef" in got and "WorkloadRef is required" in got["spec.objectRef.workloadRef"]


def test_seed_ab_yaml_corrected_is_valid_and_refused_at_most_for_features_not_built() -> None:
    doc = load_sample("rollout_v1alpha1_seed_ab_fixed.yaml")
    assert unknown_field_errors(doc) == [] and validate_rollout(doc) == []
    review = review_rollout(doc)
    assert [str(e) for e in review.errors if e.type != FORBIDDEN or NOT_YET not in e.detail] == []
    assert review.warnings == []


def _alpha_with(path: list[Any], key: str, value: Any, step: dict[str, Any] | None = None) -> dict[str, Any]:
    doc = alpha(trafficRoutings=copy.deepcopy(ING), steps=[
        step or {"replicas": 1, "weight": 5, "matches": [{"headers": [{"name": "h", "value": "v"}]}]}])
    node: Any = doc
    for p in path:
        node = node[p]
    node[key] = value
    return doc


def _beta_with(path: list[Any], key: str, value: Any, step: dict[str, Any] | None = None) -> dict[str, Any]:
    doc = beta(trafficRoutings=copy.deepcopy(ING), steps=[step or {"replicas": 1, "traffic": "5%"}])
    node: Any = doc
    for p in path:
        node = node[p]
    node[key] = value
    return doc


CANARY = ["spec", "strategy", "canary"]
STEP0 = [*CANARY, "steps", 0]

# (id, object, field, the whole detail)
HINTS = [
    ("v1beta1 habit in v1alpha1", _alpha_with(["spec"], "workloadRef", {"name": "d"}), "spec.workloadRef",
     "did you mean spec.objectRef.workloadRef? indent workloadRef under objectRef"),
    ("v1beta1 traffic in v1alpha1", _alpha_with(STEP0, "traffic", "5%", {"replicas": 1}),
     "spec.strategy.canary.steps[0].traffic",
     "did you mean spec.strategy.canary.steps[0].weight? rename traffic to weight: v1alpha1 steps give the traffic "
     'share as weight: 5 (traffic: "5%" is v1beta1)'),
    ("v1alpha1 weight in v1beta1", _beta_with(STEP0, "weight", 5, {"replicas": 1}),
     "spec.strategy.canary.steps[0].weight",
     "did you mean spec.strategy.canary.steps[0].traffic? rename weight to traffic: v1beta1 steps give the traffic "
     'share as traffic: "5%" (weight: 5 is v1alpha1)'),
    ("typo", _alpha_with(CANARY, "trafficRouting", []), "spec.strategy.canary.trafficRouting",
     "did you mean spec.strategy.canary.trafficRoutings? rename trafficRouting to trafficRoutings"),
    ("indented too deep", _alpha_with(STEP0, "failureThreshold", 1), "spec.strategy.canary.steps[0].failureThreshold",
     "did you mean spec.strategy.canary.failureThreshold? failureThreshold is indented too deep; move it there"),
    ("v1beta1 strategy.trafficRoutings prefers the present branch",
     _beta_with(["spec", "strategy"], "trafficRoutings", []), "spec.strategy.trafficRoutings",
     "did you mean spec.strategy.canary.trafficRoutings or spec.strategy.blueGreen.trafficRoutings? indent "
     "trafficRoutings under canary"),
    ("nothing close", _alpha_with(CANARY, "bogus", 1), "spec.strategy.canary.bogus",
     "remove it; the fields of spec.strategy.canary are steps, trafficRoutings, failureThreshold, "
     "patchPodTemplateMetadata, disableGenerateCanaryService"),
    ("ingress classType one level up", _alpha_with([*CANARY, "trafficRoutings", 0], "classType", "nginx"),
     "spec.strategy.canary.trafficRoutings[0].classType",
     "did you mean spec.strategy.canary.trafficRoutings[0].ingress.classType? indent classType under ingress"),
]


@pytest.mark.parametrize("doc, field, detail", [r[1:] for r in HINTS], ids=[r[0] for r in HINTS])
def test_unknown_field_says_where_it_belongs(doc: dict, field: str, detail: str) -> None:
    errors = review_rollout(doc).errors
    mine = [e for e in errors if e.field == field]
    assert [(e.type, e.detail) for e in mine] == [(UNKNOWN, detail)], format_errors(errors)


@pytest.mark.parametrize("name", [n for n in sample_names("rollout_")])
def test_valid_samples_have_no_unknown_fields(name: str) -> None:
    assert unknown_field_errors(load_sample(name)) == []


def test_free_form_maps_are_not_checked() -> None:
    doc = alpha(patchPodTemplateMetadata={"labels": {"anything": "x"}, "annotations": {"a/b": "c"}})
    assert unknown_field_errors(doc) == []


def test_header_match_without_name() -> None:
    doc = _alpha_with(STEP0, "matches", [{"headers": [{"value": "pc"}]}])
    (err,) = [e for e in review_rollout(doc).errors if e.field == f"{HEADERS}.name"]
    assert err.type == REQUIRED and "add name: <header>" in err.detail
    # written as key: one message (rename), not a second "name required"
    doc = _alpha_with(STEP0, "matches", [{"headers": [{"key": "user-agent", "value": "pc"}]}])
    assert [e.field for e in review_rollout(doc).errors if e.field.startswith(HEADERS)] == [f"{HEADERS}.key"]


def test_update_ratchets_unknown_fields_the_stored_object_already_had() -> None:
    old = _alpha_with(CANARY, "bogus", 1)
    assert review_rollout(copy.deepcopy(old), copy.deepcopy(old)).errors == []
    new = _alpha_with(CANARY, "bogus", 1)
    new["spec"]["strategy"]["canary"]["other"] = 2
    assert [e.field for e in review_rollout(new, old).errors if e.type == UNKNOWN] == ["spec.strategy.canary.other"]


@pytest.mark.parametrize("path", crdgen.KEEP_UNKNOWN_FIELDS)
def test_every_node_the_crd_keeps_open_is_checked_by_the_webhook(path: str) -> None:
    """The CRD lets unknown keys through exactly so that the webhook names them: an unknown key at
    any of those nodes must be refused, or it would be stored."""
    doc = load_sample("rollout_v1alpha1_seed_ab_fixed.yaml")
    node: Any = doc
    for part in path.split("."):
        node = node[part.removesuffix("[]")]
        if part.endswith("[]"):
            node = node[0]
    node["zzz"] = 1
    wire = path.replace("[]", "[0]")
    assert [e.field for e in review_rollout(doc).errors if e.type == UNKNOWN] == [f"{wire}.zzz"]


# (id, object, field, words of the complaint and fix)
RANGES = [
    ("v1alpha1 weight 150 beside replicas", _alpha_with(STEP0, "weight", 150), "spec.strategy.canary.steps[0].weight",
     "use 0 to 100"),
    ("v1alpha1 weight -1 beside replicas", _alpha_with(STEP0, "weight", -1), "spec.strategy.canary.steps[0].weight",
     "use 0 to 100"),
    ("v1alpha1 weight 150 alone", alpha(style="canary", trafficRoutings=ING, steps=[{"weight": 150}]),
     "spec.strategy.canary.steps[0].weight", "less than or equal to 100"),
    ("v1beta1 traffic 150%", beta(trafficRoutings=ING, steps=[{"replicas": 1, "traffic": "150%"}]),
     "spec.strategy.canary.steps[0].traffic", '"0%" < traffic <= "100%"'),
    ("v1beta1 traffic 0% (canary)", beta(trafficRoutings=ING, steps=[{"replicas": 1, "traffic": "0%"}]),
     "spec.strategy.canary.steps[0].traffic", '"0%" < traffic <= "100%"'),
    ("two trafficRoutings", beta(trafficRoutings=ING + ING), "spec.strategy.canary.trafficRoutings",
     "only support single TrafficRouting. Keep exactly one element"),
]


@pytest.mark.parametrize("doc, field, words", [r[1:] for r in RANGES], ids=[r[0] for r in RANGES])
def test_traffic_out_of_range_is_refused_naming_the_step(doc: dict, field: str, words: str) -> None:
    errors = review_rollout(doc).errors
    assert any(e.field == field and e.type == INVALID and words in e.detail for e in errors), format_errors(errors)


@pytest.mark.parametrize("cls", ["", "nginx", "aliyun-alb", "higress", "mse", "traefik"])
def test_every_ingress_class_is_admitted(cls: str) -> None:
    """A class without a shipped script may get one in the ConfigMap; the controller's status says which key."""
    doc = _alpha_with([*CANARY, "trafficRoutings", 0, "ingress"], "classType", cls)
    errors = [e for e in review_rollout(doc).errors if e.field.endswith("classType")]
    assert errors == [], format_errors(errors)


def test_weight_zero_beside_replicas_is_allowed() -> None:
    doc = _alpha_with(STEP0, "weight", 0)
    assert [e for e in review_rollout(doc).errors if e.type == INVALID] == []


def test_v1alpha1_crd_keeps_unknown_fields_for_the_webhook_and_v1beta1_prunes() -> None:
    crd = crdgen.build_crd(crdgen.CRDS[0])
    schemas = {v["name"]: v["schema"]["openAPIV3Schema"] for v in crd["spec"]["versions"]}
    alpha_schema, beta_schema = schemas["v1alpha1"], schemas["v1beta1"]
    for path in crdgen.KEEP_UNKNOWN_FIELDS:
        assert crdgen._node(alpha_schema, path)["x-kubernetes-preserve-unknown-fields"] is True, path
    assert crdgen._node(alpha_schema, "spec.strategy.canary.steps[].matches[].headers[]")["required"] == ["value"]
    assert crdgen._node(alpha_schema, "spec.objectRef.workloadRef")["nullable"] is True
    assert "preserve-unknown" not in str(beta_schema["properties"]["spec"])


DEMO = crdgen.CRD_DIR.parents[1] / "deploy" / "demo"


def test_demo_manifests_are_the_seed_yaml_and_are_judged_like_it() -> None:
    """``make demo SCENARIO=ab`` shows the verbatim refusal with deploy/demo/rollout-ab-seed.yaml: it is
    the seed's text (as the unit sample), refused with unknown fields; the corrected, the canary and the
    blue-green Rollouts have no mistakes of their own (refused at most as not built yet)."""
    def body(text: str) -> list[str]:
        return [line for line in text.splitlines() if not line.startswith("#")]

    seed = (DEMO / "rollout-ab-seed.yaml").read_text()
    sample = (crdgen.CRD_DIR.parents[1] / "tests/unit/api/samples/invalid_rollout_v1alpha1_seed_ab_typo.yaml")
    assert body(seed) == body(sample.read_text())
    assert [e.type for e in review_rollout(yaml.safe_load(seed)).errors][:5] == [UNKNOWN] * 5
    for name in ("rollout-ab-demo.yaml", "rollout-canary-demo.yaml", "rollout-bluegreen-demo.yaml"):
        review = review_rollout(yaml.safe_load((DEMO / name).read_text()))
        assert [str(e) for e in review.errors if e.type != FORBIDDEN or NOT_YET not in e.detail] == [], name
