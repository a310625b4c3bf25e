"""The HTTP check kind: GET a URL, expect a status, optionally read a number at a JSON path.

For endpoints that already judge themselves (a smoke-test service, a canary's ``/healthz``) or
serve a figure as JSON. A status other than ``expectedStatus`` is a *failed* measurement (the
endpoint is the thing under test); not reaching it at all is an *error* (inconclusive), as for
Prometheus. With ``jsonPath`` the number found there is the measured value the conditions judge; a
missing key is no data; without it a measurement with the expected status is successful.

JSON paths are the dotted subset everyone writes: ``$.data.errorRate``, ``$.items[0].value``,
``status.ratio`` — parsed when the template is read (:func:`parse_path`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import aiohttp

from rollouts.analysis.prometheus import Answer

_SEGMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]")


def parse_path(text: str) -> tuple[str | int, ...]:
    """``$.a.b[0]`` → ``("a", "b", 0)``; ValueError saying what is wrong."""
    rest = text.strip()
    rest = rest[1:] if rest.startswith("$") else rest
    keys: list[str | int] = []
    pos = 0
    while pos < len(rest):
        if rest[pos] == "." and pos + 1 < len(rest):
            pos += 1
        m = _SEGMENT.match(rest, pos)
        if m is None:
            raise ValueError(f"cannot read {text!r} at {rest[pos:]!r}; write e.g. $.data.errorRate or $.items[0].value")
        keys.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        pos = m.end()
    if not keys:
        raise ValueError(f"{text!r} selects nothing; write e.g. $.data.errorRate")
    return tuple(keys)


def read_path(body: Any, keys: Sequence[str | int], text: str) -> Answer:
    """The number at ``keys`` in ``body`` (pure)."""
    node = body
    for key in keys:
        if isinstance(key, int) and isinstance(node, list) and key < len(node):
            node = node[key]
        elif isinstance(key, str) and isinstance(node, dict) and key in node:
            node = node[key]
        else:
            return Answer()  # absent: no data
    if isinstance(node, bool) or node is None:
        return Answer(error=f"{text} is {node!r}, not a number")
    try:
        value = float(node)
    except (TypeError, ValueError):
        return Answer(error=f"{text} is {node!r}, not a number")
    return Answer() if math.isnan(value) else Answer(value=value)


async def fetch(url: str, expected_status: int, keys: Sequence[str | int], path_text: str,
                timeout_seconds: float) -> Answer:
    """One GET; see the module docstring for how its outcome is read."""
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_seconds)) as session, \
                session.get(url) as resp:
            if resp.status != expected_status:
                return Answer(failure=f"{url} answered HTTP {resp.status}, expected {expected_status}")
            if not keys:
                return Answer(value=float(resp.status))
            try:
                body = await resp.json(content_type=None)
            except ValueError:
                return Answer(error=f"{url} answered HTTP {resp.status} without JSON")
            return read_path(body, keys, path_text)
    except TimeoutError:
        return Answer(error=f"{url} did not answer within {timeout_seconds:g}s")
    except aiohttp.ClientError as e:
        return Answer(error=f"{url} is unreachable: {e}")
