"""The BatchRelease reconciler's edge decodes only the stored-status fields the controls read.

``decode.batch_release_for_executor`` keeps metadata and spec whole but projects the status onto
``EXECUTOR_STATUS_FIELDS`` (the executor edits the status as a dict). The projection is only safe
while the batchrelease package reads no other status field from the model: the source check below
fails when someone adds such a read, naming the field to add to the set.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rollouts.api.decode import EXECUTOR_STATUS_FIELDS, batch_release, batch_release_for_executor
from rollouts.api.wire import DecodeError, is_present, to_dict

ROOT = Path(__file__).resolve().parents[3]
STATUS_READ = re.compile(r"\bbr\.status\.([a-z_][a-z0-9_]*)\b|\bstatus\.([a-z_][a-z0-9_]*)\b(?!\()")

BR = {
    "apiVersion": "rollouts.kruise.io/v1beta1", "kind": "BatchRelease",
    "metadata": {"name": "demo", "namespace": "ns", "generation": 3, "annotations": {"a": "b"}},
    "spec": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "w"},
             "releasePlan": {"batches": [{"canaryReplicas": 1}, {"canaryReplicas": "50%"}], "batchPartition": 1}},
    "status": {"phase": "Progressing", "observedWorkloadReplicas": 0, "updateRevision": "u1", "stableRevision": "s1",
               "observedReleasePlanHash": "h", "canaryStatus": {"currentBatch": 1, "batchState": "Ready"},
               "conditions": [{"type": "Progressing", "status": "True"}]},
}


def test_metadata_and_spec_are_decoded_whole_and_status_is_projected() -> None:
    full, edge = batch_release(BR), batch_release_for_executor(BR)
    assert edge.metadata == full.metadata and to_dict(edge.spec) == to_dict(full.spec)
    assert edge.status is not None and full.status is not None
    for attr in EXECUTOR_STATUS_FIELDS:
        assert getattr(edge.status, attr) == getattr(full.status, attr)
    assert is_present(edge.status, "observed_workload_replicas")  # a stored 0 is not "absent" (-1)
    assert edge.status.phase == "" and edge.status.conditions == []  # projected away


def test_absent_status_and_absent_fields_stay_absent() -> None:
    no_status = batch_release_for_executor({k: v for k, v in BR.items() if k != "status"})
    assert no_status.status is None
    empty = batch_release_for_executor({**BR, "status": {"phase": "Preparing"}})
    assert empty.status is not None and not is_present(empty.status, "observed_workload_replicas")


def test_a_malformed_projected_field_is_still_reported_with_its_path() -> None:
    with pytest.raises(DecodeError, match="status.updateRevision"):
        batch_release_for_executor({**BR, "status": {"updateRevision": 5}})
    with pytest.raises(DecodeError, match="status"):
        batch_release_for_executor({**BR, "status": "nope"})


def test_the_batchrelease_controls_read_only_the_projected_status_fields() -> None:
    """Model status reads (``self.br.status.x``, ``status.x`` on a BatchReleaseStatus) in the package."""
    read: set[str] = set()
    for path in sorted((ROOT / "rollouts" / "controllers" / "batchrelease").glob("*.py")):
        for m in STATUS_READ.finditer(path.read_text()):
            attr = m.group(1) or m.group(2)
            if attr not in ("get", "pop", "setdefault", "update", "clear", "items"):  # dict methods
                read.add(attr)
    assert read, "the scan found no status read at all: the pattern is stale"
    assert read <= EXECUTOR_STATUS_FIELDS, f"add {sorted(read - EXECUTOR_STATUS_FIELDS)} to EXECUTOR_STATUS_FIELDS"
