"""ConversionReview shaping."""

from __future__ import annotations

from typing import Any

from webhooks.conversion import review_response


def _convert(obj: dict[str, Any], desired: str) -> dict[str, Any]:
    if obj.get("spec", {}).get("bad"):
        raise ValueError("spec.bad cannot be converted")
    return {**obj, "apiVersion": desired}


def _review(objects: list[dict[str, Any]], desired: str = "rollouts.kruise.io/v1beta1") -> dict[str, Any]:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview",
            "request": {"uid": "u-7", "desiredAPIVersion": desired, "objects": objects}}


def _obj(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "rollouts.kruise.io/v1alpha1", "kind": "Rollout",
            "metadata": {"name": name, "namespace": "ns"}, "spec": spec}


def test_success_keeps_order_and_uid() -> None:
    body, status = review_response(_review([_obj("a"), _obj("b")]), _convert)
    assert status == 200
    assert body["apiVersion"] == "apiextensions.k8s.io/v1" and body["kind"] == "ConversionReview"
    resp = body["response"]
    assert resp["uid"] == "u-7" and resp["result"] == {"status": "Success"}
    assert [o["metadata"]["name"] for o in resp["convertedObjects"]] == ["a", "b"]
    assert {o["apiVersion"] for o in resp["convertedObjects"]} == {"rollouts.kruise.io/v1beta1"}


def test_one_failure_fails_the_review_with_the_object_named() -> None:
    body, status = review_response(_review([_obj("a"), _obj("b", bad=True)]), _convert)
    assert status == 200
    result = body["response"]["result"]
    assert result["status"] == "Failure"
    assert "Rollout ns/b" in result["message"] and "spec.bad cannot be converted" in result["message"]
    assert body["response"]["convertedObjects"] == []


def test_converter_returning_wrong_version_is_a_failure() -> None:
    body, _ = review_response(_review([_obj("a")]), lambda o, v: o)
    assert body["response"]["result"]["status"] == "Failure"
    assert "wanted 'rollouts.kruise.io/v1beta1'" in body["response"]["result"]["message"]


def test_v1beta1_review_answered_in_kind_and_missing_desired_version() -> None:
    review = _review([_obj("a")])
    review["apiVersion"] = "apiextensions.k8s.io/v1beta1"
    del review["request"]["desiredAPIVersion"]
    body, status = review_response(review, _convert)
    assert status == 200 and body["apiVersion"] == "apiextensions.k8s.io/v1beta1"
    assert body["response"]["result"]["status"] == "Failure"


def test_unreadable_review_is_400() -> None:
    assert review_response({"kind": "AdmissionReview"}, _convert)[1] == 400
    assert review_response({"kind": "ConversionReview", "apiVersion": "apiextensions.k8s.io/v1"}, _convert)[1] == 400


def test_empty_object_list_succeeds() -> None:
    body, _ = review_response(_review([]), _convert)
    assert body["response"]["convertedObjects"] == [] and body["response"]["result"]["status"] == "Success"
