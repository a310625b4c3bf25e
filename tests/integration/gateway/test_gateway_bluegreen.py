"""Blue-green through a Gateway API HTTPRoute (issue 13 item 5), real manager, real control plane.

Steps ``{100%, 50%}`` and ``{100%, 100%}``: all new pods beside the old ones, then the routed rule
split 50/50 and 0/100; success routes everything to the new pods, hands the Deployment back (the old
pods go) and restores the HTTPRoute exactly. The module's one manager and the Gateway API CRDs come
from this directory's conftest.
"""

from __future__ import annotations

import pytest

from tests.e2e.harness import Kubectl, ManagerProcess
from tests.integration.gateway.test_gateway_release import PODS, GatewayRelease, ref

pytestmark = pytest.mark.integration


class BlueGreenGatewayRelease(GatewayRelease):
    """The same objects, the Rollout's strategy moved under ``blueGreen``."""

    def apply(self, body: dict) -> None:  # type: ignore[override]
        strategy = (body.get("spec") or {}).get("strategy") or {}
        if body.get("kind") == "Rollout" and "canary" in strategy:
            strategy["blueGreen"] = strategy.pop("canary")
        super().apply(body)


def test_blue_green_weights_then_all_to_new_and_restored(manager: ManagerProcess, kc: Kubectl,
                                                          namespace: str) -> None:
    r = BlueGreenGatewayRelease(kc, namespace, "deployment")
    # GatewayRelease.setup writes trafficRoutings under "canary": apply() above moves the whole strategy
    r.setup([{"traffic": "50%", "replicas": "100%", "pause": {}}, {"traffic": "100%", "replicas": "100%", "pause": {}}])
    r.patch("version-2")
    r.assert_weight(1, 50)
    r.wait_versions(2 * PODS, PODS, "version-2")  # all new pods beside all old ones
    r.approve()
    r.assert_weight(2, 100)
    r.approve()
    r.wait_rollout(("Healthy", "2", "Completed", "Rollout progressing has been completed"))
    r.wait_restored()
    r.wait_versions(PODS, PODS, "version-2")
    assert r.rules()[0]["backendRefs"] == [ref("echoserver", 1)]

