import io

import pytest

from rollouts.cli import commands
from rollouts.cli.kubeconfig import resolve
from rollouts.cli.main import build_parser, main, parse_duration
from rollouts.cli.target import Target, TargetError, parse_target

from .fake_api import FakeApi


def rollout(version="v1beta1", state="StepPaused", ns="default", name="rollouts-demo", paused=False):
    status = {
        "phase": "Progressing",
        "message": "m",
        "observedGeneration": 2,
        "canaryStatus": {"currentStepIndex": 1, "currentStepState": state},
    }
    if version == "v1beta1":
        status.update(currentStepIndex=1, currentStepState=state)
    return {
        "apiVersion": f"rollouts.kruise.io/{version}",
        "kind": "Rollout",
        "metadata": {"name": name, "namespace": ns, "resourceVersion": "10", "generation": 2},
        "spec": {
            "workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "workload-demo"},
            "strategy": {
                "paused": paused,
                "canary": {"steps": [{"replicas": 1}, {"replicas": "50%"}, {"replicas": "100%"}]},
            },
        },
        "status": status,
    }


def run_cli(argv, api, tmp_path, monkeypatch, kubeconfig=None):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    out, err = io.StringIO(), io.StringIO()
    seen = {}

    async def factory(cfg):
        seen["cfg"] = cfg
        return api

    code = main(argv, api_factory=factory, out=out, err=err)
    return code, out.getvalue(), err.getvalue(), seen.get("cfg")


@pytest.mark.parametrize(
    "args, expected",
    [
        (["rollout/rollouts-demo"], Target("Rollout", "rollouts-demo")),
        (["rollouts/rollouts-demo"], Target("Rollout", "rollouts-demo")),
        (["rollout.rollouts.kruise.io/rollouts-demo"], Target("Rollout", "rollouts-demo")),
        (["rollouts-demo"], Target("Rollout", "rollouts-demo")),
        (["rollout", "rollouts-demo"], Target("Rollout", "rollouts-demo")),
    ],
)
def test_parse_target(args, expected):
    assert parse_target(args) == expected
    assert expected.display == "rollout.rollouts.kruise.io/rollouts-demo"


@pytest.mark.parametrize("args", [["deployment/x"], ["pods/x"], ["rollout/"], ["a", "b", "c"]])
def test_parse_target_errors(args):
    with pytest.raises(TargetError):
        parse_target(args)


def test_seed_approve_v1beta1(tmp_path, monkeypatch):
    api = FakeApi([rollout()])
    code, out, err, cfg = run_cli(
        ["rollout", "approve", "rollout/rollouts-demo", "-n", "default"], api, tmp_path, monkeypatch
    )
    assert (code, out, err) == (0, "rollout.rollouts.kruise.io/rollouts-demo approved\n", "")
    status = api.rollouts[("default", "rollouts-demo")]["status"]
    assert status["canaryStatus"]["currentStepState"] == "StepReady"
    assert status["currentStepState"] == "StepReady"
    assert api.closed and cfg.namespace == "default"


def test_approve_v1alpha1_uses_canary_status_path(tmp_path, monkeypatch):
    api = FakeApi([rollout("v1alpha1")])
    code, out, _, _ = run_cli(["rollout", "approve", "rollouts-demo"], api, tmp_path, monkeypatch)
    assert code == 0 and out == "rollout.rollouts.kruise.io/rollouts-demo approved\n"
    status = api.rollouts[("default", "rollouts-demo")]["status"]
    assert status["canaryStatus"]["currentStepState"] == "StepReady"
    assert "currentStepState" not in status


def test_approve_blue_green_v1beta1():
    ro = rollout()
    ro["status"]["blueGreenStatus"] = ro["status"].pop("canaryStatus")
    assert commands.step_state(ro) == ("status.blueGreenStatus.currentStepState", "StepPaused")
    assert commands.approved_body(ro)["status"]["blueGreenStatus"]["currentStepState"] == "StepReady"


def test_approve_wrong_state_errors(tmp_path, monkeypatch):
    api = FakeApi([rollout(state="StepUpgrade")])
    code, out, err, _ = run_cli(["rollout", "approve", "rollout/rollouts-demo"], api, tmp_path, monkeypatch)
    assert code == 1 and out == ""
    assert err == (
        "error: rollout.rollouts.kruise.io/rollouts-demo does not allow to approve, because "
        "status.canaryStatus.currentStepState is 'StepUpgrade', not 'StepPaused'; "
        "approve only when the rollout waits for manual confirmation\n"
    )
    assert not any(c[0] == "update_rollout_status" for c in api.calls)


