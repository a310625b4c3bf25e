"""CRD conversion webhook: ConversionReview in, every object converted, ConversionReview out.

The API server sends a batch of objects and a ``desiredAPIVersion``; the answer must contain the
converted objects in the same order, or a ``Failure`` result with a message (the client then sees
that message). One failing object fails the whole review, as in controller-runtime: a partial answer
is not allowed by the protocol.

The per-object work is ``rollouts.api.conversion.convert(obj, desired_api_version)`` (Rollout and
BatchRelease v1alpha1 ↔ v1beta1 through the v1beta1 hub). This module only shapes the review, so it is
tested with any function of that signature.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import structlog

ConvertFn = Callable[[dict[str, Any], str], dict[str, Any]]

CONVERSION_VERSIONS = ("apiextensions.k8s.io/v1", "apiextensions.k8s.io/v1beta1")

log = structlog.get_logger("webhooks.conversion")


def default_converter() -> ConvertFn:
    """``rollouts.api.conversion.convert`` (imported late so the server can be built without it), told
    that it owns each object: the server parses every review itself and drops it once answered, so
    nothing is copied (the API server sends every Rollout/BatchRelease write through here)."""
    from rollouts.api.conversion import convert

    return functools.partial(convert, owned=True)


def _failure(api_version: str, uid: str, message: str) -> dict[str, Any]:
    return {
        "apiVersion": api_version,
        "kind": "ConversionReview",
        "response": {"uid": uid, "convertedObjects": [], "result": {"status": "Failure", "message": message}},
    }


def _convert_one(convert: ConvertFn, obj: dict[str, Any], desired: str) -> dict[str, Any]:
    out = convert(obj, desired)
    if out.get("apiVersion") != desired:
        raise ValueError(f"converter returned apiVersion {out.get('apiVersion')!r}, wanted {desired!r}")
    return out


def review_response(review: dict[str, Any], convert: ConvertFn) -> tuple[dict[str, Any], int]:
    """Answer a decoded ConversionReview; returns ``(body, http_status)``.

    A review we cannot read (wrong kind, no request/uid) is HTTP 400; conversion errors are HTTP 200
    with ``result.status: Failure`` so the API server relays our message.
    """
    api_version = review.get("apiVersion") or CONVERSION_VERSIONS[0]
    request = review.get("request")
    if review.get("kind") != "ConversionReview" or api_version not in CONVERSION_VERSIONS:
        return {"error": f"expected a ConversionReview, got {review.get('kind')!r} {api_version!r}"}, 400
    if not isinstance(request, dict) or not request.get("uid"):
        return {"error": "ConversionReview has no request or the request has no uid"}, 400
    uid = str(request["uid"])
    desired = request.get("desiredAPIVersion")
    if not desired:
        return _failure(api_version, uid, "ConversionReview request has no desiredAPIVersion"), 200
    converted: list[dict[str, Any]] = []
    for index, obj in enumerate(request.get("objects") or []):
        try:
            converted.append(_convert_one(convert, obj, desired))
        except Exception as exc:  # noqa: BLE001 - any converter failure is reported, never raised
            meta = obj.get("metadata", {}) if isinstance(obj, dict) else {}
            name = f"{meta.get('namespace', '')}/{meta.get('name', '')}"
            message = (
                f"cannot convert {obj.get('kind') if isinstance(obj, dict) else '?'} {name} "
                f"(object {index}) from {obj.get('apiVersion') if isinstance(obj, dict) else '?'} "
                f"to {desired}: {exc}"
            )
            log.warning("conversion failed", uid=uid, error=message)
            return _failure(api_version, uid, message), 200
    body = {
        "apiVersion": api_version,
        "kind": "ConversionReview",
        "response": {"uid": uid, "convertedObjects": converted, "result": {"status": "Success"}},
    }
    return body, 200
