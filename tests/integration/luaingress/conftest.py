"""Ingress classes through Lua on the real control plane: one manager subprocess per module (e2e harness),
and the ``kruise-rollout-configuration`` ConfigMap of user scripts, removed after the module."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from rollouts.api import keys
from tests.e2e.conftest import kc, manager  # noqa: F401 - fixtures
from tests.e2e.harness import OPERATOR_NAMESPACE, Kubectl, ManagerProcess


class Scripts:
    """Sets and removes ConfigMap keys (``lua.traffic.routing.ingress.<class>``) as a user would."""

    def __init__(self, kubectl: Kubectl) -> None:
        self.kc = kubectl

    def set(self, class_type: str, source: str | None) -> None:
        """``source`` None removes the key. Creates the ConfigMap on first use."""
        key = f"{keys.LUA_INGRESS_SCRIPT_KEY_PREFIX}{class_type}"
        if not self.kc("-n", OPERATOR_NAMESPACE, "get", "configmap", keys.ROLLOUT_CONFIGURATION_CONFIGMAP,
                       "--ignore-not-found", "-o", "name").strip():
            self.kc("-n", OPERATOR_NAMESPACE, "create", "configmap", keys.ROLLOUT_CONFIGURATION_CONFIGMAP)
        self.kc("-n", OPERATOR_NAMESPACE, "patch", "configmap", keys.ROLLOUT_CONFIGURATION_CONFIGMAP,
                "--type=merge", "-p", json.dumps({"data": {key: source}}))


@pytest.fixture(scope="module")
def scripts(kc: Kubectl, manager: ManagerProcess) -> Iterator[Scripts]:  # noqa: F811 - the imported fixtures
    """After the manager (its local-cluster install creates the operator namespace)."""
    yield Scripts(kc)
    kc("-n", OPERATOR_NAMESPACE, "delete", "configmap", keys.ROLLOUT_CONFIGURATION_CONFIGMAP, "--ignore-not-found")
