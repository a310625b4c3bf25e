"""Flux and kstatus on real Rollouts (the fixtures of tests/unit/argocd, read from a real cluster).

Two views are pinned here:

- :func:`kstatus_generic`: kstatus' rules for a kind it has no special case for (cli-utils
  ``pkg/kstatus/status`` generic checks), which Flux applies when a Kustomization waits on a Rollout
  without ``healthCheckExprs``. They only look at deletion, ``observedGeneration`` and the
  ``Reconciling``/``Stalled`` conditions; a Rollout has neither condition (its types are
  Progressing/Succeeded/Terminating, wire-compatible with upstream), so mid-release it is Current.
- ``deploy/flux/kustomization-healthcheck.yaml``: CEL ``healthCheckExprs`` that give the real
  answer, evaluated with cel-python on the same objects.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import celpy
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "unit" / "argocd" / "fixtures"
SNIPPET = ROOT / "deploy" / "flux" / "kustomization-healthcheck.yaml"
VERSIONS = ("v1alpha1", "v1beta1")
#: Real state → what the shipped CEL expressions must say.
EXPECTED = {
    "healthy": "Current",
    "paused-step1": "InProgress",
    "paused-by-user": "InProgress",
    "rolling-back": "InProgress",
    "healthy-after-rollback": "Current",
    "disabled": "Current",
}


def fixture(label: str, version: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{label}.{version}.json").read_text())


def kstatus_generic(obj: dict[str, Any]) -> str:
    """kstatus for an unknown kind: Terminating, then generation, then Reconciling/Stalled."""
    meta, status = obj.get("metadata") or {}, obj.get("status") or {}
    if meta.get("deletionTimestamp"):
        return "Terminating"
    observed = status.get("observedGeneration")
    if observed is not None and observed != meta.get("generation"):
        return "InProgress"
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
    if conditions.get("Reconciling") == "True":
        return "InProgress"
    if conditions.get("Stalled") == "True":
        return "Failed"
    return "Current"


@functools.cache
def programs() -> tuple[tuple[str, Any], ...]:
    """The three expressions compiled once (cel-python compiles slowly)."""
    (check,) = yaml.safe_load(SNIPPET.read_text())["spec"]["healthCheckExprs"]
    assert (check["apiVersion"], check["kind"]) == ("rollouts.kruise.io/v1beta1", "Rollout")
    env = celpy.Environment()
    return tuple((name, env.program(env.compile(check[key])))
                 for key, name in (("current", "Current"), ("inProgress", "InProgress"), ("failed", "Failed")))


def cel_status(obj: dict[str, Any]) -> str:
    """The shipped expressions on ``obj``: exactly one may hold; none means InProgress (Flux's default)."""
    activation = {k: celpy.json_to_cel(v) for k, v in obj.items()}
    verdicts = [name for name, program in programs() if bool(program.evaluate(activation))]
    assert len(verdicts) <= 1, f"overlapping expressions: {verdicts}"
    return verdicts[0] if verdicts else "InProgress"


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("label", sorted(EXPECTED))
def test_generic_kstatus_calls_every_observed_rollout_current(label: str, version: str) -> None:
    """The documented weakness: without healthCheckExprs a release in progress looks done."""
    assert kstatus_generic(fixture(label, version)) == "Current"


def test_generic_kstatus_waits_for_the_generation_and_deletion() -> None:
    obj = fixture("healthy", "v1beta1")
    obj["metadata"]["generation"] += 1
    assert kstatus_generic(obj) == "InProgress"
    obj["metadata"]["deletionTimestamp"] = "2026-12-03T00:00:00Z"
    assert kstatus_generic(obj) == "Terminating"


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("label", sorted(EXPECTED))
def test_cel_health_of_real_rollouts(label: str, version: str) -> None:
    assert cel_status(fixture(label, version)) == EXPECTED[label]


@pytest.mark.parametrize(
    "patch, expected",
    [
        ({"metadata": {"generation": 99}}, "InProgress"),
        ({"status": {"conditions": [{"type": "Progressing", "status": "False", "reason": "Unsupported",
                                     "message": "m"}]}}, "Failed"),
        ({"status": {"phase": "Initial", "message": "Workload Not Found"}}, "Failed"),
        ({"status": {"message": "new version releasing detected in the progress of blue-green release, "
                                "please rollback first"}}, "Failed"),
        ({"status": None}, "InProgress"),
    ],
)
def test_cel_health_of_edited_rollouts(patch: dict[str, Any], expected: str) -> None:
    obj = copy.deepcopy(fixture("healthy", "v1beta1"))
    for key, value in patch.items():
        if value is None:
            obj.pop(key)
        else:
            obj[key] = {**obj[key], **value}
    assert cel_status(obj) == expected
