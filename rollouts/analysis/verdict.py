"""Measurements → a check's verdict → the run's verdict (pure; the tables in tests/unit/analysis).

Vocabulary. A *measurement* is one query at one time, classified as ``Successful``, ``Failed``,
``Inconclusive`` (a value neither condition decides), ``NoData`` (an empty answer, or NaN: a ratio
over zero requests) or ``Error`` (Prometheus refused the query, timed out or was unreachable). A
check's *verdict* looks at its last ``count`` measurements:

* ``fail`` as soon as more than ``failureLimit`` of them failed;
* ``inconclusive`` as soon as more than ``inconclusiveLimit`` were inconclusive or errors — so an
  unreachable Prometheus is never a pass;
* with ``count`` measurements: ``noData`` if any of them had no data, else ``pass``;
* ``running`` before that.

Why a sliding window rather than "the first ``count``": with the action ``Wait`` a check keeps
measuring, and a verdict about the *recent* measurements is what lets it pass once data arrives.
The run's verdict is the worst of its checks (fail > inconclusive > noData > running > pass).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

import attrs

from rollouts.analysis import template as t

SUCCESSFUL: Final = "Successful"
FAILED: Final = "Failed"
INCONCLUSIVE_M: Final = "Inconclusive"
NO_DATA_M: Final = "NoData"
ERROR: Final = "Error"

#: Measurements kept per check in the run status: enough for any window plus a little history,
#: bounded so that a check that waits for hours does not grow the object without limit.
MAX_KEPT: Final = 20

_SEVERITY: Final = {t.FAIL: 4, t.INCONCLUSIVE: 3, t.NO_DATA: 2, t.RUNNING: 1, t.PASS: 0}


@attrs.frozen
class Measurement:
    at: str
    phase: str
    value: float | None = None
    message: str = ""

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"at": self.at, "phase": self.phase}
        if self.value is not None:
            out["value"] = format_value(self.value)
        if self.message:
            out["message"] = self.message
        return out

    @classmethod
    def from_wire(cls, obj: Mapping[str, Any]) -> Measurement:
        raw = obj.get("value")
        try:
            value = float(raw) if raw is not None else None
        except (TypeError, ValueError):
            value = None
        return cls(str(obj.get("at", "")), str(obj.get("phase", "")), value, str(obj.get("message", "")))


def format_value(value: float) -> str:
    """A value as users read it: ``0.2``, ``12``, ``1.5e-05`` (no float noise)."""
    return f"{value:.6g}"


def classify(check: t.Check, value: float | None) -> str:
    """The phase of one measured value (``None`` or NaN: no data)."""
    if value is None or math.isnan(value):
        return NO_DATA_M
    if check.failure is not None and check.failure.holds(value):
        return FAILED
    if check.success is not None:
        if check.success.holds(value):
            return SUCCESSFUL
        return INCONCLUSIVE_M if check.failure is not None else FAILED
    return SUCCESSFUL


def check_verdict(check: t.Check, measurements: Sequence[Measurement]) -> str:
    """The verdict of ``check`` over its measurements (oldest first)."""
    window = list(measurements)[-check.count:]
    phases = [m.phase for m in window]
    if phases.count(FAILED) > check.failure_limit:
        return t.FAIL
    if phases.count(INCONCLUSIVE_M) + phases.count(ERROR) > check.inconclusive_limit:
        return t.INCONCLUSIVE
    if len(window) < check.count:
        return t.RUNNING
    return t.NO_DATA if NO_DATA_M in phases else t.PASS


def run_verdict(verdicts: Sequence[str]) -> str:
    """The worst of the checks' verdicts (``pass`` for none)."""
    return max(verdicts, key=lambda v: _SEVERITY[v], default=t.PASS)


def describe(check: t.Check, verdict: str, measurements: Sequence[Measurement]) -> str:
    """One line naming the check, its verdict, the last value and why (what users see in messages)."""
    last = measurements[-1] if measurements else None
    if last is None:
        return f"{check.name}: {verdict}, not measured yet"
    value = format_value(last.value) if last.value is not None else "no data"
    why = ""
    if last.phase == FAILED and last.message:
        why = f" ({last.message})"
    elif last.phase == FAILED:
        why = f" (failureCondition {check.failure_text!r})" if check.failure_text else \
            f" (successCondition {check.success_text!r} not met)"
    elif last.phase == SUCCESSFUL and (check.success_text or check.failure_text):
        why = f" ({check.success_text or 'not ' + check.failure_text!s})"
    elif last.phase == ERROR:
        why = f" ({last.message})"
    elif last.phase == INCONCLUSIVE_M:
        why = " (neither condition met)"
    n = len(measurements[-check.count:])
    return f"{check.name}: {verdict}, value {value}{why}, {n}/{check.count} measurements"
