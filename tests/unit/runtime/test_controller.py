"""Retry policy as a table, the controller engine, handlers, predicates and retry_on_conflict."""

import asyncio

import pytest
from rt_fakes import obj

from runtime.cache import DeletedFinalStateUnknown, freeze
from runtime.clock import FakeClock
from runtime.controller import (
    Action,
    AnnotationsChanged,
    Controller,
    ControllerSettings,
    EnqueueRequestForObject,
    EnqueueRequestForOwner,
    GenerationChanged,
    LabelsChanged,
    Or,
    ResourceVersionChanged,
    decide,
)
from runtime.kube.errors import Conflict, NotFound
from runtime.metrics import Registry, RuntimeMetrics
from runtime.reconcile import Reconciler, Request, Result, TerminalError
from runtime.retry import retry_on_conflict


@pytest.mark.parametrize(
    "result, error, action, delay, label",
    [
        (Result(), None, Action.FORGET, None, "success"),
        (None, None, Action.FORGET, None, "success"),
        (Result(requeue=True), None, Action.REQUEUE_RATE_LIMITED, None, "requeue"),
        (Result(requeue_after=5), None, Action.REQUEUE_AFTER, 5, "requeue_after"),
        (Result(requeue=True, requeue_after=5), None, Action.REQUEUE_AFTER, 5, "requeue_after"),
        (Result(requeue_after=0), None, Action.FORGET, None, "success"),
        (Result(requeue=True, requeue_after=0), None, Action.REQUEUE_RATE_LIMITED, None, "requeue"),
        (None, RuntimeError("x"), Action.REQUEUE_RATE_LIMITED, None, "error"),
        (Result(requeue_after=5), RuntimeError("x"), Action.REQUEUE_RATE_LIMITED, None, "error"),
        (None, TerminalError("bad spec"), Action.FORGET, None, "error"),
    ],
)
def test_decide_table(result, error, action, delay, label):
    d = decide(result, error)
    assert (d.action, d.delay, d.result_label) == (action, delay, label)


class Scripted:
    """Reconciler returning scripted outcomes per call and recording calls."""

    def __init__(self, *outcomes):
        self.outcomes = list(outcomes)
        self.calls: list[Request] = []

    async def reconcile(self, request):
        self.calls.append(request)
        out = self.outcomes.pop(0) if self.outcomes else Result()
        if isinstance(out, BaseException):
            raise out
        return out


def test_reconciler_protocol():
    assert isinstance(Scripted(), Reconciler)


async def test_error_then_success_backs_off_then_forgets():
    clock = FakeClock()
    rec = Scripted(RuntimeError("boom"), RuntimeError("boom"), Result())
    metrics = RuntimeMetrics(Registry())
    ctl = Controller("t", rec, clock=clock, metrics=metrics)
    req = Request("ns", "a")
    ctl.queue.add(req)
    assert (await ctl.process_next()).action is Action.REQUEUE_RATE_LIMITED
    assert ctl.queue.num_requeues(req) == 1
    await clock.advance(0.005)
    assert (await ctl.process_next()).action is Action.REQUEUE_RATE_LIMITED
    await clock.advance(0.01)
    assert (await ctl.process_next()).action is Action.FORGET
    assert ctl.queue.num_requeues(req) == 0
    assert metrics.reconcile_errors.value(controller="t") == 2
    assert metrics.reconcile_total.value(controller="t", result="success") == 1
    assert metrics.wq_retries.value(name="t") == 2
    text = metrics.registry.render()
    assert 'controller_runtime_reconcile_total{controller="t",result="error"} 2' in text
    ctl.queue.shutdown()


async def test_requeue_after_uses_the_clock_and_terminal_error_is_not_retried():
    clock = FakeClock()
    rec = Scripted(Result(requeue_after=30), TerminalError("fix spec.x"))
    ctl = Controller("t", rec, clock=clock)
    ctl.enqueue("ns", "a")
    await ctl.process_next()
    await clock.advance(29.9)
    assert len(ctl.queue) == 0
    await clock.advance(0.1)
    assert len(ctl.queue) == 1
    assert (await ctl.process_next()).action is Action.FORGET
    await clock.advance(10_000)
    assert len(ctl.queue) == 0 and ctl.queue.waiting == 0
    ctl.queue.shutdown()


