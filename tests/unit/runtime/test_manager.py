"""Manager sequencing and HTTP endpoints with scripted informers (no cluster)."""

import asyncio

import aiohttp
from rt_fakes import FakeListWatcher, obj

from runtime.cache import InformerSettings
from runtime.controller import Controller
from runtime.kube.resources import CONFIGMAPS
from runtime.manager import Manager, ManagerSettings
from runtime.metrics import Registry, RuntimeMetrics
from runtime.reconcile import Request, Result


class Rec:
    def __init__(self):
        self.seen = []

    async def reconcile(self, request):
        self.seen.append(request)
        return Result()


async def get(port, path):
    async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{port}{path}") as r:
        return r.status, await r.text()


async def test_manager_starts_in_order_serves_probes_and_stops_in_reverse():
    lw = FakeListWatcher()
    gate = asyncio.Event()
    order = []

    async def slow_list(res, namespace=None, **kw):
        await gate.wait()
        return {"items": [obj("a", "1", "ns")], "metadata": {"resourceVersion": "1"}}

    lw.list = slow_list
    mgr = Manager(lw, settings=ManagerSettings(http_port=0, http_host="127.0.0.1", leader_election=False,
                                               informers=InformerSettings(resync_period=0)))
    rec = Rec()
    ctl = Controller("cms", rec, metrics=mgr.metrics)
    ctl.watch(mgr.informers.informer(CONFIGMAPS))
    mgr.add_controller(ctl)

    async def webhook():
        order.append("webhook-start")
        try:
            await asyncio.Event().wait()
        finally:
            order.append("webhook-stop")

    mgr.add_runnable("webhook", webhook)
    task = asyncio.create_task(mgr.run(install_signal_handlers=False))
    for _ in range(100):
        if mgr.http.port:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    assert order == ["webhook-start"], "runnables start before caches sync"
    assert (await get(mgr.http.port, "/healthz"))[0] == 200
    status, text = await get(mgr.http.port, "/readyz")
    assert status == 500 and "[-]informers-synced" in text
    gate.set()
    for _ in range(100):
        if rec.seen:
            break
        await asyncio.sleep(0.01)
    assert rec.seen == [Request("ns", "a")]
    assert (await get(mgr.http.port, "/readyz"))[0] == 200
    status, text = await get(mgr.http.port, "/metrics")
    assert 'controller_runtime_reconcile_total{controller="cms",result="success"} 1' in text
    assert 'workqueue_adds_total{name="cms"} 1' in text
    mgr.stop()
    await asyncio.wait_for(task, 5)
    assert order == ["webhook-start", "webhook-stop"]
    assert not ctl.queue.processing and ctl.queue.shutting_down


async def test_failing_runnable_stops_the_manager_with_its_error():
    lw = FakeListWatcher()
    lw.lists.append({"items": [], "metadata": {"resourceVersion": "1"}})
    mgr = Manager(lw, settings=ManagerSettings(http_port=None, leader_election=False))

    async def broken():
        raise RuntimeError("webhook could not bind")

    mgr.add_runnable("webhook", broken)
    try:
        await asyncio.wait_for(mgr.run(install_signal_handlers=False), 5)
    except RuntimeError as e:
        assert "could not bind" in str(e)
    else:
        raise AssertionError("expected the runnable's error")


def _samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Parsed exposition: (sample name, label items) -> value (label order and float format do not matter)."""
    from prometheus_client.parser import text_string_to_metric_families
    return {(s.name, frozenset(s.labels.items())): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


def test_metrics_render_histogram_and_escape():
    r = Registry()
    m = RuntimeMetrics(r)
    m.api_request_hook("GET", "200", 0.02)
    m.reconcile_total.inc(controller='a"b', result="success")
    text = r.render()
    got = _samples(text)
    assert got[("rest_client_requests_total", frozenset({("method", "GET"), ("code", "200")}))] == 1
    assert got[("rest_client_request_duration_seconds_bucket", frozenset({("method", "GET"), ("le", "0.025")}))] == 1
    assert got[("rest_client_request_duration_seconds_bucket", frozenset({("method", "GET"), ("le", "0.01")}))] == 0
    assert got[("rest_client_request_duration_seconds_count", frozenset({("method", "GET")}))] == 1
    assert 'controller="a\\"b"' in text
    assert "_created" not in text  # controller-runtime exports no *_created series


def test_every_registry_exposes_the_process_and_python_runtime_series():
    """As controller-runtime's process_*/go_*: RSS and CPU for dashboards and the soak bench, GC counts."""
    import os

    got = _samples(Registry().render())
    rss = got[("process_resident_memory_bytes", frozenset())]
    with open(f"/proc/{os.getpid()}/status") as f:
        vm_rss = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))
    assert 0.5 * vm_rss < rss < 2 * vm_rss
    assert got[("process_cpu_seconds_total", frozenset())] > 0
    assert ("python_gc_collections_total", frozenset({("generation", "2")})) in got


def test_registry_deduplicates_and_refuses_a_clash():
    r = Registry()
    assert r.counter("x_total", "x", ["a"]) is r.counter("x_total", "x", ["a"])
    try:
        r.gauge("x_total", "x", ["a"])
    except ValueError as e:
        assert "x_total" in str(e)
    else:
        raise AssertionError("expected a clash")
    c = r.counter("y_total", "y", ["ns", "name"])
    c.inc(ns="a", name="1")
    c.inc(ns="a", name="2")
    c.inc(ns="b", name="1")
    c.remove_matching(ns="a")
    assert c.series() == [("b", "1")]


