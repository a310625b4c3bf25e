"""One instant PromQL query over HTTP (aiohttp): a number, no data, or an error with Prometheus' words.

Why not a client library: the controller needs exactly ``GET /api/v1/query`` and its JSON envelope.
Every failure (connection refused, timeout, HTTP 4xx/5xx, ``status: error``, a vector of several
series) is an :class:`Answer` with ``error`` set — the verdict code turns it into an ``Error``
measurement, which counts as inconclusive: Prometheus being down must never look like a pass.
"""

from __future__ import annotations

import math
from typing import Any

import aiohttp
import attrs


@attrs.frozen
class Answer:
    """``value`` None and ``error`` "" means no data (an empty vector, or NaN).

    ``failure``: the source itself judged the measurement failed (an HTTP check's unexpected status).
    """

    value: float | None = None
    error: str = ""
    failure: str = ""


def read_answer(body: Any) -> Answer:
    """The value of a ``/api/v1/query`` response body (pure; unit-tested on Prometheus' shapes)."""
    if not isinstance(body, dict):
        return Answer(error="Prometheus answered something that is not its JSON envelope")
    if body.get("status") != "success":
        return Answer(error=f"Prometheus refused the query: {body.get('errorType', 'error')}: {body.get('error', '')}")
    data = body.get("data") or {}
    kind: Any = data.get("resultType")
    result: Any = data.get("result")
    try:
        if kind == "scalar":
            return _number(result[1])
        if kind == "vector":
            if not result:
                return Answer()
            if len(result) > 1:
                return Answer(error=f"the query returned {len(result)} series; aggregate it to one (e.g. sum(...))")
            return _number(result[0]["value"][1])
    except (TypeError, KeyError, IndexError, ValueError) as e:
        return Answer(error=f"Prometheus answered an unexpected {kind} ({e})")
    return Answer(error=f"the query returned a {kind}; use an instant vector or a scalar")


def _number(raw: Any) -> Answer:
    value = float(raw)
    return Answer() if math.isnan(value) else Answer(value=value)


async def query(address: str, promql: str, timeout_seconds: float) -> Answer:
    """Run ``promql`` now against the Prometheus at ``address``."""
    timeout = aiohttp.ClientTimeout(total=timeout_seconds)
    params = {"query": promql, "timeout": f"{timeout_seconds:g}s"}  # Go durations: "5s", not "5.0s"
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session, \
                session.get(f"{address}/api/v1/query", params=params) as resp:
            try:
                body = await resp.json(content_type=None)
            except ValueError:
                return Answer(error=f"Prometheus at {address} answered HTTP {resp.status} without JSON")
            return read_answer(body)
    except TimeoutError:
        return Answer(error=f"Prometheus at {address} did not answer within {timeout_seconds}s")
    except aiohttp.ClientError as e:
        return Answer(error=f"Prometheus at {address} is unreachable: {e}")
