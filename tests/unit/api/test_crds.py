"""The generated CRDs are current, structural, and declare what api.md §0 requires."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rollouts.api import crdgen
from rollouts.api.crdgen import CRD_DIR, CRDS, build_crd

from .structural import violations

CRD_FILES = {spec.kind: CRD_DIR / spec.filename for spec in CRDS}


def _load(kind: str) -> dict:
    docs = [d for d in yaml.safe_load_all(CRD_FILES[kind].read_text()) if d]
    assert len(docs) == 1
    return docs[0]


def _version(crd: dict, name: str) -> dict:
    return next(v for v in crd["spec"]["versions"] if v["name"] == name)


def test_generated_files_are_current() -> None:
    stale = crdgen.generate(check=True)
    assert stale == [], "run `python -m rollouts.api.crdgen` to regenerate: " + ", ".join(map(str, stale))


def test_check_mode_reports_stale_files(tmp_path: Path) -> None:
    assert crdgen.main(["--check", "--out", str(tmp_path)]) == 1
    assert crdgen.main(["--out", str(tmp_path)]) == 0
    assert crdgen.main(["--check", "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in CRD_FILES.values())


def test_files_contain_what_the_models_say() -> None:
    for spec in CRDS:
        assert _load(spec.kind) == build_crd(spec)


@pytest.mark.parametrize("kind", sorted(CRD_FILES))
def test_schemas_are_structural(kind: str) -> None:
    for v in _load(kind)["spec"]["versions"]:
        schema = v["schema"]["openAPIV3Schema"]
        assert violations(schema, f"{kind}/{v['name']}") == []
        assert schema["properties"]["metadata"] == {"type": "object"}


def test_structural_checker_catches_violations() -> None:
    bad = {"type": "object", "properties": {
        "a": {"description": "no type"},
        "b": {"type": "array"},
        "c": {"type": "integer", "anyOf": [{"type": "string"}]},
        "d": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
              "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
        "e": {"type": "boolean", "default": "no"},
    }, "required": ["zzz"]}
    found = violations(bad)
    assert len(found) == 6, found


@pytest.mark.parametrize(("kind", "plural"), [("Rollout", "rollouts"), ("BatchRelease", "batchreleases"),
                                              ("RolloutHistory", "rollouthistories"),
                                              ("TrafficRouting", "trafficroutings")])
def test_names_scope_and_subresources(kind: str, plural: str) -> None:
    crd = _load(kind)
    assert crd["metadata"]["name"] == f"{plural}.rollouts.kruise.io"
    assert crd["spec"]["names"] == {"kind": kind, "listKind": f"{kind}List", "plural": plural,
                                    "singular": kind.lower()}
    assert crd["spec"]["scope"] == "Namespaced"
    assert all(v["subresources"] == {"status": {}} and v["served"] for v in crd["spec"]["versions"])
    assert sum(v["storage"] for v in crd["spec"]["versions"]) == 1


@pytest.mark.parametrize(("kind", "storage", "versions"), [
    ("Rollout", "v1beta1", ["v1alpha1", "v1beta1"]), ("BatchRelease", "v1beta1", ["v1alpha1", "v1beta1"]),
    ("RolloutHistory", "v1alpha1", ["v1alpha1"]), ("TrafficRouting", "v1alpha1", ["v1alpha1"]),
])
def test_versions_and_conversion(kind: str, storage: str, versions: list[str]) -> None:
    crd = _load(kind)
    assert [v["name"] for v in crd["spec"]["versions"]] == versions
    assert next(v["name"] for v in crd["spec"]["versions"] if v["storage"]) == storage
    if len(versions) > 1:
        assert crd["spec"]["conversion"] == {
            "strategy": "Webhook",
            "webhook": {"conversionReviewVersions": ["v1", "v1beta1"], "clientConfig": {"service": {
                "namespace": "kruise-rollout", "name": "kruise-rollout-webhook-service", "path": "/convert"}}},
        }
    else:
        assert "conversion" not in crd["spec"]


def _columns(kind: str, version: str) -> list[tuple[str, str, str]]:
    cols = _version(_load(kind), version).get("additionalPrinterColumns", [])
    return [(c["name"], c["jsonPath"], c["type"]) for c in cols]


AGE = ("AGE", ".metadata.creationTimestamp", "date")


def test_printer_columns_match_spec() -> None:
    assert _columns("Rollout", "v1beta1") == [
        ("STATUS", ".status.phase", "string"), ("CANARY_STEP", ".status.currentStepIndex", "integer"),
        ("CANARY_STATE", ".status.currentStepState", "string"), ("MESSAGE", ".status.message", "string"), AGE]
    assert _columns("Rollout", "v1alpha1") == [
        ("STATUS", ".status.phase", "string"), ("CANARY_STEP", ".status.canaryStatus.currentStepIndex", "integer"),
        ("CANARY_STATE", ".status.canaryStatus.currentStepState", "string"), ("MESSAGE", ".status.message", "string"),
        AGE]
    br_tail = [("PHASE", ".status.phase", "string"), ("BATCH", ".status.canaryStatus.currentBatch", "integer"),
               ("BATCH-STATE", ".status.canaryStatus.batchState", "string"), AGE]
    assert _columns("BatchRelease", "v1alpha1") == [("KIND", ".spec.targetReference.workloadRef.kind", "string"),
                                                    *br_tail]
    # Deliberate fix of the upstream v1beta1 KIND path (docs/api.md, known deviations).
    assert _columns("BatchRelease", "v1beta1") == [("KIND", ".spec.workloadRef.kind", "string"), *br_tail]
    assert _columns("TrafficRouting", "v1alpha1") == [("STATUS", ".status.phase", "string"),
                                                      ("MESSAGE", ".status.message", "string"), AGE]
    assert _columns("RolloutHistory", "v1alpha1") == []


def _schema(kind: str, version: str) -> dict:
    return _version(_load(kind), version)["schema"]["openAPIV3Schema"]


def test_required_fields_match_upstream() -> None:
    beta = _schema("Rollout", "v1beta1")["properties"]
    assert beta["spec"]["required"] == ["strategy", "workloadRef"]
    assert beta["spec"]["properties"]["disabled"]["default"] is False
    assert beta["status"]["required"] == ["currentStepIndex", "currentStepState"]
    canary_status = beta["status"]["properties"]["canaryStatus"]
    assert canary_status["required"] == ["canaryReadyReplicas", "canaryReplicas", "canaryRevision", "currentStepState",
                                         "finalisingStep", "nextStepIndex", "podTemplateHash"]
    alpha = _schema("Rollout", "v1alpha1")["properties"]
    assert alpha["spec"]["required"] == ["objectRef", "strategy"]
    step = alpha["spec"]["properties"]["strategy"]["properties"]["canary"]["properties"]["steps"]["items"]
    assert "required" not in step  # pause and replicas are optional for kubectl apply
    plan = _schema("BatchRelease", "v1beta1")["properties"]["spec"]["properties"]["releasePlan"]
    assert plan["required"] == ["batches", "enableExtraWorkloadForCanary"]


def test_int_or_string_and_preserve_unknown_fields() -> None:
    step = _schema("Rollout", "v1beta1")["properties"]["spec"]["properties"]["strategy"]["properties"]["canary"][
        "properties"]["steps"]
    assert step["maxItems"] == 50
    replicas = step["items"]["properties"]["replicas"]
    assert replicas["x-kubernetes-int-or-string"] is True and "type" not in replicas
    routing = _schema("Rollout", "v1beta1")["properties"]["spec"]["properties"]["strategy"]["properties"]["canary"][
        "properties"]["trafficRoutings"]["items"]["properties"]["gracePeriodSeconds"]
    assert routing == {"type": "integer", "format": "int32", "default": 3,
                       "description": "Seconds to wait after each traffic change so that data planes converge"}
    data = _schema("RolloutHistory", "v1alpha1")["properties"]["spec"]["properties"]["workload"]["properties"]["data"]
    assert data == {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


def test_v1alpha1_sample_validates_against_schema_required_fields() -> None:
    """Every `required` along the path of the v1alpha1 seed sample is present in it (kubectl apply passes)."""
    from .conftest import load_sample

    def check(node: dict, doc, path: str) -> list[str]:
        missing = []
        if isinstance(doc, dict) and node.get("type") == "object":
            missing += [f"{path}.{r}" for r in node.get("required", []) if r not in doc]
            for k, v in doc.items():
                if k in node.get("properties", {}):
                    missing += check(node["properties"][k], v, f"{path}.{k}")
        if isinstance(doc, list) and node.get("type") == "array":
            for i, v in enumerate(doc):
                missing += check(node["items"], v, f"{path}[{i}]")
        return missing

    schema = _schema("Rollout", "v1alpha1")
    for name in ("rollout_v1alpha1_seed_partition.yaml", "rollout_v1alpha1_seed_canary.yaml",
                 "rollout_v1alpha1_spec.yaml"):
        assert check(schema, load_sample(name), "") == []
    assert check(_schema("Rollout", "v1beta1"), load_sample("rollout_v1beta1_spec.yaml"), "") == []
