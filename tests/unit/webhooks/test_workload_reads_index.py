"""The workload webhooks find a workload's Rollout through the cache's workload-ref index (issue 14)."""

from __future__ import annotations

from typing import Any

from rollouts.objects.workloadref import WORKLOAD_REF_INDEX, workload_ref_index
from runtime.cache.reader import CachedReader
from runtime.testing import populated_informer
from webhooks.workload.reads import ROLLOUTS, WorkloadReads


def rollout(name: str, workload: str, phase: str = "Healthy") -> dict[str, Any]:
    return {"apiVersion": "rollouts.kruise.io/v1beta1", "kind": "Rollout",
            "metadata": {"name": name, "namespace": "ns"}, "status": {"phase": phase},
            "spec": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": workload},
                     "strategy": {"canary": {"steps": [{"replicas": 1}]}}}}


class Api:
    def __init__(self) -> None:
        self.lists = 0
        self.selectors: list[str | None] = []

    async def list(self, res: Any, namespace: str | None = None, **kw: Any) -> dict[str, Any]:
        self.lists += 1
        self.selectors.append(kw.get("field_selector"))
        return {"items": []}


async def test_rollout_for_reads_the_index_not_the_namespace() -> None:
    rollouts = [rollout(f"ro-{i}", f"app-{i}") for i in range(200)]
    rollouts += [rollout("a-disabled", "app-7", phase="Disabled"), rollout("z-second", "app-7")]
    informer = populated_informer(ROLLOUTS, rollouts, indexers={WORKLOAD_REF_INDEX: workload_ref_index})
    api = Api()
    reads = WorkloadReads(CachedReader(api, {ROLLOUTS: informer}), api=api)
    found = await reads.rollout_for("ns", "apps/v1", "Deployment", "app-7")
    # Same answer as the scan: the first non-Disabled match by name (ro-7 before z-second).
    assert found is not None and found["metadata"]["name"] == "ro-7"
    assert api.lists == 0
    assert await reads.rollout_for("ns", "apps/v1", "Deployment", "nobody") is None
    assert api.lists == 1                                   # a miss is still confirmed on the server
    # ... by a LIST the server filters to that workload's name, not the namespace's every Rollout
    assert api.selectors == ["spec.workloadRef.name=nobody"]


def test_every_workload_handler_shares_one_rollout_query() -> None:
    """Against a CRD without the selectable field, one fallback (one warning, one retry timer) for all paths."""
    from webhooks.server import HandlerRegistry
    from webhooks.workload import register

    registry, api = HandlerRegistry(), Api()
    register(registry, api)
    queries = {id(route.target.reads.by_workload) for route in registry._routes.values()}  # type: ignore[union-attr]
    assert len(registry._routes) == 5 and len(queries) == 1
