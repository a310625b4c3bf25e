"""``/mutate-apps-v1-deployment`` (workload-webhook.md §1.1, §1.2, §2) against a fake lister client."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from runtime.kube.errors import NotFound
from webhooks.admission import AdmissionRequest
from webhooks.configs import mutating_configuration
from webhooks.settings import WebhookSettings
from webhooks.workload.deployment import DeploymentHandler
from webhooks.workload.release import apply_merge_patch, is_effective_release_change, matched_rollout

TEMPLATE = {"metadata": {"labels": {"app": "demo"}},
            "spec": {"containers": [{"name": "busybox", "image": "busybox:1.28.3",
                                     "env": [{"name": "VERSION", "value": "version-1"}]}]}}
DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "workload-demo", "namespace": "ns", "uid": "d-uid",
                 "labels": {"rollouts.kruise.io/workload-type": "deployment"}},
    "spec": {"replicas": 10, "selector": {"matchLabels": {"app": "demo"}}, "template": TEMPLATE,
             "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}},
}
ROLLOUT = {"metadata": {"name": "rollouts-demo", "namespace": "ns"}, "status": {"phase": "Healthy"},
           "spec": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "workload-demo"},
                    "strategy": {"canary": {"steps": [{"replicas": 1}]}}}}
STABLE_RS = {"metadata": {"name": "workload-demo-6c7764b765", "labels": {"pod-template-hash": "6c7764b765"},
                          "annotations": {"deployment.kubernetes.io/revision": "1"},
                          "ownerReferences": [{"controller": True, "uid": "d-uid"}]},
             "spec": {"replicas": 10, "template": {**TEMPLATE, "metadata": {"labels": {
                 "app": "demo", "pod-template-hash": "6c7764b765"}}}}}


class FakeClient:
    def __init__(self, rollouts: list[dict], rss: list[dict], configuration: dict | None = None) -> None:
        self.items = {"rollouts": rollouts, "replicasets": rss}
        self.configuration = configuration or mutating_configuration(WebhookSettings())

    async def get(self, res: Any, name: str, namespace: str | None = None) -> dict:
        if not self.configuration.get("webhooks"):
            raise NotFound("mutatingwebhookconfiguration not found")
        return copy.deepcopy(self.configuration)

    async def list(self, res: Any, namespace: str | None = None, **_: Any) -> dict:
        return {"items": copy.deepcopy(self.items[res.plural])}


def v2(obj: dict) -> dict:
    new = copy.deepcopy(obj)
    new["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] = "version-2"
    return new


def request(old: dict, new: dict, *, operation: str = "UPDATE", sub: str = "") -> AdmissionRequest:
    return AdmissionRequest(uid="u", operation=operation, kind={"kind": "Deployment"},
                            resource={"group": "apps", "version": "v1", "resource": "deployments"},
                            sub_resource=sub, namespace="ns", object=new, old_object=old)


def applied(response_patch: list[dict], obj: dict) -> dict:
    """Apply the handler's RFC 6902 patch (only add/replace/remove are produced)."""
    out = copy.deepcopy(obj)
    for op in response_patch:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        target = out
        for p in parts[:-1]:
            target = target[int(p)] if isinstance(target, list) else target[p]
        key: Any = int(parts[-1]) if isinstance(target, list) else parts[-1]
        if op["op"] == "remove":
            del target[key]
        else:
            target[key] = op["value"]
    return out


async def run(old: dict, new: dict, rollouts=(ROLLOUT,), rss=(STABLE_RS,), **kw: Any) -> dict | None:
    response = await DeploymentHandler(FakeClient(list(rollouts), list(rss)))(request(old, new, **kw))
    assert response.allowed
    return applied(response.patch, new) if response.patch else None


async def test_template_change_starts_a_release() -> None:
    out = await run(DEPLOYMENT, v2(DEPLOYMENT))
    assert out is not None
    assert out["spec"]["paused"] is True
    assert out["metadata"]["labels"]["rollouts.kruise.io/stable-revision"] == "6c7764b765"
    assert json.loads(out["metadata"]["annotations"]["rollouts.kruise.io/in-progressing"]) == {
        "rolloutName": "rollouts-demo"}


@pytest.mark.parametrize("case", ["scale-only", "metadata-only", "replicas-0", "no-rollout", "disabled", "deleting",
                                  "create", "subresource", "no-active-rs"])
