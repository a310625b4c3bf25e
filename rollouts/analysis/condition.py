"""Success and failure conditions of a check: a tiny comparison language, parsed, never ``eval``-ed.

Why a language of our own: a condition is user input run inside the controller, so it must not be
Python (``eval``) nor a template engine. What checks need is comparing the measured number with
thresholds, which this grammar covers::

    expr   := term  (("||" | "or")  term)*
    term   := factor (("&&" | "and") factor)*
    factor := "(" expr ")" | operand OP operand
    operand:= "result" | NUMBER
    OP     := "<" | "<=" | ">" | ">=" | "==" | "!="

``result`` is the query's value. A threshold that is not a number (``result < "5%"``, ``result < high``)
is refused when the template is read, with the condition's field path and the fix.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable

import attrs

RESULT = "result"
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le, ">=": operator.ge, "==": operator.eq, "!=": operator.ne, "<": operator.lt, ">": operator.gt,
}
_TOKEN = re.compile(r"\s*(<=|>=|==|!=|<|>|\(|\)|&&|\|\||[^\s()<>=!&|]+|\S)")


class ConditionError(ValueError):
    """A condition that does not parse; the message says what was expected."""


@attrs.frozen
class Comparison:
    left: str | float
    op: str
    right: str | float

    def holds(self, result: float) -> bool:
        left = float(result) if self.left == RESULT else self.left
        right = float(result) if self.right == RESULT else self.right
        assert isinstance(left, float) and isinstance(right, float)  # the parser made every other operand one
        return _OPS[self.op](left, right)


@attrs.frozen
class Junction:
    """``all_of`` True: every part holds (``&&``); False: any part holds (``||``)."""

    all_of: bool
    parts: tuple[Condition, ...]

    def holds(self, result: float) -> bool:
        return all(p.holds(result) for p in self.parts) if self.all_of else any(p.holds(result) for p in self.parts)


Condition = Comparison | Junction


def _tokens(text: str) -> list[str]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        assert m is not None  # the last alternative matches any non-space character
        out.append(m.group(1))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> str:
        tok = self.peek()
        if tok is None:
            raise ConditionError("the condition ends too early")
        self.i += 1
        return tok

    def expr(self) -> Condition:
        parts = [self.term()]
        while self.peek() in ("||", "or"):
            self.take()
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else Junction(False, tuple(parts))

    def term(self) -> Condition:
        parts = [self.factor()]
        while self.peek() in ("&&", "and"):
            self.take()
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else Junction(True, tuple(parts))

    def factor(self) -> Condition:
        if self.peek() == "(":
            self.take()
            inner = self.expr()
            if self.peek() != ")":
                raise ConditionError("a '(' is not closed")
            self.take()
            return inner
        left = self.operand()
        op = self.take()
        if op not in _OPS:
            raise ConditionError(f"expected a comparison (<, <=, >, >=, ==, !=) after {left!r}, got {op!r}")
        right = self.operand()
        if RESULT not in (left, right):
            raise ConditionError(f"the comparison {left} {op} {right} does not use {RESULT!r}")
        return Comparison(left, op, right)

    def operand(self) -> str | float:
        tok = self.take()
        if tok == RESULT:
            return RESULT
        try:
            value = float(tok)
        except ValueError:
            raise ConditionError(f"{tok!r} is not a number; compare {RESULT!r} with a number, e.g. "
                                 f"'{RESULT} < 0.05'") from None
        if not math.isfinite(value):
            raise ConditionError(f"{tok!r} is not a finite number")
        return value


def parse(text: str) -> Condition:
    """The condition of ``text``; :class:`ConditionError` says what is wrong with it."""
    if not text.strip():
        raise ConditionError("the condition is empty")
    p = _Parser(text)
    cond = p.expr()
    if p.peek() is not None:
        raise ConditionError(f"unexpected {p.peek()!r}; join comparisons with && or ||")
    return cond
