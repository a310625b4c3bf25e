"""Trigger watches: every non-bookmark event triggers; failures back off and re-watch."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import attrs

from runtime.kube.errors import Gone
from runtime.kube.resources import CRDS
from webhooks import triggers


@attrs.frozen
class Ev:
    type: str
    object: dict[str, Any]


class ScriptedWatch:
    """Each call to watch() plays the next script: a list of events, or an exception to raise."""

    def __init__(self, scripts: list[Any]) -> None:
        self.scripts = scripts
        self.calls = 0

    async def watch(self, res: Any, namespace: str | None = None, *, field_selector: str | None = None
                    ) -> AsyncIterator[Ev]:
        self.calls += 1
        script = self.scripts.pop(0) if self.scripts else []
        if isinstance(script, Exception):
            raise script
        for ev in script:
            yield ev
        if not self.scripts:
            await asyncio.Event().wait()  # idle stream


async def test_triggers_filter_and_rewatch(monkeypatch: Any) -> None:
    monkeypatch.setattr(triggers, "WATCH_RETRY_MIN_S", 0.01)
    ours = {"spec": {"group": "rollouts.kruise.io"}}
    other = {"spec": {"group": "example.com"}}
    client = ScriptedWatch([
        [Ev("ADDED", ours), Ev("ADDED", other), Ev("BOOKMARK", {})],
        Gone("too old"),
        [Ev("MODIFIED", ours)],
    ])
    fired: list[int] = []
    task = asyncio.create_task(triggers.watch_and_trigger(
        client, CRDS, lambda: fired.append(1), accept=lambda o: o["spec"]["group"] == "rollouts.kruise.io"))
    try:
        for _ in range(1000):  # generous: the machine may be busy
            if len(fired) == 2:
                break
            await asyncio.sleep(0.01)
        assert fired == [1, 1] and client.calls == 3
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
