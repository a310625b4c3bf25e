"""CPU cost of the pod-template hash (rollouts.release.podhash) per call, on the hand-written
realistic templates of the Go vectors. Prints one line per template; see bench/RESULTS.md.

    .venv/bin/python bench/podhash_bench.py
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from rollouts.release.podhash import compute_hash, pod_template_dump

VECTORS = Path(__file__).resolve().parents[1] / "tests" / "unit" / "release" / "data" / "podhash_vectors.jsonl"
ROUNDS = 2000


def main() -> None:
    for line in VECTORS.read_text(encoding="utf-8").splitlines():
        v = json.loads(line)
        if not v.get("name"):
            continue
        template = v["template"]
        compute_hash(template)  # layout load and render plans out of the measurement
        best = float("inf")
        for _ in range(3):
            start = time.process_time()
            for _ in range(ROUNDS):
                compute_hash(template)
            best = min(best, (time.process_time() - start) / ROUNDS)
        print(f"{best * 1e6:7.1f} µs CPU  dump {len(pod_template_dump(template)):6d} B  {v['name']}")


if __name__ == "__main__":
    main()
