"""Store, frozen objects, reflector decisions and informer dispatch, against FakeListWatcher."""

import asyncio
import copy
import json

import pytest
from rt_fakes import FakeListWatcher, line, obj, status

from runtime.cache import (
    DeletedFinalStateUnknown,
    FuncHandler,
    InformerSettings,
    ReflectorSettings,
    SharedInformer,
    SharedInformerFactory,
    Store,
    freeze,
    thaw,
)
from runtime.clock import FakeClock
from runtime.kube.errors import ConnectionFailed, Gone, ServerError, TooManyRequests
from runtime.kube.resources import CONFIGMAPS
from runtime.kube.watch import WatchEvent


def ev(kind, o):
    return WatchEvent(kind, o)


def listing(rv, *objs):
    return {"items": list(objs), "metadata": {"resourceVersion": rv}}


# frozen ----------------------------------------------------------------------------------------
def test_frozen_objects_refuse_mutation_and_thaw_to_plain():
    o = freeze(obj("a", "1", labels={"x": "y"}, data={"k": [1, 2]}))
    for mutate in (lambda: o.__setitem__("k", 1), lambda: o["metadata"].update(a=1),
                   lambda: o["data"]["k"].append(3), lambda: o.pop("kind"), lambda: o["data"].setdefault("z", 1)):
        with pytest.raises(TypeError, match="read-only"):
            mutate()
    t = thaw(o)
    t["data"]["k"].append(3)
    assert type(t) is dict and o["data"]["k"] == [1, 2]
    assert copy.deepcopy(o) == o and type(copy.deepcopy(o)["metadata"]) is dict
    assert json.loads(json.dumps(o)) == o
    assert freeze(o) is o


# store -----------------------------------------------------------------------------------------
def test_store_indices_stay_consistent():
    s = Store({"by-label": lambda o: [o["metadata"].get("labels", {}).get("app", "")]})
    a = freeze(obj("a", "1", "ns1", metadata={"labels": {"app": "x"}, "ownerReferences": [{"uid": "o1"}]}))
    b = freeze(obj("b", "1", "ns2", metadata={"labels": {"app": "x"}}))
    s.put("ns1/a", a)
    s.put("ns2/b", b)
    s.check_invariants()
    assert [o["metadata"]["name"] for o in s.by_index("by-label", "x")] == ["a", "b"]
    assert s.by_index("owner-uid", "o1") == [a]
    assert s.list("ns2") == [b]
    assert s.get("a", "ns1") is a
    s.put("ns1/a", freeze(obj("a", "2", "ns1", metadata={"labels": {"app": "z"}})))
    s.check_invariants()
    assert s.by_index("owner-uid", "o1") == []
    assert [o["metadata"]["name"] for o in s.by_index("by-label", "x")] == ["b"]
    s.remove("ns2/b")
    s.check_invariants()
    assert s.list(labels={"app": "z"})[0]["metadata"]["name"] == "a"


# reflector + informer --------------------------------------------------------------------------
class Recorder:
    def __init__(self):
        self.events = []

    def on_add(self, o):
        self.events.append(("add", o["metadata"]["name"]))

    def on_update(self, old, new):
        self.events.append(("update", new["metadata"]["name"], new["metadata"]["resourceVersion"]))

    def on_delete(self, o):
        name = o.obj["metadata"]["name"] if isinstance(o, DeletedFinalStateUnknown) else o["metadata"]["name"]
        self.events.append(("tombstone" if isinstance(o, DeletedFinalStateUnknown) else "delete", name))


def make(lw, clock=None, **kw):
    settings = InformerSettings(resync_period=kw.pop("resync", 0), reflector=ReflectorSettings(min_watch_timeout=1))
    return SharedInformer(lw, CONFIGMAPS, settings=settings, clock=clock or FakeClock(), **kw)