def test_approve_retries_on_conflict(tmp_path, monkeypatch):
    api = FakeApi([rollout()])
    api.conflicts_to_inject = 2
    code, out, _, _ = run_cli(["rollout", "approve", "rollout/rollouts-demo"], api, tmp_path, monkeypatch)
    assert code == 0 and out.endswith("approved\n")
    assert [c[0] for c in api.calls].count("get_rollout") == 3


def test_approve_gives_up_after_retries(tmp_path, monkeypatch):
    api = FakeApi([rollout()])
    api.conflicts_to_inject = 99
    code, _, err, _ = run_cli(["rollout", "approve", "rollout/rollouts-demo"], api, tmp_path, monkeypatch)
    assert code == 1 and "kept conflicting after 5 attempts" in err


def test_approve_not_found(tmp_path, monkeypatch):
    code, _, err, _ = run_cli(["rollout", "approve", "rollout/nope", "-n", "team"], FakeApi(), tmp_path, monkeypatch)
    assert code == 1 and err == 'error: rollouts.rollouts.kruise.io "nope" not found in namespace "team"\n'


@pytest.mark.parametrize(
    "verb, initial, expected_out, value", [("pause", False, "paused", True), ("resume", True, "resumed", False)]
)
def test_pause_resume(tmp_path, monkeypatch, verb, initial, expected_out, value):
    api = FakeApi([rollout(paused=initial)])
    code, out, _, _ = run_cli(["rollout", verb, "rollout/rollouts-demo"], api, tmp_path, monkeypatch)
    assert (code, out) == (0, f"rollout.rollouts.kruise.io/rollouts-demo {expected_out}\n")
    assert ("patch_rollout", ("default", "rollouts-demo"), {"spec": {"strategy": {"paused": value}}}) in api.calls


@pytest.mark.parametrize(
    "verb, initial, msg", [("pause", True, "is already paused"), ("resume", False, "is not paused")]
)
def test_pause_resume_noop_errors(tmp_path, monkeypatch, verb, initial, msg):
    api = FakeApi([rollout(paused=initial)])
    code, _, err, _ = run_cli(["rollout", verb, "rollout/rollouts-demo"], api, tmp_path, monkeypatch)
    assert code == 1 and err == f'error: rollouts.rollouts.kruise.io "rollouts-demo" {msg}\n'


def test_global_flags_before_and_after_verb(tmp_path, monkeypatch):
    api = FakeApi([rollout(ns="team")])
    code, _, _, cfg = run_cli(["-n", "team", "rollout", "approve", "rollout/rollouts-demo"], api, tmp_path, monkeypatch)
    assert code == 0 and cfg.namespace == "team"
    args = build_parser().parse_args(["rollout", "status", "ro/x", "--context", "c1", "--timeout", "1m30s"])
    assert args.context == "c1" and args.timeout == 90.0


def test_parse_duration():
    assert [parse_duration(x) for x in ("0", "30s", "5m", "1h", "500ms")] == [0, 30, 300, 3600, 0.5]


KUBECONFIG = """
apiVersion: v1
kind: Config
current-context: dev
contexts:
- name: dev
  context: {cluster: c, user: u, namespace: dev-ns}
- name: prod
  context: {cluster: c, user: u}
"""


def test_kubeconfig_resolution_order(tmp_path):
    home = tmp_path / "home"
    (home / ".kube").mkdir(parents=True)
    (home / ".kube" / "config").write_text(KUBECONFIG)
    other = tmp_path / "other.yaml"
    other.write_text(KUBECONFIG.replace("dev-ns", "other-ns"))
    # ~/.kube/config and its context namespace
    r = resolve(kubeconfig=None, context=None, namespace=None, env={}, home=home)
    assert (r.path, r.context, r.namespace) == (str(home / ".kube" / "config"), "dev", "dev-ns")
    # $KUBECONFIG beats ~/.kube/config
    r = resolve(kubeconfig=None, context=None, namespace=None, env={"KUBECONFIG": str(other)}, home=home)
    assert (r.path, r.namespace) == (str(other), "other-ns")
    # --kubeconfig beats $KUBECONFIG; --context without namespace → default; -n wins
    r = resolve(
        kubeconfig=str(home / ".kube" / "config"),
        context="prod",
        namespace=None,
        env={"KUBECONFIG": str(other)},
        home=home,
    )
    assert (r.context, r.namespace) == ("prod", "default")
    r = resolve(kubeconfig=None, context=None, namespace="x", env={}, home=home)
    assert r.namespace == "x"
    # no kubeconfig at all
    r = resolve(kubeconfig=None, context=None, namespace=None, env={}, home=tmp_path / "nohome")
    assert r.namespace == "default"