async def test_no_op_cases(case: str) -> None:
    old, new = DEPLOYMENT, v2(DEPLOYMENT)
    rollouts, rss, kw = [ROLLOUT], [STABLE_RS], {}
    if case == "scale-only":
        new = copy.deepcopy(DEPLOYMENT)
        new["spec"]["replicas"] = 20
    elif case == "metadata-only":
        new = copy.deepcopy(DEPLOYMENT)
        new["metadata"]["labels"]["team"] = "x"
    elif case == "replicas-0":
        new["spec"]["replicas"] = 0
    elif case == "no-rollout":
        rollouts = []
    elif case == "disabled":
        rollouts = [{**ROLLOUT, "status": {"phase": "Disabled"}}]
    elif case == "deleting":
        rollouts = [{**ROLLOUT, "metadata": {**ROLLOUT["metadata"], "deletionTimestamp": "2024-01-01T00:00:00Z"}}]
    elif case == "create":
        kw = {"operation": "CREATE"}
    elif case == "subresource":
        kw = {"sub": "scale"}
    elif case == "no-active-rs":
        rss = []
    assert await run(old, new, rollouts, rss, **kw) is None


async def test_partition_release_in_progress_stays_frozen_and_pauses_the_strategy() -> None:
    frozen = copy.deepcopy(DEPLOYMENT)
    frozen["metadata"]["annotations"] = {
        "rollouts.kruise.io/in-progressing": '{"rolloutName":"rollouts-demo"}',
        "rollouts.kruise.io/deployment-strategy":
            '{"rollingStyle":"Partition","rollingUpdate":{"maxUnavailable":"25%","maxSurge":"25%"},"partition":1}'}
    frozen["spec"].update(paused=True, strategy={"type": "Recreate"})
    out = await run(frozen, v2(frozen))
    assert out is not None and out["spec"]["paused"] is True
    strategy = json.loads(out["metadata"]["annotations"]["rollouts.kruise.io/deployment-strategy"])
    assert strategy["paused"] is True and strategy["partition"] == 1
    user_unpaused = copy.deepcopy(frozen)
    user_unpaused["spec"]["paused"] = False
    assert (await run(frozen, user_unpaused))["spec"]["paused"] is True


async def test_unlabelled_deployment_is_paused_through_the_unmanaged_entry() -> None:
    """GitOps: the Rollout and the new template arrive before the workload-type label; the
    ``mdeployment-unmanaged.kb.io`` entry (failurePolicy Ignore) routes the edit to this handler."""
    unlabelled = copy.deepcopy(DEPLOYMENT)
    unlabelled["metadata"]["labels"] = {}
    out = await run(unlabelled, v2(unlabelled))
    assert out is not None and out["spec"]["paused"] is True
    assert "rollouts.kruise.io/in-progressing" in out["metadata"]["annotations"]


