"""CachedReader: informer-served reads once synced, the API server before that and for the rest."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.cache.reader import CachedReader
from runtime.cache.store import Store
from runtime.kube.errors import NotFound
from runtime.kube.resources import CONFIGMAPS, SECRETS


class Informer:
    def __init__(self, objs: list[dict[str, Any]], synced: bool = True) -> None:
        self.store = Store()
        for o in objs:
            md = o["metadata"]
            self.store.put(f"{md['namespace']}/{md['name']}", o)
        self.synced = synced

    def has_synced(self) -> bool:
        return self.synced


class Client:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    async def get(self, res: Any, name: str, namespace: str | None = None) -> dict[str, Any]:
        self.calls.append(("get", res.plural, name))
        return {"metadata": {"name": name, "from": "api"}}

    async def list(self, res: Any, namespace: str | None = None, **kw: Any) -> dict[str, Any]:
        self.calls.append(("list", res.plural, kw))
        return {"items": [{"metadata": {"name": "x", "from": "api"}}]}

    async def patch(self, *args: Any) -> str:
        return "patched"


def cm(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "ns"}}


async def test_synced_informer_answers_get_and_list_without_the_api() -> None:
    client = Client()
    reader = CachedReader(client, {CONFIGMAPS: Informer([cm("a"), cm("b")])})
    assert (await reader.get(CONFIGMAPS, "a", "ns"))["metadata"]["name"] == "a"
    assert sorted(o["metadata"]["name"] for o in (await reader.list(CONFIGMAPS, "ns"))["items"]) == ["a", "b"]
    with pytest.raises(NotFound, match="configmaps 'zz' not found in namespace ns"):
        await reader.get(CONFIGMAPS, "zz", "ns")
    assert client.calls == []


async def test_unsynced_informers_other_resources_and_selectors_go_to_the_api() -> None:
    client = Client()
    reader = CachedReader(client, {CONFIGMAPS: Informer([cm("a")], synced=False), SECRETS: Informer([])})
    assert (await reader.get(CONFIGMAPS, "a", "ns"))["metadata"]["from"] == "api"
    assert (await reader.list(SECRETS, "ns", label_selector="app=x"))["items"][0]["metadata"]["from"] == "api"
    assert (await reader.list(SECRETS, "ns", label_selector=None))["items"] == []  # no option actually set
    assert await reader.patch("anything") == "patched"
    assert client.calls == [("get", "configmaps", "a"), ("list", "secrets", {"label_selector": "app=x"})]


def test_by_index_from_a_synced_informer_else_none() -> None:
    objs = [{"metadata": {"name": n, "namespace": "ns", "ownerReferences": [{"uid": "o1"}]}} for n in ("b", "a")]
    reader = CachedReader(Client(), {CONFIGMAPS: Informer(objs), SECRETS: Informer(objs, synced=False)})
    assert [o["metadata"]["name"] for o in reader.by_index(CONFIGMAPS, "owner-uid", "o1") or []] == ["a", "b"]
    assert reader.by_index(CONFIGMAPS, "owner-uid", "nobody") == []
    assert reader.by_index(CONFIGMAPS, "no-such-index", "x") is None   # caller falls back to a list
    assert reader.by_index(SECRETS, "owner-uid", "o1") is None         # not synced yet
