"""The controller's guard: a Rollout using an unbuilt feature is reported, not released as something else."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

from rollouts.rollout.conditions import get_condition
from rollouts.rollout.unsupported import MSG_PREFIX, REASON_UNSUPPORTED, guard

from .sim import Sim, seed_rollout

NOW = datetime(2024, 1, 1, tzinfo=UTC)


def unbuilt(**status: object) -> dict:
    """A Rollout using a feature still in the table (a request header modifier through nginx)."""
    ro = seed_rollout()
    ro["spec"]["strategy"]["canary"]["trafficRoutings"] = [{"service": "svc", "ingress": {"name": "ing"}}]
    ro["spec"]["strategy"]["canary"]["steps"][0]["requestHeaderModifier"] = {"set": [{"name": "h", "value": "v"}]}
    if status:
        ro["status"] = dict(status)
    return ro


def test_supported_rollout_passes_untouched() -> None:
    ro = seed_rollout()
    view, halted = guard(ro, NOW)
    assert view is ro and halted is None


def test_canary_style_is_run() -> None:
    """Issue 11: the canary Deployment executor exists; the guard follows the table and lets it run."""
    ro = seed_rollout()
    ro["spec"]["strategy"]["canary"]["enableExtraWorkloadForCanary"] = True
    ro["metadata"]["annotations"] = {}
    view, halted = guard(ro, NOW)
    assert view is ro and halted is None


def test_unbuilt_feature_is_halted_with_field_and_fix() -> None:
    view, halted = guard(unbuilt(), NOW)
    assert halted is not None
    assert halted["phase"] == "Initial" and halted["observedGeneration"] == 2
    field = "spec.strategy.canary.steps[0].requestHeaderModifier"
    assert halted["message"].startswith(f"{MSG_PREFIX}{field}: request header")
    assert "remove requestHeaderModifier" in halted["message"]
    cond = get_condition(halted, "Progressing")
    assert cond is not None and cond["status"] == "False" and cond["reason"] == REASON_UNSUPPORTED
    assert cond["message"] == halted["message"]


def test_halting_a_progressing_rollout_keeps_its_sub_status() -> None:
    sub = {"currentStepIndex": 1, "currentStepState": "StepPaused"}
    _, halted = guard(unbuilt(phase="Progressing", canaryStatus=sub), NOW)
    assert halted is not None and halted["phase"] == "Progressing" and halted["canaryStatus"] == sub


def test_halted_status_is_stable_across_rounds() -> None:
    """Same message → same condition (times kept), so the reconciler writes nothing the second time."""
    _, first = guard(unbuilt(), NOW)
    assert first is not None
    _, second = guard(unbuilt(**first), NOW.replace(year=2025))
    assert second == first


def test_deleting_or_disabled_rollouts_are_not_halted() -> None:
    deleting = unbuilt()
    deleting["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    disabled = unbuilt()
    disabled["spec"]["disabled"] = True
    for ro in (deleting, disabled, unbuilt(phase="Terminating"), unbuilt(phase="Disabling")):
        assert guard(ro, NOW)[1] is None


def test_fixed_spec_drops_the_stale_condition_and_the_release_starts_over() -> None:
    _, halted = guard(unbuilt(), NOW)
    assert halted is not None
    ro = seed_rollout()
    ro["status"] = copy.deepcopy(halted)
    view, again = guard(ro, NOW)
    assert again is None
    assert get_condition(dict(view["status"]), "Progressing") is None and "message" not in view["status"]
    assert get_condition(ro["status"], "Progressing") is not None  # the stored object is not edited
    sim = Sim(dict(view))
    sim.settle()
    assert sim.rollout["status"]["phase"] == "Healthy"


def test_disable_generate_canary_service_over_an_httproute_is_halted_before_any_write() -> None:
    """A Rollout stored before the webhook: reported, never released (its route would lose the user's rules)."""
    ro = seed_rollout()
    canary = ro["spec"]["strategy"]["canary"]
    canary["trafficRoutings"] = [{"service": "svc", "gateway": {"httpRouteName": "route"}}]
    canary["disableGenerateCanaryService"] = True
    _, halted = guard(ro, NOW)
    assert halted is not None
    assert halted["message"].startswith(f"{MSG_PREFIX}spec.strategy.canary.disableGenerateCanaryService: "
                                        "disableGenerateCanaryService: true with a Gateway API HTTPRoute")
    del canary["disableGenerateCanaryService"]
    assert guard(ro, NOW)[1] is None
