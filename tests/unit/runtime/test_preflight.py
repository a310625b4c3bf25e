"""Start-up check: 404/403/401 on an informer's collection are named; an unreachable server is not."""

from __future__ import annotations

from collections.abc import AsyncIterator

from rollouts.cmd.manager import startup_problem
from rollouts.controllers.common import ROLLOUTS
from runtime.kube.errors import ConnectionFailed, Forbidden, NotFound
from runtime.kube.resources import Resource
from runtime.preflight import Collection, check_collections

PODS = Resource("", "v1", "pods", "Pod")
WIDGETS = Resource("example.com", "v1", "widgets", "Widget")


class Lister:
    def __init__(self, answers: dict[str, Exception]) -> None:
        self.answers, self.calls = answers, []

    async def list_pages(self, res: Resource, namespace: str | None = None, *, label_selector: str | None = None,
                         field_selector: str | None = None, limit: int = 500,
                         resource_version: str | None = None) -> AsyncIterator[dict]:
        self.calls.append((res.plural, namespace, field_selector, limit))
        if res.plural in self.answers:
            raise self.answers[res.plural]
        yield {"items": []}


async def test_each_collection_is_listed_once_with_the_informers_selectors() -> None:
    lister = Lister({})
    cols = [Collection(PODS, "ns", field_selector="metadata.name=x"), Collection(PODS, "ns",
                                                                                field_selector="metadata.name=x")]
    assert await check_collections(lister, cols) == []
    assert lister.calls == [("pods", "ns", "metadata.name=x", 1)]


async def test_missing_and_forbidden_are_named_and_an_outage_is_left_to_the_informers() -> None:
    lister = Lister({"rollouts": Forbidden("rollouts is forbidden: User \"x\" cannot list"),
                     "widgets": NotFound("the server could not find the requested resource"),
                     "pods": ConnectionFailed("connection refused")})
    problems = await check_collections(lister, [Collection(ROLLOUTS), Collection(WIDGETS, "ns"), Collection(PODS)])
    assert [(p.resource.plural, p.kind) for p in problems] == [("rollouts", "forbidden"), ("widgets", "missing")]
    line = startup_problem(problems)
    assert "\n" not in line and line.startswith("cannot start: ")
    assert (f"rollouts.rollouts.kruise.io ({ROLLOUTS.api_version}, all namespaces) cannot be listed (forbidden: "
            "rollouts is forbidden") in line and "config/rbac/role.yaml" in line
    assert "widgets.example.com (example.com/v1, namespace ns) is not served by the API server; install its CRD" \
        in line


async def test_a_missing_crd_of_ours_points_at_the_shipped_crds() -> None:
    problems = await check_collections(Lister({"rollouts": NotFound("not found")}), [Collection(ROLLOUTS)])
    assert "install the CRDs (config/crd, or the Helm chart deploy/charts/kruise-rollout)" in startup_problem(problems)