def test_scrape_hooks_run_before_collection_and_openmetrics_is_negotiated():
    r = Registry()
    g = r.gauge("hooked", "set at scrape time")
    calls = []
    r.add_collector(lambda: (calls.append(1), g.set(7)))
    assert "hooked 7.0" in r.render() and calls == [1]
    body, ctype = r.exposition("application/openmetrics-text; version=1.0.0")
    assert ctype.startswith("application/openmetrics-text") and body.endswith(b"# EOF\n")
    assert r.exposition(None)[1].startswith("text/plain")


async def test_off_loop_scrape_collects_on_the_loop_and_encodes_the_same_body_in_a_worker_thread(monkeypatch):
    import threading

    import runtime.metrics as metrics_mod
    r = Registry()
    g = r.gauge("hooked", "set at scrape time")
    collected_on, encoded_on = [], []
    r.add_collector(lambda: (collected_on.append(threading.get_ident()), g.set(3)))
    real = metrics_mod.choose_encoder

    def spying(accept):
        encoder, ctype = real(accept)
        return (lambda reg: (encoded_on.append(threading.get_ident()), encoder(reg))[1]), ctype

    monkeypatch.setattr(metrics_mod, "choose_encoder", spying)
    body, ctype = await r.exposition_off_loop(None)
    assert collected_on == [threading.get_ident()] and encoded_on and encoded_on[0] != threading.get_ident()
    assert ctype.startswith("text/plain") and b"hooked 3.0" in body
    def helps(text: bytes) -> set[bytes]:
        return {line for line in text.splitlines() if line.startswith(b"# HELP")}
    assert helps(body) == helps(r.exposition(None)[0])  # the same families as the on-loop scrape
    om, om_type = await r.exposition_off_loop("application/openmetrics-text; version=1.0.0")
    assert om_type.startswith("application/openmetrics-text") and om.endswith(b"# EOF\n")


class LeaseAndListClient:
    """Lists/watches from a FakeListWatcher, lease calls from a partitionable in-memory API."""

    def __init__(self):
        from rt_fakes import MemoryApi, PartitionableClient
        self.lw = FakeListWatcher()
        self.lw.lists.append({"items": [], "metadata": {"resourceVersion": "1"}})
        self.leases = PartitionableClient(MemoryApi())
        self.list, self.watch = self.lw.list, self.lw.watch

    def __getattr__(self, name):
        return getattr(self.leases, name)


async def test_lost_lease_stops_controllers_and_raises():
    from runtime.clock import FakeClock
    from runtime.leaderelection import LeadershipLost
    clock = FakeClock()
    client = LeaseAndListClient()
    mgr = Manager(client, clock=clock, settings=ManagerSettings(
        http_port=None, leader_election_namespace="ns", identity="me",
        informers=InformerSettings(resync_period=0)))
    ctl = Controller("cms", Rec(), clock=clock)
    ctl.watch(mgr.informers.informer(CONFIGMAPS))
    mgr.add_controller(ctl)
    task = asyncio.create_task(mgr.run(install_signal_handlers=False))
    for _ in range(50):
        await clock.advance(0)
    assert mgr.is_leader and not ctl.queue.shutting_down
    client.leases.down = True
    for _ in range(60):
        await clock.advance(0.5)
        if task.done():
            break
    assert task.done(), "manager should stop after losing the lease"
    try:
        task.result()
    except LeadershipLost:
        pass
    else:
        raise AssertionError("expected LeadershipLost")
    assert not mgr.is_leader and ctl.queue.shutting_down


async def test_sigterm_stops_the_manager_and_handlers_are_removed():
    import os
    import signal
    lw = FakeListWatcher()
    lw.lists.append({"items": [], "metadata": {"resourceVersion": "1"}})
    mgr = Manager(lw, settings=ManagerSettings(http_port=None, leader_election=False))
    stopped = []

    async def runnable():
        try:
            await asyncio.Event().wait()
        finally:
            stopped.append(True)

    mgr.add_runnable("r", runnable)
    task = asyncio.create_task(mgr.run())
    for _ in range(50):
        if mgr.synced:
            break
        await asyncio.sleep(0.01)
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(task, 5)
    assert stopped == [True]
    assert not asyncio.get_running_loop().remove_signal_handler(signal.SIGTERM), "handler must be removed"


async def test_reconcile_log_lines_carry_controller_object_and_reconcile_id():
    import io
    import json
    import logging

    import structlog

    from runtime.logging import configure_logging
    old_config, old_handlers, old_level = structlog.get_config(), logging.getLogger().handlers[:], \
        logging.getLogger().level
    out = io.StringIO()
    configure_logging(json=True, stream=out, cache=False)
    try:
        class Failing:
            async def reconcile(self, request):
                structlog.get_logger("test").info("looking", step=1)
                raise RuntimeError("boom")

        ctl = Controller("logs", Failing())
        ctl.enqueue("ns", "a")
        await ctl.process_next()
        ctl.queue.shutdown()
        lines = [json.loads(line) for line in out.getvalue().splitlines()]
        mine = [ln for ln in lines if ln.get("controller") == "logs"]
        assert {ln["event"] for ln in mine} >= {"looking", "reconcile failed"}
        for ln in mine:
            assert ln["object"] == "ns/a" and ln["reconcile_id"]
        failed = next(ln for ln in mine if ln["event"] == "reconcile failed")
        assert "RuntimeError: boom" in failed["exception"] and failed["level"] == "error"
    finally:
        structlog.configure(**old_config)
        logging.getLogger().handlers[:] = old_handlers
        logging.getLogger().setLevel(old_level)