async def test_list_then_watch_from_list_rv_and_bookmarks_advance_rv():
    lw = FakeListWatcher()
    lw.lists.append(listing("10", obj("a", "5")))
    lw.watches.append([ev("ADDED", obj("b", "11")), ev("BOOKMARK", {"metadata": {"resourceVersion": "15"}})])
    inf = make(lw)
    rec = Recorder()
    inf.add_handler(rec)
    await inf.reflector.step()  # list
    assert inf.has_synced() and inf.reflector.resource_version == "10"
    await inf.reflector.step()  # watch
    assert lw.calls[1][1]["resource_version"] == "10"
    assert inf.reflector.resource_version == "15"
    inf.start()
    assert await inf.wait_for_sync(1)
    await asyncio.sleep(0)
    assert rec.events == [("add", "a"), ("add", "b")]
    assert lw.calls[-1][1]["resource_version"] == "15"  # the next watch resumes from the bookmark
    await inf.stop()


async def test_gone_relists_and_tombstones_missed_deletes_without_duplicates():
    lw = FakeListWatcher()
    lw.lists += [listing("10", obj("a", "1"), obj("b", "2")), listing("30", obj("a", "1"), obj("c", "25"))]
    lw.watches.append([ev("MODIFIED", obj("b", "12")), line("ERROR", status(410, "Expired"))])
    inf = make(lw)
    rec = Recorder()
    inf.add_handler(rec)
    inf.start()
    for _ in range(50):
        await asyncio.sleep(0)
    assert inf.reflector.lists == 2
    assert sorted(inf.store.keys()) == ["default/a", "default/c"]
    assert inf.store.get("c", "default")["metadata"]["resourceVersion"] == "25"
    assert rec.events == [("add", "a"), ("add", "b"), ("update", "b", "12"), ("add", "c"), ("tombstone", "b")]
    inf.store.check_invariants()
    await inf.stop()


@pytest.mark.parametrize("error", [ConnectionFailed("reset"), ServerError("boom")])
async def test_broken_watch_backs_off_and_resumes_from_last_rv_without_relist(error):
    clock = FakeClock()
    lw = FakeListWatcher()
    lw.lists.append(listing("10"))
    lw.watches += [[ev("ADDED", obj("a", "11")), error], [ev("ADDED", obj("b", "12"))]]
    inf = make(lw, clock)
    await inf.reflector.step()
    step = asyncio.create_task(inf.reflector.step())
    await clock.advance(0)
    assert clock.sleepers == 1, "must back off, not hot-loop"
    delay = clock.next_deadline() - clock.monotonic()
    assert 0.8 <= delay < 1.6
    await clock.advance(delay)
    await step
    await inf.reflector.step()
    assert inf.reflector.lists == 1
    assert lw.calls[-1][1]["resource_version"] == "11"
    assert sorted(inf.store.keys()) == ["default/a", "default/b"]


async def test_backoff_grows_to_30s_cap():
    clock = FakeClock()
    lw = FakeListWatcher()  # every list fails
    inf = make(lw, clock)
    delays = []
    for _ in range(10):
        t = asyncio.create_task(inf.reflector.step())
        await clock.advance(0)
        d = clock.next_deadline() - clock.monotonic()
        delays.append(d)
        await clock.advance(d)
        await t
    base = [0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30, 30, 30, 30]
    for d, b in zip(delays, base, strict=True):
        assert b <= d < 2 * b  # jitter factor in [1, 2)


async def test_429_waits_retry_after():
    clock = FakeClock()
    lw = FakeListWatcher()
    lw.lists.append(listing("10"))
    lw.watches.append(TooManyRequests("slow down", retry_after=4))
    inf = make(lw, clock)
    await inf.reflector.step()
    t = asyncio.create_task(inf.reflector.step())
    await clock.advance(0)
    assert clock.next_deadline() - clock.monotonic() == pytest.approx(4)
    await clock.advance(4)
    await t
    assert inf.reflector.resource_version == "10" and inf.reflector.lists == 1


async def test_immediately_closing_watch_does_not_hot_loop():
    clock = FakeClock()
    lw = FakeListWatcher()
    lw.lists.append(listing("10"))
    lw.watches.append([])
    inf = make(lw, clock)
    await inf.reflector.step()
    t = asyncio.create_task(inf.reflector.step())
    await clock.advance(0)
    assert clock.sleepers == 1
    await clock.run_until_idle()
    await t


