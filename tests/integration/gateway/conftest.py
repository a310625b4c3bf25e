"""Gateway API routed Rollouts on the real control plane: the shared cluster gets the Gateway API CRDs
(fetched once from the ``sigs.k8s.io/gateway-api`` Go module into the cache; a failed fetch errors the
tests, it never skips them), and the module gets one manager subprocess (e2e harness)."""

from __future__ import annotations

import pytest
from localcluster import gatewayapi
from localcluster.cluster import LocalCluster

from tests.e2e.conftest import kc, manager  # noqa: F401 - fixtures


@pytest.fixture(scope="module", autouse=True)
def gateway_api_crds(local_cluster: LocalCluster) -> None:
    """HTTPRoute and friends installed and Established (idempotent: a second module reuses them)."""
    gatewayapi.install(local_cluster)
