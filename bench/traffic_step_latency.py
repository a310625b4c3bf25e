"""Per-step latency of a partition release with nginx traffic routing, on the real control plane.

Usage (repo root, project venv):
    .venv/bin/python bench/traffic_step_latency.py [--rounds 3] [--grace 1] [--kubeconfig K]

For each round, in a fresh namespace: the seed Deployment (10 replicas), an ``echoserver`` Service
selecting its pods, the seed's nginx Ingress, and a Rollout with steps ``20% traffic / 1 pod``,
``50% traffic / 50%``, ``100%`` and ``gracePeriodSeconds: G``. Measured from ``kubectl kruise
rollout approve`` of step 1:

* ``pods``    → 5 updated Ready pods (the cluster's part, plus our BatchRelease reaction);
* ``weight``  → the canary Ingress carries ``canary-weight: "50"``;
* ``paused``  → step 2 StepPaused (the routing verified);
* ``ours``    = ``paused - weight - G``: from the Ingress write to StepPaused, less the designed grace
  period (DoTrafficRouting patches the Ingress, waits G, verifies, then the machine pauses).
  ``G <= 0`` counts as 3 s there (spec §3). Not ``paused - pods - 2 G``: the first grace runs from
  the sub-status ``lastUpdateTime``, which has second precision (``metav1.Time``), so it ends up to
  1 s early and that difference would hide our cost.

Polled every 50 ms with the Python client, so figures have ~50 ms resolution.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench"), str(REPO / "deploy")]

import step_latency  # noqa: E402

from rollouts.controllers.common import ROLLOUTS  # noqa: E402
from runtime.kube.client import KubeClient  # noqa: E402
from runtime.kube.errors import NotFound  # noqa: E402
from runtime.kube.resources import DEPLOYMENTS, INGRESSES, NAMESPACES  # noqa: E402
from tests.e2e.harness import Kubectl, manifest  # noqa: E402
from tests.unit.trafficrouting.fakes import SEED_INGRESS  # noqa: E402

W = "nginx.ingress.kubernetes.io/canary-weight"
SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "echoserver"},
           "spec": {"ports": [{"port": 80, "targetPort": 8080}], "selector": {"app": "demo"}}}


def rollout(ns: str, grace: int) -> dict[str, Any]:
    return {"apiVersion": "rollouts.kruise.io/v1beta1", "kind": "Rollout",
            "metadata": {"name": "rollouts-demo", "namespace": ns},
            "spec": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "workload-demo"},
                     "strategy": {"canary": {
                         "steps": [{"traffic": "20%", "replicas": 1}, {"traffic": "50%", "replicas": "50%"},
                                   {"replicas": "100%"}],
                         "trafficRoutings": [{"service": "echoserver", "ingress": {"name": "echoserver"},
                                              "gracePeriodSeconds": grace}]}}}}


async def until(check: Any, what: str, limit: float = 120) -> float:
    t0 = time.monotonic()
    while not await check():
        if time.monotonic() - t0 > limit:
            raise TimeoutError(what)
        await asyncio.sleep(0.05)
    return time.monotonic() - t0


async def one_round(client: KubeClient, kc: Kubectl, grace: int) -> dict[str, float]:
    ns = f"bench-{uuid.uuid4().hex[:6]}"
    await client.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})

    async def state() -> tuple[Any, ...]:
        st = (await client.get(ROLLOUTS, "rollouts-demo", ns)).get("status") or {}
        return st.get("phase"), st.get("currentStepIndex"), st.get("currentStepState")

    async def updated_ready(n: int) -> bool:
        ds = (await client.get(DEPLOYMENTS, "workload-demo", ns)).get("status") or {}
        return ds.get("updatedReplicas") == n and ds.get("readyReplicas") == 10

    async def weight() -> str | None:
        try:
            return ((await client.get(INGRESSES, "echoserver-canary", ns))["metadata"].get("annotations") or {}).get(W)
        except NotFound:
            return None

    try:
        await asyncio.sleep(1)  # default ServiceAccount
        for doc in (SERVICE, {**SEED_INGRESS}, yaml.safe_load(manifest("workload-demo.yaml", ns)), rollout(ns, grace)):
            kc("-n", ns, "apply", "-f", "-", input=yaml.safe_dump(doc))

        async def healthy() -> bool:
            return await state() == ("Healthy", 3, "Completed")

        await until(healthy, "Healthy")
        kc("-n", ns, "patch", "deployment", "workload-demo", "-p",
           '{"spec":{"template":{"spec":{"containers":[{"name":"busybox","env":[{"name":"VERSION","value":"v2"}]}]}}}}')

        async def step1() -> bool:
            return await state() == ("Progressing", 1, "StepPaused") and await weight() == "20"

        await until(step1, "step 1 paused at 20%")
        t0 = time.monotonic()
        kc("kruise", "rollout", "approve", "rollout/rollouts-demo", "-n", ns)
        out: dict[str, float] = {}
        pending = {"pods": lambda: updated_ready(5), "weight": lambda: _eq(weight(), "50"),
                   "paused": lambda: _eq(state(), ("Progressing", 2, "StepPaused"))}
        while pending:
            for key, check in list(pending.items()):
                if await check():
                    out[key] = time.monotonic() - t0
                    del pending[key]
            if time.monotonic() - t0 > 120:
                raise TimeoutError(f"approve: still waiting for {list(pending)}")
            await asyncio.sleep(0.05)
        out["ours"] = out["paused"] - out["weight"] - (grace if grace > 0 else 3)
        return out
    finally:
        await client.delete(NAMESPACES, ns)


async def _eq(value: Any, want: Any) -> bool:
    return await value == want


async def bench(kubeconfig: str, rounds: int, grace: int) -> dict[str, dict[str, float]]:
    """``bench/step_latency.py``'s harness (one manager, N rounds, median/min/max) with this round."""
    return await step_latency.bench(kubeconfig, rounds, lambda client, kc: one_round(client, kc, grace))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--grace", type=int, default=1, help="gracePeriodSeconds of the trafficRoutings entry")
    p.add_argument("--kubeconfig", help="existing cluster (default: a fresh local control plane)")
    args = p.parse_args()
    from localcluster.cluster import kubeconfig_or_local

    with kubeconfig_or_local(args.kubeconfig) as kubeconfig:
        summary = asyncio.run(bench(kubeconfig, args.rounds, args.grace))
    for key, v in summary.items():
        print(f"{key:7s} median {v['median_s']:.2f}s  (min {v['min_s']:.2f}s, max {v['max_s']:.2f}s)")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
