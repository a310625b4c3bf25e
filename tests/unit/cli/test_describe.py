"""``kubectl kruise describe rollout``: the view as a pure function, the -w loop, the command line."""

from __future__ import annotations

import copy
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from rollouts.cli import describe as d
from rollouts.cli.api import ApiNotFound
from rollouts.cli.main import main

FIXTURES = Path(__file__).resolve().parents[1] / "argocd" / "fixtures"  # real Rollouts (tests/unit/argocd)
NOW = datetime(2026, 12, 3, 0, 58, tzinfo=UTC)
WORKLOAD = {"spec": {"replicas": 10, "selector": {"matchLabels": {"app": "demo"}}},
            "status": {"updatedReplicas": 1, "readyReplicas": 10}}


def fixture(label: str, version: str = "v1beta1") -> dict[str, Any]:
    return json.loads((FIXTURES / f"{label}.{version}.json").read_text())


def event(message: str, at: datetime, reason: str = "Progressing") -> dict[str, Any]:
    return {"type": "Normal", "reason": reason, "message": message, "lastTimestamp": at.strftime("%Y-%m-%dT%H:%M:%SZ")}


def pod(revision: str, ready: bool = True, deleting: bool = False, label: str = "pod-template-hash") -> dict:
    meta: dict[str, Any] = {"labels": {label: revision}}
    if deleting:
        meta["deletionTimestamp"] = "2026-12-03T00:00:00Z"
    return {"metadata": meta, "status": {"conditions": [{"type": "Ready", "status": str(ready)}]}}


@pytest.mark.parametrize("version", ["v1alpha1", "v1beta1"])
def test_view_mid_release_marks_the_current_step(version: str) -> None:
    pods = d.PodsSummary(canary=d.PodCounts(1, 1), stable=d.PodCounts(9, 8))
    text = d.render(fixture("paused-step1", version), WORKLOAD, pods,
                    [event("upgrade step(1) canary pods with new versions done", NOW - timedelta(seconds=46))], NOW)
    lines = text.splitlines()
    assert "Workload:    Deployment/workload-demo (replicas 10, updated 1, ready 10)" in lines
    assert "Step:        1/3 StepPaused" in lines
    assert "Pods:        canary 1 (1 ready), stable 9 (8 ready)" in lines
    assert lines[lines.index("Steps:") + 1:lines.index("Conditions:")] == [
        "  ->    1. replicas 1, approve to continue  [StepPaused]",
        "        2. replicas 50%, approve to continue",
        "        3. replicas 100%, then complete",
    ]
    message = "Rollout is in step(1/3), and you need manually confirm to enter the next step"
    assert f"  Progressing  True    InRolling  {message}" in lines
    assert lines[-1] == "  46s  Normal  Progressing  upgrade step(1) canary pods with new versions done"


def test_view_of_a_completed_and_of_a_canceled_release() -> None:
    done = d.render(fixture("healthy"), WORKLOAD, None, [], NOW)
    assert "Step:        3/3 Completed" in done
    assert done.count("  done ") == 3
    canceled = d.render(fixture("healthy-after-rollback"), None, None, [], NOW)
    assert "Step:        no release in progress (the last one stopped at step 2/3 StepPaused)" in canceled
    assert "->" not in canceled and "done" not in canceled
    assert "Workload:    Deployment/workload-demo (not found)" in canceled
    assert "Events:\n  <none>\n" in canceled


def test_traffic_of_the_current_step() -> None:
    ro = fixture("paused-step1")
    ro["spec"]["strategy"]["canary"]["trafficRoutings"] = [{"service": "svc", "ingress": {"name": "ing"}}]
    ro["spec"]["strategy"]["canary"]["steps"][0]["traffic"] = "20%"
    assert "Traffic:     20% to canary (ingress/ing)" in d.render(ro, WORKLOAD, None, [], NOW)
    ro["spec"]["strategy"]["canary"]["steps"][0]["matches"] = [{"headers": [{"name": "user", "value": "x"}]}]
    assert "Traffic:     requests matching 1 rule(s) to canary (ingress/ing)" in d.render(ro, WORKLOAD, None, [], NOW)
    healthy = fixture("healthy")
    healthy["spec"]["strategy"]["canary"]["trafficRoutings"] = [{"service": "svc", "gateway": {"httpRouteName": "r"}}]
    assert "Traffic:     all to stable (httproute/r)" in d.render(healthy, WORKLOAD, None, [], NOW)


