"""The only package that talks HTTP to the API server (and the only one importing kubernetes_asyncio)."""

from .client import ClientSettings, KubeClient
from .errors import (
    AlreadyExists,
    ApiError,
    BadRequest,
    Conflict,
    ConnectionFailed,
    FieldCause,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    ServerError,
    Timeout,
    TooManyRequests,
    Unauthorized,
    error_from_response,
)
from .resources import Resource
from .watch import WatchEvent

__all__ = [
    "KubeClient", "ClientSettings", "Resource", "WatchEvent", "ApiError", "BadRequest", "Unauthorized",
    "Forbidden", "NotFound", "Conflict", "AlreadyExists", "Gone", "Invalid", "FieldCause", "TooManyRequests",
    "ServerError", "Timeout", "ConnectionFailed", "error_from_response",
]
