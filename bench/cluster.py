"""Benchmark the local control plane: cold build, warm start, and a 100-replica Deployment.

Usage (from the repo root, inside the project venv — `make bench` does this):
    .venv/bin/python bench/cluster.py              # warm start x3 + 100-replica Deployment
    .venv/bin/python bench/cluster.py --cold       # also a cold build into empty caches (~10-25 min)

Prints one line per figure and a JSON summary at the end. A "cold" build uses a fresh
binary cache *and* a fresh Go build cache (GOCACHE), but keeps the Go module download cache,
so it measures compilation, not the network.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy"))

from localcluster import build, versions  # noqa: E402
from localcluster.cluster import ClusterSettings, LocalCluster  # noqa: E402


def cold_build() -> float:
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as tmp:
        os.environ[versions.CACHE_ENV] = str(Path(tmp) / "bins")
        os.environ["GOCACHE"] = str(Path(tmp) / "gocache")
        t0 = time.monotonic()
        build.ensure_binaries()
        elapsed = time.monotonic() - t0
        del os.environ[versions.CACHE_ENV]
        del os.environ["GOCACHE"]
    return elapsed


def warm_start(nodes: int) -> tuple[float, LocalCluster]:
    t0 = time.monotonic()
    cluster = LocalCluster(ClusterSettings(nodes=nodes, log=lambda m: None))
    cluster.start()
    return time.monotonic() - t0, cluster


def deployment_ready(cluster: LocalCluster, replicas: int) -> float:
    ns = "bench-deploy"
    cluster.create_namespace(ns)
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "bench", "namespace": ns},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "bench"}},
                     "template": {"metadata": {"labels": {"app": "bench"}},
                                  "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}
    t0 = time.monotonic()
    cluster._request("POST", f"/apis/apps/v1/namespaces/{ns}/deployments", body)
    while True:
        dep = cluster.get(f"/apis/apps/v1/namespaces/{ns}/deployments/bench")
        if dep.get("status", {}).get("readyReplicas") == replicas:
            return time.monotonic() - t0
        if time.monotonic() - t0 > 300:
            raise RuntimeError(f"deployment not ready after 300s: {dep.get('status')}")
        time.sleep(0.1)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cold", action="store_true", help="also measure a cold build (slow)")
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--replicas", type=int, default=100)
    args = parser.parse_args()
    results: dict[str, object] = {"kubernetes": versions.KUBERNETES_VERSION, "etcd": versions.ETCD_VERSION,
                                  "kwok": versions.KWOK_VERSION, "cpus": os.cpu_count()}
    if args.cold:
        results["cold_build_s"] = round(cold_build(), 1)
        print(f"cold build: {results['cold_build_s']}s")
    build.ensure_binaries()
    starts = []
    for i in range(args.starts):
        elapsed, cluster = warm_start(nodes=3)
        starts.append(elapsed)
        print(f"warm start #{i + 1}: {elapsed:.1f}s")
        if i == args.starts - 1:
            try:
                ready = deployment_ready(cluster, args.replicas)
                results["deployment_ready_s"] = round(ready, 1)
                print(f"{args.replicas}-replica Deployment Ready: {ready:.1f}s")
            finally:
                cluster.stop()
        else:
            cluster.stop()
    results["warm_start_median_s"] = round(statistics.median(starts), 1)
    results["warm_start_all_s"] = [round(s, 1) for s in starts]
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
