"""Field errors in the Kubernetes ``field.Error`` shape, and the single denial message.

Kept apart from the rules so webhooks can format errors without importing validation logic.
Rendering follows k8s.io/apimachinery/pkg/util/validation/field: ``<path>: Invalid value: <v>: <detail>``,
``<path>: Required value: <detail>``, ``<path>: Forbidden: <detail>``; an aggregate of several errors
is ``[e1, e2]`` (utilerrors.NewAggregate), one error is rendered alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Final

import attrs

INVALID: Final = "Invalid"
REQUIRED: Final = "Required"
FORBIDDEN: Final = "Forbidden"
#: A key the API does not have. Kubernetes has no field.Error type for it (the API server prunes such
#: keys or fails decoding with ``unknown field "<path>"``); ours also says where the key belongs.
UNKNOWN: Final = "Unknown"

_BODY_PREFIX = {INVALID: "Invalid value", REQUIRED: "Required value", FORBIDDEN: "Forbidden",
                UNKNOWN: "Unknown field"}
_NO_VALUE = object()


def _render_value(v: Any) -> str:
    if v is None:
        return "null"
    try:
        return json.dumps(v, separators=(",", ":"), sort_keys=False, default=str)
    except (TypeError, ValueError):
        return repr(v)


@attrs.frozen
class FieldError:
    """One validation failure.

    ``field`` is the wire path (``spec.strategy.canary.steps[1].replicas``); ``detail`` says what is
    wrong and what would be valid; ``type`` is ``Invalid``/``Required``/``Forbidden``/``Unknown``; ``value`` is the
    offending JSON value (rendered only for ``Invalid``).
    """

    type: str
    field: str
    detail: str
    value: Any = attrs.field(default=_NO_VALUE, eq=False, repr=False)

    def __str__(self) -> str:
        prefix = _BODY_PREFIX.get(self.type, self.type)
        if self.type == INVALID and self.value is not _NO_VALUE:
            return f"{self.field}: {prefix}: {_render_value(self.value)}: {self.detail}"
        return f"{self.field}: {prefix}: {self.detail}"


def invalid(path: str, value: Any, detail: str) -> FieldError:
    return FieldError(INVALID, path, detail, value)


def required(path: str, detail: str) -> FieldError:
    return FieldError(REQUIRED, path, detail)


def forbidden(path: str, detail: str) -> FieldError:
    return FieldError(FORBIDDEN, path, detail)


def unknown(path: str, detail: str) -> FieldError:
    return FieldError(UNKNOWN, path, detail)


def format_errors(errors: Iterable[FieldError]) -> str:
    """One denial message for an admission response (empty string when there are no errors)."""
    items = [str(e) for e in errors]
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return "[" + ", ".join(items) + "]"
