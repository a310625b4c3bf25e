"""Informer indexes kept right through add/update/delete/relist, and informer transforms (issue 14)."""

from __future__ import annotations

import pytest
from rt_fakes import FakeListWatcher, obj

from runtime.cache import LAST_APPLIED_ANNOTATION, InformerSettings, SharedInformer, SharedInformerFactory, Store
from runtime.cache.transform import chain, strip_bookkeeping
from runtime.clock import FakeClock
from runtime.kube.resources import CONFIGMAPS
from runtime.kube.watch import WatchEvent


def by_app(o):
    app = ((o.get("metadata") or {}).get("labels") or {}).get("app")
    return [app] if app else []


def cm(name, rv, app=None, ns="default", **meta):
    labels = {"app": app} if app else {}
    return obj(name, rv, ns, metadata={"labels": labels, **meta})


def names(objs):
    return [o["metadata"]["name"] for o in objs]


def informer(**settings):
    return SharedInformer(FakeListWatcher(), CONFIGMAPS, settings=InformerSettings(resync_period=0, **settings),
                          clock=FakeClock(), indexers={"app": by_app})


def test_index_follows_adds_updates_deletes_and_relists():
    inf = informer()
    inf.replace([cm("a", "1", "x"), cm("b", "1", "x"), cm("c", "1", "y")], "1")
    assert names(inf.store.by_index("app", "x")) == ["a", "b"]
    inf.apply(WatchEvent("MODIFIED", cm("b", "2", "y")))          # moves between values
    inf.apply(WatchEvent("ADDED", cm("d", "3", "x")))
    inf.apply(WatchEvent("DELETED", cm("c", "4", "y")))
    assert names(inf.store.by_index("app", "x")) == ["a", "d"]
    assert names(inf.store.by_index("app", "y")) == ["b"]
    inf.store.check_invariants()
    # Relist after a disconnection: "a" changed value, "d" was deleted unseen, "e" is new.
    inf.replace([cm("a", "5", "y"), cm("b", "2", "y"), cm("e", "6", "x")], "6")
    assert names(inf.store.by_index("app", "x")) == ["e"]
    assert names(inf.store.by_index("app", "y")) == ["a", "b"]
    assert "x" in inf.store._indices["app"] and "z" not in inf.store._indices["app"]
    inf.store.check_invariants()
    inf.replace([], "7")
    assert inf.store._indices["app"] == {} and inf.store.by_index("app", "y") == []


def test_indexer_added_later_indexes_existing_objects_and_unknown_index_is_an_error():
    s = Store()
    s.put("default/a", cm("a", "1", "x"))
    s.add_indexers({"app": by_app})
    assert names(s.by_index("app", "x")) == ["a"]
    with pytest.raises(ValueError, match="already exists"):
        s.add_indexers({"app": by_app})
    with pytest.raises(KeyError, match="no indexer named 'nope'"):
        s.by_index("nope", "x")


async def test_factory_adds_indexers_to_an_informer_created_without_them():
    f = SharedInformerFactory(FakeListWatcher())
    first = f.informer(CONFIGMAPS)
    first.replace([cm("a", "1", "x")], "1")
    second = f.informer(CONFIGMAPS, indexers={"app": by_app})
    assert second is first and names(second.store.by_index("app", "x")) == ["a"]


def applied(name, rv):
    return cm(name, rv, "x", annotations={LAST_APPLIED_ANNOTATION: '{"big": "copy"}', "keep": "me"},
              managedFields=[{"manager": "kubectl", "fieldsV1": {"f:data": {}}}])


def test_default_transform_drops_managed_fields_and_last_applied_only():
    inf = informer()
    inf.replace([applied("a", "1"), cm("b", "1", annotations={LAST_APPLIED_ANNOTATION: "{}"})], "1")
    a = inf.store.get("a", "default")
    assert "managedFields" not in a["metadata"]
    assert a["metadata"]["annotations"] == {"keep": "me"} and a["metadata"]["labels"] == {"app": "x"}
    assert "annotations" not in inf.store.get("b", "default")["metadata"]   # emptied map removed
    inf.apply(WatchEvent("MODIFIED", applied("a", "2")))
    assert inf.store.get("a", "default")["metadata"]["annotations"] == {"keep": "me"}


def test_set_transform_runs_after_the_default_and_only_before_start():
    seen = []

    def keep_labels_only(o):
        seen.append(dict(o["metadata"]))
        return {"metadata": {k: o["metadata"][k] for k in ("name", "namespace", "labels", "resourceVersion")}}

    inf = informer()
    inf.set_transform(keep_labels_only)
    inf.replace([applied("a", "1")], "1")
    assert "managedFields" not in seen[0]                                   # the default ran first
    assert inf.store.get("a", "default") == {"metadata": {"name": "a", "namespace": "default",
                                                          "labels": {"app": "x"}, "resourceVersion": "1"}}
    assert names(inf.store.by_index("app", "x")) == ["a"]                  # indexes see the transformed object
    with pytest.raises(RuntimeError, match="set_transform on informer"):
        inf.set_transform(keep_labels_only)


def test_no_default_transform_keeps_everything_and_chain_skips_none():
    inf = informer(transform=None)
    inf.replace([applied("a", "1")], "1")
    assert "managedFields" in inf.store.get("a", "default")["metadata"]
    assert chain(None, None) is None and chain(None, strip_bookkeeping) is strip_bookkeeping
