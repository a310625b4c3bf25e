"""Per-step latency of a multi-batch Deployment release (the seed walkthrough) on the real control plane.

Usage (repo root, project venv):
    .venv/bin/python bench/step_latency.py [--rounds 3] [--kubeconfig K]

For each round, in a fresh namespace: the seed Deployment (10 replicas) and Rollout (1 / 50% / 100%),
then three measured transitions, each from the user's action to the state the seed shows:

* ``release``  ``kubectl patch`` VERSION=version-2  → step 1 StepPaused with 1 updated ready pod
* ``approve1`` ``kubectl kruise rollout approve``   → step 2 StepPaused with 5 updated ready pods
* ``approve2`` ``kubectl kruise rollout approve``   → Healthy/Completed, 10 updated, old RS at 0

The manager runs as a subprocess (``--local-cluster``, no leader election). States are polled with
the Python client every 50 ms, so figures have ~50 ms resolution. The only designed wait is the
Initializing settle (3 s, release only); the rest is the plugin's start-up, our reactions (chained
in memory until one needs a write, see ``bench/step_trace.py`` for the split) and the cluster's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "deploy")]

from rollouts.controllers.common import ROLLOUTS  # noqa: E402
from runtime.kube.client import KubeClient  # noqa: E402
from runtime.kube.resources import DEPLOYMENTS, NAMESPACES, REPLICASETS  # noqa: E402
from tests.e2e.harness import Kubectl, ManagerProcess, cleanup_cluster_registrations, manifest  # noqa: E402


async def wait_state(client: KubeClient, ns: str, phase: str, step: int, state: str, updated: int,
                     *, old_rs_gone: bool = False) -> float:
    t0 = time.monotonic()
    while True:
        ro = await client.get(ROLLOUTS, "rollouts-demo", ns)
        d = await client.get(DEPLOYMENTS, "workload-demo", ns)
        st, ds = ro.get("status") or {}, d.get("status") or {}
        ok = (st.get("phase"), st.get("currentStepIndex"), st.get("currentStepState")) == (phase, step, state)
        ok = ok and ds.get("updatedReplicas") == updated and ds.get("readyReplicas") == 10
        if ok and old_rs_gone:
            rss = (await client.list(REPLICASETS, ns))["items"]
            ok = sorted(rs["spec"]["replicas"] for rs in rss) == [0, 10]
        if ok:
            return time.monotonic() - t0
        if time.monotonic() - t0 > 120:
            raise TimeoutError(f"{phase}/{step}/{state}/{updated}: last {st.get('phase')} {st.get('message')}")
        await asyncio.sleep(0.05)


async def one_round(client: KubeClient, kc: Kubectl) -> dict[str, float]:
    ns = f"bench-{uuid.uuid4().hex[:6]}"
    await client.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    try:
        await asyncio.sleep(1)  # default ServiceAccount
        kc("apply", "-f", "-", input=manifest("workload-demo.yaml", ns))
        kc("apply", "-f", "-", input=manifest("rollouts-demo.yaml", ns))
        await wait_state(client, ns, "Healthy", 3, "Completed", 10)
        out: dict[str, float] = {}
        t = time.monotonic()
        kc("-n", ns, "patch", "deployment", "workload-demo", "-p",
           '{"spec":{"template":{"spec":{"containers":[{"name":"busybox","env":[{"name":"VERSION","value":"v2"}]}]}}}}')
        await wait_state(client, ns, "Progressing", 1, "StepPaused", 1)
        out["release"] = time.monotonic() - t
        for key, step, phase, state, updated in (("approve1", 2, "Progressing", "StepPaused", 5),
                                                 ("approve2", 3, "Healthy", "Completed", 10)):
            t = time.monotonic()
            kc("kruise", "rollout", "approve", "rollout/rollouts-demo", "-n", ns)
            await wait_state(client, ns, phase, step, state, updated, old_rs_gone=key == "approve2")
            out[key] = time.monotonic() - t
        return out
    finally:
        await client.delete(NAMESPACES, ns)


#: One measured round: (client, kubectl) → figure name → seconds.
RoundFn = Callable[[KubeClient, Kubectl], Awaitable[dict[str, float]]]


async def bench(kubeconfig: str, rounds: int, round_fn: RoundFn | None = None) -> dict[str, dict[str, float]]:
    """Run ``round_fn`` (default: the seed's multi-batch round) ``rounds`` times against one manager
    subprocess; median/min/max per figure. ``bench/traffic_step_latency.py`` reuses it."""
    round_fn = round_fn or one_round
    kc = Kubectl(kubeconfig)
    mgr = ManagerProcess(kubeconfig, Path(tempfile.mkdtemp(prefix="bench-mgr-")), extra_args=("--no-leader-elect",))
    mgr.start()
    client = await KubeClient.from_kubeconfig(kubeconfig)
    results: list[dict[str, float]] = []
    try:
        for i in range(rounds):
            r = await round_fn(client, kc)
            print(f"round {i + 1}: " + ", ".join(f"{k} {v:.2f}s" for k, v in r.items()), flush=True)
            results.append(r)
    finally:
        await client.aclose()
        mgr.stop()
        cleanup_cluster_registrations(kc)
    return {k: {"median_s": round(statistics.median(r[k] for r in results), 3),
                "min_s": round(min(r[k] for r in results), 3), "max_s": round(max(r[k] for r in results), 3)}
            for k in results[0]}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--kubeconfig", help="existing cluster (default: a fresh local control plane)")
    args = p.parse_args()
    from localcluster.cluster import kubeconfig_or_local

    with kubeconfig_or_local(args.kubeconfig) as kubeconfig:
        summary = asyncio.run(bench(kubeconfig, args.rounds))
    for key, v in summary.items():
        print(f"{key:9s} median {v['median_s']:.2f}s  (min {v['min_s']:.2f}s, max {v['max_s']:.2f}s)")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
