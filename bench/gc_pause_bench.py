"""Event-loop stalls from the cycle collector with a large informer-like cache, with and without
``runtime.gcpolicy``'s freezing. An A/B of the policy alone, without a cluster.

Each mode runs in a fresh process (the collector's state is process-wide). The process fills a dict
with ``--objects`` frozen Deployment-like objects (the informer cache), then replaces random ones with
freshly parsed copies (watch updates, 50 per parsed chunk), yielding to the loop between chunks,
while a probe task sleeps 1 ms at a time and records how late it wakes (what an admission request
waiting on the loop would see). One small reference cycle per 200 updates stands in for the garbage
cycles a real process makes (tracebacks, closures), so the frozen set is not artificially clean.

Prints, per mode: probe lateness p50/p99/max, full (generation 2) collections with their longest and
total pause, all collections' total pause, RSS at the end, and the ratio freeze/off of the p99 and of
the longest pause.

    .venv/bin/python bench/gc_pause_bench.py [--objects 60000] [--updates 300000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from runtime.cache.frozen import freeze  # noqa: E402
from runtime.gcpolicy import GcPolicy, GcSettings  # noqa: E402
from runtime.metrics import Registry  # noqa: E402

BATCH = 50
"""Objects per simulated watch chunk (the loop yields between chunks)."""


def deployment_json(i: int) -> str:
    """A Deployment roughly as the transformed cache keeps it (~30 dicts and lists)."""
    return json.dumps({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": f"app-{i}", "namespace": "scale-0", "uid": f"uid-{i}", "resourceVersion": str(i),
                     "labels": {"app": f"app-{i}"}, "annotations": {"rollouts.kruise.io/stable-revision": "x" * 10},
                     "ownerReferences": [{"uid": f"owner-{i}", "kind": "Rollout", "name": f"app-{i}"}]},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": f"app-{i}"}},
                 "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
                 "template": {"metadata": {"labels": {"app": f"app-{i}"}},
                              "spec": {"containers": [{"name": "main", "image": "nginx:1.27",
                                                       "ports": [{"containerPort": 80}],
                                                       "env": [{"name": "A", "value": "1"}],
                                                       "resources": {"limits": {"cpu": "1"}}}]}}},
        "status": {"replicas": 2, "readyReplicas": 2, "observedGeneration": 1,
                   "conditions": [{"type": t, "status": "True", "reason": "r"} for t in ("Available", "Progressing")]},
    })


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(p * len(s)))] if s else 0.0


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


async def run_mode(freeze_on: bool, objects: int, updates: int) -> dict[str, Any]:
    full: list[float] = []
    started = [0.0]

    def timing(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        elif info["generation"] == 2:
            full.append(time.perf_counter() - started[0])

    policy = GcPolicy(Registry(), GcSettings(freeze=freeze_on))
    policy.install()
    template = deployment_json(0).replace("-0", "-{i}")
    cache = {i: freeze(json.loads(template.replace("{i}", str(i)))) for i in range(objects)}
    if freeze_on:
        policy.rescan()  # as the manager does once its caches synced
    gc.callbacks.append(timing)
    late: list[float] = []
    done = asyncio.Event()

    async def probe() -> None:
        while not done.is_set():
            t = time.perf_counter()
            await asyncio.sleep(0.001)
            late.append(time.perf_counter() - t - 0.001)

    async def churn() -> None:
        rng, cycles = random.Random(1), []
        for n in range(0, updates, BATCH):
            # One watch chunk: BATCH objects parsed together before the old ones go, as a real decode
            # allocates. (Replacing one object at a time frees as much as it allocates, and the
            # collector, triggered by net allocations, would never run.)
            picked = [rng.randrange(objects) for _ in range(BATCH)]
            chunk = json.loads("[" + ",".join(template.replace("{i}", str(i)) for i in picked) + "]")
            for i, fresh in zip(picked, chunk, strict=True):
                cache[i] = freeze(fresh)
            del chunk
            if n % 200 < BATCH:
                c: dict[str, Any] = {}
                c["self"] = c
                cycles.append(c)
                if len(cycles) > 50:
                    cycles.pop(0)  # dies in a cycle: only the collector frees it
            await asyncio.sleep(0)
        done.set()

    t0 = time.perf_counter()
    await asyncio.gather(probe(), churn())
    wall = time.perf_counter() - t0
    gc.callbacks.remove(timing)
    pauses = reg_total(policy)
    policy.uninstall()
    return {"freeze": freeze_on, "objects": objects, "updates": updates, "churn_s": round(wall, 2),
            "probe_late_ms": {"p50": round(1000 * pct(late, 0.5), 2), "p99": round(1000 * pct(late, 0.99), 2),
                              "max": round(1000 * max(late), 2)},
            "full_collections": len(full), "full_longest_ms": round(1000 * max(full, default=0.0), 1),
            "full_total_s": round(sum(full), 2), "all_collections_total_s": pauses, "rss_mib": rss_mib()}


def reg_total(policy: GcPolicy) -> float:
    """Total paused seconds over every generation, from the policy's histogram."""
    return round(sum(policy.pauses.sum(generation=gen) for gen in "012"), 2)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--objects", type=int, default=60000)
    p.add_argument("--updates", type=int, default=300000)
    p.add_argument("--child", choices=["on", "off"], help=argparse.SUPPRESS)
    o = p.parse_args()
    if o.child:
        print(json.dumps(asyncio.run(run_mode(o.child == "on", o.objects, o.updates))))
        return 0
    results = {}
    for mode in ("off", "on"):
        out = subprocess.run([sys.executable, __file__, "--child", mode, "--objects", str(o.objects),
                              "--updates", str(o.updates)], check=True, capture_output=True, text=True).stdout
        results[mode] = json.loads(out.strip().splitlines()[-1])
        print(f"gc freeze {mode}: {json.dumps(results[mode])}", flush=True)
    off, on = results["off"], results["on"]

    def ratio(a: float, b: float) -> float:
        return round(a / max(b, 1e-9), 3)

    print(json.dumps({"p99_late_ratio_on_over_off": ratio(on["probe_late_ms"]["p99"], off["probe_late_ms"]["p99"]),
                      "longest_full_ratio_on_over_off": ratio(on["full_longest_ms"], off["full_longest_ms"])}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
