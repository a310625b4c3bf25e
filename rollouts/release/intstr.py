"""Kubernetes int-or-string arithmetic (``k8s.io/apimachinery/pkg/util/intstr``).

Batch sizes, failure thresholds, partitions, maxSurge and maxUnavailable are all "int or percent".
Kubernetes scales them with ``GetScaledValueFromIntOrPercent``; we keep one implementation here so
rounding is identical everywhere (batches round *up*, maxUnavailable rounds *down*).
"""

from __future__ import annotations

IntOrStr = int | str


class IntOrStrError(ValueError):
    """A string int-or-string value that is not of the form ``"<int>%"``."""


def is_percent(value: IntOrStr | None) -> bool:
    """True for the string form (Kubernetes only accepts percentages as strings)."""
    return isinstance(value, str)


def parse_percent(value: str) -> int:
    """Return N for ``"N%"``; raise :class:`IntOrStrError` otherwise (as Kubernetes does)."""
    if not value.endswith("%"):
        raise IntOrStrError(f'invalid value for IntOrString: {value!r} is not a percentage (expected "N%")')
    try:
        return int(value[:-1])
    except ValueError as exc:
        raise IntOrStrError(f"invalid value for IntOrString: {value!r} is not a percentage") from exc


def scaled_value(value: IntOrStr | None, total: int, *, round_up: bool) -> int:
    """``GetScaledValueFromIntOrPercent``: integers as is, ``"p%"`` → p × total / 100 rounded.

    ``None`` scales to 0 (the callers treat an absent field as zero unless they default it first).
    Booleans are rejected because ``True`` is an ``int`` in Python and would silently scale to 1.
    """
    if value is None:
        return 0
    if isinstance(value, bool):
        raise IntOrStrError(f"invalid value for IntOrString: {value!r}")
    if isinstance(value, int):
        return value
    percent = parse_percent(value)
    exact = percent * total
    # Integer arithmetic avoids float rounding surprises for large totals.
    return -((-exact) // 100) if round_up else exact // 100


def ceil_div(a: int, b: int) -> int:
    """Ceiling of a / b for non-negative b > 0 (integer arithmetic, no floats)."""
    return -((-a) // b)


__all__ = ["IntOrStr", "IntOrStrError", "is_percent", "parse_percent", "scaled_value", "ceil_div"]