def test_status_waits_until_healthy(tmp_path, monkeypatch):
    ro = rollout()
    api = FakeApi([ro])
    script = iter(
        [
            (
                "Progressing",
                "StepPaused",
                "Rollout is in step(1/3), and you need manually confirm to enter the next step",
            ),
            ("Progressing", "StepUpgrade", "Rollout is in step(2/3), and upgrade workload to new version"),
            ("Healthy", "Completed", "Rollout progressing has been completed"),
        ]
    )

    def advance(fake):
        phase, state, msg = next(script)
        st = fake.rollouts[("default", "rollouts-demo")]["status"]
        st.update(phase=phase, message=msg, currentStepState=state)
        st["canaryStatus"]["currentStepState"] = state

    api.on_get = advance
    out = io.StringIO()

    async def no_sleep(_):
        return None

    import asyncio

    asyncio.run(commands.watch_status(api, "default", Target("Rollout", "rollouts-demo"), out, sleep=no_sleep))
    assert out.getvalue().splitlines() == [
        'Waiting for rollout "rollouts-demo" to finish: phase Progressing, step 1/3 StepPaused: '
        "Rollout is in step(1/3), and you need manually confirm to enter the next step",
        'Waiting for rollout "rollouts-demo" to finish: phase Progressing, step 1/3 StepUpgrade: '
        "Rollout is in step(2/3), and upgrade workload to new version",
        'rollout "rollouts-demo" successfully rolled out',
    ]


def test_status_timeout_and_failure(tmp_path, monkeypatch):
    import asyncio

    api = FakeApi([rollout()])
    clock = [0.0]

    async def fake_sleep(s):
        clock[0] += s

    with pytest.raises(commands.CommandError, match="timed out waiting for the condition"):
        asyncio.run(
            commands.watch_status(
                api,
                "default",
                Target("Rollout", "rollouts-demo"),
                io.StringIO(),
                timeout_seconds=5,
                sleep=fake_sleep,
                monotonic=lambda: clock[0],
            )
        )
    api.rollouts[("default", "rollouts-demo")]["status"]["phase"] = "Disabled"
    code, _, err, _ = run_cli(["rollout", "status", "rollout/rollouts-demo"], api, tmp_path, monkeypatch)
    assert code == 1 and err == 'error: rollout "rollouts-demo" is disabled\n'


def test_status_no_watch_exits_zero(tmp_path, monkeypatch):
    api = FakeApi([rollout()])
    code, out, _, _ = run_cli(
        ["rollout", "status", "rollout/rollouts-demo", "--watch", "false"], api, tmp_path, monkeypatch
    )
    assert code == 0 and out.startswith('Waiting for rollout "rollouts-demo"')


def _rs(name, revision, version, uid="d-uid", extra_anns=None):
    return {
        "metadata": {
            "name": name,
            "annotations": {"deployment.kubernetes.io/revision": str(revision), **(extra_anns or {})},
            "ownerReferences": [{"controller": True, "uid": uid, "kind": "Deployment"}],
        },
        "spec": {
            "template": {
                "metadata": {"labels": {"app": "demo", "pod-template-hash": name[-3:]}},
                "spec": {"containers": [{"name": "c", "image": version}]},
            }
        },
    }


def _deployment(version, paused=True, anns=None):
    return {
        "metadata": {
            "name": "workload-demo",
            "namespace": "default",
            "uid": "d-uid",
            "annotations": {
                "deployment.kubernetes.io/revision": "2",
                "rollouts.kruise.io/in-progressing": "{}",
                **(anns or {}),
            },
        },
        "spec": {
            "paused": paused,
            "selector": {"matchLabels": {"app": "demo"}},
            "template": {
                "metadata": {"labels": {"app": "demo"}},
                "spec": {"containers": [{"name": "c", "image": version}]},
            },
        },
    }


def test_undo_rollout_rolls_workload_back(tmp_path, monkeypatch):
    api = FakeApi(
        [rollout()],
        [_deployment("v2")],
        [
            _rs("workload-demo-aaa", 1, "v1", extra_anns={"team": "x"}),
            _rs("workload-demo-bbb", 2, "v2"),
            _rs("other-ccc", 1, "v0", uid="other"),
        ],
    )
    code, out, err, _ = run_cli(["rollout", "undo", "rollout/rollouts-demo"], api, tmp_path, monkeypatch)
    assert (code, out, err) == (0, "deployment.apps/workload-demo rolled back\n", "")
    d = api.deployments[("default", "workload-demo")]
    assert d["spec"]["template"]["spec"]["containers"][0]["image"] == "v1"
    assert "pod-template-hash" not in d["spec"]["template"]["metadata"]["labels"]
    assert d["metadata"]["annotations"] == {
        "deployment.kubernetes.io/revision": "2",
        "rollouts.kruise.io/in-progressing": "{}",
        "team": "x",
    }
    assert ("list_replica_sets", "default", "app=demo") in api.calls


