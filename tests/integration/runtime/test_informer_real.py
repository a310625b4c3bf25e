"""Informers against the real API server: core objects, a CRD, and a relist after 410 Gone."""

from __future__ import annotations

import asyncio
import base64
import json
import urllib.request
import uuid

import pytest

from runtime.cache import DeletedFinalStateUnknown, InformerSettings, ReflectorSettings, SharedInformer
from runtime.kube import Gone, NotFound
from runtime.kube.resources import CONFIGMAPS, CRDS, EVENTS, Resource

from .conftest import eventually

pytestmark = pytest.mark.integration

SMALL_PAGES = InformerSettings(resync_period=0, reflector=ReflectorSettings(list_page_size=3, min_watch_timeout=30))


class View:
    """What a handler believes the world is: name -> resourceVersion, plus an event log."""

    def __init__(self):
        self.state: dict[str, str] = {}
        self.log: list[tuple] = []

    def on_add(self, o):
        self.state[o["metadata"]["name"]] = o["metadata"]["resourceVersion"]
        self.log.append(("add", o["metadata"]["name"]))

    def on_update(self, old, new):
        self.state[new["metadata"]["name"]] = new["metadata"]["resourceVersion"]
        self.log.append(("update", new["metadata"]["name"]))

    def on_delete(self, o):
        tomb = isinstance(o, DeletedFinalStateUnknown)
        o = o.obj if tomb else o
        self.state.pop(o["metadata"]["name"], None)
        self.log.append(("tombstone" if tomb else "delete", o["metadata"]["name"]))


def compact_etcd(endpoint: str) -> int:
    """Compact etcd at its current revision (what kube-apiserver does every 5 minutes)."""
    def post(path: str, body: dict) -> dict:
        req = urllib.request.Request(f"{endpoint}{path}", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())
    revision = int(post("/v3/kv/range", {"key": base64.b64encode(b"/").decode()})["header"]["revision"])
    post("/v3/kv/compaction", {"revision": revision, "physical": True})
    return revision


def cm(name: str, v: str = "1") -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"rt": "x"}},
            "data": {"v": v}}


async def server_state(kube, namespace) -> dict[str, str]:
    items = (await kube.list(CONFIGMAPS, namespace, label_selector="rt=x"))["items"]
    return {i["metadata"]["name"]: i["metadata"]["resourceVersion"] for i in items}


async def test_list_and_watch_configmaps(kube, namespace):
    for i in range(5):
        await kube.create(CONFIGMAPS, cm(f"pre-{i}"), namespace)
    inf = SharedInformer(kube, CONFIGMAPS, namespace=namespace, label_selector="rt=x", settings=SMALL_PAGES)
    view = View()
    inf.add_handler(view)
    inf.start()
    try:
        assert await inf.wait_for_sync(20)
        assert set(view.state) == {f"pre-{i}" for i in range(5)}
        await kube.create(CONFIGMAPS, cm("new"), namespace)
        await kube.patch(CONFIGMAPS, "pre-0", {"data": {"v": "2"}}, namespace)
        await kube.delete(CONFIGMAPS, "pre-1", namespace)
        expected = await server_state(kube, namespace)
        await eventually(lambda: view.state == expected, what="handler view == server state")
        assert inf.store.get("pre-0", namespace)["data"]["v"] == "2"
        assert "managedFields" not in inf.store.get("pre-0", namespace)["metadata"]
        assert ("delete", "pre-1") in view.log
        assert inf.reflector.lists == 1
    finally:
        await inf.stop()


def event(name: str, namespace: str, message: str = "m") -> dict:
    return {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "labels": {"rt": "x"}},
            "involvedObject": {"apiVersion": "v1", "kind": "ConfigMap", "name": "x", "namespace": namespace},
            "reason": "Test", "message": message, "type": "Normal", "count": 1}


