"""webhooks.rollout_query: the API server filters the Rollouts by workload name when the CRD lets it,
and a server that cannot is asked for the namespace, without retrying the selector on every call."""

from __future__ import annotations

from typing import Any

from runtime.clock import FakeClock
from runtime.kube.errors import BadRequest
from webhooks.rollout_query import RETRY_SELECTOR_SECONDS, WORKLOAD_NAME_FIELD, RolloutsByWorkload


def rollout(name: str, workload: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "ns"},
            "spec": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": workload}}}


class Server:
    def __init__(self, *, selectable: bool) -> None:
        self.selectable = selectable
        self.items = [rollout("a", "app-1"), rollout("b", "app-2"), rollout("c", "app-1")]
        self.calls: list[str | None] = []

    async def list(self, res: Any, namespace: str | None = None, field_selector: str | None = None) -> dict:
        self.calls.append(field_selector)
        if field_selector is None:
            return {"items": list(self.items)}
        if not self.selectable:
            raise BadRequest(f'field label not supported: {field_selector.partition("=")[0]}')
        field, _, value = field_selector.partition("=")
        assert field == WORKLOAD_NAME_FIELD
        return {"items": [o for o in self.items if o["spec"]["workloadRef"]["name"] == value]}


async def test_the_server_filters_by_workload_name() -> None:
    server = Server(selectable=True)
    query = RolloutsByWorkload(server)
    assert [o["metadata"]["name"] for o in await query.list("ns", "app-1")] == ["a", "c"]
    assert server.calls == ["spec.workloadRef.name=app-1"] and query.filtered == 1


async def test_a_crd_without_the_field_lists_the_namespace_and_retries_the_selector_later() -> None:
    server, clock = Server(selectable=False), FakeClock()
    query = RolloutsByWorkload(server, clock=clock)
    assert len(await query.list("ns", "app-1")) == 3  # a superset: callers match the workload themselves
    assert server.calls == ["spec.workloadRef.name=app-1", None]
    await query.list("ns", "app-2")
    assert server.calls[2:] == [None], "not asked again right away"
    server.selectable = True  # the CRD was upgraded
    clock.step(RETRY_SELECTOR_SECONDS)
    assert [o["metadata"]["name"] for o in await query.list("ns", "app-2")] == ["b"]
    assert server.calls[3:] == ["spec.workloadRef.name=app-2"] and query.filtered == 1
