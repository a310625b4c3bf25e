"""The Rollout validating handler: operations, 422 denial with field paths, lister inputs."""

from __future__ import annotations

import copy
from collections.abc import Mapping
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
    """Hands the validator every item as a candidate: the conflict rule itself must filter them."""

    def __init__(self, items: list[dict[str, Any]], stored: dict[str, Any] | None = None, fail: bool = False):
        self.items, self.stored, self.fail = items, stored, fail
        self.admissions: list[str] = []

    async def others_targeting(self, namespace: str, rollout: str, workload_ref: Mapping[str, Any]) -> list[Any]:
        if self.fail:
            raise RuntimeError("apiserver down")
        return self.items

    async def get_rollout(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.stored

    def admitted(self, rollout: Mapping[str, Any], namespace: str) -> None:
        self.admissions.append(rollout["metadata"]["name"])


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


async def test_unsupported_strategy_denied_naming_field_and_fix() -> None:
    modifier = copy.deepcopy(VALID)
    modifier["spec"]["strategy"]["canary"]["trafficRoutings"] = [{"service": "svc", "ingress": {"name": "ing"}}]
    modifier["spec"]["strategy"]["canary"]["steps"][0]["requestHeaderModifier"] = {"set": [{"name": "h", "value": "v"}]}
    resp = await RolloutValidator()(_req("CREATE", modifier))
    assert not resp.allowed and resp.code == 422
    assert resp.message.startswith("spec.strategy.canary.steps[0].requestHeaderModifier: Forbidden: request header")
    assert "not yet supported by this controller" in resp.message
    assert "remove requestHeaderModifier" in resp.message


async def test_canary_style_is_allowed() -> None:
    canary = copy.deepcopy(VALID)
    canary["spec"]["strategy"]["canary"]["enableExtraWorkloadForCanary"] = True
    resp = await RolloutValidator()(_req("CREATE", canary))
    assert resp.allowed, resp.message


async def test_upstream_accepted_oddities_are_allowed_with_warnings() -> None:
    odd = copy.deepcopy(VALID)
    odd["spec"]["strategy"]["canary"]["steps"][0]["pause"] = {"duration": -1}
    odd["spec"]["strategy"]["canary"]["failureThreshold"] = "200%"
    resp = await RolloutValidator()(_req("CREATE", odd))
    assert resp.allowed
    assert [w.split(":")[0] for w in resp.warnings] == ["spec.strategy.canary.steps[0].pause.duration",
                                                        "spec.strategy.canary.failureThreshold"]


async def test_warnings_also_accompany_a_denial() -> None:
    bad = copy.deepcopy(VALID)
    bad["spec"]["workloadRef"]["apiVersion"] = "apps/v2"
    bad["spec"]["strategy"]["canary"]["failureThreshold"] = -1
    resp = await RolloutValidator()(_req("CREATE", bad))
    assert not resp.allowed and "spec.workloadRef.apiVersion" in resp.message
    assert len(resp.warnings) == 1 and resp.warnings[0].startswith("spec.strategy.canary.failureThreshold: -1")


async def test_admission_review_over_https_carries_warnings(tmp_path: Any) -> None:
    """The wire: the AdmissionReview response of the real aiohttp server has ``response.warnings``."""
    import json
    import ssl
    from datetime import UTC, datetime, timedelta

    import aiohttp

    from webhooks import certs
    from webhooks.app import build_registry
    from webhooks.certdir import write_dir
    from webhooks.configs import PATH_VALIDATE_ROLLOUT
    from webhooks.server import WebhookServer
    from webhooks.settings import WebhookSettings

    now = datetime.now(UTC)
    material = certs.generate("127.0.0.1", now)
    write_dir(str(tmp_path), material, now)
    srv = WebhookServer(build_registry(), WebhookSettings(host="127.0.0.1", port=0, cert_dir=str(tmp_path),
                                                          cert_poll_interval=timedelta(seconds=3600)))
    odd = copy.deepcopy(VALID)
    odd["spec"]["strategy"]["canary"]["steps"][0]["pause"] = {"duration": -30}
    review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
              "request": {"uid": "u1", "operation": "CREATE", "name": "demo", "namespace": "ns",
                          "kind": {"group": "rollouts.kruise.io", "version": "v1beta1", "kind": "Rollout"},
                          "resource": {"group": "rollouts.kruise.io", "version": "v1beta1", "resource": "rollouts"},
                          "object": odd}}
    await srv.start()
    try:
        ctx = ssl.create_default_context(cadata=material.ca_cert.decode())
        async with aiohttp.ClientSession() as s, s.post(f"https://127.0.0.1:{srv.port}{PATH_VALIDATE_ROLLOUT}",
                                                        data=json.dumps(review), ssl=ctx) as r:
            out = await r.json(content_type=None)
    finally:
        await srv.stop()
    assert out["response"]["uid"] == "u1" and out["response"]["allowed"] is True
    assert out["response"]["warnings"] == [
        "spec.strategy.canary.steps[0].pause.duration: -30 is negative and continues at once like 0; use 0 or more "
        "seconds, or remove duration to wait for manual approval"]
