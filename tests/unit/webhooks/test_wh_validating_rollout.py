"""The Rollout validating handler: operations, 422 denial with field paths, lister inputs."""

from __future__ import annotations

import copy
from typing import Any

from webhooks.admission import AdmissionRequest
from webhooks.validating_rollout import RolloutValidator

VALID: dict[str, Any] = {
    "apiVersion": "rollouts.kruise.io/v1beta1",
    "kind": "Rollout",
    "metadata": {"name": "demo", "namespace": "ns"},
    "spec": {
        "workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "echo"},
        "strategy": {"canary": {"steps": [{"replicas": 1}, {"replicas": "50%"}, {"replicas": "100%"}]}},
    },
}


def _req(op: str, obj: dict[str, Any] | None, old: dict[str, Any] | None = None, sub: str = "") -> AdmissionRequest:
    return AdmissionRequest(uid="u", operation=op, kind={"kind": "Rollout"}, resource={"resource": "rollouts"},
                            name="demo", namespace="ns", object=obj, old_object=old, sub_resource=sub)


class Lister:
    def __init__(self, items: list[dict[str, Any]], stored: dict[str, Any] | None = None, fail: bool = False):
        self.items, self.stored, self.fail = items, stored, fail

    async def list_rollouts(self, namespace: str) -> list[dict[str, Any]]:
        if self.fail:
            raise RuntimeError("apiserver down")
        return self.items

    async def get_rollout(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.stored


async def test_valid_create_allowed_and_delete_skipped() -> None:
    v = RolloutValidator()
    assert (await v(_req("CREATE", VALID))).allowed
    assert (await v(_req("DELETE", None, VALID))).allowed
    assert (await v(_req("UPDATE", {"junk": 1}, VALID, sub="status"))).allowed


async def test_invalid_denied_with_422_and_field_path() -> None:
    bad = copy.deepcopy(VALID)
    bad["spec"]["strategy"]["canary"]["steps"] = []
    resp = await RolloutValidator()(_req("CREATE", bad))
    assert not resp.allowed and resp.code == 422
    assert "spec.strategy.canary.steps" in resp.message


async def test_conflict_uses_lister() -> None:
    other = copy.deepcopy(VALID)
    other["metadata"]["name"] = "other"
    resp = await RolloutValidator(Lister([other]))(_req("CREATE", VALID))
    assert not resp.allowed and "conflict with Rollout(ns/other)" in resp.message


async def test_update_immutability_uses_stored_phase() -> None:
    old = copy.deepcopy(VALID)
    new = copy.deepcopy(VALID)
    new["spec"]["workloadRef"]["name"] = "other"
    stored = {**old, "status": {"phase": "Progressing"}}
    resp = await RolloutValidator(Lister([], stored))(_req("UPDATE", new, old))
    assert not resp.allowed and resp.code == 422 and "immutable" in resp.message
    healthy = Lister([], {**old, "status": {"phase": "Healthy"}})
    assert (await RolloutValidator(healthy)(_req("UPDATE", new, old))).allowed


async def test_lister_failure_denies_with_500() -> None:
    resp = await RolloutValidator(Lister([], fail=True))(_req("CREATE", VALID))
    assert not resp.allowed and resp.code == 500 and "apiserver down" in resp.message


async def test_update_without_old_object_is_400() -> None:
    resp = await RolloutValidator()(_req("UPDATE", VALID, None))
    assert not resp.allowed and resp.code == 400