async def test_workers_never_run_one_key_twice_and_drain_on_stop():
    active, max_seen, done = set(), [0], []

    class R:
        async def reconcile(self, request):
            assert request not in active
            active.add(request)
            max_seen[0] = max(max_seen[0], len(active))
            await asyncio.sleep(0.01)
            active.discard(request)
            done.append(request)
            return Result()

    ctl = Controller("t", R(), settings=ControllerSettings(workers=4, drain_timeout=2))
    for i in range(20):
        ctl.enqueue("ns", f"k{i % 5}")
    task = asyncio.create_task(ctl.run())
    await asyncio.sleep(0.005)
    for i in range(5):
        ctl.enqueue("ns", f"k{i}")
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert max_seen[0] > 1, "workers should run in parallel on different keys"
    assert not active, "drain must let in-flight reconciles finish"
    ctl.queue.check_invariants()


def test_enqueue_for_object_owner_and_tombstones():
    class Q:
        def __init__(self):
            self.items = []

        def add(self, item):
            self.items.append(item)

    q = Q()
    h = EnqueueRequestForObject(q)
    o = freeze(obj("a", "1", "ns"))
    h.on_add(o)
    h.on_delete(DeletedFinalStateUnknown("ns/a", o))
    assert q.items == [Request("ns", "a")] * 2

    q2 = Q()
    owned = freeze(obj("rs", "1", "ns", metadata={"ownerReferences": [
        {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d", "uid": "u", "controller": True},
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "c", "uid": "u2"}]}))
    EnqueueRequestForOwner(q2, kind="Deployment", group="apps").on_add(owned)
    EnqueueRequestForOwner(q2, kind="Deployment", group="other").on_add(owned)
    EnqueueRequestForOwner(q2, kind="ConfigMap").on_add(owned)  # not the controller ref
    EnqueueRequestForOwner(q2, kind="ConfigMap", controller_only=False).on_add(owned)
    assert q2.items == [Request("ns", "d"), Request("ns", "c")]


@pytest.mark.parametrize(
    "pred, old_meta, new_meta, passes",
    [
        (GenerationChanged(), {"generation": 1}, {"generation": 1}, False),
        (GenerationChanged(), {"generation": 1}, {"generation": 2}, True),
        (LabelsChanged(), {"labels": {"a": "1"}}, {"labels": {"a": "1"}}, False),
        (LabelsChanged(), {}, {"labels": {"a": "1"}}, True),
        (AnnotationsChanged(), {"annotations": {}}, {}, False),
        (AnnotationsChanged(), {"annotations": {"x": "1"}}, {"annotations": {"x": "2"}}, True),
        (ResourceVersionChanged(), {"resourceVersion": "1"}, {"resourceVersion": "1"}, False),
        (Or((GenerationChanged(), LabelsChanged())), {"generation": 1}, {"generation": 1, "labels": {"a": "b"}}, True),
    ],
)
def test_predicates_table(pred, old_meta, new_meta, passes):
    assert pred.update({"metadata": old_meta}, {"metadata": new_meta}) is passes
    assert pred.create({"metadata": new_meta}) and pred.delete({"metadata": new_meta})


async def test_retry_on_conflict_retries_then_gives_up():
    calls = []

    async def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise Conflict("stale")
        return "ok"

    assert await retry_on_conflict(flaky) == "ok" and len(calls) == 3

    async def always():
        raise Conflict("stale")

    with pytest.raises(Conflict):
        await retry_on_conflict(always, steps=2)

    async def other():
        calls.append(1)
        raise NotFound("x")

    calls.clear()
    with pytest.raises(NotFound):
        await retry_on_conflict(other)
    assert len(calls) == 1


async def test_unfinished_work_metrics_show_a_stuck_reconcile():
    clock = FakeClock()
    gate = asyncio.Event()

    class Stuck:
        async def reconcile(self, request):
            await gate.wait()
            return Result()

    metrics = RuntimeMetrics(Registry())
    ctl = Controller("stuck", Stuck(), clock=clock, metrics=metrics)
    ctl.enqueue("ns", "a")
    task = asyncio.create_task(ctl.process_next())
    await asyncio.sleep(0)
    clock.step(42)
    text = metrics.registry.render()
    assert 'workqueue_longest_running_processor_seconds{name="stuck"} 42' in text
    assert 'workqueue_unfinished_work_seconds{name="stuck"} 42' in text
    gate.set()
    await task
    assert 'workqueue_longest_running_processor_seconds{name="stuck"} 0' in metrics.registry.render()
    ctl.queue.shutdown()


def test_request_normalises_empty_namespace():
    assert Request("", "n") == Request(None, "n") and hash(Request("", "n")) == hash(Request(None, "n"))
    assert str(Request(None, "n")) == "n" and str(Request("ns", "n")) == "ns/n"
