"""Sharding (issue 14 item 4) on the real local control plane: a Rollout labelled ``shard=a`` and one
(unlabelled) in shard b's namespace; each is released only by its shard's leader (Lease holders, the
leaders' per-Rollout metrics), and when shard a's leader is killed its standby takes the shard's
Lease over and finishes the approved step while shard b's Rollout stays where it was."""

from __future__ import annotations

import pytest
import yaml

from tests.e2e.harness import OPERATOR_NAMESPACE, Kubectl, ManagerProcess, Release, manifest, wait_for

pytestmark = pytest.mark.integration

STEP1 = ("Progressing", "1", "StepPaused", None)


def rollout(ns: str, labels: dict[str, str]) -> dict:
    body = yaml.safe_load(manifest("rollouts-demo.yaml", ns))
    body["metadata"]["labels"] = labels
    return body


def holder(kc: Kubectl, shard: str) -> str:
    lease = kc.json("-n", OPERATOR_NAMESPACE, "get", "lease", f"71ddec2c.kruise.io-shard-{shard}")
    return lease["spec"].get("holderIdentity") or ""


def identity(mgr: ManagerProcess) -> str | None:
    """The identity this process acquired its shard's Lease with (None: never leader)."""
    for e in mgr.log_events():
        if e.get("event") == "acquired lease":
            return str(e.get("identity"))
    return None


def rollout_series(mgr: ManagerProcess, ns: str) -> bool:
    """Whether the manager's per-Rollout metrics (leader only, from its shard's cache) name ``ns``."""
    return any(line.startswith("kruise_rollout_phase") and f'namespace="{ns}"' in line
               for line in mgr.metrics().splitlines())


def test_each_shard_releases_its_rollouts_and_a_standby_takes_over(
        shards: dict[str, ManagerProcess], kc: Kubectl, namespace: str, namespace_b: str) -> None:
    ra, rb = Release(kc, namespace), Release(kc, namespace_b)
    for r, labels in ((ra, {"shard": "a"}), (rb, {})):
        r.create_workload(replicas=4)
        r.create_rollout(rollout(r.ns, labels))

    leader_a = wait_for(lambda: [k for k in ("a1", "a2") if identity(shards[k]) == holder(kc, "a")],
                        lambda ks: len(ks) == 1, what="one of a1/a2 holding shard a's Lease")[0]
    standby_a = "a2" if leader_a == "a1" else "a1"
    assert identity(shards["b"]) == holder(kc, "b") != holder(kc, "a")
    assert identity(shards[standby_a]) is None, "two leaders in shard a"
    # Each leader's cache holds only its shard's Rollout (the per-Rollout series come from it).
    assert rollout_series(shards[leader_a], namespace) and not rollout_series(shards[leader_a], namespace_b)
    assert rollout_series(shards["b"], namespace_b) and not rollout_series(shards["b"], namespace)

    ra.patch("version2")
    rb.patch("version2")
    ra.wait_rollout(STEP1)
    rb.wait_rollout(STEP1)

    shards[leader_a].stop(kill=True)
    wait_for(lambda: identity(shards[standby_a]), lambda i: i is not None and i == holder(kc, "a"),
             timeout=40, what="shard a's standby holding its Lease")
    assert ra.approve().endswith("approved")
    ra.wait_rollout(("Progressing", "2", "StepPaused", None), timeout=60)
    assert rb.rollout_row()[:2] == ("Progressing", "1"), "shard b's Rollout moved without its approval"
    assert rollout_series(shards[standby_a], namespace) and not rollout_series(shards[standby_a], namespace_b)

