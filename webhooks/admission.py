"""AdmissionReview ``admission.k8s.io/v1`` (and ``v1beta1``) decoding, encoding and response helpers.

Handlers have one shape, ``async def handler(request: AdmissionRequest) -> AdmissionResponse``; the
server does the wire work. A response is built with :func:`allowed`, :func:`denied`, :func:`errored`
or :func:`patched`; the server copies the request ``uid`` into it (the API server rejects a review
whose uid does not match), so handlers never have to.

:func:`patched` takes the *original* request object and the *mutated* object and computes the JSON
Patch itself (``webhooks.jsonpatch.diff``), which keeps handlers in the "edit a deep copy" style of the
upstream Go code (``admission.PatchResponseFromRaw``).

We answer in the ``apiVersion`` the request used: the API server sends the first version in
``admissionReviewVersions`` it supports; we list ``[v1, v1beta1]`` like upstream.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import attrs

from webhooks.jsonpatch import JSONPatch, diff

ADMISSION_V1 = "admission.k8s.io/v1"
ADMISSION_V1BETA1 = "admission.k8s.io/v1beta1"
SUPPORTED_VERSIONS = (ADMISSION_V1, ADMISSION_V1BETA1)


class ReviewDecodeError(ValueError):
    """The request body is not a usable AdmissionReview; the server answers HTTP 400 with this text."""


@attrs.frozen(kw_only=True)
class AdmissionRequest:
    """The fields of ``AdmissionReview.request`` handlers use, plus the raw dict for the rest.

    ``object``/``old_object`` are plain dicts (``None`` when absent: ``old_object`` on CREATE,
    ``object`` on DELETE). ``kind``/``resource`` are the ``{group, version, kind|resource}`` dicts.
    """

    uid: str
    operation: str
    kind: dict[str, str]
    resource: dict[str, str]
    sub_resource: str = ""
    name: str = ""
    namespace: str = ""
    object: dict[str, Any] | None = None
    old_object: dict[str, Any] | None = None
    dry_run: bool = False
    user_info: dict[str, Any] = attrs.field(factory=dict)
    api_version: str = ADMISSION_V1
    raw: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen(kw_only=True)
class AdmissionResponse:
    """What a handler decides. ``code``/``message`` become ``status`` (shown to the user on denial).

    ``patch`` is a list of RFC 6902 operations (encoded as base64 JSON on the wire); ``None`` or empty
    means no mutation. ``uid`` is filled by the server from the request.
    """

    allowed: bool
    code: int = 200
    message: str = ""
    reason: str = ""
    patch: JSONPatch | None = None
    warnings: tuple[str, ...] = ()
    uid: str = ""


def allowed(message: str = "", *, warnings: tuple[str, ...] = ()) -> AdmissionResponse:
    """Allow unchanged."""
    return AdmissionResponse(allowed=True, code=200, message=message, warnings=warnings)


def denied(message: str, code: int = 403, *, reason: str = "") -> AdmissionResponse:
    """Deny; ``code`` is HTTP-style (403 Forbidden by default, 422 for invalid objects, 400 for
    undecodable ones) and ends up in the error the API server returns to the client."""
    return AdmissionResponse(allowed=False, code=code, message=message, reason=reason)


def errored(code: int, error: BaseException | str) -> AdmissionResponse:
    """Deny because *we* failed (controller-runtime ``admission.Errored``): decode or lookup errors."""
    return AdmissionResponse(allowed=False, code=code, message=str(error))


def patched(original: dict[str, Any], mutated: dict[str, Any], message: str = "") -> AdmissionResponse:
    """Allow with the JSON Patch turning ``original`` into ``mutated`` (no patch if they are equal)."""
    ops = diff(original, mutated)
    return AdmissionResponse(allowed=True, code=200, message=message, patch=ops or None)


def decode_review(body: bytes | str) -> AdmissionRequest:
    """Parse an AdmissionReview body; raise :class:`ReviewDecodeError` with a readable message."""
    try:
        review = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ReviewDecodeError(f"request body is not valid JSON: {exc}") from exc
    if not isinstance(review, dict):
        raise ReviewDecodeError("request body is not a JSON object")
    api_version = review.get("apiVersion") or ADMISSION_V1
    if review.get("kind", "AdmissionReview") != "AdmissionReview" or api_version not in SUPPORTED_VERSIONS:
        raise ReviewDecodeError(
            f"expected kind AdmissionReview in {'/'.join(SUPPORTED_VERSIONS)}, got "
            f"{review.get('kind')!r} {api_version!r}"
        )
    req = review.get("request")
    if not isinstance(req, dict) or not req.get("uid"):
        raise ReviewDecodeError("AdmissionReview has no request or the request has no uid")
    return AdmissionRequest(
        uid=str(req["uid"]),
        operation=str(req.get("operation", "")),
        kind=dict(req.get("kind") or {}),
        resource=dict(req.get("resource") or {}),
        sub_resource=str(req.get("subResource") or ""),
        name=str(req.get("name") or ""),
        namespace=str(req.get("namespace") or ""),
        object=req.get("object") or None,
        old_object=req.get("oldObject") or None,
        dry_run=bool(req.get("dryRun", False)),
        user_info=dict(req.get("userInfo") or {}),
        api_version=api_version,
        raw=req,
    )


def response_to_dict(response: AdmissionResponse) -> dict[str, Any]:
    """The ``response`` stanza of an AdmissionReview."""
    out: dict[str, Any] = {"uid": response.uid, "allowed": response.allowed}
    status: dict[str, Any] = {"code": response.code}
    if response.message:
        status["message"] = response.message
    if response.reason:
        status["reason"] = response.reason
    if not response.allowed:
        status["status"] = "Failure"
        out["status"] = status
    elif response.message or response.code != 200:
        status["status"] = "Success"
        out["status"] = status
    if response.patch:
        out["patchType"] = "JSONPatch"
        out["patch"] = base64.b64encode(json.dumps(response.patch, separators=(",", ":")).encode()).decode()
    if response.warnings:
        out["warnings"] = list(response.warnings)
    return out


def encode_review(response: AdmissionResponse, *, api_version: str = ADMISSION_V1) -> dict[str, Any]:
    """A complete AdmissionReview answer in the request's ``api_version``."""
    return {"apiVersion": api_version, "kind": "AdmissionReview", "response": response_to_dict(response)}


def with_uid(response: AdmissionResponse, uid: str) -> AdmissionResponse:
    """Echo the request uid (done by the server for every handler)."""
    return attrs.evolve(response, uid=uid)
