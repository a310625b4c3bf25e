"""The seed's A/B Rollout on the real control plane with the real kubectl: verbatim it is refused,
whichever way kubectl sends it, with one message naming each of its three mistakes and the fix; the
corrected form is admitted (or, until traffic routing is built, refused only for that). Also the
traffic-input refusals of issue 11 through the webhook: weight out of range, matches without a
traffic routing, two trafficRoutings."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
import yaml

from tests.e2e.harness import KUBECTL, REPO, Kubectl, ManagerProcess

from .test_admission_refusals import names

pytestmark = pytest.mark.integration

DEMO = REPO / "deploy" / "demo"
DENIED = 'admission webhook "vrollout.kb.io" denied the request'
HEADER = "spec.strategy.canary.steps[0].matches[0].headers[0]"
#: What a user must read for each mistake: the field, where it belongs, what to do.
SEED_AB_MISTAKES = [
    *(f"spec.objectRef.{k}: Unknown field: did you mean spec.objectRef.workloadRef.{k}? indent "
      "apiVersion/kind/name under workloadRef" for k in ("apiVersion", "kind", "name")),
    "spec.strategy.trafficRoutings: Unknown field: did you mean spec.strategy.canary.trafficRoutings? indent "
    "trafficRoutings under canary",
    f"{HEADER}.key: Unknown field: did you mean {HEADER}.name? rename key to name",
]
#: The ways kubectl sends a file: client-side apply (strict field validation by default), without
#: validation, server-side apply, create.
KUBECTL_MODES = [("apply",), ("apply", "--validate=false"), ("apply", "--server-side"), ("create",)]


def kubectl_file(kc: Kubectl, ns: str, text: str, *verb: str) -> tuple[int, str]:
    proc = subprocess.run([KUBECTL, f"--cache-dir={kc.cache_dir}", "-n", ns, *verb, "-f", "-"], input=text,
                          capture_output=True, text=True, env=kc.env, timeout=60)
    return proc.returncode, proc.stdout + proc.stderr


def test_seed_ab_yaml_verbatim_is_refused_naming_each_mistake(manager: ManagerProcess, kc: Kubectl,
                                                              namespace: str) -> None:
    text = (DEMO / "rollout-ab-seed.yaml").read_text()
    for verb in KUBECTL_MODES:
        code, out = kubectl_file(kc, namespace, text, *verb)
        assert code != 0 and DENIED in out, f"kubectl {' '.join(verb)}:\n{out}"
        for words in SEED_AB_MISTAKES:
            assert words in out, f"kubectl {' '.join(verb)}: {words!r} missing from:\n{out}"
    assert names(kc, namespace) == []


def test_seed_ab_yaml_corrected_is_admitted(manager: ManagerProcess, kc: Kubectl, namespace: str) -> None:
    code, out = kubectl_file(kc, namespace, (DEMO / "rollout-ab-demo.yaml").read_text(), "apply")
    assert code == 0, out
    assert names(kc, namespace) == ["rollouts-demo"]
    stored = kc.json("-n", namespace, "get", "rollouts.v1alpha1.rollouts.kruise.io", "rollouts-demo", "-o", "json")
    assert stored["spec"]["objectRef"]["workloadRef"]["name"] == "workload-demo"
    header = stored["spec"]["strategy"]["canary"]["steps"][0]["matches"][0]["headers"][0]
    assert header == {"name": "user-agent", "type": "Exact", "value": "pc"}


def _ab(ns: str, name: str, *, steps: list[dict[str, Any]] | None = None,
        routings: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    doc = yaml.safe_load((DEMO / "rollout-ab-demo.yaml").read_text())
    doc["metadata"].update(name=name, namespace=ns)
    canary = doc["spec"]["strategy"]["canary"]
    if steps is not None:
        canary["steps"] = steps
    if routings is not None:
        canary["trafficRoutings"] = routings
        if not routings:
            del canary["trafficRoutings"]
    return doc


def test_traffic_inputs_are_refused_naming_the_step_or_field(manager: ManagerProcess, kc: Kubectl,
                                                             namespace: str) -> None:
    ing = {"service": "service-demo", "ingress": {"name": "ingress-demo"}}
    match = [{"headers": [{"name": "user-agent", "value": "pc"}]}]
    cases = [
        ("weight 150", _ab(namespace, "w", steps=[{"replicas": 1, "weight": 150}]),
         'spec.strategy.canary.steps[0].weight: Invalid value: 150: weight is the percentage of traffic routed '
         "to the new version; use 0 to 100"),
        ("matches without trafficRoutings", _ab(namespace, "m", steps=[{"replicas": 1, "matches": match}],
                                                routings=[]),
         "spec.strategy.canary.steps[0].matches: Invalid value: null: matches need a traffic routing; add "
         "spec.strategy.canary.trafficRoutings or remove matches"),
        ("two trafficRoutings", _ab(namespace, "two", routings=[ing, ing]),
         "spec.strategy.canary.trafficRoutings: Invalid value: [\"service-demo\",\"service-demo\"]: Rollout "
         "currently only support single TrafficRouting. Keep exactly one element"),
    ]
    for what, doc, words in cases:
        code, out = kubectl_file(kc, namespace, yaml.safe_dump(doc), "apply")
        assert code != 0 and DENIED in out, f"{what} was admitted:\n{out}"
        assert words in out, f"{what}: {words!r} missing from:\n{out}"
    assert names(kc, namespace) == []
