"""The Rollout validator over the indexed informer cache: no LIST per admission, and cache lag
cannot make it deny a valid Rollout nor admit a second Rollout for one workload (issue 14)."""

from __future__ import annotations

import copy
from typing import Any

from wh_fakekube import selected

from rollouts.objects.workloadref import WORKLOAD_REF_INDEX, workload_ref_index
from runtime.clock import FakeClock
from runtime.kube.errors import NotFound
from runtime.kube.watch import WatchEvent
from runtime.testing import populated_informer
from webhooks.admission import AdmissionRequest
from webhooks.rollout_cache import RECENT_ADMISSION_SECONDS, CachedRolloutLister
from webhooks.validating_rollout import ROLLOUTS_V1BETA1, RolloutValidator


def rollout(name: str, workload: str = "echo", rv: str = "1", phase: str | None = None,
            api_version: str = "apps/v1") -> dict[str, Any]:
    ro: dict[str, Any] = {
        "apiVersion": "rollouts.kruise.io/v1beta1", "kind": "Rollout",
        "metadata": {"name": name, "namespace": "ns", "resourceVersion": rv},
        "spec": {"workloadRef": {"apiVersion": api_version, "kind": "Deployment", "name": workload},
                 "strategy": {"canary": {"steps": [{"replicas": 1}, {"replicas": "100%"}]}}},
    }
    if phase:
        ro["status"] = {"phase": phase}
    return ro


class Api:
    """The API server's truth, counting the calls the lister makes."""

    def __init__(self, *objs: dict[str, Any]) -> None:
        self.objs = {o["metadata"]["name"]: o for o in objs}
        self.gets: list[str] = []
        self.lists = 0

    async def get(self, res: Any, name: str, namespace: str | None = None) -> dict[str, Any]:
        assert res == ROLLOUTS_V1BETA1
        self.gets.append(name)
        if name not in self.objs:
            raise NotFound(f"rollouts {name!r} not found")
        return copy.deepcopy(self.objs[name])

    async def list(self, res: Any, namespace: str | None = None, field_selector: str | None = None) -> dict[str, Any]:
        self.lists += 1
        return {"items": [copy.deepcopy(o) for o in self.objs.values() if selected(o, field_selector)]}


def req(op: str, obj: dict[str, Any], old: dict[str, Any] | None = None) -> AdmissionRequest:
    return AdmissionRequest(uid="u", operation=op, kind={"kind": "Rollout"}, resource={"resource": "rollouts"},
                            name=obj["metadata"]["name"], namespace="ns", object=obj, old_object=old)


def setup(cached: list[dict[str, Any]], api: Api, clock: FakeClock | None = None):
    informer = populated_informer(ROLLOUTS_V1BETA1, cached, indexers={WORKLOAD_REF_INDEX: workload_ref_index})
    lister = CachedRolloutLister(informer, api, clock=clock or FakeClock())
    return informer, lister, RolloutValidator(lister)


async def test_admission_reads_only_the_index_when_there_is_no_conflict() -> None:
    many = [rollout(f"ro-{i}", f"app-{i}") for i in range(500)]
    api = Api(*many)
    _, _, validator = setup(many, api)
    assert (await validator(req("CREATE", rollout("new", "free")))).allowed
    assert (await validator(req("UPDATE", rollout("ro-7", "app-7", rv="2"), rollout("ro-7", "app-7")))).allowed
    assert api.lists == 0 and api.gets == []


async def test_a_conflict_in_the_cache_is_confirmed_on_the_server() -> None:
    api = Api(rollout("other", api_version="apps/v1beta1"))
    _, lister, validator = setup([rollout("other", api_version="apps/v1beta1")], api)
    resp = await validator(req("CREATE", rollout("demo")))
    assert not resp.allowed and "conflict with Rollout(ns/other)" in resp.message
    assert api.gets == ["other"] and lister.confirmations == 1


async def test_a_stale_conflict_in_the_cache_does_not_deny() -> None:
    """The cache still shows "gone" and "moved", deleted and retargeted on the server moments ago."""
    api = Api(rollout("moved", workload="elsewhere", rv="9"))
    _, _, validator = setup([rollout("gone"), rollout("moved")], api)
    assert (await validator(req("CREATE", rollout("demo")))).allowed
    assert sorted(api.gets) == ["gone", "moved"]


async def test_cache_lag_read_your_writes_denies_the_second_rollout_for_one_workload() -> None:
    """Two Rollouts of one workload applied together: the first is not in the cache yet."""
    clock = FakeClock()
    api = Api()
    informer, lister, validator = setup([], api, clock)
    first = rollout("first")
    assert (await validator(req("CREATE", first))).allowed
    api.objs["first"] = first                                # persisted; the watch has not delivered it
    resp = await validator(req("CREATE", rollout("second")))
    assert not resp.allowed and "conflict with Rollout(ns/first)" in resp.message
    # Once the cache has it, the index alone finds it; after the lifetime the memory is gone.
    informer.apply(WatchEvent("ADDED", first))
    await clock.advance(RECENT_ADMISSION_SECONDS + 1)
    assert lister.remembered == 0
    assert not (await validator(req("CREATE", rollout("second")))).allowed


async def test_a_remembered_admission_that_was_never_persisted_denies_nothing() -> None:
    """Admitted by us, then refused by another webhook (or a dry run): the server read says NotFound."""
    api = Api()
    _, lister, validator = setup([], api)
    assert (await validator(req("CREATE", rollout("dry")))).allowed
    assert lister.remembered == 1
    assert (await validator(req("CREATE", rollout("real")))).allowed
    assert api.gets == ["dry"]


async def test_update_rules_use_the_newer_of_cache_and_old_object() -> None:
    """The cache still says Healthy but oldObject (the server's state) is Progressing: workloadRef is immutable."""
    api = Api()
    _, _, validator = setup([rollout("demo", rv="5", phase="Healthy")], api)
    old = rollout("demo", rv="6", phase="Progressing")
    new = rollout("demo", workload="other", rv="6", phase="Progressing")
    resp = await validator(req("UPDATE", new, old))
    assert not resp.allowed and "immutable" in resp.message


async def test_before_the_informer_syncs_every_read_goes_to_the_server() -> None:
    api = Api(rollout("other"))
    informer, lister, validator = setup([], api)
    informer._synced.clear()
    assert not (await validator(req("CREATE", rollout("demo")))).allowed
    assert api.lists == 1
