#!/usr/bin/env python3
"""Python runtime informer benchmark: bytes per cached object and handler latency under updates.

The counterpart of ``bench/clientgo`` (same objects, same phases, same JSON fields) so figures can
be compared line by line:

1. memory: tracemalloc's traced bytes before creating a namespaced SharedInformer (managedFields
   dropped by the default transform) and after it synced, divided by the cached objects;
2. latency: an update handler records ``now - bench/sent-at`` while M objects are merge-patched
   round-robin with bounded concurrency; p50/p99/max in milliseconds and updates/s.

Without ``--kubeconfig`` (or $KUBECONFIG / .local/cluster/kubeconfig) a local control plane is
started for the run and stopped afterwards. Prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "deploy")]

from runtime.cache import FuncHandler, InformerSettings, SharedInformer  # noqa: E402
from runtime.kube import AlreadyExists, ClientSettings, KubeClient  # noqa: E402
from runtime.kube.resources import CONFIGMAPS, DEPLOYMENTS, NAMESPACES  # noqa: E402

SENT_AT = "bench/sent-at"


def log(msg: str) -> None:
    print(f"[informer-bench] {msg}", file=sys.stderr, flush=True)


def make_object(kind: str, i: int) -> dict:
    labels = {"app": "bench-python"}
    meta = {"name": f"bench-{i:06d}", "labels": labels}
    if kind == "configmaps":
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"key": "value", "index": str(i)}}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
            "spec": {"replicas": 0, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "app", "image": "registry.invalid/bench:1"}]}}}}


async def bounded(n: int, workers: int, fn) -> None:
    it = iter(range(n))

    async def worker() -> None:
        for i in it:
            await fn(i)
    await asyncio.gather(*(worker() for _ in range(workers)))


async def create_objects(client: KubeClient, o: argparse.Namespace, res) -> None:
    try:
        await client.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": o.namespace}})
    except AlreadyExists:
        pass

    async def one(i: int) -> None:
        try:
            await client.create(res, make_object(o.kind, i), o.namespace)
        except AlreadyExists:
            pass
    start = time.monotonic()
    await bounded(o.objects, o.concurrency, one)
    log(f"created {o.objects} {o.kind} in {time.monotonic() - start:.1f}s")


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(round(p * (len(sorted_values) - 1))))]


async def benchmark(client: KubeClient, o: argparse.Namespace) -> dict:
    res = CONFIGMAPS if o.kind == "configmaps" else DEPLOYMENTS
    existing = len((await client.list(res, o.namespace, limit=500))["items"]) if not o.create else 0
    if o.create or existing < o.objects:
        await create_objects(client, o, res)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    started = time.monotonic()
    inf = SharedInformer(client, res, namespace=o.namespace, settings=InformerSettings(resync_period=0))
    latencies: list[float] = []

    def on_update(old, new) -> None:
        sent = ((new.get("metadata") or {}).get("annotations") or {}).get(SENT_AT)
        if sent and sent != ((old.get("metadata") or {}).get("annotations") or {}).get(SENT_AT):
            latencies.append((time.time_ns() - int(sent)) / 1e6)

    inf.add_handler(FuncHandler(on_update_fn=on_update))
    inf.start()
    if not await inf.wait_for_sync(o.timeout):
        raise SystemExit("informer did not sync")
    sync_s = time.monotonic() - started
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    cached = len(inf.store)
    log(f"synced {cached} objects in {sync_s:.2f}s; {(after - before) / max(cached, 1):.0f} B/object")

    async def patch(i: int) -> None:
        name = f"bench-{i % o.objects:06d}"
        body = {"metadata": {"annotations": {SENT_AT: str(time.time_ns()), "bench/seq": str(i)}}}
        await client.patch(res, name, body, o.namespace)
    t0 = time.monotonic()
    await bounded(o.updates, o.concurrency, patch)
    deadline = time.monotonic() + o.timeout
    while len(latencies) < o.updates and time.monotonic() < deadline:  # noqa: ASYNC110 - polling is the measurement
        await asyncio.sleep(0.05)
    elapsed = time.monotonic() - t0
    await inf.stop()
    lat = sorted(latencies)
    return {"impl": "python-runtime", "kind": o.kind, "namespace": o.namespace, "objects": o.objects,
            "cached_objects": cached, "traced_before_bytes": before, "traced_after_bytes": after,
            "bytes_per_object": round((after - before) / max(cached, 1), 1), "sync_s": round(sync_s, 3),
            "updates": o.updates, "observed": len(lat), "p50_ms": round(percentile(lat, 0.5), 2),
            "p99_ms": round(percentile(lat, 0.99), 2), "max_ms": round(lat[-1], 2) if lat else 0.0,
            "updates_per_s": round(len(lat) / elapsed, 1) if elapsed else 0.0, "python": sys.version.split()[0]}


async def amain(o: argparse.Namespace) -> dict:
    cluster = None
    kubeconfig = o.kubeconfig
    if not kubeconfig or o.own_cluster:
        from localcluster.cluster import ClusterSettings, LocalCluster
        cluster = LocalCluster(ClusterSettings(nodes=1))
        await asyncio.to_thread(cluster.start)
        kubeconfig = str(cluster.kubeconfig)
        o.create = True
    client = await KubeClient.from_kubeconfig(kubeconfig, settings=ClientSettings(qps=o.qps, burst=o.burst))
    try:
        result = await benchmark(client, o)
        if o.delete_namespace:
            await client.delete(NAMESPACES, o.namespace)
        return result
    finally:
        await client.aclose()
        if cluster is not None:
            await asyncio.to_thread(cluster.stop)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    local = REPO / ".local" / "cluster" / "kubeconfig"
    p.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG") or (str(local) if local.exists() else None))
    p.add_argument("--namespace", default="bench-python")
    p.add_argument("--kind", choices=("configmaps", "deployments"), default="configmaps")
    p.add_argument("--objects", type=int, default=10000)
    p.add_argument("--updates", type=int, default=5000)
    p.add_argument("--create", action="store_true", help="create the objects even if enough seem to exist")
    p.add_argument("--delete-namespace", action="store_true")
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--qps", type=float, default=5000)
    p.add_argument("--burst", type=int, default=10000)
    p.add_argument("--timeout", type=float, default=300)
    p.add_argument("--own-cluster", action="store_true", help="start a throwaway local control plane for the run")
    o = p.parse_args(argv)
    print(json.dumps(asyncio.run(amain(o))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
