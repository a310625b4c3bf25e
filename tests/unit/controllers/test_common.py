"""Merge patches, finalizer patches, workload-ref matching and pod batch labelling."""

from __future__ import annotations

import pytest

from rollouts.controllers.batchrelease.labelpatch import plan_labels
from rollouts.controllers.common import finalizers_patch, merge_patch, ref_matches, workload_ref


@pytest.mark.parametrize(
    ("old", "new", "patch"),
    [
        ({}, {}, {}),
        ({"a": 1}, {"a": 1}, {}),
        ({"a": 1}, {"a": 2}, {"a": 2}),
        ({"a": 1, "b": 2}, {"a": 1}, {"b": None}),
        ({"s": {"x": 1, "y": 2}}, {"s": {"x": 1, "y": 3}}, {"s": {"y": 3}}),
        ({"s": {"x": 1}}, {"s": {}}, {"s": {"x": None}}),
        ({"l": [1, 2]}, {"l": [1]}, {"l": [1]}),
        ({}, {"s": {"x": 1}}, {"s": {"x": 1}}),
    ],
)
def test_merge_patch(old, new, patch) -> None:
    assert merge_patch(old, new) == patch


def test_finalizers_patch_adds_and_removes_with_resource_version() -> None:
    obj = {"metadata": {"resourceVersion": "7", "finalizers": ["other"]}}
    assert finalizers_patch(obj, "mine", present=True) == {
        "metadata": {"finalizers": ["other", "mine"], "resourceVersion": "7"}}
    assert finalizers_patch(obj, "mine", present=False) is None
    obj["metadata"]["finalizers"].append("mine")
    assert finalizers_patch(obj, "mine", present=False)["metadata"]["finalizers"] == ["other"]


def test_workload_ref_matching_ignores_the_version() -> None:
    v1alpha1 = {"spec": {"objectRef": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"}}}}
    ref = workload_ref(v1alpha1)
    assert ref_matches(ref, "apps/v1beta2", "Deployment", "d")
    assert not ref_matches(ref, "apps.kruise.io/v1alpha1", "Deployment", "d")
    assert not ref_matches(ref, "apps/v1", "Deployment", "e")


def _pod(name: str, pth: str = "new", **labels: str) -> dict:
    return {"metadata": {"name": name, "labels": {"pod-template-hash": pth, **labels}}}


def test_plan_labels_fills_batches_from_the_last_one() -> None:
    pods = [_pod(f"p{i}") for i in range(5)] + [_pod("old", pth="old")]
    out = plan_labels(pods, batches=[1, "50%"], current_batch=1, replicas=10, rollout_id="r1",
                      update_revision="new")
    assert sorted(v["rollouts.kruise.io/rollout-batch-id"] for v in out.values()) == ["1", "2", "2", "2", "2"]
    assert "old" not in out


def test_plan_labels_counts_already_labelled_pods() -> None:
    labelled = _pod("p0", **{"rollouts.kruise.io/rollout-id": "r1", "rollouts.kruise.io/rollout-batch-id": "1"})
    out = plan_labels([labelled, _pod("p1")], batches=[1, "50%"], current_batch=1, replicas=4, rollout_id="r1",
                      update_revision="new")
    assert out == {"p1": {"rollouts.kruise.io/rollout-id": "r1", "rollouts.kruise.io/rollout-batch-id": "2"}}
    assert plan_labels([_pod("p1")], batches=[1], current_batch=0, replicas=4, rollout_id="",
                       update_revision="new") == {}
