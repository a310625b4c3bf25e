"""IntOrString: the Kubernetes ``intstr.IntOrString`` value (``5`` or ``"20%"``).

Kept as a tiny immutable wrapper instead of a bare ``int | str`` so that the wire form is
preserved exactly (``"5"`` stays a string, ``5`` stays a number — upstream distinguishes them) and
so that the percentage arithmetic lives in one place with Go's semantics
(k8s.io/apimachinery/pkg/util/intstr.GetScaledValueFromIntOrPercent).

This is the only int-or-string implementation in the tree: batch sizes, failure thresholds,
partitions, maxSurge and maxUnavailable all scale through :meth:`IntOrString.scaled_value` (batches
round *up*, maxUnavailable rounds *down*). The release arithmetic also reads such values out of
foreign objects (a Deployment's ``maxSurge``), which stay raw JSON, so the module-level helpers take
an :data:`IntOrStrLike` — the model or its raw wire form — and wrap it once.
"""

from __future__ import annotations

import re

import attrs

# strconv.Atoi accepts an optional sign and ASCII digits only (no spaces, no underscores).
_ATOI = re.compile(r"^[+-]?[0-9]+$")


class IntOrStrError(ValueError):
    """A string int-or-string value that is not an integer percentage (``"5"``, ``"a%"``), as upstream
    rejects it; or a JSON value that is neither a number nor a string where one is scaled."""


@attrs.frozen
class IntOrString:
    """An int or a string; on the wire a JSON number or a JSON string.

    Invariant: ``value`` is an ``int`` (never ``bool``) or a ``str``.
    """

    value: int | str = attrs.field()

    @value.validator
    def _check(self, _attr: attrs.Attribute, v: object) -> None:
        if isinstance(v, bool) or not isinstance(v, int | str):
            raise TypeError(f"IntOrString takes an int or a str, not {type(v).__name__}")

    @classmethod
    def parse(cls, v: int | str | IntOrString) -> IntOrString:
        """Wrap ``v`` (idempotent for an IntOrString)."""
        return v if isinstance(v, IntOrString) else cls(v)

    @property
    def is_int(self) -> bool:
        return isinstance(self.value, int)

    @property
    def is_percent(self) -> bool:
        """True for a string ending in ``%`` (whether or not the number parses)."""
        return isinstance(self.value, str) and self.value.endswith("%")

    def percent(self) -> int:
        """The integer before ``%``; ValueError when the string is not ``<int>%``."""
        if not isinstance(self.value, str) or not self.value.endswith("%"):
            raise IntOrStrError(
                f"invalid value for IntOrString: invalid type: string is not a percentage: {self.value!r}")
        digits = self.value[:-1]
        if not _ATOI.match(digits):
            raise IntOrStrError(
                f'invalid value for IntOrString: invalid value "{self.value}": not an integer percentage')
        return int(digits)

    def scaled_value(self, total: int, round_up: bool) -> int:
        """Go ``GetScaledValueFromIntOrPercent``: ints returned as is; ``"N%"`` → N% of ``total``.

        Rounds up (``math.Ceil``) when ``round_up`` else down (``math.Floor``). Raises IntOrStrError for a
        string that is not an integer percentage (e.g. ``"5"`` or ``"a%"``), as upstream does.
        """
        if isinstance(self.value, int):
            return self.value
        pct = self.percent()
        # Go computes in float64; for our ranges the exact rational is identical and avoids
        # representation surprises.
        num = pct * total
        return -((-num) // 100) if round_up else num // 100

    def to_wire(self) -> int | str:
        return self.value

    def __str__(self) -> str:
        return str(self.value)


#: The model or its raw wire form (a JSON number or string read from a foreign object).
IntOrStrLike = IntOrString | int | str
#: What an int-or-string field holds on the wire (what patches to foreign objects carry).
WireIntOrStr = int | str


def as_intstr(v: IntOrStrLike | None) -> IntOrString | None:
    """Wrap a raw value (``None`` stays ``None``); IntOrStrError for a bool or a non-scalar."""
    if v is None or isinstance(v, IntOrString):
        return v
    if isinstance(v, bool) or not isinstance(v, int | str):
        raise IntOrStrError(f"invalid value for IntOrString: {v!r} is neither a number nor a string")
    return IntOrString(v)


def scaled_value(v: IntOrStrLike | None, total: int, round_up: bool, default: int = 0) -> int:
    """:meth:`IntOrString.scaled_value` for the model or a raw value; ``None`` yields ``default``."""
    iv = as_intstr(v)
    return default if iv is None else iv.scaled_value(total, round_up)


def is_string(v: IntOrStrLike | None) -> bool:
    """The string form (Go ``Type == intstr.String``): how upstream tells a percentage batch or
    partition from a count, whether or not the string parses."""
    iv = as_intstr(v)
    return iv is not None and not iv.is_int


def wire_value(v: IntOrStrLike | None) -> WireIntOrStr | None:
    """The JSON form (``5`` or ``"20%"``) of the model or a raw value."""
    iv = as_intstr(v)
    return None if iv is None else iv.value


def parse_percentage_string(s: str) -> int:
    """Parse ``"N%"`` into N, like upstream's ``intstr.FromString(s)`` + scaled against 100, ceil.

    Used for ``traffic`` values. Raises ValueError otherwise.
    """
    return IntOrString(s).scaled_value(100, True)


__all__ = [
    "IntOrStrError", "IntOrStrLike", "IntOrString", "WireIntOrStr", "as_intstr", "is_string", "parse_percentage_string",
    "scaled_value", "wire_value",
]
