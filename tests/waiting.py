"""Polling helper for integration tests: wait for a condition and say what was last seen."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(fetch: Callable[[], T], ok: Callable[[T], bool], *, timeout: float = 60.0, interval: float = 0.25,
             what: str = "condition") -> T:
    """Poll ``fetch`` until ``ok(value)``; on timeout fail with the last value seen."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while True:
        last = fetch()
        if ok(last):
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last seen: {last!r}"[:4000])
        time.sleep(interval)