@pytest.mark.parametrize("style", ["canary", "partition", "blue-green"])
async def test_metadata_only_edits_of_a_frozen_deployment_change_nothing(style: str) -> None:
    """The matchConditions skip edits that change neither spec nor a rollouts.kruise.io/ annotation;
    the handler answers those without a patch too, also mid-release (the object is already frozen)."""
    frozen = copy.deepcopy(DEPLOYMENT)
    anns = {"rollouts.kruise.io/in-progressing": '{"rolloutName":"rollouts-demo"}'}
    if style == "partition":
        anns["rollouts.kruise.io/deployment-strategy"] = (
            '{"rollingStyle":"Partition","rollingUpdate":{"maxUnavailable":"25%","maxSurge":"25%"},"partition":1}')
        frozen["spec"]["strategy"] = {"type": "Recreate"}
    elif style == "blue-green":
        anns["rollouts.kruise.io/original-deployment-strategy"] = '{"type":"RollingUpdate"}'
    frozen["metadata"]["annotations"] = anns
    frozen["spec"]["paused"] = True
    labelled = copy.deepcopy(frozen)
    labelled["metadata"]["labels"]["team"] = "x"
    labelled["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = "2"
    assert await run(frozen, labelled) is None


def test_effective_release_change_rules() -> None:
    new = v2(DEPLOYMENT)
    assert is_effective_release_change(DEPLOYMENT, new)
    hashed = copy.deepcopy(DEPLOYMENT)
    hashed["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] = "abc"
    assert not is_effective_release_change(DEPLOYMENT, hashed)
    with_id = copy.deepcopy(new)
    with_id["metadata"]["annotations"] = {"rollouts.kruise.io/rollout-id": "1"}
    old_id = copy.deepcopy(DEPLOYMENT)
    old_id["metadata"]["annotations"] = {"rollouts.kruise.io/rollout-id": "1"}
    assert not is_effective_release_change(old_id, with_id)
    assert is_effective_release_change(DEPLOYMENT, with_id)


def test_matched_rollout_and_merge_patch() -> None:
    assert matched_rollout([ROLLOUT], "apps/v1", "Deployment", "workload-demo") is ROLLOUT
    no_strategy = {**ROLLOUT, "spec": {**ROLLOUT["spec"], "strategy": {}}}
    assert matched_rollout([no_strategy], "apps/v1", "Deployment", "workload-demo") is None
    assert apply_merge_patch({"a": {"b": 1, "c": 2}}, {"a": {"b": None, "d": 3}}) == {"a": {"c": 2, "d": 3}}


async def test_live_configuration_is_rechecked() -> None:
    ours = copy.deepcopy(DEPLOYMENT)
    ours["metadata"]["labels"] = {"control-plane": "controller-manager"}
    assert await run(ours, v2(ours)) is None
    handler = DeploymentHandler(FakeClient([ROLLOUT], [STABLE_RS], configuration={"webhooks": []}))
    response = await handler(request(DEPLOYMENT, v2(DEPLOYMENT)))
    assert not response.allowed and response.code == 400


def test_selector_and_rule_matching() -> None:
    from webhooks.workload.release import request_matches_configuration, selector_matches

    sel = {"matchLabels": {"a": "1"}, "matchExpressions": [
        {"key": "b", "operator": "In", "values": ["x"]}, {"key": "c", "operator": "NotIn", "values": ["y"]},
        {"key": "d", "operator": "Exists"}, {"key": "e", "operator": "DoesNotExist"}]}
    assert selector_matches(sel, {"a": "1", "b": "x", "d": ""})
    assert not selector_matches(sel, {"a": "1", "b": "x", "d": "", "e": "z"})
    assert not selector_matches(sel, {"a": "1", "b": "x", "c": "y", "d": ""})
    config = {"webhooks": [{"rules": [{"apiGroups": ["apps"], "apiVersions": ["v1"], "resources": ["deployments"],
                                       "operations": ["UPDATE"]}],
                            "objectSelector": {"matchExpressions": [
                                {"key": "control-plane", "operator": "NotIn", "values": ["controller-manager"]}]}}]}
    kw = {"group": "apps", "version": "v1", "resource": "deployments"}
    assert request_matches_configuration(config, operation="UPDATE", labels={}, **kw)
    assert not request_matches_configuration(config, operation="CREATE", labels={}, **kw)
    assert not request_matches_configuration(config, operation="UPDATE", labels={"control-plane": "controller-manager"},
                                             **kw)


async def test_a_rollout_missing_from_a_lagging_cache_is_confirmed_on_the_api_server() -> None:
    """GitOps applies a new Rollout and the workload's new template together: the edit must freeze."""
    stale_cache = FakeClient([], [])
    api = FakeClient([ROLLOUT], [STABLE_RS])
    response = await DeploymentHandler(stale_cache, api)(request(DEPLOYMENT, v2(DEPLOYMENT)))
    frozen = applied(response.patch, v2(DEPLOYMENT))
    assert frozen["spec"]["paused"] is True


async def test_a_rollout_found_in_the_cache_needs_no_api_read() -> None:
    class NoApi:
        async def list(self, res: Any, namespace: str | None = None, **_: Any) -> dict:
            assert res.plural == "replicasets", f"{res.plural} must come from the cache"
            return {"items": [copy.deepcopy(STABLE_RS)]}

        async def get(self, *a: Any) -> dict:
            raise AssertionError("the configuration must come from the cache")

    response = await DeploymentHandler(FakeClient([ROLLOUT], []), NoApi())(request(DEPLOYMENT, v2(DEPLOYMENT)))
    assert applied(response.patch, v2(DEPLOYMENT))["spec"]["paused"] is True


async def test_a_release_start_lists_only_the_deployments_replicasets_on_the_server() -> None:
    """The namespace's whole ReplicaSet list per admission was ~100 MB at 10,000 Deployments in one
    namespace (bench/RESULTS.md "Scale"): the server filters by the Deployment's selector."""
    calls: list[tuple[str, str | None, Any]] = []

    class Recording(FakeClient):
        async def list(self, res: Any, namespace: str | None = None, **kw: Any) -> dict:
            calls.append((res.plural, namespace, kw.get("label_selector")))
            return await super().list(res, namespace)

    new = v2(DEPLOYMENT)
    new["spec"]["selector"] = {"matchLabels": {"app": "demo"}, "matchExpressions": [
        {"key": "tier", "operator": "In", "values": ["web", "api"]}]}
    response = await DeploymentHandler(Recording([ROLLOUT], [STABLE_RS]))(request(DEPLOYMENT, new))
    assert response.allowed and response.patch  # the release did start
    assert ("replicasets", "ns", "app=demo,tier in (api,web)") in calls
