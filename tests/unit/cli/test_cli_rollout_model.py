"""The plugin reads a Rollout's spec through the v1beta1 model whichever version it was served as
(issue 10): a v1alpha1 object's ``objectRef.workloadRef`` and ``strategy.paused`` come through the
conversion, not a second spelling of both layouts."""

from __future__ import annotations

from rollouts.cli.commands import _spec, status_line

V1ALPHA1 = {"apiVersion": "rollouts.kruise.io/v1alpha1", "kind": "Rollout",
            "metadata": {"name": "r", "namespace": "ns", "generation": 1},
            "spec": {"objectRef": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "w"}},
                     "strategy": {"paused": True, "canary": {"steps": [{"weight": 20}, {"weight": 100}]}}},
            "status": {"observedGeneration": 1, "phase": "Progressing",
                       "canaryStatus": {"currentStepIndex": 1, "currentStepState": "StepPaused"}}}
V1BETA1 = {"apiVersion": "rollouts.kruise.io/v1beta1", "kind": "Rollout",
           "metadata": {"name": "r", "namespace": "ns", "generation": 1},
           "spec": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "w"},
                    "strategy": {"blueGreen": {"steps": [{"replicas": "50%"}]}}},
           "status": {"observedGeneration": 1, "phase": "Progressing",
                      "blueGreenStatus": {"currentStepIndex": 1, "currentStepState": "StepUpgrade"}}}


def test_both_versions_read_through_the_hub_model() -> None:
    alpha, beta = _spec(V1ALPHA1), _spec(V1BETA1)
    assert (alpha.workload_ref.kind, alpha.workload_ref.name, alpha.strategy.paused) == ("Deployment", "w", True)
    assert (beta.workload_ref.name, beta.strategy.paused, len(beta.strategy.steps())) == ("w", False, 1)


def test_status_line_counts_the_steps_of_either_version() -> None:
    assert "step 1/2" in status_line(V1ALPHA1)[0]
    assert "step 1/1" in status_line(V1BETA1)[0]
