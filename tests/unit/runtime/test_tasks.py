"""runtime.tasks: a stop that survives a lost cancellation, and the outcome read back from the task."""

from __future__ import annotations

import asyncio

import pytest

from runtime import tasks
from runtime.tasks import cancel_and_wait, failure
from runtime.testing import CancelSwallower


async def test_a_task_that_swallows_its_first_cancel_is_cancelled_again() -> None:
    body = CancelSwallower(1)
    task = asyncio.create_task(body())
    await asyncio.sleep(0)
    await asyncio.wait_for(cancel_and_wait([task], recancel_after=0.05), timeout=5)
    assert body.cancels == 2 and task.cancelled()


async def test_the_default_period_is_read_when_called(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tasks, "RECANCEL_SECONDS", 0.01)
    body = CancelSwallower(2)
    task = asyncio.create_task(body())
    await asyncio.sleep(0)
    await asyncio.wait_for(cancel_and_wait([task]), timeout=1)
    assert body.cancels == 3


async def test_failure_reports_an_error_but_not_a_cancel_or_a_return() -> None:
    async def boom() -> None:
        raise ValueError("x")

    async def fine() -> int:
        return 1

    async def forever() -> None:
        await asyncio.Event().wait()

    done = [asyncio.create_task(c) for c in (boom(), fine(), forever())]
    await asyncio.sleep(0)
    await cancel_and_wait(done)
    assert isinstance(failure(done[0]), ValueError)
    assert failure(done[1]) is None and failure(done[2]) is None
