"""``metav1.Time`` as ``UnmarshalJSON`` leaves it, in the Go value model of :mod:`.spew`.

apimachinery v0.28 ``Time.UnmarshalJSON``: ``null`` → the zero ``time.Time`` (``loc`` nil);
otherwise ``time.Parse(time.RFC3339, s).Local()``. A parsed time without a monotonic reading keeps
its nanoseconds in ``wall`` and its seconds since 0001-01-01 UTC in ``ext``; ``Local()`` then points
``loc`` at the process-wide ``time.Local``, whose private fields go-spew dumps too.

``time.Local`` is an assumption about the upstream controller process, not a property of the
object: we model Go's built-in fallback, a ``Location`` named ``"UTC"`` with no zones, which is what
a Go binary gets with no ``TZ`` and no ``/etc/localtime`` (the upstream distroless image) or with
``TZ=""``. A controller run with a real local zone would hash templates carrying timestamps
differently (templates normally carry none: ``creationTimestamp: null``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

#: Seconds from 0001-01-01T00:00:00Z to the Unix epoch (Go ``unixToInternal``).
UNIX_TO_INTERNAL = 62135596800

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?(Z|[+-]\d{2}:\d{2})\Z"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class SharedStruct(dict[str, Any]):
    """A struct value reached through pointers from several places (go-spew tracks its address).

    Identity, not equality, is what matters: go-spew prints ``<shown>`` for a pointer it is still
    in the middle of printing, so the renderer tracks these objects by ``id``.
    """


#: ``time.Local`` as the UTC fallback (see module doc); every other field is its zero value.
LOCAL = SharedStruct(name="UTC")


class TimeError(ValueError):
    """The text is not an RFC 3339 timestamp (the API server rejects such objects)."""


def parse_rfc3339(text: str) -> tuple[int, int]:
    """Go ``time.Parse(time.RFC3339, text)``: (seconds since the Unix epoch, nanoseconds)."""
    m = _RFC3339.match(text)
    if not m:
        raise TimeError(f"timestamp {text!r} is not RFC 3339 (e.g. 2024-01-02T03:04:05Z)")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    frac, zone = m.group(7) or "", m.group(8)
    if hour > 23 or minute > 59 or second > 59:
        raise TimeError(f"timestamp {text!r}: time of day out of range")
    try:  # year 0000, which Go accepts, is refused here: no template carries one
        base = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError as e:
        raise TimeError(f"timestamp {text!r}: {e}") from None
    offset = 0
    if zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 24 or minutes > 59:
            raise TimeError(f"timestamp {text!r}: zone offset out of range")
        offset = sign * (hours * 3600 + minutes * 60)
    delta = base - _EPOCH
    seconds = delta.days * 86400 + delta.seconds - offset
    nanos = int((frac + "000000000")[:9]) if frac else 0
    return seconds, nanos


def unmarshal_time(raw: Any) -> dict[str, Any]:
    """``metav1.Time.UnmarshalJSON`` from a parsed JSON value: a Go value of ``v1.Time``."""
    if raw is None:
        return {}
    if not isinstance(raw, str):
        raise TimeError(f"timestamp {raw!r} is not a string")
    seconds, nanos = parse_rfc3339(raw)
    return {"Time": {"wall": nanos, "ext": seconds + UNIX_TO_INTERNAL, "loc": LOCAL}}
