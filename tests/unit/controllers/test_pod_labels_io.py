"""Pod reads and label writes shared by the BatchRelease control planes (labelpatch I/O helpers)."""

from __future__ import annotations

import asyncio
from typing import Any

from rollouts.controllers.batchrelease.labelpatch import apply_pod_labels, list_pods
from runtime.cache.store import Store
from runtime.kube.errors import NotFound


def pod(name: str, app: str = "demo", deleting: bool = False, **labels: str) -> dict[str, Any]:
    md: dict[str, Any] = {"name": name, "namespace": "ns", "labels": {"app": app, **labels}}
    if deleting:
        md["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": md}


class Informer:
    def __init__(self, pods: list[dict[str, Any]], synced: bool = True) -> None:
        self.store = Store()
        for p in pods:
            self.store.put(f"ns/{p['metadata']['name']}", p)
        self.synced = synced

    def has_synced(self) -> bool:
        return self.synced


class Client:
    def __init__(self, pods: list[dict[str, Any]] | None = None, gone: set[str] | None = None) -> None:
        self.pods, self.gone, self.calls = pods or [], gone or set(), []
        self.in_flight = self.max_in_flight = 0

    async def list(self, res: Any, namespace: str, label_selector: str | None = None) -> dict[str, Any]:
        self.calls.append(("list", label_selector))
        return {"items": self.pods}

    async def patch(self, res: Any, name: str, body: dict[str, Any], namespace: str, patch_type: str) -> Any:
        self.calls.append(("patch", name))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        await asyncio.sleep(0.01)
        self.in_flight -= 1
        if name in self.gone:
            raise NotFound("gone")
        return {"metadata": {"name": name, "namespace": namespace, "labels": body["metadata"]["labels"]}}


async def test_synced_informer_serves_pods_without_an_api_call() -> None:
    informer = Informer([pod("a"), pod("b", app="other"), pod("c", deleting=True)])
    client = Client()
    pods = await list_pods(client, informer, "ns", {"app": "demo"})
    assert [p["metadata"]["name"] for p in pods] == ["a"]
    assert client.calls == []


async def test_unsynced_informer_falls_back_to_one_list() -> None:
    client = Client([pod("a"), pod("c", deleting=True)])
    pods = await list_pods(client, Informer([], synced=False), "ns", {"app": "demo"})
    assert [p["metadata"]["name"] for p in pods] == ["a"]
    assert client.calls == [("list", "app=demo")]


async def test_labels_are_patched_concurrently_and_returned_in_place() -> None:
    client = Client(gone={"c"})
    pods = [pod("a"), pod("b"), pod("c"), pod("d")]
    wanted = {n: {"rollouts.kruise.io/rollout-batch-id": "1"} for n in ("a", "b", "c")}
    out = await apply_pod_labels(client, "ns", pods, wanted)
    assert client.max_in_flight == 3
    assert [p["metadata"]["name"] for p in out] == ["a", "b", "d"]  # c was deleted meanwhile
    assert out[0]["metadata"]["labels"] == {"rollouts.kruise.io/rollout-batch-id": "1"}
    assert out[2] is pods[3]


def _deployment() -> dict[str, Any]:
    from rollouts.release.deployment_strategy import DEPLOYMENT_EXTRA_STATUS_ANNOTATION

    template = {"metadata": {"labels": {"app": "demo"}}, "spec": {"containers": [{"name": "c", "image": "v2"}]}}
    return {"metadata": {"name": "d", "namespace": "ns", "generation": 3,
                         "annotations": {DEPLOYMENT_EXTRA_STATUS_ANNOTATION: '{"updatedReadyReplicas":3}'}},
            "spec": {"replicas": 10, "selector": {"matchLabels": {"app": "demo"}}, "template": template},
            "status": {"observedGeneration": 3, "replicas": 11, "updatedReplicas": 4}}


def _ready(p: dict[str, Any], ready: bool = True) -> dict[str, Any]:
    p["status"] = {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
    return p


async def test_pod_counts_raise_the_updated_count_but_never_the_published_ready_count() -> None:
    from rollouts.controllers.batchrelease.deployment import DeploymentControl
    from rollouts.controllers.rollout.workload import update_revision

    d = _deployment()
    new = update_revision(d)
    pods = [_ready(pod(f"n{i}", **{"pod-template-hash": new})) for i in range(5)]
    pods += [_ready(pod("n5", **{"pod-template-hash": new}), ready=False)]
    pods += [_ready(pod(f"o{i}", **{"pod-template-hash": "old"})) for i in range(5)]
    br = {"metadata": {"name": "b", "namespace": "ns"}, "spec": {"releasePlan": {"batches": []}}}
    control = DeploymentControl(Client(), br, d, pod_informer=Informer(pods))
    _, info = await control.observed_info()
    # 5 ready pods, but the extra-status annotation still says 3: readiness follows the annotation.
    assert (info.updated, info.updated_ready) == (6, 3)
    # Without a pod informer (or when the Deployment is ahead) the Deployment's numbers stand.
    _, plain = await DeploymentControl(Client(), br, d).observed_info()
    assert (plain.updated, plain.updated_ready) == (4, 3)


async def test_a_batch_is_not_ready_before_the_extra_status_says_so() -> None:
    """The race of issue 9.2, forced: every pod of batch 2 is Ready in the pod cache, but the advanced
    Deployment controller has not yet written ``updatedReadyReplicas`` into the extra status."""
    from rollouts.controllers.batchrelease.deployment import DeploymentControl
    from rollouts.controllers.rollout.workload import update_revision
    from rollouts.release.deployment_strategy import DEPLOYMENT_EXTRA_STATUS_ANNOTATION

    d = _deployment()
    d["spec"]["replicas"], d["status"] = 3, {"observedGeneration": 3, "replicas": 3, "updatedReplicas": 3}
    new = update_revision(d)
    pods = [_ready(pod(f"n{i}", **{"pod-template-hash": new})) for i in range(3)]
    br = {"metadata": {"name": "b", "namespace": "ns"},
          "spec": {"releasePlan": {"batches": [{"canaryReplicas": 1}, {"canaryReplicas": "100%"}]}}}
    status = {"canaryStatus": {"currentBatch": 1}}
    d["metadata"]["annotations"][DEPLOYMENT_EXTRA_STATUS_ANNOTATION] = \
        '{"updatedReadyReplicas":2,"expectedUpdatedReplicas":3}'
    reason = await DeploymentControl(Client(), br, d, pod_informer=Informer(pods)).batch_ready(status)
    assert reason == "updated ready 2 < desired 3 (failureThreshold 0)"
    d["metadata"]["annotations"][DEPLOYMENT_EXTRA_STATUS_ANNOTATION] = \
        '{"updatedReadyReplicas":3,"expectedUpdatedReplicas":3}'
    assert await DeploymentControl(Client(), br, d, pod_informer=Informer(pods)).batch_ready(status) is None
