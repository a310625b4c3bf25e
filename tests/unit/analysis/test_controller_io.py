"""The controller's analysis I/O against an in-memory API: template lookup, the run object, its status."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from rollouts.analysis import template as t
from rollouts.analysis.prometheus import Answer
from rollouts.api.decode import as_rollout
from rollouts.api.edit import with_fields
from rollouts.api.status import CanaryStatus
from rollouts.controllers.rollout.analysis import ANALYSIS_RUNS, ANALYSIS_TEMPLATES, run_analysis, stored_analysis
from runtime.kube.resources import Resource
from tests.unit.trafficrouting.fakes import FakeClient

NOW = datetime(2026, 1, 1, tzinfo=UTC)
NS = "ns"


class Client(FakeClient):
    async def update(self, res: Resource, body: dict, *, subresource: str | None = None) -> dict:
        md = body["metadata"]
        key = (res.plural, md["namespace"], md["name"])
        live = self.objects[key]
        self.writes.append(("update/" + (subresource or ""), res.kind, md["name"]))
        if subresource == "status":
            live["status"] = copy.deepcopy(body.get("status"))
        else:
            live.update({k: copy.deepcopy(v) for k, v in body.items() if k != "status"})
        return copy.deepcopy(live)


def _rollout(annotations: dict[str, str] | None = None) -> Any:
    return as_rollout({"apiVersion": "rollouts.kruise.io/v1beta1", "kind": "Rollout",
                       "metadata": {"name": "ro", "namespace": NS, "uid": "u1",
                                    "annotations": annotations or {f"{t.GROUP}/template": "errors"}},
                       "spec": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "w"},
                                "strategy": {"canary": {"steps": [{"replicas": 1}]}}}})


def _sub(canary: str = "c1") -> CanaryStatus:
    return with_fields(CanaryStatus, canary_revision=canary, stable_revision="s1")


def _template(**check: Any) -> dict[str, Any]:
    body = {"name": "error-rate", "prometheus": {"address": "http://p", "query": 'x{v="{{canary_revision}}"}'},
            "successCondition": "result < 1", "intervalSeconds": 5, "count": 1, **check}
    return {"metadata": {"name": "errors"}, "spec": {"checks": [body]}}


async def _never(address: str, promql: str, seconds: float) -> Answer:
    raise AssertionError("no query expected")


async def test_a_missing_template_pauses_and_names_the_fix() -> None:
    client = Client()
    a = await run_analysis(client, _rollout(), _sub(), 1, "errors", NOW, _never)  # type: ignore[arg-type]
    assert (a.verdict, a.action, a.fresh) == (t.INCONCLUSIVE, t.PAUSE, True)
    assert a.message.startswith("AnalysisTemplate 'errors' not found in namespace 'ns': create it")
    run = client.find(ANALYSIS_RUNS, "ro", NS)
    assert run is not None and run["status"]["verdict"] == "inconclusive"
    assert run["metadata"]["ownerReferences"][0]["uid"] == "u1"
    assert run["spec"] == {"rollout": "ro", "template": "errors", "stepIndex": 1, "canaryRevision": "c1",
                           "stableRevision": "s1"}


async def test_an_invalid_template_names_the_field() -> None:
    client = Client()
    client.put(ANALYSIS_TEMPLATES, _template(count="3"), NS)
    a = await run_analysis(client, _rollout(), _sub(), 1, "errors", NOW, _never)  # type: ignore[arg-type]
    assert (a.verdict, a.action) == (t.INCONCLUSIVE, t.PAUSE)
    assert "spec.checks[0].count: must be an integer, got '3'" in a.message


async def test_a_run_of_another_revision_starts_afresh_and_values_are_stored() -> None:
    client = Client()
    client.put(ANALYSIS_TEMPLATES, _template(), NS)
    asked: list[str] = []

    async def query(address: str, promql: str, seconds: float) -> Answer:
        asked.append(promql)
        return Answer(0.5)

    first = await run_analysis(client, _rollout(), _sub("c1"), 1, "errors", NOW, query)  # type: ignore[arg-type]
    assert (first.verdict, first.action) == (t.PASS, t.CONTINUE)
    seen: list[list] = []
    again = await run_analysis(client, _rollout(), _sub("c2"), 1, "errors", NOW, query,  # type: ignore[arg-type]
                               on_checks=lambda checks: seen.append(list(checks)))
    assert again.verdict == t.PASS and asked == ['x{v="c1"}', 'x{v="c2"}']
    assert [(c["name"], c["verdict"], c["lastValue"]) for c in seen[0]] == [
        (c["name"], t.PASS, "0.5") for c in _template()["spec"]["checks"]]  # what /metrics gets
    run = client.find(ANALYSIS_RUNS, "ro", NS)
    assert run is not None and run["spec"]["canaryRevision"] == "c2"
    assert len(run["status"]["checks"][0]["measurements"]) == 1 and run["status"]["checks"][0]["lastValue"] == "0.5"
    stored = await stored_analysis(client, _rollout(), _sub("c2"))  # type: ignore[arg-type]
    assert stored is not None and (stored.verdict, stored.fresh) == (t.PASS, False)
    assert await stored_analysis(client, _rollout(), _sub("c3")) is None  # type: ignore[arg-type]


async def test_no_annotation_no_read() -> None:
    client = Client()
    assert await stored_analysis(client, _rollout({"x": "y"}), _sub()) is None  # type: ignore[arg-type]
    assert client.writes == []
