"""AdmissionReview codec and response helpers."""

from __future__ import annotations

import base64
import json

import pytest

from webhooks.admission import (
    ADMISSION_V1BETA1,
    ReviewDecodeError,
    allowed,
    decode_review,
    denied,
    encode_review,
    errored,
    patched,
    with_uid,
)


def _review(**request: object) -> bytes:
    req = {"uid": "u-1", "operation": "UPDATE", "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
           "resource": {"group": "apps", "version": "v1", "resource": "deployments"}}
    req.update(request)
    return json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": req}).encode()


def test_decode_fields() -> None:
    req = decode_review(_review(name="d", namespace="ns", object={"a": 1}, oldObject={"a": 0},
                                subResource="scale", dryRun=True))
    assert (req.uid, req.operation, req.name, req.namespace) == ("u-1", "UPDATE", "d", "ns")
    assert req.object == {"a": 1} and req.old_object == {"a": 0}
    assert req.sub_resource == "scale" and req.dry_run
    assert req.kind["kind"] == "Deployment"


def test_decode_absent_objects_are_none() -> None:
    req = decode_review(_review(operation="DELETE", object=None))
    assert req.object is None and req.old_object is None


@pytest.mark.parametrize(
    "body, fragment",
    [
        (b"{not json", "not valid JSON"),
        (b"[]", "not a JSON object"),
        (json.dumps({"apiVersion": "v1", "kind": "Pod"}).encode(), "expected kind AdmissionReview"),
        (json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}).encode(), "no request"),
    ],
)
def test_decode_errors(body: bytes, fragment: str) -> None:
    with pytest.raises(ReviewDecodeError, match=fragment):
        decode_review(body)


def test_encode_allowed_echoes_uid_and_version() -> None:
    out = encode_review(with_uid(allowed(), "u-1"), api_version=ADMISSION_V1BETA1)
    assert out == {"apiVersion": ADMISSION_V1BETA1, "kind": "AdmissionReview",
                   "response": {"uid": "u-1", "allowed": True}}


def test_encode_denied_carries_code_and_message() -> None:
    out = encode_review(with_uid(denied("spec.x: bad", 422), "u"))
    assert out["response"] == {"uid": "u", "allowed": False,
                               "status": {"code": 422, "message": "spec.x: bad", "status": "Failure"}}
    assert encode_review(errored(400, ValueError("boom")))["response"]["status"]["message"] == "boom"


def test_patched_computes_json_patch() -> None:
    original = {"spec": {"paused": False}, "metadata": {"annotations": {"k": "v"}}}
    mutated = {"spec": {"paused": True}, "metadata": {"annotations": {"k": "v", "a/b": "c"}}}
    out = encode_review(with_uid(patched(original, mutated), "u"))["response"]
    assert out["patchType"] == "JSONPatch"
    assert json.loads(base64.b64decode(out["patch"])) == [
        {"op": "add", "path": "/metadata/annotations/a~1b", "value": "c"},
        {"op": "replace", "path": "/spec/paused", "value": True},
    ]


def test_patched_without_changes_has_no_patch() -> None:
    out = encode_review(patched({"a": 1}, {"a": 1}))["response"]
    assert "patch" not in out and "patchType" not in out and out["allowed"] is True
