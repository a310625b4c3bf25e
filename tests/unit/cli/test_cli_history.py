"""``kubectl kruise rollout history``: the list, the detail of one release and the errors."""

from __future__ import annotations

from tests.unit.cli.fake_api import FakeApi
from tests.unit.cli.test_cli import rollout, run_cli


def record(name: str, rollout_id: str, created: str, *, completed: bool = True, ro: str = "rollouts-demo") -> dict:
    h: dict = {
        "apiVersion": "rollouts.kruise.io/v1alpha1", "kind": "RolloutHistory",
        "metadata": {"name": name, "namespace": "default", "creationTimestamp": created,
                     "labels": {"rollouts.kruise.io/rollout-id": rollout_id, "rollouts.kruise.io/rollout-name": ro}},
        "spec": {},
    }
    if completed:
        containers = [{"name": "echo", "image": f"echo:{rollout_id}"}]
        h["spec"] = {
            "rollout": {"name": ro, "rolloutID": rollout_id,
                        "data": {"strategy": {"canary": {"steps": [{"replicas": 1}, {"replicas": "100%"}]}}}},
            "workload": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "workload-demo",
                         "data": {"template": {"spec": {"containers": containers}}}},
            "service": {"name": "echoserver"},
            "trafficRouting": {"ingress": {"name": "echoserver"}},
        }
        h["status"] = {"phase": "completed", "canarySteps": [
            {"canaryStepIndex": 1, "pods": [{"name": "p1", "ip": "10.0.0.1", "nodeName": "n1"}]},
            {"canaryStepIndex": 2, "pods": [{"name": "p2", "ip": "10.0.0.2", "nodeName": "n1"},
                                            {"name": "p3", "ip": "10.0.0.3", "nodeName": "n2"}]}]}
    return h


def _api() -> FakeApi:
    return FakeApi(rollouts=[rollout()], histories=[
        record("rollouts-demo-bbbbbb", "v3", "2026-01-02T00:00:00Z", completed=False),
        record("rollouts-demo-aaaaaa", "v2", "2026-01-01T00:00:00Z"),
        record("other-cccccc", "v2", "2026-01-01T00:00:00Z", ro="other"),
    ])


def test_history_lists_releases_oldest_first(tmp_path, monkeypatch) -> None:
    code, out, err, _ = run_cli(["rollout", "history", "rollout/rollouts-demo"], _api(), tmp_path, monkeypatch)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "rollout.rollouts.kruise.io/rollouts-demo"
    assert lines[1].split() == ["REVISION", "ROLLOUT-ID", "PHASE", "STEPS", "PODS", "WORKLOAD", "HISTORY"]
    assert lines[2].split() == ["1", "v2", "completed", "2", "3", "Deployment/workload-demo", "rollouts-demo-aaaaaa"]
    assert lines[3].split() == ["2", "v3", "recording", "0", "0", "<none>", "rollouts-demo-bbbbbb"]
    assert len(lines) == 4  # the other Rollout's record is not listed


def test_history_revision_shows_one_release_in_detail(tmp_path, monkeypatch) -> None:
    code, out, err, _ = run_cli(["rollout", "history", "rollouts-demo", "--revision", "1"], _api(), tmp_path,
                                monkeypatch)
    assert (code, err) == (0, "")
    assert out.splitlines()[:10] == [
        "rollout.rollouts.kruise.io/rollouts-demo with revision 1",
        "RolloutHistory:  rollouts-demo-aaaaaa",
        "Rollout ID:      v2",
        "Phase:           completed",
        "Workload:        Deployment workload-demo (apps/v1)",
        "  Containers:    echo=echo:v2",
        "Service:         echoserver",
        "Ingress:         echoserver",
        "HTTPRoute:       <none>",
        "Steps:",
    ]
    assert out.splitlines()[10:] == ["  Step 1 (replicas 1): 1 pod(s)", "    p1   10.0.0.1   n1",
                                     "  Step 2 (replicas 100%): 2 pod(s)", "    p2   10.0.0.2   n1",
                                     "    p3   10.0.0.3   n2"]


def test_history_by_rollout_id_and_errors(tmp_path, monkeypatch) -> None:
    code, out, _, _ = run_cli(["rollout", "history", "rollouts-demo", "--rollout-id", "v3"], _api(), tmp_path,
                              monkeypatch)
    assert code == 0 and "with revision 2" in out and "<none recorded yet>" in out
    code, _, err, _ = run_cli(["rollout", "history", "rollouts-demo", "--revision", "3"], _api(), tmp_path, monkeypatch)
    assert code == 1 and err.startswith("error: unable to find the specified revision 3 (there are 2)")
    code, _, err, _ = run_cli(["rollout", "history", "rollouts-demo", "--rollout-id", "nope"], _api(), tmp_path,
                              monkeypatch)
    assert code == 1 and "rollout-id 'nope'" in err
    code, _, err, _ = run_cli(["rollout", "history", "missing"], _api(), tmp_path, monkeypatch)
    assert code == 1 and 'rollouts.rollouts.kruise.io "missing" not found' in err


def test_history_without_records_says_how_to_get_them(tmp_path, monkeypatch) -> None:
    code, out, _, _ = run_cli(["rollout", "history", "rollouts-demo"], FakeApi(rollouts=[rollout()]), tmp_path,
                              monkeypatch)
    assert code == 0 and "RolloutHistory feature gate" in out
