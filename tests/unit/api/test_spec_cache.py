"""The BatchRelease reconciler's decoded-spec cache (``decode.SpecCache``, docs/domain.md).

A spec is decoded once per (uid, generation) and shared by the reconciles of that generation; a new
generation or a new uid decodes again; the cache is bounded; a whole release leaves the shared spec
as decoded (the invariant that makes sharing safe).
"""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from rollouts.api.decode import SpecCache, batch_release_for_executor
from rollouts.api.v1beta1.batchrelease import plan_hash
from rollouts.api.wire import DecodeError, is_present, to_dict
from rollouts.controllers.batchrelease import deployment as dep
from rollouts.controllers.batchrelease import executor as ex

NOW = datetime(2026, 1, 1, tzinfo=UTC)
PLAN = {"batches": [{"canaryReplicas": 1}, {"canaryReplicas": "50%"}, {"canaryReplicas": "100%"}],
        "batchPartition": 0, "rolloutID": "r1"}


def br(generation: int = 1, uid: str = "u1", partition: int | None = 0, **status: Any) -> dict[str, Any]:
    plan = {**copy.deepcopy(PLAN), "batchPartition": partition}
    return {"apiVersion": "rollouts.kruise.io/v1beta1", "kind": "BatchRelease",
            "metadata": {"name": "demo", "namespace": "ns", "uid": uid, "generation": generation},
            "spec": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "w"}, "releasePlan": plan},
            "status": {"phase": "Progressing", "observedWorkloadReplicas": 10, **status}}


def test_the_same_generation_shares_one_decoded_spec_and_hash() -> None:
    specs = SpecCache()
    a, b = batch_release_for_executor(br(), specs), batch_release_for_executor(br(), specs)
    assert a.spec is b.spec and len(specs) == 1
    assert specs.plan_hash(a) == specs.plan_hash(b) == plan_hash(a.spec.release_plan)


def test_a_changed_generation_decodes_again() -> None:
    specs = SpecCache()
    first = batch_release_for_executor(br(generation=1, partition=0), specs)
    h1 = specs.plan_hash(first)
    second = batch_release_for_executor(br(generation=2, partition=1), specs)
    assert second.spec is not first.spec
    assert second.spec.release_plan.batch_partition == 1 and first.spec.release_plan.batch_partition == 0
    assert specs.plan_hash(second) != h1 and specs.plan_hash(second) == plan_hash(second.spec.release_plan)


def test_a_recreated_object_with_the_same_generation_decodes_again() -> None:
    specs = SpecCache()
    old = batch_release_for_executor(br(uid="u1", partition=0), specs)
    new = batch_release_for_executor(br(uid="u2", partition=2), specs)
    assert new.spec is not old.spec and new.spec.release_plan.batch_partition == 2


def test_objects_without_uid_or_generation_are_not_cached() -> None:
    specs = SpecCache()
    body = br()
    del body["metadata"]["uid"]
    a, b = batch_release_for_executor(body, specs), batch_release_for_executor(body, specs)
    assert a.spec is not b.spec and len(specs) == 0
    assert specs.plan_hash(a) == plan_hash(a.spec.release_plan)


def test_the_cache_is_bounded_least_recently_used_first_out() -> None:
    specs = SpecCache(maxsize=2)
    one = batch_release_for_executor(br(uid="a"), specs)
    batch_release_for_executor(br(uid="b"), specs)
    assert batch_release_for_executor(br(uid="a"), specs).spec is one.spec  # "a" used again: "b" is oldest
    batch_release_for_executor(br(uid="c"), specs)
    assert len(specs) == 2
    assert batch_release_for_executor(br(uid="a"), specs).spec is one.spec
    assert SpecCache.key(br(uid="b")) not in specs._entries


def test_a_newer_generation_replaces_the_older_one_of_the_same_object() -> None:
    # a release walks one BatchRelease through several generations: one entry, not one per generation
    specs = SpecCache()
    for generation in (1, 2, 3):
        model = batch_release_for_executor(br(generation=generation, partition=generation - 1), specs)
    assert len(specs) == 1 and list(specs._entries) == [("u1", 3)]
    assert batch_release_for_executor(br(generation=3, partition=2), specs).spec is model.spec
    batch_release_for_executor(br(uid="u2"), specs)
    assert len(specs) == 2  # other objects keep theirs


