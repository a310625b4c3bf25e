#!/usr/bin/env python3
"""Our informer against client-go's, on the same cluster with the same load, as ratios.

Runs ``bench/clientgo_bench.py`` (Go, client-go v0.36.3, LIST+WATCH: ``--watch-list off`` so both
sides sync the same way) and ``bench/informer_bench.py`` (this project's runtime) one after the
other, in separate namespaces, for each kind; then prints a table with ours/client-go ratios for
bytes per cached object and handler latency p50/p99. Targets (issue 3): bytes ≤ 2×, p99 ≤ 2×.

    .venv/bin/python bench/informer_compare.py                    # own throwaway cluster, 10k objects
    .venv/bin/python bench/informer_compare.py --objects 2000 --updates 1000 --concurrency 1

Latency at high concurrency mostly measures the API server's patch throughput (both sides wait
behind the same queue), so ``--concurrency 1`` isolates delivery latency; both are worth a look.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "deploy"))

from localcluster.cluster import ClusterSettings, LocalCluster  # noqa: E402


def _run(script: str, kubeconfig: str, ns: str, args: argparse.Namespace, extra: list[str]) -> dict:
    cmd = [sys.executable, str(REPO / "bench" / script), "--kubeconfig", kubeconfig, "--namespace", ns,
           "--kind", args.kind, "--objects", str(args.objects), "--updates", str(args.updates),
           "--concurrency", str(args.concurrency), "--create", "--delete-namespace", *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"{script} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    return dict(json.loads(lines[-1]))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kubeconfig", help="use this cluster instead of a throwaway local one")
    parser.add_argument("--kind", choices=["configmaps", "deployments"], default="configmaps")
    parser.add_argument("--objects", type=int, default=10000)
    parser.add_argument("--updates", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    cluster = None
    kubeconfig = args.kubeconfig
    if kubeconfig is None:
        cluster = LocalCluster(ClusterSettings(nodes=1, log=lambda m: None))
        cluster.start()
        kubeconfig = str(cluster.kubeconfig)
    try:
        go = _run("clientgo_bench.py", kubeconfig, "bench-cmp-go", args, ["--watch-list", "off"])
        py = _run("informer_bench.py", kubeconfig, "bench-cmp-py", args, [])
    finally:
        if cluster is not None:
            cluster.stop()
    rows = [("bytes_per_object", "B"), ("p50_ms", "ms"), ("p99_ms", "ms"), ("updates_per_s", "/s")]
    print(f"{args.kind}: {args.objects} objects, {args.updates} updates, concurrency {args.concurrency}")
    print(f"{'figure':<18}{'client-go':>12}{'ours':>12}{'ratio':>8}")
    summary = {"kind": args.kind, "objects": args.objects, "updates": args.updates, "concurrency": args.concurrency}
    for key, unit in rows:
        g, p = float(go[key]), float(py[key])
        ratio = p / g if g else float("inf")
        summary[key] = {"client_go": g, "ours": p, "ratio": round(ratio, 2)}
        print(f"{key:<18}{g:>11.1f}{unit[0]}{p:>11.1f}{unit[0]}{ratio:>7.2f}x")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
