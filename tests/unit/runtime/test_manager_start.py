"""Manager start-up (issue 9 items 7 and 9b): serve admission before the controllers, and wait for
an API server that is down instead of crashing. Injected fakes and clock; no cluster."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from rt_fakes import FakeListWatcher, obj

from runtime.cache import InformerSettings
from runtime.clock import FakeClock
from runtime.controller import Controller
from runtime.kube.errors import ConnectionFailed
from runtime.kube.resources import CONFIGMAPS
from runtime.manager import API_WAIT_BACKOFF, Manager, ManagerSettings
from runtime.reconcile import Result


async def readyz(mgr: Manager) -> tuple[int, str]:
    async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{mgr.http.port}/readyz") as r:
        return r.status, await r.text()


async def until(predicate, *, steps: int = 300, clock: FakeClock | None = None, step: float = 0.01) -> None:
    for _ in range(steps):
        if predicate():
            return
        if clock is not None:
            await clock.advance(step)
        else:
            await asyncio.sleep(step)
    raise AssertionError("condition not reached")


class Webhook:
    """A serve-first runnable that starts serving only when the test opens ``gate``."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.serving = False

    async def __call__(self) -> None:
        await self.gate.wait()
        self.serving = True
        await asyncio.Event().wait()


class RecordingReconciler:
    """Records, per reconcile, whether the webhook was serving at that moment."""

    def __init__(self, webhook: Webhook) -> None:
        self.webhook = webhook
        self.webhook_serving_at_reconcile: list[bool] = []

    async def reconcile(self, request):  # noqa: ANN001
        self.webhook_serving_at_reconcile.append(self.webhook.serving)
        return Result()


def manager_with_controller(client, webhook: Webhook, **kw) -> tuple[Manager, RecordingReconciler]:  # noqa: ANN001
    mgr = Manager(client, settings=ManagerSettings(http_port=0, http_host="127.0.0.1", leader_election=False,
                                                   informers=InformerSettings(resync_period=0)), **kw)
    rec = RecordingReconciler(webhook)
    ctl = Controller("cms", rec, metrics=mgr.metrics, **({"clock": kw["clock"]} if "clock" in kw else {}))
    ctl.watch(mgr.informers.informer(CONFIGMAPS))
    mgr.add_controller(ctl)
    mgr.add_runnable("webhook", webhook, ready=lambda: webhook.serving)
    return mgr, rec


async def test_controllers_start_only_after_the_webhook_serves_and_readyz_waits_for_it() -> None:
    lw = FakeListWatcher()
    lw.lists.append({"items": [obj("a", "1", "ns")], "metadata": {"resourceVersion": "1"}})
    webhook = Webhook()
    mgr, rec = manager_with_controller(lw, webhook)
    task = asyncio.create_task(mgr.run(install_signal_handlers=False))
    await until(lambda: mgr.http.port)
    await asyncio.sleep(0.3)  # plenty of time for informers and controllers, were they started
    assert rec.webhook_serving_at_reconcile == []
    assert lw.calls == [], "informers must not start before the serve-first runnable is ready"
    status, text = await readyz(mgr)
    assert status == 500 and "[-]webhook" in text and "[+]api-reachable" in text
    webhook.gate.set()
    await until(lambda: rec.webhook_serving_at_reconcile)
    assert rec.webhook_serving_at_reconcile == [True]
    assert (await readyz(mgr))[0] == 200
    mgr.stop()
    await asyncio.wait_for(task, 5)


async def test_a_serve_first_runnable_that_fails_stops_the_start_before_any_controller() -> None:
    lw = FakeListWatcher()
    mgr = Manager(lw, settings=ManagerSettings(http_port=None, leader_election=False))
    reconciled: list[object] = []

    class Rec:
        async def reconcile(self, request):  # noqa: ANN001
            reconciled.append(request)
            return Result()

    ctl = Controller("cms", Rec())
    ctl.watch(mgr.informers.informer(CONFIGMAPS))
    mgr.add_controller(ctl)

    async def broken() -> None:
        raise RuntimeError("failed to start webhook controller for waiting more than 20s")

    mgr.add_runnable("webhook", broken, ready=lambda: False)
    with pytest.raises(RuntimeError, match="waiting more than 20s"):
        await asyncio.wait_for(mgr.run(install_signal_handlers=False), 5)
    assert reconciled == [] and lw.calls == []


class DownThenUp(FakeListWatcher):
    """``version()`` fails while ``down``; counts the probes."""

    def __init__(self) -> None:
        super().__init__()
        self.down = True
        self.probes = 0
        self.lists.append({"items": [obj("a", "1", "ns")], "metadata": {"resourceVersion": "1"}})

    async def version(self) -> dict:
        self.probes += 1
        if self.down:
            raise ConnectionFailed("GET /version: Cannot connect to host 127.0.0.1:6443")
        return {"gitVersion": "v1.36.0"}


async def test_a_manager_started_while_the_api_is_down_waits_not_ready_then_starts() -> None:
    clock = FakeClock()
    client = DownThenUp()
    webhook = Webhook()
    webhook.gate.set()
    setups: list[str] = []
    mgr, rec = manager_with_controller(client, webhook, clock=clock)

    async def setup() -> None:
        setups.append("install")

    mgr.add_setup("install", setup)
    task = asyncio.create_task(mgr.run(install_signal_handlers=False))
    await until(lambda: mgr.http.port)
    await until(lambda: client.probes >= 1, clock=clock)
    # ~300 s of fake time in steps: with delays 0.5 s doubling to a 5 s cap (+ <= 20 % jitter) that is
    # 4 short probes plus one every 5–6 s, i.e. 50–64 — not thousands (no spinning), not a give-up.
    for _ in range(50):
        await clock.advance(API_WAIT_BACKOFF.maximum * 1.2)
    assert not task.done(), "the manager must stay alive while the API is down"
    assert 45 <= client.probes <= 66, client.probes
    status, text = await readyz(mgr)
    assert status == 500 and "[-]api-reachable" in text
    assert setups == [] and client.calls == [] and not webhook.serving
    client.down = False
    await until(lambda: rec.webhook_serving_at_reconcile, clock=clock, step=API_WAIT_BACKOFF.maximum)
    assert setups == ["install"] and rec.webhook_serving_at_reconcile == [True]
    assert (await readyz(mgr))[0] == 200
    mgr.stop()
    await until(task.done, clock=clock)
    task.result()


async def test_stop_while_waiting_for_the_api_exits_cleanly() -> None:
    clock = FakeClock()
    client = DownThenUp()
    mgr = Manager(client, clock=clock, settings=ManagerSettings(http_port=None, leader_election=False))
    task = asyncio.create_task(mgr.run(install_signal_handlers=False))
    await until(lambda: client.probes >= 2, clock=clock, step=1.0)
    mgr.stop()
    await until(task.done, clock=clock)
    task.result()
    assert not mgr.api_reachable