def test_only_the_newest_events_in_time_order() -> None:
    events = [event(f"e{i}", NOW - timedelta(minutes=i)) for i in range(12)]
    text = d.render(fixture("paused-step1"), WORKLOAD, None, events, NOW)
    shown = [line.split()[-1] for line in text.split("Events:\n")[1].splitlines()[1:]]
    assert shown == [f"e{i}" for i in range(d.MAX_EVENTS - 1, -1, -1)]


def test_summarize_pods() -> None:
    pods = [pod("new"), pod("new", ready=False), pod("old"), pod("old", deleting=True), pod("third")]
    assert d.summarize_pods(pods, label="pod-template-hash", canary="new", stable="old") == d.PodsSummary(
        canary=d.PodCounts(2, 1), stable=d.PodCounts(1, 1), other=d.PodCounts(1, 1))
    assert d.revision_label("Deployment") == "pod-template-hash"
    assert d.revision_label("CloneSet") == "controller-revision-hash"


class DescribeFake:
    """The four reads of describe; ``script`` gives the Rollout per call."""

    def __init__(self, rollouts: list[dict[str, Any]]) -> None:
        self.rollouts = rollouts
        self.calls = 0
        self.closed = False

    async def get_rollout(self, namespace: str, name: str) -> dict[str, Any]:
        if not self.rollouts:
            raise ApiNotFound(name)
        self.calls += 1
        return copy.deepcopy(self.rollouts[min(self.calls, len(self.rollouts)) - 1])

    async def get_workload(self, namespace: str, api_version: str, kind: str, name: str) -> dict[str, Any] | None:
        assert (api_version, kind, name) == ("apps/v1", "Deployment", "workload-demo")
        return WORKLOAD

    async def list_pods(self, namespace: str, label_selector: str) -> list[dict[str, Any]]:
        assert label_selector == "app=demo"
        return [pod("5947c897d4")] + [pod("dd94b98d6")] * 9

    async def list_events(self, namespace: str, field_selector: str) -> list[dict[str, Any]]:
        assert field_selector == "involvedObject.kind=Rollout,involvedObject.name=rollouts-demo"
        return [event("upgrade step(1) canary pods with new versions done", NOW)]

    async def close(self) -> None:
        self.closed = True


async def _no_sleep(_: float) -> None:
    return None


async def test_watch_prints_again_only_when_the_view_changes() -> None:
    step1, step2 = fixture("paused-step1"), fixture("rolling-back")
    api = DescribeFake([step1, step1, step2, step2])
    clock = iter(NOW + timedelta(seconds=s) for s in range(10))  # events get older: not a change
    out = io.StringIO()
    await d.describe(api, "ns", "rollouts-demo", out, watch=True, now=lambda: next(clock), sleep=_no_sleep, rounds=4)
    views = out.getvalue().split("-" * 40 + "\n")
    assert len(views) == 2
    assert "Pods:        canary 1 (1 ready), stable 9 (9 ready)" in views[0]
    assert "  ->    1. replicas 1" in views[0] and "  ->    2. replicas 50%" in views[1]


def test_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    api = DescribeFake([fixture("paused-step1", "v1alpha1")])

    async def factory(cfg: Any) -> DescribeFake:
        return api

    out, err = io.StringIO(), io.StringIO()
    assert main(["describe", "rollout", "rollout/rollouts-demo", "-n", "ns"], api_factory=factory,  # type: ignore[arg-type]
                out=out, err=err) == 0
    assert out.getvalue().startswith("Name:        rollouts-demo\n") and api.closed
    missing = DescribeFake([])
    out, err = io.StringIO(), io.StringIO()
    assert main(["describe", "rollout", "nope", "-n", "ns"], api_factory=lambda cfg: _ret(missing),  # type: ignore
                out=out, err=err) == 1
    assert err.getvalue() == 'error: rollouts.rollouts.kruise.io "nope" not found in namespace "ns"\n'


async def _ret(api: Any) -> Any:
    return api


def test_the_last_analysis_values_show_in_the_conditions() -> None:
    """Issue 16 item 6: describe shows each check's last value, through the MetricsAnalysis condition."""
    ro = fixture("paused-step1")
    message = "errors: analysis failed: error-rate=0.31 (failureCondition result >= 0.2)"
    ro["status"]["conditions"].append({"type": "MetricsAnalysis", "status": "False", "reason": "Failed",
                                       "message": message, "lastUpdateTime": "2026-12-03T00:57:00Z"})
    lines = d.render(ro, WORKLOAD, None, [], NOW).splitlines()
    conditions = lines[lines.index("Conditions:") + 1:lines.index("Events:")]
    assert any(line.split()[:3] == ["MetricsAnalysis", "False", "Failed"] and line.endswith(message)
               for line in conditions), conditions
