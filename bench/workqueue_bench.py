#!/usr/bin/env python3
"""Work-queue throughput and controller overhead (no cluster needed).

Figures:

* ``queue_items_per_s``: distinct keys added then taken/done by 8 workers (add + get + done per item);
* ``dedup_adds_per_s``: adds of keys already queued (the common case during event bursts);
* ``controller_overhead_us``: per-item cost of the full controller path (queue, logging context,
  retry policy, metrics) around a no-op reconciler, with 8 workers.

Prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runtime.controller import Controller, ControllerSettings  # noqa: E402
from runtime.metrics import Registry, RuntimeMetrics  # noqa: E402
from runtime.reconcile import Request, Result  # noqa: E402
from runtime.workqueue import RateLimitingQueue, ShutDown  # noqa: E402


async def queue_throughput(n: int, workers: int) -> float:
    q: RateLimitingQueue[int] = RateLimitingQueue(name="bench")

    async def worker() -> None:
        while True:
            try:
                item = await q.get()
            except ShutDown:
                return
            q.forget(item)
            q.done(item)

    start = time.perf_counter()
    tasks = [asyncio.create_task(worker()) for _ in range(workers)]
    for i in range(n):
        q.add(i)
        if i % 256 == 0:
            await asyncio.sleep(0)
    while len(q) or q.processing:  # noqa: ASYNC110 - spin on purpose: measuring the queue alone
        await asyncio.sleep(0)
    elapsed = time.perf_counter() - start
    q.shutdown()
    await asyncio.gather(*tasks)
    return n / elapsed


def dedup_adds(n: int) -> float:
    q: RateLimitingQueue[int] = RateLimitingQueue(name="bench")
    for i in range(1000):
        q.add(i)
    start = time.perf_counter()
    for i in range(n):
        q.add(i % 1000)
    return n / (time.perf_counter() - start)


class Noop:
    async def reconcile(self, request: Request) -> Result:
        return Result()


async def controller_overhead(n: int, workers: int) -> float:
    ctl = Controller("bench", Noop(), settings=ControllerSettings(workers=workers, drain_timeout=1),
                     metrics=RuntimeMetrics(Registry()))
    for i in range(n):
        ctl.enqueue("ns", f"obj-{i}")
    start = time.perf_counter()
    run = asyncio.create_task(ctl.run())
    while len(ctl.queue) or ctl.queue.processing:  # noqa: ASYNC110 - spin on purpose
        await asyncio.sleep(0)
    elapsed = time.perf_counter() - start
    run.cancel()
    await asyncio.gather(run, return_exceptions=True)
    return elapsed / n * 1e6


async def amain(o: argparse.Namespace) -> dict:
    return {
        "impl": "python-runtime", "items": o.items, "workers": o.workers,
        "queue_items_per_s": round(await queue_throughput(o.items, o.workers)),
        "dedup_adds_per_s": round(dedup_adds(o.items)),
        "controller_overhead_us": round(await controller_overhead(o.items, o.workers), 1),
        "python": sys.version.split()[0],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--items", type=int, default=100_000)
    p.add_argument("--workers", type=int, default=8)
    o = p.parse_args(argv)
    print(json.dumps(asyncio.run(amain(o))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
