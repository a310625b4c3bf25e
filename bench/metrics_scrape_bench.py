"""How long a ``/metrics`` scrape holds the event loop with N Rollouts in the cache. No cluster.

The manager serves admission, reconciles and ``/metrics`` on one event loop, so a scrape that runs on
the loop delays every admission answer by its whole length. At 10,000 Rollouts a scrape renders
~80,000 lines (six phase series per Rollout, then step, state, weight, wait), and curl timed it at
1.8–3 s in the scale bench.

The process fills a Store with ``--rollouts`` Healthy Rollouts (with resourceVersions, as an informer
keeps them), registers the same collector the manager registers, serves ``/metrics`` from the
manager's ``HealthServer`` and scrapes it ``--scrapes`` times with curl (another process, as Prometheus
is), while a probe task sleeps 1 ms at a time and records how late it wakes: what an admission request
on the loop waits. Three modes:

- ``before``: the code as it was: the scrape collects and encodes on the loop, and every Rollout is
  decoded at every scrape (the objects carry no resourceVersion, so the collector's kept rows are
  never used: that is the old cost exactly);
- ``cold``: the first scrape of the new code (every Rollout decoded once, on the loop; encoding in a
  worker thread);
- ``warm``: the later scrapes (rows kept by resourceVersion; encoding in a worker thread);
- ``leader``: what a new leader does now: it warms the rows in slices when leadership starts
  (``RolloutStateCollector.warm``), then Prometheus scrapes it for the first time. The probe runs
  through both.

Prints per mode: scrape wall time (curl) p50/max, the probe's longest lateness and p99 during the
scrapes, and the ratio warm/before.

    .venv/bin/python bench/metrics_scrape_bench.py [--rollouts 10000] [--scrapes 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rollouts.controllers.rollout.metrics import RolloutStateCollector  # noqa: E402
from runtime.cache.frozen import freeze  # noqa: E402
from runtime.cache.store import Store, object_key  # noqa: E402
from runtime.clock import RealClock  # noqa: E402
from runtime.http import HealthServer  # noqa: E402
from runtime.metrics import Registry  # noqa: E402


def healthy_rollout(i: int, versioned: bool) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": f"app-{i}", "namespace": "scale-0", "uid": f"uid-{i}"}
    if versioned:
        meta["resourceVersion"] = str(1000 + i)
    return {"apiVersion": "rollouts.kruise.io/v1beta1", "kind": "Rollout", "metadata": meta,
            "spec": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"app-{i}"},
                     "strategy": {"canary": {"steps": [{"replicas": 1}, {"replicas": "100%"}]}}},
            "status": {"phase": "Healthy", "observedGeneration": 1,
                       "conditions": [{"type": "Progressing", "status": "False", "reason": "Completed"}],
                       "canaryStatus": {"currentStepIndex": 2, "currentStepState": "Completed",
                                        "podTemplateHash": "h", "canaryRevision": "r", "stableRevision": "s",
                                        "lastUpdateTime": "2026-01-01T00:00:00Z"}}}


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(p * len(s)))] if s else 0.0


class OnLoopServer(HealthServer):
    """The handler as it was before: collect and encode on the loop."""

    async def _metrics(self, request: Any) -> Any:
        from aiohttp import web
        body, content_type = self.registry.exposition(request.headers.get("Accept"))
        return web.Response(body=body, headers={"Content-Type": content_type})


async def curl(port: int) -> tuple[float, int]:
    t0 = time.perf_counter()
    proc = await asyncio.create_subprocess_exec("curl", "-sf", f"http://127.0.0.1:{port}/metrics",
                                                stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"curl failed ({proc.returncode})")
    return time.perf_counter() - t0, out.count(b"\n")


async def run(mode: str, rollouts: int, scrapes: int) -> dict[str, Any]:
    store = Store()
    for i in range(rollouts):
        obj = freeze(healthy_rollout(i, versioned=mode != "before"))
        store.put(object_key(obj), obj)
    registry = Registry()
    collector = RolloutStateCollector(store, RealClock())
    registry.register(collector)
    server = (OnLoopServer if mode == "before" else HealthServer)(registry, host="127.0.0.1", port=0)
    port = await server.start()
    late: list[float] = []
    walls: list[float] = []
    lines = 0
    probing = asyncio.Event()
    done = asyncio.Event()

    async def probe() -> None:
        while not done.is_set():
            t = time.perf_counter()
            await asyncio.sleep(0.001)
            if probing.is_set():
                late.append(time.perf_counter() - t - 0.001)

    task = asyncio.create_task(probe())
    try:
        if mode == "warm":
            await curl(port)  # the cold scrape, not counted
        probing.set()
        if mode == "leader":
            await collector.warm()
        for _ in range(scrapes if mode not in ("cold", "leader") else 1):
            wall, lines = await curl(port)
            walls.append(wall)
        done.set()
        await task
    finally:
        await server.stop()
    return {"mode": mode, "rollouts": rollouts, "lines": lines, "scrapes": len(walls),
            "scrape_s": {"p50": round(pct(walls, 0.5), 3), "max": round(max(walls), 3)},
            "loop_late_ms": {"p99": round(1000 * pct(late, 0.99), 1), "max": round(1000 * max(late, default=0), 1)}}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rollouts", type=int, default=10000)
    p.add_argument("--scrapes", type=int, default=5)
    p.add_argument("--mode", choices=("before", "cold", "warm", "leader"),
                   help="one mode in this process (internal)")
    o = p.parse_args()
    if o.mode:
        print(json.dumps(asyncio.run(run(o.mode, o.rollouts, o.scrapes))))
        return 0
    results = {}
    for mode in ("before", "cold", "warm", "leader"):  # each in a fresh process: no warm caches carried over
        out = subprocess.run([sys.executable, __file__, "--mode", mode, "--rollouts", str(o.rollouts),
                              "--scrapes", str(o.scrapes)], check=True, capture_output=True, text=True).stdout
        results[mode] = json.loads(out.strip().splitlines()[-1])
        print(json.dumps(results[mode]))
    before, warm = results["before"], results["warm"]
    print(f"warm/before: scrape p50 {warm['scrape_s']['p50'] / max(before['scrape_s']['p50'], 1e-9):.2f}x, "
          f"longest loop stall {warm['loop_late_ms']['max'] / max(before['loop_late_ms']['max'], 1e-9):.3f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
