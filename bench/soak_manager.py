"""The real manager plus a memory sampler thread, for ``bench/soak.py``.

Why a launcher: the manager's ``/metrics`` has RSS and collector counts but no heap or cache-size
figures, and it does not run tracemalloc (which would slow every allocation in production). The soak
needs them from the *same* process whose RSS it watches, so this entry point starts a daemon thread
next to the unchanged production ``main()``. Every ``SOAK_INTERVAL`` seconds it appends one JSON line
to ``SOAK_STATS_FILE``: live Python objects (``gc``, frozen ones included), tracemalloc's traced bytes
when ``SOAK_TRACEMALLOC=1``, the size of every informer store and its index entries, and of every work
queue's internal maps (the places a per-key leak would show). When a file ``request-<label>`` appears
next to the stats file it dumps a tracemalloc snapshot and a count of live objects by type under that
label, for the soak's diff of two points.

Run as ``python -m bench.soak_manager <manager args>``.
"""

from __future__ import annotations

import collections
import gc
import json
import os
import sys
import threading
import time
import tracemalloc
import weakref
from pathlib import Path
from typing import Any

from rollouts.cmd import manager
from runtime.cache.informer import SharedInformer
from runtime.manager import Manager
from runtime.workqueue.queue import WorkQueue

#: Work-queue attributes that hold one entry per key (a key that is never removed is a leak).
_QUEUE_MAPS = ("_queue", "_dirty", "_processing", "_added_at", "_started_at", "_heap", "_waiting")


def _queue_sizes(q: WorkQueue[Any]) -> dict[str, int]:
    sizes = {attr.lstrip("_"): len(getattr(q, attr)) for attr in _QUEUE_MAPS if hasattr(q, attr)}
    limiter = getattr(q, "rate_limiter", None)
    for part in [limiter, *getattr(limiter, "_limiters", ())]:
        failures = getattr(part, "_failures", None)
        if isinstance(failures, dict):
            sizes["failures"] = sizes.get("failures", 0) + len(failures)
    return sizes


_managers: weakref.WeakSet[Manager] = weakref.WeakSet()
"""Every Manager built in this process: roots for the informers and queues that ``gc.get_objects``
cannot see once the manager froze them (``--gc-freeze``: frozen objects are in no generation)."""
_manager_init = Manager.__init__


def _recording_init(self: Manager, *args: Any, **kwargs: Any) -> None:
    _manager_init(self, *args, **kwargs)
    _managers.add(self)


Manager.__init__ = _recording_init  # type: ignore[method-assign]


def _candidates() -> list[Any]:
    """Informers and queues: whatever the collector tracks, plus those reachable from a manager."""
    rooted: list[Any] = []
    for mgr in list(_managers):
        rooted += mgr.informers.informers
        rooted += [c.queue for c in mgr._controllers]
    seen: set[int] = set()
    out = []
    for obj in [*rooted, *gc.get_objects()]:
        if isinstance(obj, (SharedInformer, WorkQueue)) and id(obj) not in seen:
            seen.add(id(obj))
            out.append(obj)
    return out


def caches() -> dict[str, Any]:
    """Objects held by every live informer and work queue (found through the collector and the managers)."""
    informers: dict[str, dict[str, int]] = {}
    queues: dict[str, dict[str, int]] = {}
    for obj in _candidates():
        if isinstance(obj, SharedInformer):
            indices = getattr(obj.store, "_indices", {})
            entries = sum(len(keys) for index in indices.values() for keys in index.values())
            key = f"{obj.resource.plural}@{obj.namespace or '*'}"
            informers[key] = {"objects": len(obj.store), "index_entries": entries}
        elif isinstance(obj, WorkQueue):
            name = str(getattr(obj, "name", "") or type(obj).__name__)
            queues[f"{name}#{id(obj) % 10000}" if name in queues else name] = _queue_sizes(obj)
    return {"informers": informers, "queues": queues}


def sample(t0: float) -> dict[str, Any]:
    traced, peak = tracemalloc.get_traced_memory() if tracemalloc.is_tracing() else (0, 0)
    # Frozen objects are in no generation: count them too, so the figure is comparable with or without
    # --gc-freeze (acyclic garbage leaves the frozen set as it is freed; a leaked cycle stays and shows).
    return {"t": round(time.monotonic() - t0, 1), "gc_objects": len(gc.get_objects()) + gc.get_freeze_count(),
            "traced_bytes": traced, "traced_peak_bytes": peak, **caches()}


def snapshot(out: Path, label: str) -> None:
    """A tracemalloc snapshot (when tracing) and the live objects counted by type, at one point.

    With ``--gc-freeze`` (the default) the type count sees only objects the collector still tracks
    (those since the last full collection); run the manager with ``--no-gc-freeze`` for a full count."""
    if tracemalloc.is_tracing():
        tracemalloc.take_snapshot().dump(str(out / f"snap-{label}.tracemalloc"))
    types = collections.Counter(type(o).__qualname__ for o in gc.get_objects())
    tmp = out / f".types-{label}.json"
    tmp.write_text(json.dumps(dict(types.most_common(400))))
    tmp.rename(out / f"types-{label}.json")  # the soak waits for this name: whole or absent


def sampler(stats: Path, interval: float) -> None:
    t0 = time.monotonic()
    next_sample = t0 + interval
    while True:
        time.sleep(1)
        try:
            for request in stats.parent.glob("request-*"):
                request.unlink()
                snapshot(stats.parent, request.name.removeprefix("request-"))
            if time.monotonic() >= next_sample:
                next_sample += interval
                line = json.dumps(sample(t0))
                with stats.open("a") as f:
                    f.write(line + "\n")
        except Exception as e:  # noqa: BLE001 - a sampler failure must not stop the manager
            print(f"soak sampler: {e!r}", file=sys.stderr, flush=True)


def start_sampler() -> None:
    stats = Path(os.environ["SOAK_STATS_FILE"])
    if os.environ.get("SOAK_TRACEMALLOC") == "1":
        tracemalloc.start(int(os.environ.get("SOAK_TRACEMALLOC_FRAMES", "1")))
    interval = float(os.environ.get("SOAK_INTERVAL", "30"))
    threading.Thread(target=sampler, args=(stats, interval), name="soak-sampler", daemon=True).start()


if __name__ == "__main__":
    start_sampler()
    sys.exit(manager.main())
