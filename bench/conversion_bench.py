"""What one ConversionReview costs the manager, with and without copying the review's objects. No cluster.

Why it matters: the API server keeps a watch cache per served version of a CRD, and the cache of each
non-storage version (v1alpha1 for Rollout and BatchRelease) converts every write through our webhook,
whether or not any client reads v1alpha1. `bench/scale.py` counted 3 conversions per new Rollout (create,
finalizer, status) at 500 Rollouts with no v1alpha1 client at all; a watch-cache re-list converts every
object at once. So this is per-write overhead, not a rare path.

The review is answered as the server answers it (JSON parse, ``review_response``, JSON dump) for a
v1beta1 Rollout as the controller leaves it (finalizer, hash annotation, managedFields of three writers,
Healthy status) converted to v1alpha1, one object per review (what a watch event sends) and 500 per
review (a re-list page). Modes: ``copied`` (the converter deep-copies every part it moves: the code
before) and ``owned`` (the webhook's converter: the parsed review is the converter's to take apart).

    .venv/bin/python bench/conversion_bench.py [--rounds 3000]
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rollouts.api.conversion import convert  # noqa: E402
from webhooks.conversion import review_response  # noqa: E402

WHEN = "2026-12-03T14:51:26Z"


def managed(manager: str, fields: dict[str, Any], subresource: str = "") -> dict[str, Any]:
    entry = {"manager": manager, "operation": "Update", "apiVersion": "rollouts.kruise.io/v1beta1", "time": WHEN,
             "fieldsType": "FieldsV1", "fieldsV1": fields}
    return {**entry, "subresource": subresource} if subresource else entry


def healthy_rollout(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "rollouts.kruise.io/v1beta1", "kind": "Rollout",
        "metadata": {
            "name": f"app-{i}", "namespace": "scale-0", "uid": f"uid-{i}", "resourceVersion": str(1000 + i),
            "generation": 1, "creationTimestamp": WHEN, "labels": {"scale-bench": "1"},
            "annotations": {"rollouts.kruise.io/hash": "7f9c2b"}, "finalizers": ["rollouts.kruise.io/rollout"],
            "managedFields": [
                managed("bench", {"f:metadata": {"f:labels": {".": {}, "f:scale-bench": {}}},
                                  "f:spec": {".": {}, "f:workloadRef": {".": {}, "f:apiVersion": {}, "f:kind": {},
                                                                        "f:name": {}},
                                             "f:strategy": {".": {}, "f:canary": {".": {}, "f:steps": {}}}}}),
                managed("kruise-rollouts-py", {"f:metadata": {
                    "f:annotations": {".": {}, "f:rollouts.kruise.io/hash": {}},
                    "f:finalizers": {".": {}, "v:\"rollouts.kruise.io/rollout\"": {}}}}),
                managed("kruise-rollouts-py", {"f:status": {".": {}, "f:canaryStatus": {}, "f:conditions": {},
                                                            "f:message": {}, "f:observedGeneration": {},
                                                            "f:phase": {}}}, "status"),
            ]},
        "spec": {"disabled": False, "workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"app-{i}"},
                 "strategy": {"canary": {"steps": [{"replicas": 1}, {"replicas": "100%"}],
                                         "enableExtraWorkloadForCanary": False}}},
        "status": {"phase": "Healthy", "observedGeneration": 1, "message": "workload deployment is completed",
                   "conditions": [{"type": "Progressing", "status": "False", "reason": "Completed", "message": "",
                                   "lastTransitionTime": WHEN, "lastUpdateTime": WHEN}],
                   "canaryStatus": {"currentStepIndex": 2, "currentStepState": "Completed", "podTemplateHash": "h",
                                    "canaryRevision": "r", "stableRevision": "s", "observedWorkloadGeneration": 1,
                                    "lastUpdateTime": WHEN, "canaryReplicas": 1, "canaryReadyReplicas": 1,
                                    "observedRolloutID": ""},
                   "currentStepIndex": 2, "currentStepState": "Completed"},
    }


def review(objects: int) -> bytes:
    return json.dumps({"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview",
                       "request": {"uid": "u", "desiredAPIVersion": "rollouts.kruise.io/v1alpha1",
                                   "objects": [healthy_rollout(i) for i in range(objects)]}}).encode()


def per_object_us(owned: bool, objects: int, rounds: int) -> float:
    """Microseconds per converted object, the whole answer included (parse, convert, dump)."""
    converter = functools.partial(convert, owned=owned)
    body = review(objects)
    start = time.perf_counter()
    for _ in range(rounds):
        out, status = review_response(json.loads(body), converter)
        json.dumps(out, separators=(",", ":"))
        assert status == 200 and out["response"]["result"]["status"] == "Success", out
    return round((time.perf_counter() - start) / (rounds * objects) * 1e6, 1)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=3000, help="reviews of one object (pages of 500: rounds/500)")
    o = p.parse_args()
    for objects, rounds in ((1, o.rounds), (500, max(1, o.rounds // 500))):
        copied, owned = per_object_us(False, objects, rounds), per_object_us(True, objects, rounds)
        print(json.dumps({"objects_per_review": objects, "copied_us_per_object": copied,
                          "owned_us_per_object": owned, "owned/copied": round(owned / copied, 2)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
