"""``resource.Quantity`` as ``UnmarshalJSON`` leaves it, in the Go value model of :mod:`.spew`.

Why internals: the pod-template hash dumps the Go value with methods disabled, so a quantity is
hashed as its private representation, not its text: ``"1000m"`` and ``"1"`` are equal quantities
but different dumps. This is a transcription of apimachinery v0.28 ``ParseQuantity``
(``pkg/api/resource/quantity.go``): the int64 fast path (``i = int64Amount{value, scale}``, with the
input cached in ``s`` only when it is already canonical) and the ``inf.Dec`` path for everything
else (binary suffixes with fractions, more than 18 digits, scales below nano), including its
round-up to nano, the BinarySI cap at max int64 and the BinarySI→DecimalSI switch below one.

The ``inf.Dec`` is printed after ``Quantity.DeepCopy`` (every controller-runtime cache read makes
one): DeepCopy rebuilds the ``big.Int``, so its word slice is ``nil`` for zero and exactly the
magnitude's 64-bit words (least significant first) otherwise.
"""

from __future__ import annotations

from typing import Any

DECIMAL_SI = "DecimalSI"
BINARY_SI = "BinarySI"
DECIMAL_EXPONENT = "DecimalExponent"

_MAX_INT64 = 2**63 - 1
_MIN_INT64 = -(2**63)
#: ``maxInt64Factors``: the int64 fast path needs at most 18 significant digits.
_MAX_INT64_FACTORS = 18
#: ``Nano``: the smallest scale a quantity keeps; anything finer is rounded up to it.
_NANO = -9
_SUFFIX_CHARS = frozenset("eEinumkKMGTP")
_DIGITS = frozenset("0123456789")
_DECIMAL_SUFFIXES = {"": 0, "n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BINARY_SUFFIXES = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
#: Go ``unicode.IsSpace`` (what ``strings.TrimSpace`` strips); Python's ``str.strip`` differs (\x1c-\x1f).
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
            "\u2028\u2029\u202f\u205f\u3000"


class QuantityError(ValueError):
    """The text is not a quantity Kubernetes would accept (the API server rejects such objects)."""


def _split(text: str) -> tuple[bool, str, str, str, str]:
    """``parseQuantityString``: sign, numeric text, integer digits, fraction digits, suffix."""
    positive, pos, end = True, 0, len(text)
    if pos < end and text[0] in "+-":
        positive = text[0] == "+"
        pos += 1
    while pos < end and text[pos] == "0":
        pos += 1
    if pos >= end:
        return positive, "0", "0", "", ""
    start = pos
    while pos < end and text[pos] in _DIGITS:
        pos += 1
    if pos >= end:
        return positive, text, text[start:], "", ""
    num = text[start:pos] or "0"
    denom = ""
    if text[pos] == ".":
        pos += 1
        start = pos
        while pos < end and text[pos] in _DIGITS:
            pos += 1
        denom = text[start:pos]
        if pos >= end:
            return positive, text, num, denom, ""
    value, suffix_start = text[:pos], pos
    while pos < end and text[pos] in _SUFFIX_CHARS:
        pos += 1
    if pos < end and text[pos] in "+-":
        pos += 1
    while pos < end and text[pos] in _DIGITS:
        pos += 1
    if pos < end:
        raise QuantityError(f"quantity {text!r}: malformed suffix")
    return positive, value, num, denom, text[suffix_start:]


def _wrap_int32(n: int) -> int:
    return (n + 2**31) % 2**32 - 2**31


def _interpret(suffix: str) -> tuple[int, int, str]:
    """``quantitySuffixer.interpret``: (base, exponent, format)."""
    if suffix in _DECIMAL_SUFFIXES:
        return 10, _DECIMAL_SUFFIXES[suffix], DECIMAL_SI
    if suffix in _BINARY_SUFFIXES:
        return 2, _BINARY_SUFFIXES[suffix], BINARY_SI
    if len(suffix) > 1 and suffix[0] in "eE":
        digits = suffix[1:].lstrip("+-")
        if suffix[1:].count("+") + suffix[1:].count("-") > 1 or not digits or not set(digits) <= _DIGITS:
            raise QuantityError(f"quantity suffix {suffix!r} is not an exponent")
        exponent = int(suffix[1:])
        if not _MIN_INT64 <= exponent <= _MAX_INT64:
            raise QuantityError(f"quantity exponent {suffix!r} overflows int64")
        return 10, _wrap_int32(exponent), DECIMAL_EXPONENT
    raise QuantityError(f"quantity suffix {suffix!r} is not one of n u m k M G T P E Ki Mi Gi Ti Pi Ei or e<N>")


def _quantity(i_value: int = 0, i_scale: int = 0, dec: Any = None, s: str = "", fmt: str = "") -> dict[str, Any]:
    return {"i": {"value": i_value, "scale": i_scale}, "d": {"Dec": dec}, "s": s, "Format": fmt}


def _fast_path(text: str, positive: bool, num: str, denom: str, base: int, exponent: int,
               fmt: str) -> dict[str, Any] | None:
    """The int64 branch of ParseQuantity, or ``None`` when it does not apply."""
    mantissa, scale = 1, 0
    if fmt == BINARY_SI:
        if exponent < 0 or denom:
            return None
        mantissa = 1 << exponent
        precision = 15 - len(num) - exponent * 3 // 10 - 1
    else:
        scale = exponent
        precision = _MAX_INT64_FACTORS - (len(num) + len(denom))
    if precision < 0:
        return None
    scale -= len(denom)
    if scale < _NANO:
        return None
    shifted = num + denom
    value = int(shifted)
    result = value * mantissa
    if result > _MAX_INT64:
        return None
    if not positive:
        result = -result
    if fmt == BINARY_SI:
        canonical = exponent % 10 == 0 and value & 0x07 != 0
    else:
        canonical = scale % 3 == 0 and not shifted.endswith("000") and shifted[0] != "0"
    return _quantity(result, scale, s=text if canonical else "", fmt=fmt)


def _dec_value(value: str) -> tuple[int, int]:
    """``inf.Dec.SetString``: (unscaled, scale) of a signed decimal like ``-1.50``."""
    body = value[1:] if value[:1] in "+-" else value
    whole, _, frac = body.partition(".")
    digits = whole + frac
    if not digits or not set(digits) <= _DIGITS:
        raise QuantityError(f"quantity number {value!r} is not numeric")
    unscaled = int(digits)
    return (-unscaled if value.startswith("-") else unscaled), len(frac)


def _slow_path(value: str, base: int, exponent: int, fmt: str) -> dict[str, Any]:
    """The ``inf.Dec`` branch of ParseQuantity (see module doc)."""
    unscaled, scale = _dec_value(value)
    if base == 10:
        scale -= exponent
    else:
        unscaled <<= exponent
    negative = unscaled < 0
    unscaled = abs(unscaled)
    if unscaled != 0:  # Round(amount, Nano, RoundUp): away from zero, to exactly 9 decimals
        if scale <= -_NANO:
            unscaled *= 10 ** (-_NANO - scale)
        else:
            unscaled = -(-unscaled // 10 ** (scale + _NANO))
        scale = -_NANO
    if fmt == BINARY_SI and _cmp_dec(unscaled, scale, _MAX_INT64, 0) > 0:
        unscaled, scale = _MAX_INT64, 0
    if fmt == BINARY_SI and unscaled != 0 and _cmp_dec(unscaled, scale, 1, 0) < 0:
        fmt = DECIMAL_SI
    return _quantity(dec=_dec(-unscaled if negative else unscaled, scale), fmt=fmt)


def _cmp_dec(u1: int, s1: int, u2: int, s2: int) -> int:
    """``inf.Dec.Cmp`` of u1·10^-s1 and u2·10^-s2."""
    if s1 < s2:
        u1 *= 10 ** (s2 - s1)
    else:
        u2 *= 10 ** (s1 - s2)
    return (u1 > u2) - (u1 < u2)


def _dec(unscaled: int, scale: int) -> dict[str, Any]:
    """An ``inf.Dec`` after DeepCopy: ``big.Int{neg, abs}`` with 64-bit little-endian words."""
    magnitude, words = abs(unscaled), []
    while magnitude:
        words.append(magnitude & 0xFFFFFFFFFFFFFFFF)
        magnitude >>= 64
    return {"unscaled": {"neg": unscaled < 0, "abs": words or None}, "scale": scale}


def parse_quantity(text: str) -> dict[str, Any]:
    """``resource.ParseQuantity`` as a Go value of ``resource.Quantity`` (see module doc)."""
    if not text:
        raise QuantityError("quantity is empty")
    if text == "0":
        return _quantity(s="0", fmt=DECIMAL_SI)
    positive, value, num, denom, suffix = _split(text)
    base, exponent, fmt = _interpret(suffix)
    fast = _fast_path(text, positive, num, denom, base, exponent, fmt)
    return fast if fast is not None else _slow_path(value, base, exponent, fmt)


def unmarshal_quantity(raw: Any) -> dict[str, Any]:
    """``Quantity.UnmarshalJSON`` from a parsed JSON value (string, number or null).

    Numbers arrive already parsed: an int is exactly its text; a float is taken as Python's
    ``repr``, which is the original text for the usual short forms (``1.5``) but not for exponents
    (``2e3`` reads back as ``2000.0``). The API server always sends quantities as strings.
    """
    if raw is None:
        return _quantity()
    if isinstance(raw, bool):
        raise QuantityError(f"quantity {raw!r} is not a string or number")
    if isinstance(raw, int | float):
        text = repr(raw)
    elif isinstance(raw, str):
        text = raw
    else:
        raise QuantityError(f"quantity {raw!r} is not a string or number")
    return parse_quantity(text.strip(_GO_SPACE))
