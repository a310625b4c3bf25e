"""Advancing one analysis run: measure the checks that are due, decide, say what to do next.

The run's state is the ``status`` of its ``AnalysisRun`` object (wire dict in, wire dict out), so a
restarted controller continues where the last one stopped and users read the values where they
look. :func:`advance` is the only function with I/O, and that I/O is the ``query`` callable it is
given (the controller passes :func:`rollouts.analysis.prometheus.query`; unit tests a table).

A run stops measuring once its verdict is decided and the verdict's action is not ``Wait``: the
verdict is then final for this step (and what ``kubectl get analysisrun`` keeps showing). With
``Wait`` it keeps measuring every interval, so a ``noData`` verdict turns into ``pass`` when data
arrives, and a deciding verdict is still written (and visible) meanwhile.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

import attrs

from rollouts.analysis import httpcheck
from rollouts.analysis import template as t
from rollouts.analysis import verdict as v
from rollouts.analysis.prometheus import Answer

Query = Callable[[str, str, float], Awaitable[Answer]]
#: ``(url, expected status, JSON path keys, JSON path text, timeout)`` → answer (:func:`httpcheck.fetch`).
Fetch = Callable[[str, int, Sequence[str | int], str, float], Awaitable[Answer]]
#: A ``kubernetes`` check's source → answer (the controller binds :func:`kubecheck.observe` to the release).
Observe = Callable[[t.KubernetesSource], Awaitable[Answer]]

#: Shortest recheck we ask for: the clocks of measurement times have second precision.
MIN_REQUEUE_SECONDS: Final = 1.0
DEADLINE_EXCEEDED: Final = "DeadlineExceeded"


@attrs.frozen
class Decision:
    """What the run says now."""

    verdict: str
    action: str
    message: str
    #: Seconds until the next measurement is due (None: nothing more to measure).
    requeue_after: float | None
    #: Why, when not the checks themselves (``DeadlineExceeded``), else "".
    reason: str = ""


def _time(now: datetime) -> str:
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(at: str) -> datetime | None:
    try:
        return datetime.fromisoformat(at.replace("Z", "+00:00"))
    except ValueError:
        return None


def _measurements(status: Mapping[str, Any], name: str) -> list[v.Measurement]:
    for c in status.get("checks") or []:
        if isinstance(c, Mapping) and c.get("name") == name:
            return [v.Measurement.from_wire(m) for m in c.get("measurements") or [] if isinstance(m, Mapping)]
    return []


def _due(check: t.Check, ms: list[v.Measurement], now: datetime) -> datetime:
    last = _parse(ms[-1].at) if ms else None
    return now if last is None else last + timedelta(seconds=check.interval_seconds)


async def _no_observer(source: t.KubernetesSource) -> Answer:
    return Answer(error="kubernetes checks need the controller's API client (none was given)")


async def _measure(check: t.Check, args: Mapping[str, str], now: datetime, query: Query,
                   fetch: Fetch, observe: Observe) -> v.Measurement:
    if check.prometheus is not None:
        src = check.prometheus
        answer = await query(src.address, src.render(args), float(src.timeout_seconds))
    elif check.kubernetes is not None:
        answer = await observe(check.kubernetes)
    else:
        assert check.http is not None  # the parser requires exactly one source
        h = check.http
        answer = await fetch(h.render(args), h.expected_status, h.keys, h.json_path, float(h.timeout_seconds))
    if answer.error:
        return v.Measurement(_time(now), v.ERROR, None, answer.error)
    if answer.failure:
        return v.Measurement(_time(now), v.FAILED, None, answer.failure)
    return v.Measurement(_time(now), v.classify(check, answer.value), answer.value)


def decide(spec: t.TemplateSpec, status: Mapping[str, Any], now: datetime) -> tuple[Decision, list[dict[str, Any]]]:
    """The decision of a run status as it stands, and the checks' wire status (no measuring)."""
    verdicts, lines, checks = [], [], []
    due: list[datetime] = []
    for check in spec.checks:
        ms = _measurements(status, check.name)
        cv = v.check_verdict(check, ms)
        verdicts.append(cv)
        lines.append(v.describe(check, cv, ms))
        due.append(_due(check, ms, now))
        entry: dict[str, Any] = {"name": check.name, "verdict": cv, "measurements": [m.to_wire() for m in ms]}
        if ms and ms[-1].value is not None:
            entry["lastValue"] = v.format_value(ms[-1].value)
        checks.append(entry)
    verdict = v.run_verdict(verdicts)
    action = t.WAIT if verdict == t.RUNNING else spec.actions[verdict]
    message = "; ".join(lines)
    if status.get("reason") == DEADLINE_EXCEEDED or (action == t.WAIT and _past_deadline(spec, status, now)):
        stalled = spec.actions[t.INCONCLUSIVE]
        return Decision(t.INCONCLUSIVE, t.PAUSE if stalled == t.WAIT else stalled,
                        f"no verdict within deadlineSeconds {spec.deadline_seconds}: {message}", None,
                        DEADLINE_EXCEEDED), checks
    wait = None
    if action == t.WAIT:
        wait = max(MIN_REQUEUE_SECONDS, min((d - now).total_seconds() for d in due))
        if spec.deadline_seconds is not None and (started := _parse(str(status.get("startedAt", "")))):
            left = (started + timedelta(seconds=spec.deadline_seconds) - now).total_seconds()
            wait = max(MIN_REQUEUE_SECONDS, min(wait, left))
    return Decision(verdict, action, message, wait), checks


def _past_deadline(spec: t.TemplateSpec, status: Mapping[str, Any], now: datetime) -> bool:
    started = _parse(str(status.get("startedAt", "")))
    return spec.deadline_seconds is not None and started is not None and \
        now >= started + timedelta(seconds=spec.deadline_seconds)


async def advance(spec: t.TemplateSpec, status: Mapping[str, Any], args: Mapping[str, str], now: datetime,
                  query: Query, fetch: Fetch = httpcheck.fetch,
                  observe: Observe = _no_observer) -> tuple[Decision, dict[str, Any]]:
    """Measure every due check (unless the verdict is final), then decide; returns the new status."""
    before, _ = decide(spec, status, now)
    work = {k: val for k, val in status.items() if k != "checks"}
    checks = {c.get("name"): c for c in status.get("checks") or [] if isinstance(c, Mapping)}
    if before.action == t.WAIT:
        for check in spec.checks:
            ms = _measurements(status, check.name)
            if _due(check, ms, now) > now:
                continue
            ms = [*ms, await _measure(check, args, now, query, fetch, observe)][-v.MAX_KEPT:]
            checks[check.name] = {"name": check.name, "measurements": [m.to_wire() for m in ms]}
    work["checks"] = [checks.get(c.name, {"name": c.name}) for c in spec.checks]
    decision, wire_checks = decide(spec, work, now)
    work.update(checks=wire_checks, verdict=decision.verdict, action=decision.action, message=decision.message)
    if decision.reason:
        work["reason"] = decision.reason
    return decision, work