def test_forget_drops_a_batch_release_that_goes_away() -> None:
    specs = SpecCache()
    model = batch_release_for_executor(br(uid="gone"), specs)
    batch_release_for_executor(br(uid="kept"), specs)
    specs.forget("gone")
    specs.forget("never-seen")
    assert list(specs._entries) == [("kept", 1)]
    assert specs.plan_hash(model) == plan_hash(model.spec.release_plan)  # a read after forget still works
    assert len(specs) == 1


def test_many_releases_leave_the_cache_at_the_live_objects() -> None:
    # the soak's pattern: each release makes a new BatchRelease, walks it through generations, deletes it
    specs = SpecCache()
    for release in range(50):
        for generation in (1, 2, 3):
            batch_release_for_executor(br(uid=f"r{release}", generation=generation), specs)
        if release % 10:  # one in ten still live
            specs.forget(f"r{release}")
    assert len(specs) == 5 and len(specs._generations) == 5


def test_metadata_and_status_are_per_read() -> None:
    specs = SpecCache()
    batch_release_for_executor(br(), specs)
    later = br(observedWorkloadReplicas=0, updateRevision="u2")
    later["metadata"]["annotations"] = {"x": "y"}
    later["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    model = batch_release_for_executor(later, specs)
    assert model.annotations == {"x": "y"} and model.metadata["deletionTimestamp"]
    assert model.status is not None and model.status.update_revision == "u2"
    assert model.status.observed_workload_replicas == 0 and is_present(model.status, "observed_workload_replicas")
    no_status = batch_release_for_executor({k: v for k, v in br().items() if k != "status"}, specs)
    assert no_status.status is None and "status" not in to_dict(no_status)


def test_a_cached_read_equals_an_uncached_one() -> None:
    specs = SpecCache()
    batch_release_for_executor(br(), specs)
    assert to_dict(batch_release_for_executor(br(), specs)) == to_dict(batch_release_for_executor(br()))


def test_malformed_status_values_are_reported_even_after_a_good_one_was_cached() -> None:
    specs = SpecCache()
    batch_release_for_executor(br(observedWorkloadReplicas=1), specs)
    with pytest.raises(DecodeError, match="status.observedWorkloadReplicas"):
        batch_release_for_executor(br(observedWorkloadReplicas=True), specs)  # True == 1 in Python
    with pytest.raises(DecodeError, match="status.updateRevision"):
        batch_release_for_executor(br(updateRevision=["x"]), specs)


class _Ready:
    async def initialize(self, status: dict[str, Any]) -> bool:
        return True

    async def upgrade_batch(self, status: dict[str, Any]) -> bool:
        return True

    async def batch_ready(self, status: dict[str, Any]) -> str | None:
        return None

    async def finalize(self) -> bool:
        return True


def test_a_whole_release_leaves_the_shared_spec_as_decoded() -> None:
    """The executor reads the cached spec round after round; none of it may be edited in place."""
    specs = SpecCache()
    body = br()
    body["status"] = ex.initial_status()
    info = dep.WorkloadInfo(replicas=10, updated=10, updated_ready=10)
    seen = []
    for partition in [0, 0, 1, 1, 2, 2, None, None]:
        if body["spec"]["releasePlan"]["batchPartition"] != partition:  # the API server bumps it
            body["metadata"]["generation"] += 1
            body["spec"]["releasePlan"]["batchPartition"] = partition
        model = batch_release_for_executor(body, specs)
        before = to_dict(model.spec)
        status = copy.deepcopy(body["status"])
        if ex.sync_status(model, status, dep.NORMAL, info, plan_digest=specs.plan_hash(model)):
            asyncio.run(ex.run(model, status, _Ready(), NOW, lambda: 0))
        assert to_dict(model.spec) == before
        body["status"] = status
        seen.append(model.spec)
    assert body["status"]["phase"] == "Completed"
    assert all(to_dict(s) == to_dict(batch_release_for_executor(br(partition=s.release_plan.batch_partition)).spec)
               for s in seen)
