"""RolloutHistory of a traffic-routed StatefulSet release without a rollout-id label (rollout-history.md
§3, §4): the record is keyed by the canary revision, snapshots the Service and the Ingress as they are
at the end, and lists the pods of each step by ``controller-revision-hash``-released batches."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.harness import Kubectl, ManagerProcess, wait_for
from tests.integration.rollouttraffic.test_traffic_release import COMPLETED, CRH, PODS, TrafficRelease, statefulset

pytestmark = pytest.mark.integration

ID_LABEL = "rollouts.kruise.io/rollout-id"


def _completed(r: TrafficRelease) -> list[dict[str, Any]]:
    def fetch() -> list[dict[str, Any]]:
        return r.kc.json("-n", r.ns, "get", "rollouthistories.rollouts.kruise.io")["items"]
    return wait_for(fetch, lambda hs: len(hs) == 1 and (hs[0].get("status") or {}).get("phase") == "completed",
                    what="one completed record")


def test_statefulset_with_traffic_routing_is_recorded(manager: ManagerProcess, kc: Kubectl, namespace: str) -> None:
    r = TrafficRelease(kc, namespace, "statefulset")
    r.setup(statefulset(), kind="StatefulSet")
    r.patch("version-2")
    r.assert_step(1, "20", CRH)
    canary_revision = r.rollout()["status"]["canaryStatus"]["canaryRevision"]
    r.approve()
    r.assert_step(2, "50", CRH)
    r.approve()
    r.wait_rollout(COMPLETED)
    r.wait_restored()

    (h,) = _completed(r)
    assert h["metadata"]["labels"][ID_LABEL] == canary_revision  # no rollout-id label: the canary revision
    spec = h["spec"]
    assert (spec["workload"]["apiVersion"], spec["workload"]["kind"]) == ("apps/v1", "StatefulSet")
    assert spec["service"]["name"] == "echoserver"
    assert spec["service"]["data"]["selector"] == {"app": "demo"}  # restored before the record was taken
    assert spec["trafficRouting"]["ingress"]["name"] == "echoserver"
    assert spec["trafficRouting"]["ingress"]["data"]["ingressClassName"] == "nginx"
    assert "httpRoute" not in spec["trafficRouting"]
    steps = [sorted(p["name"] for p in s.get("pods", [])) for s in h["status"]["canarySteps"]]
    # StatefulSets update the highest ordinals first: 1 pod, then 1 more (50%), then the last 2.
    assert steps == [["workload-demo-3"], ["workload-demo-2"], ["workload-demo-0", "workload-demo-1"]], steps
    assert sum(len(s) for s in steps) == PODS
