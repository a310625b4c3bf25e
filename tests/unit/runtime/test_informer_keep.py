"""The informer's client-side ``keep`` filter (sharding by namespace set, issue 14 item 4)."""

from __future__ import annotations

from rt_fakes import FakeListWatcher, obj

from runtime.cache import InformerSettings, SharedInformer, SharedInformerFactory
from runtime.clock import FakeClock
from runtime.kube.resources import CONFIGMAPS
from runtime.kube.watch import WatchEvent


def in_a(o):
    return o["metadata"].get("namespace") == "a" and not (o["metadata"].get("labels") or {}).get("skip")


def informer():
    inf = SharedInformer(FakeListWatcher(), CONFIGMAPS, settings=InformerSettings(resync_period=0),
                         clock=FakeClock(), keep=in_a)
    seen = []
    inf._notify = lambda *n: seen.append((n[0], n[-1]["metadata"]["name"]))  # type: ignore[method-assign]
    return inf, seen


def test_rejected_objects_are_never_cached_or_notified():
    inf, seen = informer()
    inf.replace([obj("x", "1", "a"), obj("y", "1", "b")], "1")
    inf.apply(WatchEvent("ADDED", obj("z", "2", "b")))
    inf.apply(WatchEvent("DELETED", obj("z", "3", "b")))
    assert [o["metadata"]["name"] for o in inf.store.list()] == ["x"]
    assert seen == [("add", "x")]


def test_an_object_that_stops_matching_is_seen_as_deleted():
    inf, seen = informer()
    inf.replace([obj("x", "1", "a")], "1")
    inf.apply(WatchEvent("MODIFIED", obj("x", "2", "a", metadata={"labels": {"skip": "1"}})))
    assert inf.store.list() == [] and seen[-1] == ("delete", "x")
    inf.apply(WatchEvent("MODIFIED", obj("x", "3", "a")))
    assert seen[-1] == ("add", "x")


def test_the_factory_never_hands_a_filtered_informer_to_an_unfiltered_caller():
    f = SharedInformerFactory(FakeListWatcher(), clock=FakeClock())
    assert f.informer(CONFIGMAPS) is not f.informer(CONFIGMAPS, keep=in_a)
    assert f.informer(CONFIGMAPS, keep=in_a) is f.informer(CONFIGMAPS, keep=in_a)
