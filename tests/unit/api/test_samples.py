"""Every sample document of the spec and the seeds loads, validates clean and dumps back unchanged."""

from __future__ import annotations

import json

import pytest

from rollouts.api import dump, load
from rollouts.api.conversion import convert
from rollouts.api.validation import format_errors, validate_rollout

from .conftest import load_sample, sample_names

VALID = [n for n in sample_names() if not n.startswith("invalid_")]
ROLLOUTS = [n for n in VALID if n.startswith("rollout_")]


@pytest.mark.parametrize("name", VALID)
def test_sample_round_trips_byte_equal(name: str) -> None:
    doc = load_sample(name)
    out = dump(load(doc))
    assert json.dumps(out, sort_keys=True) == json.dumps(doc, sort_keys=True)


@pytest.mark.parametrize("name", ROLLOUTS)
def test_sample_rollout_validates_clean(name: str) -> None:
    errors = validate_rollout(load_sample(name))
    assert errors == [], format_errors(errors)


@pytest.mark.parametrize("name", ROLLOUTS + [n for n in VALID if n.startswith("batchrelease_")])
def test_sample_survives_conversion_round_trip(name: str) -> None:
    """Through the other version and back: equal to the Go-normalised original."""
    doc = load_sample(name)
    version = doc["apiVersion"]
    other = "rollouts.kruise.io/v1beta1" if version.endswith("v1alpha1") else "rollouts.kruise.io/v1alpha1"
    back = convert(convert(doc, other), version)
    assert back == convert(convert(back, other), version)  # fixed point after one trip
    assert back["spec"] == convert(convert(back, other), version)["spec"]
    assert back["metadata"]["name"] == doc["metadata"]["name"]


def test_seed_ab_typo_is_rejected_not_crashing() -> None:
    doc = load_sample("invalid_rollout_v1alpha1_seed_ab_typo.yaml")
    errors = validate_rollout(doc)
    assert [e.field for e in errors] == ["spec.objectRef.workloadRef"]
    # Unknown keys of the typo survive a load/dump (the apiserver would prune them); the explicit
    # `workloadRef: null` is read as "absent", as Go does for a nil pointer.
    del doc["spec"]["objectRef"]["workloadRef"]
    assert dump(load(doc)) == doc


def test_seed_partition_sample_converts_to_partition_style() -> None:
    out = convert(load_sample("rollout_v1alpha1_seed_partition.yaml"), "rollouts.kruise.io/v1beta1")
    assert "enableExtraWorkloadForCanary" not in out["spec"]["strategy"]["canary"]
    assert [s["replicas"] for s in out["spec"]["strategy"]["canary"]["steps"]] == [1, "50%", "100%"]
    assert all(s["pause"] == {} for s in out["spec"]["strategy"]["canary"]["steps"])


def test_seed_canary_sample_converts_weights_to_traffic() -> None:
    out = convert(load_sample("rollout_v1alpha1_seed_canary.yaml"), "rollouts.kruise.io/v1beta1")
    canary = out["spec"]["strategy"]["canary"]
    assert canary["enableExtraWorkloadForCanary"] is True
    assert [s["traffic"] for s in canary["steps"]] == ["5%", "40%", "60%", "80%", "100%"]
    assert [s["replicas"] for s in canary["steps"]] == [1, "40%", "60%", "80%", "100%"]
    assert [s["pause"].get("duration") for s in canary["steps"]] == [None, 30, 30, 30, 10]