async def test_gone_on_list_backs_off():
    clock = FakeClock()
    lw = FakeListWatcher()
    lw.lists.append(Gone("weird"))
    inf = make(lw, clock)
    t = asyncio.create_task(inf.reflector.step())
    await clock.advance(0)
    assert clock.sleepers == 1
    await clock.run_until_idle()
    await t


async def test_slow_handler_does_not_block_others_and_objects_are_frozen():
    lw = FakeListWatcher()
    lw.lists.append(listing("10", obj("a", "1", metadata={"managedFields": [{"manager": "x"}]})))
    inf = make(lw)
    gate = asyncio.Event()
    fast = Recorder()
    slow_seen = []

    async def slow_add(o):
        await gate.wait()
        slow_seen.append(o)

    inf.add_handler(FuncHandler(on_add_fn=slow_add), name="slow")
    inf.add_handler(fast, name="fast")
    inf.start()
    for _ in range(20):
        await asyncio.sleep(0)
    assert fast.events == [("add", "a")] and slow_seen == []
    gate.set()
    assert await inf.wait_for_sync(1)
    cached = inf.store.get("a", "default")
    assert "managedFields" not in cached["metadata"]
    with pytest.raises(TypeError):
        cached["metadata"]["labels"] = {}
    await inf.stop()


async def test_failing_handler_is_logged_and_others_continue():
    lw = FakeListWatcher()
    lw.lists.append(listing("10", obj("a", "1"), obj("b", "1")))
    inf = make(lw)
    rec = Recorder()
    inf.add_handler(FuncHandler(on_add_fn=lambda o: 1 / 0))
    inf.add_handler(rec)
    inf.start()
    assert await inf.wait_for_sync(1)
    assert rec.events == [("add", "a"), ("add", "b")]
    await inf.stop()


async def test_late_handler_gets_replayed_adds_and_resync_makes_no_api_call():
    clock = FakeClock()
    lw = FakeListWatcher()
    lw.lists.append(listing("10", obj("a", "1")))
    inf = make(lw, clock, resync=60)
    inf.start()
    assert await inf.wait_for_sync(1)
    rec, quiet = Recorder(), Recorder()
    inf.add_handler(rec)
    inf.add_handler(quiet, resync=False)
    assert await inf.wait_for_sync(1)
    calls = len(lw.calls)
    await clock.advance(60)
    await asyncio.sleep(0)
    assert rec.events == [("add", "a"), ("update", "a", "1")]
    assert quiet.events == [("add", "a")]
    assert len(lw.calls) == calls
    await inf.stop()


async def test_wait_for_sync_times_out_when_list_fails():
    lw = FakeListWatcher()
    inf = make(lw)
    inf.start()
    assert await inf.wait_for_sync(0.05) is False
    await inf.stop()


async def test_factory_shares_informers():
    lw = FakeListWatcher()
    f = SharedInformerFactory(lw, settings=InformerSettings(resync_period=0))
    a = f.informer(CONFIGMAPS)
    assert f.informer(CONFIGMAPS) is a
    assert f.informer(CONFIGMAPS, namespace="x") is not a
    lw.lists += [listing("1"), listing("1")]
    f.start()
    assert await f.wait_for_cache_sync(1)
    await f.stop()


def test_store_list_with_label_selector():
    s = Store()
    s.put("ns/a", freeze(obj("a", "1", "ns", metadata={"labels": {"app": "x", "tier": "a"}})))
    s.put("ns/b", freeze(obj("b", "1", "ns", metadata={"labels": {"app": "x"}})))
    sel = {"matchLabels": {"app": "x"}, "matchExpressions": [{"key": "tier", "operator": "Exists"}]}
    assert [o["metadata"]["name"] for o in s.list("ns", selector=sel)] == ["a"]
    assert len(s.list(selector={})) == 2