async def test_relist_after_410_has_no_missed_or_duplicated_final_state(kube, namespace, local_cluster):
    """A watch resumed from a compacted resourceVersion gets 410 from the real server and relists.

    core/v1 Events are used because kube-apiserver disables its watch cache for them by default,
    so the watch is served by etcd, which really has compacted the revision (for cached resources
    the watch cache may still hold the history and legitimately answers without a 410).
    """
    for i in range(6):
        await kube.create(EVENTS, event(f"o-{i}", namespace), namespace)
    inf = SharedInformer(kube, EVENTS, namespace=namespace, label_selector="rt=x", settings=SMALL_PAGES)
    view = View()
    inf.add_handler(view)
    inf.start()
    assert await inf.wait_for_sync(20)
    await inf.stop()  # "disconnected": nothing is watched while the cluster changes
    stale_rv = inf.reflector.resource_version
    await kube.delete(EVENTS, "o-0", namespace)
    await kube.delete(EVENTS, "o-1", namespace)
    await kube.patch(EVENTS, "o-2", {"message": "changed"}, namespace)
    await kube.create(EVENTS, event("o-new", namespace), namespace)
    await asyncio.to_thread(compact_etcd, local_cluster.etcd_endpoint)
    errors = []
    original_watch = kube.watch

    async def recording_watch(*a, **kw):
        try:
            async for ev in original_watch(*a, **kw):
                yield ev
        except Exception as e:
            errors.append(e)
            raise

    kube.watch = recording_watch
    assert inf.reflector.resource_version == stale_rv
    inf.start()
    try:
        await eventually(lambda: inf.reflector.lists == 2, what="a relist after 410")
        assert any(isinstance(e, Gone) for e in errors), errors
        items = (await kube.list(EVENTS, namespace, label_selector="rt=x"))["items"]
        expected = {i["metadata"]["name"]: i["metadata"]["resourceVersion"] for i in items}
        await eventually(lambda: view.state == expected, what="handler view == server state")
        assert sorted(k.split("/")[1] for k in inf.store.keys()) == sorted(expected)
        assert sorted(n for kind, n in view.log if kind == "tombstone") == ["o-0", "o-1"], view.log
        after = view.log[6:]
        assert after.count(("add", "o-new")) == 1 and after.count(("update", "o-2")) == 1, view.log
        assert not any(n in ("o-3", "o-4", "o-5") for _, n in after), "unchanged objects must not be re-notified"
        assert inf.store.get("o-2", namespace)["message"] == "changed"
        inf.store.check_invariants()
    finally:
        await inf.stop()
        del kube.watch


async def test_custom_resource_informer(kube, namespace):
    group = f"rt{uuid.uuid4().hex[:8]}.example.com"
    res = Resource(group, "v1", "widgets", "Widget")
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": f"widgets.{group}"},
           "spec": {"group": group, "scope": "Namespaced",
                    "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
                    "versions": [{"name": "v1", "served": True, "storage": True,
                                  "subresources": {"status": {}},
                                  "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                                      "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                                      "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}}}]}}
    await kube.create(CRDS, crd)
    try:
        async def established():
            got = await kube.get(CRDS, f"widgets.{group}")
            return any(c["type"] == "Established" and c["status"] == "True"
                       for c in (got.get("status") or {}).get("conditions") or [])
        await eventually(established, what="CRD established")

        async def can_list():
            try:
                await kube.list(res, namespace)
                return True
            except NotFound:
                return False
        await eventually(can_list, what="CRD served")
        await kube.create(res, {"apiVersion": f"{group}/v1", "kind": "Widget", "metadata": {"name": "w1"},
                                "spec": {"size": 1}}, namespace)
        inf = SharedInformer(kube, res, namespace=namespace, settings=SMALL_PAGES)
        view = View()
        inf.add_handler(view)
        inf.start()
        try:
            assert await inf.wait_for_sync(20)
            assert set(view.state) == {"w1"}
            await kube.patch_status(res, "w1", {"status": {"phase": "Ready"}}, namespace)
            await kube.create(res, {"apiVersion": f"{group}/v1", "kind": "Widget", "metadata": {"name": "w2"}},
                              namespace)
            await eventually(lambda: set(view.state) == {"w1", "w2"} and
                             (inf.store.get("w1", namespace) or {}).get("status", {}).get("phase") == "Ready",
                             what="CR add and status update seen")
            await kube.delete(res, "w2", namespace)
            await eventually(lambda: set(view.state) == {"w1"}, what="CR delete seen")
        finally:
            await inf.stop()
    finally:
        await kube.delete(CRDS, f"widgets.{group}")
        await asyncio.sleep(0)
