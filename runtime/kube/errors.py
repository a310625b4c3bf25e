"""Typed API errors, built from the ``Status`` object the API server returns for every failure.

Callers branch on the class (``except NotFound``), never on numbers. :func:`error_from_response` is
the single place that maps (HTTP status, Status.reason) to a class; it is used for plain responses,
for watch ``ERROR`` events (which carry a Status but no HTTP status line) and by tests.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

__all__ = [
    "ApiError", "BadRequest", "Unauthorized", "Forbidden", "NotFound", "Conflict", "AlreadyExists",
    "Gone", "Invalid", "FieldCause", "TooManyRequests", "ServerError", "Timeout", "ConnectionFailed",
    "error_from_response",
]


@attrs.frozen
class FieldCause:
    """One entry of ``Status.details.causes`` (a field-level validation failure)."""

    field: str
    message: str
    reason: str


class ApiError(Exception):
    """A non-2xx answer from the API server (or a client-side failure to get one)."""

    default_status = 0
    default_reason = "Unknown"

    def __init__(
        self, message: str = "", *, status: int | None = None, reason: str | None = None,
        details: dict | None = None, body: dict | None = None,
    ) -> None:
        self.status: int = status if status is not None else self.default_status
        self.reason: str = reason or self.default_reason
        self.message: str = message
        self.details: dict | None = details
        self.body: dict | None = body
        super().__init__(f"{self.status} {self.reason}: {message}")


class BadRequest(ApiError):
    default_status, default_reason = 400, "BadRequest"


class Unauthorized(ApiError):
    default_status, default_reason = 401, "Unauthorized"


class Forbidden(ApiError):
    default_status, default_reason = 403, "Forbidden"


class NotFound(ApiError):
    default_status, default_reason = 404, "NotFound"


class Conflict(ApiError):
    """409 with reason Conflict: usually a stale ``resourceVersion`` on update; re-read and retry."""

    default_status, default_reason = 409, "Conflict"


class AlreadyExists(ApiError):
    """409 with reason AlreadyExists (a create of an existing name). Deliberately *not* a Conflict."""

    default_status, default_reason = 409, "AlreadyExists"


class Gone(ApiError):
    """410: the requested resourceVersion was compacted; the watcher must relist."""

    default_status, default_reason = 410, "Expired"


class Invalid(ApiError):
    """422: validation failed; :attr:`causes` names the fields."""

    default_status, default_reason = 422, "Invalid"

    @property
    def causes(self) -> list[FieldCause]:
        raw = (self.details or {}).get("causes") or []
        return [FieldCause(c.get("field", ""), c.get("message", ""), c.get("reason", "")) for c in raw]


class TooManyRequests(ApiError):
    """429: the server (API priority and fairness) or a webhook asks us to slow down."""

    default_status, default_reason = 429, "TooManyRequests"

    def __init__(self, message: str = "", *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after: float | None = retry_after


class ServerError(ApiError):
    default_status, default_reason = 500, "InternalError"


class Timeout(ApiError):
    """504 / reason Timeout from the server, or a client-side request timeout (status 0)."""

    default_status, default_reason = 504, "Timeout"


class ConnectionFailed(ApiError):
    """No HTTP answer at all (refused, reset, TLS failure). Status 0. Extension of the contract."""

    default_status, default_reason = 0, "ConnectionFailed"


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict, 410: Gone,
    422: Invalid, 429: TooManyRequests, 504: Timeout,
}
_BY_REASON: dict[str, type[ApiError]] = {
    "AlreadyExists": AlreadyExists, "Expired": Gone, "Gone": Gone, "ResourceExpired": Gone,
    "Timeout": Timeout, "NotFound": NotFound, "Conflict": Conflict, "Invalid": Invalid,
    "TooManyRequests": TooManyRequests,
}


def _classify(code: int, reason: str) -> type[ApiError]:
    """Reasons that refine a status win first (409 AlreadyExists, 410/Expired, Timeout), then the status."""
    if reason == "AlreadyExists":
        return AlreadyExists
    if code == 410 or reason in ("Expired", "Gone", "ResourceExpired"):
        return Gone
    if code == 504 or reason == "Timeout":
        return Timeout
    if code in _BY_STATUS:
        return _BY_STATUS[code]
    if code >= 500:
        return ServerError
    return _BY_REASON.get(reason, ApiError)


def _decode(body: bytes | str | Mapping | None) -> dict | None:
    if body is None or isinstance(body, Mapping):
        return dict(body) if body is not None else None
    try:
        decoded = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return decoded if isinstance(decoded, dict) else None


def _retry_after(headers: Mapping[str, str] | None, details: dict | None) -> float | None:
    raw = None
    if headers:
        raw = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if raw is None and details and details.get("retryAfterSeconds") is not None:
        raw = details["retryAfterSeconds"]
    try:
        return max(0.0, float(raw)) if raw is not None else None
    except (TypeError, ValueError):
        return None  # HTTP-date form: not produced by kube-apiserver; treat as absent.


def error_from_response(
    status: int, body: bytes | str | Mapping | None = None, headers: Mapping[str, str] | None = None,
) -> ApiError:
    """Build the typed error for a failed response (or a watch ERROR event's Status object).

    ``status`` may be 0 when unknown (watch ERROR events): the Status ``code`` is used then.
    A 409 whose reason is AlreadyExists becomes :class:`AlreadyExists`; other 409s are :class:`Conflict`.
    """
    doc = _decode(body)
    raw_text = body.decode(errors="replace") if isinstance(body, bytes) else (body if isinstance(body, str) else "")
    is_status = bool(doc and doc.get("kind") == "Status")
    reason = (doc or {}).get("reason", "") if is_status else ""
    message = (doc or {}).get("message", "") if is_status else raw_text[:500]
    details = (doc or {}).get("details") if is_status else None
    code = status or int((doc or {}).get("code") or 0)
    cls = _classify(code, reason)
    kwargs: dict[str, Any] = {"status": code, "reason": reason or None, "details": details, "body": doc}
    if cls is TooManyRequests:
        kwargs["retry_after"] = _retry_after(headers, details)
    return cls(message or f"HTTP {code}", **kwargs)
