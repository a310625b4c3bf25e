"""Stopping tasks: cancel, wait, and cancel again if a cancellation was lost.

Why not ``task.cancel(); await asyncio.gather(task)``: on Python 3.11 a cancellation can be lost.
``asyncio.wait_for`` returns the inner result when the inner call finishes in the same loop turn as
the cancel (CPython gh-86296, fixed in 3.12), and a task that swallowed its cancel this way runs on;
a lone ``gather`` then waits for ever. A CI teardown hung once like that with the webhook server still
listening. Every stop path in the runtime (manager, informers) and the webhook app stops through here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

__all__ = ["RECANCEL_SECONDS", "cancel_and_wait", "failure"]

RECANCEL_SECONDS = 2.0
"""How long a cancelled task may take to end before it is cancelled again (stop paths are short: a
task that needs longer than this to unwind is treated as having lost its cancel)."""


async def cancel_and_wait(tasks: Iterable[asyncio.Task[Any]], *, recancel_after: float | None = None) -> None:
    """Cancel ``tasks`` and return once each has ended, cancelling again every ``recancel_after``
    seconds (default :data:`RECANCEL_SECONDS`). Their outcomes stay on the tasks (:func:`failure`)."""
    period = RECANCEL_SECONDS if recancel_after is None else recancel_after
    pending = {t for t in tasks if not t.done()}
    for task in pending:
        task.cancel()
    while pending:
        _, pending = await asyncio.wait(pending, timeout=period)
        for task in pending:
            task.cancel()


def failure(task: asyncio.Task[Any]) -> BaseException | None:
    """The exception a finished task ended with; None if it returned or was cancelled."""
    if not task.done() or task.cancelled():
        return None
    return task.exception()
