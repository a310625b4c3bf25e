"""KubeClient against the real kube-apiserver: verbs, typed errors, patch types, conflicts."""

from __future__ import annotations

import pytest

from runtime.kube import AlreadyExists, Conflict, Invalid, NotFound
from runtime.kube.resources import CONFIGMAPS, DEPLOYMENTS
from runtime.retry import retry_on_conflict

pytestmark = pytest.mark.integration


def cm(name: str, **data: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": dict(data)}


async def test_crud_and_typed_errors(kube, namespace):
    created = await kube.create(CONFIGMAPS, cm("a", k="1"), namespace)
    assert created["metadata"]["namespace"] == namespace
    with pytest.raises(AlreadyExists):
        await kube.create(CONFIGMAPS, cm("a"), namespace)
    with pytest.raises(NotFound):
        await kube.get(CONFIGMAPS, "missing", namespace)
    with pytest.raises(Invalid) as info:
        await kube.create(CONFIGMAPS, cm("Not_Valid"), namespace)
    assert info.value.causes and info.value.causes[0].field == "metadata.name"
    # a stale resourceVersion is a Conflict (not AlreadyExists)
    fresh = await kube.get(CONFIGMAPS, "a", namespace)
    fresh["data"] = {"k": "2"}
    await kube.update(CONFIGMAPS, fresh)
    stale = dict(created, data={"k": "3"})
    with pytest.raises(Conflict) as conflict:
        await kube.update(CONFIGMAPS, stale)
    assert not isinstance(conflict.value, AlreadyExists) and conflict.value.status == 409
    # dry run changes nothing
    await kube.patch(CONFIGMAPS, "a", {"data": {"k": "dry"}}, namespace, dry_run=True)
    assert (await kube.get(CONFIGMAPS, "a", namespace))["data"]["k"] == "2"
    deleted = await kube.delete(CONFIGMAPS, "a", namespace)
    assert deleted is not None
    with pytest.raises(NotFound):
        await kube.delete(CONFIGMAPS, "a", namespace)


async def test_retry_on_conflict_wins_a_real_race(kube, namespace):
    await kube.create(CONFIGMAPS, cm("counter", n="0"), namespace)
    attempts = []

    async def increment():
        current = await kube.get(CONFIGMAPS, "counter", namespace)
        attempts.append(current["metadata"]["resourceVersion"])
        if len(attempts) == 1:  # someone else writes between our read and our write
            await kube.patch(CONFIGMAPS, "counter", {"data": {"n": "10"}}, namespace)
        current["data"]["n"] = str(int(current["data"]["n"]) + 1)
        return await kube.update(CONFIGMAPS, current)

    result = await retry_on_conflict(increment)
    assert result["data"]["n"] == "11" and len(attempts) == 2


@pytest.mark.parametrize("patch_type, body", [
    ("merge", {"data": {"b": "2"}}),
    ("json", [{"op": "add", "path": "/data/b", "value": "2"}]),
    ("strategic", {"data": {"b": "2"}}),
    ("apply", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "p"}, "data": {"b": "2"}}),
])
async def test_patch_types(kube, namespace, patch_type, body):
    await kube.create(CONFIGMAPS, cm("p", a="1"), namespace)
    out = await kube.patch(CONFIGMAPS, "p", body, namespace, patch_type=patch_type, field_manager="rt-test",
                           force=True)
    assert out["data"]["b"] == "2"


async def test_scale_and_status_subresources_and_pagination(kube, namespace):
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
           "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "d"}},
                    "template": {"metadata": {"labels": {"app": "d"}},
                                 "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}
    await kube.create(DEPLOYMENTS, dep, namespace)
    scale = await kube.get_scale(DEPLOYMENTS, "d", namespace)
    assert scale["kind"] == "Scale"
    await kube.patch_scale(DEPLOYMENTS, "d", {"spec": {"replicas": 0}}, namespace)
    assert (await kube.get(DEPLOYMENTS, "d", namespace))["spec"]["replicas"] == 0
    for i in range(7):
        await kube.create(CONFIGMAPS, cm(f"page-{i}"), namespace)
    listed = await kube.list(CONFIGMAPS, namespace, limit=2, label_selector=None)
    names = {i["metadata"]["name"] for i in listed["items"]}
    assert {f"page-{i}" for i in range(7)} <= names
    assert all(i["kind"] == "ConfigMap" for i in listed["items"])
    version = await kube.request("GET", "/version")
    assert "gitVersion" in version
