"""Fixtures for the traffic routing core on the real control plane: a KubeClient and the seed objects.

No ingress controller runs: Services and Ingresses are plain stored objects, and the tests verify the
objects (as upstream's e2e does), not traffic.
"""

from __future__ import annotations

import copy

import pytest

from rollouts.trafficrouting.manager import TrafficRoutingManager
from runtime.clock import FakeClock
from runtime.kube import KubeClient
from runtime.kube.resources import CONFIGMAPS, INGRESSES, SERVICES
from tests.unit.trafficrouting.fakes import SEED_INGRESS, SEED_SERVICE


@pytest.fixture
async def kube(kubeconfig: str):
    client = await KubeClient.from_kubeconfig(kubeconfig)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def seed(kube: KubeClient, namespace: str) -> dict:
    """Seed 004 part 2's echoserver Service and Ingress, plus an owner object for the canary objects.

    The owner is a ConfigMap standing in for the Rollout: an ownerReference to a UID that does not
    exist would let the garbage collector delete the canary Service/Ingress behind the test's back.
    """
    await kube.create(SERVICES, copy.deepcopy(SEED_SERVICE), namespace)
    await kube.create(INGRESSES, copy.deepcopy(SEED_INGRESS), namespace)
    owner = await kube.create(CONFIGMAPS, {"metadata": {"name": "rollouts-canary-demo"}}, namespace)
    return {"apiVersion": "v1", "kind": "ConfigMap", "name": "rollouts-canary-demo",
            "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


@pytest.fixture
def clock() -> FakeClock:
    """Grace periods are stepped, not slept: the objects are real, the waiting is logical."""
    return FakeClock()


@pytest.fixture
def manager(kube: KubeClient, clock: FakeClock) -> TrafficRoutingManager:
    return TrafficRoutingManager(kube, clock=clock)
