"""Canary Service construction and stable selector pinning/restore (traffic-routing.md §2)."""

from __future__ import annotations

import pytest

from rollouts.trafficrouting.services import (
    build_canary_service,
    canary_selector_patch,
    pin_selector_patch,
    restore_selector_patch,
)

OWNER = {"apiVersion": "rollouts.kruise.io/v1beta1", "kind": "Rollout", "name": "r", "uid": "u1", "controller": True}
KEY = "pod-template-hash"


def test_canary_service_from_a_node_port_service() -> None:
    stable = {
        "metadata": {"name": "web", "namespace": "ns", "labels": {"app": "web"}, "annotations": {"a": "b"},
                     "uid": "x", "resourceVersion": "5"},
        "spec": {"type": "NodePort", "clusterIP": "10.0.0.1", "clusterIPs": ["10.0.0.1"], "externalIPs": ["1.2.3.4"],
                 "ipFamilyPolicy": "SingleStack", "ipFamilies": ["IPv4"], "loadBalancerIP": "5.6.7.8",
                 "sessionAffinity": "None", "selector": {"app": "web", KEY: "stable1"},
                 "ports": [{"port": 80, "targetPort": 8080, "nodePort": 30080, "protocol": "TCP"}]},
    }
    got = build_canary_service(stable, owner_ref=OWNER, revision_key=KEY, canary_revision="canary1")
    assert got == {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web-canary", "namespace": "ns", "ownerReferences": [OWNER],
                     "labels": {"app": "web"}, "annotations": {"a": "b"}},
        "spec": {"type": "NodePort", "sessionAffinity": "None", "selector": {"app": "web", KEY: "canary1"},
                 "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]},
    }
    assert stable["spec"]["ports"][0]["nodePort"] == 30080  # the stable object is not mutated


@pytest.mark.parametrize(("append", "expected"), [
    (False, {"app": "web", "tier": "canary", KEY: "c"}),
    (True, {"app": "web", "tier": "canary", "extra": "1", KEY: "c"}),
], ids=["default", "AppendPodSelector"])
def test_pod_labels_overwrite_selector_keys_and_append_only_with_the_gate(append: bool, expected: dict) -> None:
    stable = {"metadata": {"name": "web"}, "spec": {"selector": {"app": "web", "tier": "stable"}}}
    got = build_canary_service(stable, owner_ref=OWNER, revision_key=KEY, canary_revision="c",
                               pod_labels={"tier": "canary", "extra": "1"}, append_pod_selector=append)
    assert got["spec"]["selector"] == expected


@pytest.mark.parametrize(("selector", "pin", "restore"), [
    ({"app": "web"}, {"spec": {"selector": {KEY: "s1"}}}, None),
    ({"app": "web", KEY: "s1"}, None, {"spec": {"selector": {KEY: None}}}),
    ({"app": "web", KEY: "old"}, {"spec": {"selector": {KEY: "s1"}}}, {"spec": {"selector": {KEY: None}}}),
    ({"app": "web", KEY: ""}, {"spec": {"selector": {KEY: "s1"}}}, None),
    (None, {"spec": {"selector": {KEY: "s1"}}}, None),
], ids=["unpinned", "pinned", "pinned-to-old", "empty-value", "no-selector"])
def test_pin_and_restore_patches(selector: dict | None, pin: dict | None, restore: dict | None) -> None:
    svc = {"metadata": {"name": "web"}, "spec": {"selector": selector} if selector is not None else {}}
    assert pin_selector_patch(svc, KEY, "s1") == pin
    assert restore_selector_patch(svc, KEY) == restore


def test_canary_selector_follows_the_canary_revision() -> None:
    canary = {"spec": {"selector": {"app": "web", KEY: "v2"}}}
    assert canary_selector_patch(canary, KEY, "v2") is None
    assert canary_selector_patch(canary, KEY, "v3") == {"spec": {"selector": {KEY: "v3"}}}
