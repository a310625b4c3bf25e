"""Our own extra-status annotation write must not leave the Deployment looking unobserved."""

from rollouts.controllers.deployment.controller import observed_generation_after

STRATEGY = "rollouts.kruise.io/deployment-strategy"


def _deployment(generation: int, partition: int = 1, image: str = "v2") -> dict:
    return {
        "metadata": {"generation": generation, "annotations": {STRATEGY: f'{{"partition":{partition}}}'}},
        "spec": {"replicas": 10, "template": {"spec": {"containers": [{"image": image}]}}},
    }


def test_own_annotation_bump_is_observed():
    planned, written = _deployment(5), _deployment(6)
    assert observed_generation_after(planned, written, {"observedGeneration": 5}) == 6


def test_a_concurrent_spec_change_stays_unobserved():
    planned, written = _deployment(5), _deployment(7, image="v3")
    assert observed_generation_after(planned, written, {"observedGeneration": 5}) == 5


def test_a_concurrent_partition_change_stays_unobserved():
    planned, written = _deployment(5), _deployment(6, partition=5)
    assert observed_generation_after(planned, written, {"observedGeneration": 5}) == 5
