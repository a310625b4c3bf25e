"""Fixtures for runtime integration tests: a real KubeClient on the local control plane."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from runtime.kube import KubeClient


@pytest.fixture
async def kube(kubeconfig: str):
    client = await KubeClient.from_kubeconfig(kubeconfig)
    try:
        yield client
    finally:
        await client.aclose()


async def eventually(check: Callable[[], object], *, timeout: float = 20.0, what: str = "condition") -> object:  # noqa: ASYNC109
    """Poll ``check`` (sync or async) until it returns something truthy; fail with the last value."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}"[:2000])
