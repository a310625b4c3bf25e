"""deploy/argocd: the health check and the actions, run by our Lua 5.1 sandbox on real Rollouts.

The fixtures are Rollouts read from the real control plane by tests/integration/cli_describe (both
API versions of the same object at each state; regenerate with ``KRUISE_CAPTURE_ARGOCD_FIXTURES=1
.venv/bin/python -m pytest tests/integration/cli_describe``). Cases no real run reaches cheaply (a failure, a
timed pause, a stale generation) are the real objects with one field edited, named ``edited(...)``.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from rollouts.cli.commands import approved_body
from tests import argocd_lua
from tests.unit.cli.fake_api import merge

FIXTURES = Path(__file__).parent / "fixtures"
VERSIONS = ("v1alpha1", "v1beta1")
#: State captured from a real run → what Argo CD must show.
REAL = {
    "healthy": "Healthy",
    "paused-step1": "Suspended",
    "paused-by-user": "Suspended",
    "rolling-back": "Progressing",
    "healthy-after-rollback": "Healthy",
    "disabled": "Healthy",
}


def fixture(label: str, version: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{label}.{version}.json").read_text())


def edited(label: str, version: str, patch: dict[str, Any]) -> dict[str, Any]:
    return merge(fixture(label, version), patch)


def lua_normal(value: Any) -> Any:
    """What survives a trip through Lua: an empty table comes back as null (lua-contract.md §3), so
    empty maps/lists and nulls are dropped on both sides before comparing."""
    if isinstance(value, dict):
        kept = {k: lua_normal(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [lua_normal(v) for v in value]
    return value


def test_every_real_state_was_captured_in_both_versions() -> None:
    for label in REAL:
        for version in VERSIONS:
            assert fixture(label, version)["apiVersion"] == f"rollouts.kruise.io/{version}"


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("label", sorted(REAL))
def test_health_of_real_rollouts(label: str, version: str) -> None:
    status, message = argocd_lua.health(fixture(label, version))
    assert status == REAL[label], message
    assert message


@pytest.mark.parametrize("version", VERSIONS)
def test_health_messages_say_why(version: str) -> None:
    assert argocd_lua.health(fixture("paused-step1", version))[1].startswith("waiting for approval at step 1: ")
    assert argocd_lua.health(fixture("paused-by-user", version))[1] == "Rollout is paused (spec.strategy.paused)"
    assert argocd_lua.health(fixture("rolling-back", version))[1].startswith("rolling back: ")


def _condition(status: str, reason: str, message: str) -> dict[str, Any]:
    return {"type": "Progressing", "status": status, "reason": reason, "message": message,
            "lastUpdateTime": "2026-12-03T00:57:09Z", "lastTransitionTime": "2026-12-03T00:57:09Z"}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    "label, patch, expected, says",
    [
        ("healthy", {"metadata": {"generation": 99}}, "Progressing", "spec update to be observed"),
        ("paused-step1", {"status": {"conditions": [_condition("False", "Unsupported", "blueGreen is not run")]}},
         "Degraded", "Unsupported: blueGreen is not run"),
        ("healthy", {"status": {"phase": "Initial", "message": "Workload Not Found"}}, "Degraded", "does not exist"),
        ("paused-step1", {"spec": {"disabled": True}, "status": {"phase": "Disabling",
                                                                "message": "Disabling rollout, release resources"}},
         "Progressing", "Disabling"),
        ("paused-step1", {"spec": {"disabled": True}, "status": {"phase": "Disabling",
                                                                "message": "Lua script nginx.lua failed (runtime): x"}},
         "Degraded", "disabling failed: Lua script"),
        ("paused-step1", {"status": {"message": "new version releasing detected in the progress of blue-green "
                                                "release, please rollback first"}}, "Degraded", "please rollback"),
        ("paused-step1", {"status": {"phase": "Terminating"}}, "Progressing", "being deleted"),
        ("paused-step1", {"status": {"phase": "Progressing", "canaryStatus": {"currentStepState": "StepUpgrade"},
                                     "currentStepState": "StepUpgrade"}}, "Progressing", ""),
    ],
)
def test_health_of_edited_rollouts(label: str, patch: dict, expected: str, says: str, version: str) -> None:
    status, message = argocd_lua.health(edited(label, version, copy.deepcopy(patch)))
    assert (status, says in message) == (expected, True), message


@pytest.mark.parametrize("version", VERSIONS)
def test_timed_pause_is_progressing_not_suspended(version: str) -> None:
    obj = fixture("paused-step1", version)
    obj["spec"]["strategy"]["canary"]["steps"][0]["pause"] = {"duration": 30}
    assert argocd_lua.health(obj) == ("Progressing", "paused for 30s at step 1")


def test_health_without_status_waits() -> None:
    obj = fixture("healthy", "v1beta1")
    del obj["status"]
    assert argocd_lua.health(obj)[0] == "Progressing"


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    "label, enabled",
    [
        ("paused-step1", {"approve", "pause", "disable"}),
        ("paused-by-user", {"approve", "resume", "disable"}),
        ("healthy", {"pause", "disable"}),
        ("healthy-after-rollback", {"pause", "disable"}),  # its last sub-status still says StepPaused
        ("disabled", {"pause"}),
    ],
)
def test_discovery(label: str, enabled: set[str], version: str) -> None:
    offered = argocd_lua.discovery(fixture(label, version))
    assert set(offered) == set(argocd_lua.ACTIONS)
    assert {name for name, on in offered.items() if on} == enabled


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("label", ["paused-step1", "paused-by-user"])
def test_approve_writes_what_kubectl_kruise_approve_writes(label: str, version: str) -> None:
    obj = fixture(label, version)
    out = argocd_lua.action("approve", obj)
    assert lua_normal(out) == lua_normal(approved_body(obj))
    assert out != obj  # something changed: the step state
    sub = out["status"]["canaryStatus"]
    assert sub["currentStepState"] == "StepReady"
    assert ("currentStepState" in out["status"]) == (version == "v1beta1")


def test_approve_blue_green_sub_status_like_kubectl() -> None:
    obj = fixture("paused-step1", "v1beta1")
    obj["status"]["blueGreenStatus"] = obj["status"].pop("canaryStatus")
    out = argocd_lua.action("approve", obj)
    assert lua_normal(out) == lua_normal(approved_body(obj))
    assert out["status"]["blueGreenStatus"]["currentStepState"] == "StepReady"


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("label, says", [("healthy", "not releasing"), ("disabled", "not releasing"),
                                         ("rolling-back", "")])
def test_approve_refuses_outside_a_waiting_step(label: str, says: str, version: str) -> None:
    obj = fixture(label, version)
    if label == "rolling-back":
        obj["status"]["canaryStatus"]["currentStepState"] = "StepUpgrade"
        says = "current step state is 'StepUpgrade'"
    with pytest.raises(argocd_lua.LuaError, match=says):
        argocd_lua.action("approve", obj)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    "name, patch",
    [
        ("pause", {"spec": {"strategy": {"paused": True}}}),  # kubectl kruise rollout pause's merge patch
        ("resume", {"spec": {"strategy": {"paused": False}}}),
        ("disable", {"spec": {"disabled": True}}),
    ],
)
def test_spec_actions_match_the_plugin_patches(name: str, patch: dict, version: str) -> None:
    obj = fixture("paused-step1", version)
    assert lua_normal(argocd_lua.action(name, obj)) == lua_normal(merge(copy.deepcopy(obj), patch))


#: Library tables Argo CD does not open for health/action scripts (it opens base, table, package and
#: a safe ``os``; string and math only with ``resource.customizations.useOpenLibs``). Our sandbox has
#: string and math, so their absence is checked on the source: a table access or a method call
#: (``s:find``) on a string would need them.
_UNAVAILABLE = re.compile(r"\b(string|math|io|debug|coroutine)\.|[\w\)\]\"]:\w+\(")


@pytest.mark.parametrize("script", ["health.lua", *(f"actions/{n}.lua" for n in ("discovery", *argocd_lua.ACTIONS))])
def test_scripts_use_only_libraries_argocd_opens(script: str) -> None:
    source = "\n".join(line.split("--", 1)[0] for line in (argocd_lua.ARGOCD / script).read_text().splitlines())
    assert _UNAVAILABLE.findall(source) == []


def test_the_library_check_sees_a_string_call() -> None:
    assert _UNAVAILABLE.search('local x = string.find(m, "a")') and _UNAVAILABLE.search('if m:find("a") then')


def test_configmap_snippet_is_rendered_from_the_scripts() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("argocd_render", argocd_lua.ARGOCD / "render.py")
    assert spec is not None and spec.loader is not None
    render = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(render)
    text = (argocd_lua.ARGOCD / "argocd-cm.yaml").read_text()
    assert text == render.render(), "run: python deploy/argocd/render.py"
    data = yaml.safe_load(text)["data"]
    assert data[render.HEALTH_KEY] == (argocd_lua.ARGOCD / "health.lua").read_text()
    actions = yaml.safe_load(data[render.ACTIONS_KEY])
    assert actions["discovery.lua"] == (argocd_lua.ARGOCD / "actions" / "discovery.lua").read_text()
    assert [(d["name"], d["action.lua"]) for d in actions["definitions"]] == [
        (n, (argocd_lua.ARGOCD / "actions" / f"{n}.lua").read_text()) for n in argocd_lua.ACTIONS
    ]
