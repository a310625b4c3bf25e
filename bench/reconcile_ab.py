"""Interleaved A/B of ``bench/reconcile_cpu.py`` across source trees (one persistent worker per tree).

Usage (repo root, project venv):
    git archive f241b43 | tar -x -C /tmp/dict && cp bench/reconcile_cpu.py /tmp/dict/bench/
    .venv/bin/python bench/reconcile_ab.py --play rollout --chunks 30 dict=/tmp/dict new=.

Why: on a shared 2-core machine the load drifts by tens of percent within a minute, so
back-to-back runs of whole benches compare different machines. Each worker imports its tree's
``bench/reconcile_cpu.py`` once and, per request, times one chunk (``measure(play, N, 1)``); the
driver alternates chunks between the trees, so every pair sees nearly the same load. Reported: the
minimum per tree (least disturbed), its ratio to the first tree, and the median of pairwise ratios.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

WORKER = """
import sys
sys.path[:0] = ["bench", "."]
import reconcile_cpu as b
play = b.play_rollout if sys.argv[1] == "rollout" else b.play_batch_release
for _ in range(3):
    play()
for _line in sys.stdin:
    print(b.measure(play, int(sys.argv[2]), 1)[0], flush=True)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--play", choices=("rollout", "batchrelease"), default="rollout")
    parser.add_argument("--chunks", type=int, default=30, help="alternations (one chunk per tree each)")
    parser.add_argument("--releases", type=int, default=20, help="releases per chunk")
    parser.add_argument("trees", nargs="+", help="name=path of a source tree holding bench/reconcile_cpu.py")
    args = parser.parse_args()
    trees = dict(t.split("=", 1) for t in args.trees)
    procs = {name: subprocess.Popen([sys.executable, "-c", WORKER, args.play, str(args.releases)],
                                    cwd=Path(path).resolve(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
             for name, path in trees.items()}
    times: dict[str, list[float]] = {name: [] for name in trees}
    for _ in range(args.chunks):
        for name, proc in procs.items():
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
            times[name].append(float(proc.stdout.readline()))
    first = next(iter(times))
    for name, t in times.items():
        pairwise = statistics.median(x / y for x, y in zip(t, times[first], strict=True))
        print(f"{args.play:12s} {name:8s} min {min(t):7.1f}  median {statistics.median(t):7.1f} µs/round  "
              f"min/min {min(t) / min(times[first]):.3f}  median pairwise {pairwise:.3f} (vs {first})")
    for proc in procs.values():
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait()


if __name__ == "__main__":
    main()
