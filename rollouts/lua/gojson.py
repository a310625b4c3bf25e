"""JSON text exactly as Go's ``encoding/json`` writes it (lua-contract.md §3).

Users' scripts compare and store strings produced by ``json.encode`` (the ALB "conditions" script
puts one into an annotation), so the bytes must match upstream, not merely parse the same:
compact, object keys sorted, integral numbers without ``.0``, exponent form outside
[1e-6, 1e21), and Go's HTML-safe string escaping. The stdlib ``json`` differs on all but the first
two, hence this small encoder over plain trees (dict / list / str / int / float / bool / None).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

__all__ = ["dumps", "format_number"]

#: Go switches to exponent form at these magnitudes (encoding/json floatEncoder).
_EXP_HIGH = 1e21
_EXP_LOW = 1e-6

_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
#: Go escapes these even though JSON allows them raw (HTML safety, JavaScript line separators).
_U_ESCAPED = {"<", ">", "&", "\u2028", "\u2029"}


def format_number(value: float | int) -> str:
    """A number as Go formats a float64; NaN and infinities raise ``ValueError`` (Go refuses them)."""
    f = float(value)
    if math.isnan(f) or math.isinf(f):
        raise ValueError(f"unsupported value: {value!r}")
    magnitude = abs(f)
    if magnitude != 0 and (magnitude < _EXP_LOW or magnitude >= _EXP_HIGH):
        return format(Decimal(repr(f)), "e").replace("E", "e")
    if f.is_integer():
        return str(int(f))
    return format(Decimal(repr(f)), "f")


def _string(s: str) -> str:
    out = ['"']
    for ch in s:
        if ch in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[ch])
        elif ch < " " or ch in _U_ESCAPED:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def dumps(value: Any) -> str:
    """Compact JSON of a plain tree with sorted keys (Go sorts map keys bytewise = by code point)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | float):
        return format_number(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{_string(k)}:{dumps(value[k])}" for k in sorted(value)) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    raise TypeError(f"cannot encode {type(value).__name__} to JSON")