def test_label_index_lists_the_same_objects_as_a_scan_without_reading_the_others():
    """``LABELS_INDEX``: ``list(ns, labels=...)`` answers from the index, equal to the scan it replaces."""
    from runtime.cache.store import LABELS_INDEX, label_index
    plain, indexed = Store(), Store({LABELS_INDEX: label_index})
    for i in range(40):
        labels = {"app": f"a{i % 4}", "hash": f"h{i % 3}"} if i % 5 else {}
        o = freeze(obj(f"p{i}", "1", f"ns{i % 2}", metadata={"labels": labels}))
        plain.put(f"ns{i % 2}/p{i}", o)
        indexed.put(f"ns{i % 2}/p{i}", o)
    indexed.put("ns0/p4", freeze(obj("p4", "2", "ns0", metadata={"labels": {"app": "a3"}})))
    plain.put("ns0/p4", indexed.get("p4", "ns0"))
    indexed.remove("ns1/p9")
    plain.remove("ns1/p9")
    indexed.check_invariants()
    for ns in (None, "ns0", "ns1", "other"):
        for labels in ({"app": "a1"}, {"app": "a3"}, {"app": "a1", "hash": "h1"}, {"app": "zz"}, {"hash": "h0"}):
            assert indexed.list(ns, labels=labels) == plain.list(ns, labels=labels), (ns, labels)
    names = [o["metadata"]["name"] for o in indexed.list("ns1", labels={"app": "a3"})]
    assert names == ["p11", "p19", "p23", "p27", "p3", "p31", "p39", "p7"]  # by key, as the namespace scan
    assert [o["metadata"]["name"] for o in indexed.list("ns0", labels={"app": "a3"})] == ["p4"]

    touched = []

    class Spy(dict):
        def get(self, key, default=None):  # matches_labels reads labels through .get
            touched.append(key)
            return super().get(key, default)

    indexed.put("ns0/x", Spy(obj("x", "1", "ns0", metadata={"labels": {"app": "other"}})))
    touched.clear()  # the indexers read it once, when stored
    indexed.list("ns0", labels={"app": "a1"})
    assert touched == [], "an object without the labels is not read"


async def test_populated_informer_for_reconciler_tests():
    from runtime.testing import populated_informer
    inf = populated_informer(CONFIGMAPS, [obj("a", "1", "ns"), obj("b", "2", "ns")])
    assert inf.has_synced() and await inf.wait_for_sync(0.1)
    assert inf.store.get("a", "ns")["metadata"]["resourceVersion"] == "1"
    inf.apply(ev("DELETED", obj("a", "3", "ns")))
    assert inf.store.keys() == ["ns/b"]


async def test_dropped_events_are_healed_by_the_next_relist():
    """The server may drop events we can never detect in-stream (e.g. a watch closed early
    before delivering them); the next 410-triggered relist makes the cache right again."""
    lw = FakeListWatcher()
    lw.lists += [listing("10", obj("a", "1"), obj("c", "1")),
                 listing("40", obj("a", "30"), obj("b", "20"))]
    # first watch: delivers b's creation then closes early, "dropping" a's update and c's delete
    lw.watches += [[ev("ADDED", obj("b", "20"))], [line("ERROR", status(410, "Expired"))]]
    inf = make(lw)
    rec = Recorder()
    inf.add_handler(rec)
    inf.start()
    for _ in range(60):
        await asyncio.sleep(0)
    assert inf.reflector.lists == 2
    assert {k: o["metadata"]["resourceVersion"] for k, o in ((k, inf.store.get_by_key(k)) for k in inf.store.keys())} \
        == {"default/a": "30", "default/b": "20"}
    assert rec.events[-2:] == [("update", "a", "30"), ("tombstone", "c")]
    assert rec.events.count(("add", "b")) == 1, "b unchanged on relist: no duplicate notification"
    await inf.stop()


async def test_inactivity_timeout_rewatches_at_once():
    from runtime.kube.watch import WatchInactivityTimeout
    clock = FakeClock()
    lw = FakeListWatcher()
    lw.lists.append(listing("10"))
    lw.watches += [[ev("ADDED", obj("a", "11")), WatchInactivityTimeout("silent")], [ev("ADDED", obj("b", "12"))]]
    inf = make(lw, clock)
    await inf.reflector.step()
    await inf.reflector.step()
    assert clock.sleepers == 0, "no back-off after an inactivity timeout"
    await inf.reflector.step()
    assert lw.calls[-1][1]["resource_version"] == "11" and inf.reflector.lists == 1
