"""Analysis check values and verdicts on /metrics: recorded per round, exported for live Rollouts only."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from rollouts.controllers.rollout.analysis_metrics import AnalysisMetrics, register_analysis_metrics
from runtime.cache.store import Store, object_key
from runtime.metrics import Registry

RO = {"metadata": {"name": "ro", "namespace": "ns"}}


def samples(registry: Registry) -> dict[tuple[str, frozenset], float]:
    return {(s.name, frozenset(s.labels.items())): s.value
            for fam in text_string_to_metric_families(registry.render()) for s in fam.samples
            if s.name.startswith("kruise_rollout_analysis")}


def setup(leader: bool = True) -> tuple[Store, Registry, AnalysisMetrics]:
    store, registry = Store(), Registry()
    store.put(object_key(RO), RO)
    return store, registry, register_analysis_metrics(registry, store, active=lambda: leader)


def labels(check: str, **extra: str) -> frozenset:
    return frozenset({"namespace": "ns", "name": "ro", "check": check, **extra}.items())


def test_values_and_a_verdict_state_set_per_check() -> None:
    _, registry, metrics = setup()
    metrics.record("ns", "ro", [{"name": "error-rate", "verdict": "fail", "lastValue": "0.31"},
                                {"name": "latency", "verdict": "noData"}])
    got = samples(registry)
    assert got[("kruise_rollout_analysis_check_value", labels("error-rate"))] == 0.31
    assert ("kruise_rollout_analysis_check_value", labels("latency")) not in got  # nothing measured: no value
    verdicts = {dict(k[1])["verdict"]: v for k, v in got.items()
                if k[0] == "kruise_rollout_analysis_check_verdict" and dict(k[1])["check"] == "error-rate"}
    assert verdicts == {"pass": 0.0, "fail": 1.0, "inconclusive": 0.0, "noData": 0.0}
    assert got[("kruise_rollout_analysis_check_verdict", labels("latency", verdict="noData"))] == 1.0


def test_a_new_round_replaces_the_last_and_a_deleted_rollout_loses_its_series() -> None:
    store, registry, metrics = setup()
    metrics.record("ns", "ro", [{"name": "a", "verdict": "pass", "lastValue": "1"}])
    metrics.record("ns", "ro", [{"name": "b", "verdict": "pass", "lastValue": "2"}])
    assert {dict(k[1])["check"] for k in samples(registry)} == {"b"}
    store.remove(object_key(RO))
    assert samples(registry) == {}


def test_only_the_leader_exports() -> None:
    _, registry, metrics = setup(leader=False)
    metrics.record("ns", "ro", [{"name": "a", "verdict": "pass", "lastValue": "1"}])
    assert samples(registry) == {}
