"""The BatchRelease reconciler decodes a spec once per (uid, generation) and hashes its plan once.

The cache itself is tested in tests/unit/api/test_spec_cache.py; this checks the reconciler's
wiring: reconciles of one generation share the decode, a new generation (the Rollout moved
``batchPartition``) decodes again and its hash is the one written to the status.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from rollouts.api import decode, keys
from rollouts.controllers.batchrelease.controller import BatchReleaseReconciler
from rollouts.release.plan import release_plan_hash
from runtime.cache.store import Store, object_key
from runtime.kube.errors import NotFound
from runtime.reconcile import Request


class Inf:
    def __init__(self, *objs: dict[str, Any]) -> None:
        self.store = Store()
        for o in objs:
            self.store.put(object_key(o), o)


class Client:
    """Accepts every write; answers patches with the object as the store has it plus the patch."""

    def __init__(self, objects: dict[str, dict[str, Any]]) -> None:
        self.objects = objects
        self.status_patches: list[dict[str, Any]] = []
        self.rv = 100

    async def patch(self, res: Any, name: str, body: Any, namespace: str | None = None, **_: Any) -> dict[str, Any]:
        self.rv += 1
        obj = copy.deepcopy(self.objects.get(res.kind, {"metadata": {"name": name, "namespace": namespace}}))
        obj["metadata"]["resourceVersion"] = str(self.rv)
        return obj

    async def patch_status(self, res: Any, name: str, body: Any, namespace: str | None = None,
                           **_: Any) -> dict[str, Any]:
        self.rv += 1
        self.status_patches.append(body)
        obj = copy.deepcopy(self.objects[res.kind])
        obj["metadata"]["resourceVersion"] = str(self.rv)
        obj["status"] = {k: v for k, v in {**(obj.get("status") or {}), **body["status"]}.items() if v is not None}
        self.objects[res.kind] = obj  # the informer sees it through ``sync`` below
        return copy.deepcopy(obj)

    async def list(self, res: Any, namespace: str | None = None, **_: Any) -> dict[str, Any]:
        return {"items": []}

    async def get(self, res: Any, name: str, namespace: str | None = None) -> dict[str, Any]:
        return copy.deepcopy(self.objects[res.kind])


DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment",
              "metadata": {"name": "d", "namespace": "ns", "uid": "d-u", "generation": 1, "resourceVersion": "5"},
              "spec": {"replicas": 10, "selector": {"matchLabels": {"app": "a"}},
                       "template": {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": []}}},
              "status": {"observedGeneration": 1, "replicas": 10, "updatedReplicas": 0, "readyReplicas": 10}}


def batch_release(generation: int, partition: int) -> dict[str, Any]:
    return {"apiVersion": "rollouts.kruise.io/v1beta1", "kind": "BatchRelease",
            "metadata": {"name": "br", "namespace": "ns", "uid": "br-u", "generation": generation,
                         "resourceVersion": str(generation), "finalizers": ["rollouts.kruise.io/batch-release"]},
            "spec": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"},
                     "releasePlan": {"batches": [{"canaryReplicas": 1}, {"canaryReplicas": "100%"}],
                                     "batchPartition": partition, "rolloutID": "r1"}}}


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    seen: list[tuple[str, int]] = []
    original = decode.SpecCache.decode

    def counting(self: decode.SpecCache, br: Any) -> Any:
        seen.append(self.key(br) or ("", -1))
        return original(self, br)

    monkeypatch.setattr(decode.SpecCache, "decode", counting)
    return seen


async def test_one_decode_per_generation_and_the_new_generations_hash_is_written(decodes: list) -> None:
    br = batch_release(1, 0)
    brs, deployments = Inf(br), Inf(DEPLOYMENT)
    client = Client({"BatchRelease": br, "Deployment": DEPLOYMENT})
    reconciler = BatchReleaseReconciler(client, brs, deployments)  # type: ignore[arg-type]

    async def reconcile() -> None:
        await reconciler.reconcile(Request("ns", "br"))
        brs.store.put(object_key(client.objects["BatchRelease"]), client.objects["BatchRelease"])  # the watch event

    for _ in range(3):
        await reconcile()
    assert len(client.status_patches) >= 2  # the reconciles did run (not skipped as stale)
    assert decodes == [("br-u", 1)]

    moved = batch_release(2, 1)  # the Rollout moved batchPartition: the API server bumped the generation
    moved["status"] = client.objects["BatchRelease"].get("status") or {}
    moved["metadata"]["resourceVersion"] = str(client.rv + 1)
    client.objects["BatchRelease"] = moved
    client.status_patches.clear()
    await reconcile()
    await reconcile()
    assert decodes == [("br-u", 1), ("br-u", 2)]
    hashes = [p["status"].get("observedReleasePlanHash") for p in client.status_patches]
    assert release_plan_hash(moved["spec"]["releasePlan"]) in hashes


async def test_finalizer_release_of_an_already_deleted_batch_release_is_done_not_an_error() -> None:
    """Two reconciles of a finished, deleting BatchRelease race the watch: the second one's patch
    finds it gone (404). That is the end the patch wanted, not a failure to log and retry."""
    br = batch_release(1, 0)
    br["metadata"]["deletionTimestamp"] = "2026-12-03T08:00:00Z"
    br["metadata"]["finalizers"] = [keys.BATCH_RELEASE_FINALIZER]
    br["status"] = {"phase": "Completed"}

    class Gone(Client):
        async def patch(self, res: Any, name: str, body: Any, namespace: str | None = None, **_: Any) -> Any:
            self.patched = body
            raise NotFound(f'batchreleases.rollouts.kruise.io "{name}" not found')

    client = Gone({"BatchRelease": br})
    reconciler = BatchReleaseReconciler(client, Inf(br), Inf(DEPLOYMENT))  # type: ignore[arg-type]
    result = await reconciler.reconcile(Request("ns", "br"))
    assert client.patched  # it did try to release the finalizer
    assert not result.requeue and not result.requeue_after
