"""The canary control plane's I/O (batch-release.md §7) against an in-memory Deployment API."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from rollouts.controllers.batchrelease import registry
from rollouts.controllers.batchrelease.canary import CanaryControl
from rollouts.controllers.batchrelease.cloneset import CloneSetControl
from rollouts.controllers.batchrelease.statefulset import StatefulSetControl
from rollouts.controllers.workloads import KINDS
from rollouts.release.deployment_strategy import control_info
from runtime.cache.store import Store, object_key
from runtime.clock import FakeClock
from runtime.expectations import CreateExpectations
from runtime.kube.errors import NotFound

CONTROL_INFO = "batchrelease.rollouts.kruise.io/control-info"
FINALIZER = "finalizer.rollouts.kruise.io/batch-release"


def br(batch_partition: int | None = 0, policy: str = "") -> dict[str, Any]:
    plan: dict[str, Any] = {"batches": [{"canaryReplicas": 1}, {"canaryReplicas": "40%"}, {"canaryReplicas": "100%"}],
                            "rollingStyle": "Canary", "enableExtraWorkloadForCanary": True}
    if batch_partition is not None:
        plan["batchPartition"] = batch_partition
    if policy:
        plan["finalizingPolicy"] = policy
    return {"apiVersion": "rollouts.kruise.io/v1beta1", "kind": "BatchRelease",
            "metadata": {"name": "demo", "namespace": "ns", "uid": "br-uid", "generation": 1},
            "spec": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "echoserver"},
                     "releasePlan": plan}}


def stable(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "echoserver", "namespace": "ns", "uid": "stable-uid", "generation": 2,
                         "annotations": {"rollouts.kruise.io/in-progressing": "{}"}},
            "spec": {"replicas": 5, "paused": True, "selector": {"matchLabels": {"app": "echoserver"}},
                     "template": {"metadata": {"labels": {"app": "echoserver"}},
                                  "spec": {"containers": [{"name": "e", "image": "echo:v2"}]}}, **spec},
            "status": {"observedGeneration": 2, "replicas": 5, "updatedReplicas": 0, "availableReplicas": 5}}


class Api:
    """Deployments by name; records writes."""

    def __init__(self, *objs: dict[str, Any]) -> None:
        self.objects = {o["metadata"]["name"]: copy.deepcopy(o) for o in objs}
        self.calls: list[tuple[str, str, Any]] = []
        self.serial = 0

    async def create(self, res: Any, body: dict[str, Any], namespace: str | None = None, **_: Any) -> dict[str, Any]:
        self.serial += 1
        obj = copy.deepcopy(body)
        name = obj["metadata"].pop("generateName") + f"abcd{self.serial}"
        obj["metadata"].update(name=name, uid=f"uid-{name}", generation=1, creationTimestamp=f"t{self.serial}")
        obj["status"] = {"observedGeneration": 1}
        self.objects[name] = obj
        self.calls.append(("create", name, body))
        return copy.deepcopy(obj)

    async def patch(self, res: Any, name: str, body: Any, namespace: str | None = None, **_: Any) -> dict[str, Any]:
        if name not in self.objects:
            raise NotFound(name)
        self.calls.append(("patch", name, body))
        obj = self.objects[name]
        for section in ("metadata", "spec"):
            for key, value in (body.get(section) or {}).items():
                if isinstance(value, dict):
                    merged = {**(obj[section].get(key) or {}), **value}
                    obj[section][key] = {k: v for k, v in merged.items() if v is not None}
                elif value is None:
                    obj[section].pop(key, None)
                elif key != "resourceVersion":
                    obj[section][key] = value
        return copy.deepcopy(obj)

    async def list(self, res: Any, namespace: str | None = None, **_: Any) -> dict[str, Any]:
        return {"items": [copy.deepcopy(o) for o in self.objects.values()]}


def writes(api: Api) -> list[tuple[str, str, Any]]:
    return [c for c in api.calls if c[0] in ("create", "patch")]


def cache(*objs: dict[str, Any]) -> Store:
    store = Store()
    for o in objs:
        store.put(object_key(o), copy.deepcopy(o))
    return store


async def test_initialize_creates_the_canary_once_and_claims_the_stable_deployment() -> None:
    api = Api(stable())
    exp = CreateExpectations(clock=FakeClock())
    empty = cache()
    control = CanaryControl(api, br(), stable(), deployments=empty, expectations=exp)
    status: dict[str, Any] = {}
    assert await control.initialize(status)
    (created,) = [c for c in api.calls if c[0] == "create"]
    assert created[2]["spec"]["replicas"] == 0 and created[2]["metadata"]["generateName"] == "echoserver-"
    assert ("patch", "echoserver", {"metadata": {"annotations": {CONTROL_INFO: control_info("demo", "br-uid")}}}) \
        in api.calls
    assert status["observedWorkloadReplicas"] == 5 and status["updateRevision"] and status["stableRevision"] == ""
    # the next reconcile's cache has not seen the create: wait, do not create a second canary
    again = CanaryControl(api, br(), stable(), deployments=empty, expectations=exp)
    assert not await again.initialize({})
    assert len([c for c in api.calls if c[0] == "create"]) == 1
    # once the informer has it, the expectation is met and the canary is found, not created
    seen = CanaryControl(api, br(), stable(), deployments=cache(*api.objects.values()), expectations=exp)
    assert await seen.initialize({})
    assert len([c for c in api.calls if c[0] == "create"]) == 1 and exp.pending("ns/demo") is None


async def test_upgrade_scales_the_canary_on_stable_replicas_and_never_down() -> None:
    api = Api(stable())
    control = CanaryControl(api, br(), stable())
    assert await control.initialize({})
    name = next(n for n in api.objects if n != "echoserver")
    assert await control.upgrade_batch({"canaryStatus": {"currentBatch": 1}})  # 40% of 5
    assert api.objects[name]["spec"]["replicas"] == 2
    api.objects[name]["status"]["observedGeneration"] = 5
    api.objects[name]["metadata"]["generation"] = 5
    scaled_down = stable(replicas=1)
    later = CanaryControl(api, br(), scaled_down, deployments=cache(*api.objects.values()))
    before = len(writes(api))
    assert await later.upgrade_batch({"canaryStatus": {"currentBatch": 1}})  # 40% of 1 = 1 < 2
    assert len(writes(api)) == before and api.objects[name]["spec"]["replicas"] == 2


async def test_upgrade_waits_for_the_canary_status_to_catch_up() -> None:
    api = Api(stable())
    control = CanaryControl(api, br(), stable())
    assert await control.initialize({})
    name = next(n for n in api.objects if n != "echoserver")
    api.objects[name]["metadata"]["generation"] = 2  # a scale the canary's status does not show yet
    fresh = CanaryControl(api, br(), stable(), deployments=cache(*api.objects.values()))
    assert not await fresh.upgrade_batch({"canaryStatus": {"currentBatch": 1}})


async def test_readiness_reports_the_canary_numbers() -> None:
    api = Api(stable())
    assert await CanaryControl(api, br(), stable()).initialize({})
    name = next(n for n in api.objects if n != "echoserver")
    api.objects[name]["spec"]["replicas"] = 2
    api.objects[name]["status"].update(replicas=2, availableReplicas=1)
    control = CanaryControl(api, br(), stable(), deployments=cache(*api.objects.values()))
    reason = await control.batch_ready({"canaryStatus": {"currentBatch": 1}})
    assert reason == (f"canary Deployment {name}: 1 of 2 pods available, 2 created "
                      "(updated ready 1 < desired 2 (failureThreshold 0))")
    event, info = await control.workload_info()
    assert (info.updated, info.updated_ready, info.replicas) == (2, 1, 5)
    api.objects[name]["status"]["availableReplicas"] = 2
    assert await CanaryControl(api, br(), stable(), deployments=cache(*api.objects.values())).batch_ready(
        {"canaryStatus": {"currentBatch": 1}}) is None


async def test_finalize_resumes_the_stable_and_releases_the_canaries() -> None:
    api = Api(stable())
    assert await CanaryControl(api, br(), stable()).initialize({})
    name = next(n for n in api.objects if n != "echoserver")
    claimed = api.objects["echoserver"]
    done = CanaryControl(api, br(batch_partition=None, policy="WaitResume"), claimed)
    assert not await done.finalize()  # unpaused now, but not rolled yet: WaitResume waits
    assert api.objects["echoserver"]["spec"]["paused"] is False
    assert CONTROL_INFO not in api.objects["echoserver"]["metadata"]["annotations"]
    assert api.objects[name]["metadata"]["finalizers"] == [FINALIZER]  # released only after the wait
    api.objects["echoserver"]["status"].update(updatedReplicas=5, availableReplicas=5)
    assert await CanaryControl(api, br(batch_partition=None, policy="WaitResume"), api.objects["echoserver"]).finalize()
    assert "finalizers" not in api.objects[name]["metadata"]


async def test_finalize_for_a_continuous_release_keeps_the_stable_paused() -> None:
    api = Api(stable())
    assert await CanaryControl(api, br(), stable()).initialize({})
    assert await CanaryControl(api, br(batch_partition=0), api.objects["echoserver"]).finalize()
    assert api.objects["echoserver"]["spec"]["paused"] is True
    assert all("finalizers" not in o["metadata"] for o in api.objects.values())


@pytest.mark.parametrize("api_version, kind, style, extra, want", [
    ("apps/v1", "Deployment", "Canary", True, CanaryControl),
    ("apps/v1", "Deployment", "", True, CanaryControl),  # empty style + extra workload means Canary
    ("apps/v1", "StatefulSet", "Canary", True, StatefulSetControl),  # other kinds fall through
    ("apps.kruise.io/v1alpha1", "CloneSet", "Canary", True, CloneSetControl),
])
def test_the_rolling_style_picks_the_canary_control(api_version: str, kind: str, style: str, extra: bool,
                                                     want: type) -> None:
    model = br()
    model["spec"]["workloadRef"] = {"apiVersion": api_version, "kind": kind, "name": "w"}
    model["spec"]["releasePlan"].update(rollingStyle=style, enableExtraWorkloadForCanary=extra)
    from rollouts.api.decode import batch_release_for_executor

    plan = batch_release_for_executor(model).spec.release_plan
    group = api_version.rpartition("/")[0]
    factory = registry.control_plane(group, kind, api_version=api_version, style=registry.rolling_style(plan))
    row = KINDS[(group, kind)]
    control = factory(Api(), model, None, row)
    assert isinstance(control, want)
    if want is not CanaryControl:
        assert not isinstance(control, CanaryControl)


def test_partition_deployment_stays_partition() -> None:
    factory = registry.control_plane("apps", "Deployment", api_version="apps/v1", style="Partition")
    assert factory is registry.CONTROL_PLANES[("apps", "Deployment")]


async def test_creating_the_canary_counts_as_a_workload_write() -> None:
    """``executor.run`` stops chaining transitions after a workload write; the canary create is one."""
    from rollouts.controllers.batchrelease.controller import WorkloadWriteCounter
    from runtime.kube.resources import DEPLOYMENTS, PODS

    counter = WorkloadWriteCounter(Api())
    await counter.create(DEPLOYMENTS, cd_body())
    assert counter.count == 1
    await counter.create(PODS, cd_body())
    assert counter.count == 1


def cd_body() -> dict[str, Any]:
    from rollouts.release.canary_deployment import canary_body

    return canary_body(stable(), control_info("demo", "br-uid"), None)


async def test_upgrade_never_creates_a_canary_for_a_changed_template() -> None:
    """Continuous release: the stable template moved on, so no canary of this BatchRelease matches;
    only Initialize creates (§7), the Rollout replaces the BatchRelease and its canary."""
    api = Api(stable())
    assert await CanaryControl(api, br(), stable()).initialize({})
    v3 = stable()
    v3["spec"]["template"]["spec"]["containers"][0]["image"] = "echo:v3"
    control = CanaryControl(api, br(), v3, deployments=cache(*api.objects.values()))
    assert not await control.upgrade_batch({"canaryStatus": {"currentBatch": 0}})
    assert len([c for c in api.calls if c[0] == "create"]) == 1