def test_undo_skips_when_template_matches_and_errors_without_history(tmp_path, monkeypatch):
    api = FakeApi([], [_deployment("v1")], [_rs("workload-demo-aaa", 1, "v1"), _rs("workload-demo-bbb", 2, "v2")])
    code, out, _, _ = run_cli(["rollout", "undo", "deployment/workload-demo"], api, tmp_path, monkeypatch)
    assert (
        code == 0
        and out == "deployment.apps/workload-demo skipped rollback (current template already matches revision 1)\n"
    )
    api = FakeApi([], [_deployment("v1")], [_rs("workload-demo-aaa", 1, "v1")])
    code, _, err, _ = run_cli(["rollout", "undo", "deployment/workload-demo"], api, tmp_path, monkeypatch)
    assert code == 1 and err == 'error: no rollout history found for deployment "workload-demo"\n'


def test_undo_mid_canary_release_returns_to_the_running_revision(tmp_path, monkeypatch):
    """Canary style: the paused Deployment's new template has no ReplicaSet; undo goes back to the
    newest one (still running every stable pod) instead of answering "no rollout history"."""
    api = FakeApi([rollout()], [_deployment("v2")], [_rs("workload-demo-aaa", 1, "v1")])
    code, out, err, _ = run_cli(["rollout", "undo", "rollout/rollouts-demo"], api, tmp_path, monkeypatch)
    assert (code, out, err) == (0, "deployment.apps/workload-demo rolled back\n", "")
    d = api.deployments[("default", "workload-demo")]
    assert d["spec"]["template"]["spec"]["containers"][0]["image"] == "v1"


def test_undo_paused_unmanaged_deployment_refused():
    d = _deployment("v2")
    d["metadata"]["annotations"].pop("rollouts.kruise.io/in-progressing")
    with pytest.raises(commands.CommandError, match="cannot rollback a paused deployment"):
        commands.undo_patch(d, [_rs("workload-demo-aaa", 1, "v1"), _rs("workload-demo-bbb", 2, "v2")], 0)
    with pytest.raises(commands.CommandError, match="unable to find specified revision 7"):
        commands.undo_patch(d, [_rs("workload-demo-aaa", 1, "v1"), _rs("workload-demo-bbb", 2, "v2")], 7)


class RecordingClient:
    """Stands in for runtime.kube.client.KubeClient: records calls, raises runtime errors on demand."""

    def __init__(self, raise_exc=None):
        self.calls = []
        self.raise_exc = raise_exc

    async def get(self, res, name, namespace=None):
        self.calls.append(("get", res.api_version, res.plural, name, namespace))
        if self.raise_exc:
            raise self.raise_exc
        return {"metadata": {"name": name}}

    async def update(self, res, body, *, subresource=None):
        self.calls.append(("update", res.plural, subresource))
        return body

    async def patch(self, res, name, body, namespace=None, *, patch_type="merge"):
        self.calls.append(("patch", res.plural, name, namespace, patch_type))
        return {}

    async def aclose(self):
        self.calls.append(("close",))


def test_kube_api_adapter_paths_and_errors():
    import asyncio

    from rollouts.cli.api import ApiConflict, ApiNotFound, KubeRolloutApi
    from runtime.kube import errors

    async def go():
        client = RecordingClient()
        api = KubeRolloutApi(client)
        await api.get_rollout("default", "rollouts-demo")
        await api.update_rollout_status({"metadata": {"name": "rollouts-demo", "namespace": "default"}})
        await api.patch_rollout("default", "rollouts-demo", {"spec": {}})
        await api.json_patch_deployment("default", "workload-demo", [])
        await api.close()
        assert client.calls == [
            ("get", "rollouts.kruise.io/v1beta1", "rollouts", "rollouts-demo", "default"),
            ("update", "rollouts", "status"),
            ("patch", "rollouts", "rollouts-demo", "default", "merge"),
            ("patch", "deployments", "workload-demo", "default", "json"),
            ("close",),
        ]
        for exc, mapped in ((errors.NotFound("x"), ApiNotFound), (errors.Conflict("x"), ApiConflict)):
            with pytest.raises(mapped):
                await KubeRolloutApi(RecordingClient(exc)).get_rollout("default", "x")

    asyncio.run(go())
