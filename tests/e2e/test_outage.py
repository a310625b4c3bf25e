"""A killed manager blocks only what it manages (issue 9 item 6), against the real manager process.

kill -9 leaves the webhook configurations registered and pointing at a dead port. Workloads no
Rollout manages (every native kind) and metadata-only edits of a managed Deployment must still go
through; a template change of the managed Deployment must still be refused — that refusal is the
fail-safe that keeps a release from starting unmanaged. The OpenKruise kinds get the same
configuration (unit-tested in tests/unit/webhooks/test_wh_configs.py); the API-server side of the
CEL and the unmanaged entries is covered in detail by tests/integration/webhooks/test_webhook_failsafe.py.
"""

from __future__ import annotations

import json

import pytest
import yaml

from tests.e2e.harness import Kubectl, ManagerProcess, Release, wait_for

pytestmark = pytest.mark.integration

WORKLOAD_TYPE = "rollouts.kruise.io/workload-type"


def unrelated(kind: str, name: str) -> str:
    spec: dict = {"selector": {"matchLabels": {"app": name}},
                  "template": {"metadata": {"labels": {"app": name}},
                               "spec": {"containers": [{"name": "busybox", "image": "busybox",
                                                        "env": [{"name": "VERSION", "value": "1"}]}]}}}
    if kind != "DaemonSet":
        spec["replicas"] = 1
    if kind == "StatefulSet":
        spec["serviceName"] = name
    return yaml.safe_dump({"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name}, "spec": spec})


def test_kill_9_blocks_only_template_changes_of_managed_workloads(manager: ManagerProcess, kc: Kubectl,
                                                                  namespace: str) -> None:
    r = Release(kc, namespace)
    r.create_workload(replicas=2)
    r.create_rollout()
    wait_for(lambda: (r.deployment()["metadata"].get("labels") or {}).get(WORKLOAD_TYPE),
             lambda v: bool(v), what="the Rollout controller to label the managed Deployment")
    for kind, name in (("Deployment", "other"), ("StatefulSet", "other-sts"), ("DaemonSet", "other-ds")):
        kc("-n", namespace, "apply", "-f", "-", input=unrelated(kind, name))

    manager.stop(kill=True)

    for resource, name, container in (("deployment", "other", "busybox"), ("statefulset", "other-sts", "busybox"),
                                      ("daemonset", "other-ds", "busybox")):
        kc("-n", namespace, "set", "env", f"{resource}/{name}", "VERSION=outage", f"--containers={container}")
    kc("-n", namespace, "label", "deployment", "workload-demo", "team=outage")
    kc("-n", namespace, "annotate", "deployment", "workload-demo", "example.com/note=outage")
    with pytest.raises(AssertionError, match='failed calling webhook "mdeployment.kb.io"'):
        r.patch("version-2")  # a template change of a managed workload is refused while we are down
    template_env = r.deployment()["spec"]["template"]["spec"]["containers"][0]["env"]
    assert "version-2" not in json.dumps(template_env)
