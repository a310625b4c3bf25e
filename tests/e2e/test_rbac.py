"""The manager runs with only ``config/rbac`` (its ServiceAccount token), not as cluster admin.

Installation (CRDs, namespace, RBAC, webhook configurations) is done by the admin, as Helm would;
the manager then runs without ``--local-cluster`` (URL-mode webhook via ``WEBHOOK_HOST``) under the
``kruise-rollout`` ServiceAccount and must take the seed's release through its first two steps.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.e2e.harness import (
    OPERATOR_NAMESPACE,
    REPO,
    Kubectl,
    ManagerProcess,
    Release,
    running,
    step_paused_message,
)

pytestmark = pytest.mark.integration

INSTALL = ("import asyncio, sys\n"
           "from runtime.kube.client import KubeClient\n"
           "from rollouts.cmd.install import install\n"
           "async def main():\n"
           "    c = await KubeClient.from_kubeconfig(sys.argv[1])\n"
           "    try:\n"
           "        await install(c, sys.argv[2])\n"
           "    finally:\n"
           "        await c.aclose()\n"
           "asyncio.run(main())\n")


def service_account_kubeconfig(admin_kubeconfig: str, kc: Kubectl, path: Path) -> str:
    token = kc("-n", OPERATOR_NAMESPACE, "create", "token", "kruise-rollout", "--duration=3600s").strip()
    cfg = yaml.safe_load(Path(admin_kubeconfig).read_text())
    cfg["users"] = [{"name": "kruise-rollout", "user": {"token": token}}]
    for ctx in cfg["contexts"]:
        ctx["context"]["user"] = "kruise-rollout"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


@pytest.fixture(scope="module")
def sa_manager(kubeconfig: str, kc: Kubectl, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagerProcess]:
    workdir = tmp_path_factory.mktemp("manager-sa")
    subprocess.run([sys.executable, "-c", INSTALL, kubeconfig, OPERATOR_NAMESPACE], check=True, cwd=REPO)
    mgr = ManagerProcess(service_account_kubeconfig(kubeconfig, kc, workdir / "sa.kubeconfig"), workdir,
                         extra_args=("--no-leader-elect",), local_cluster=False,
                         env={"WEBHOOK_HOST": "127.0.0.1", "POD_NAMESPACE": OPERATOR_NAMESPACE})
    configs = ("from webhooks import configs\nfrom webhooks.settings import WebhookSettings\nimport json\n"
               f"s = WebhookSettings(url_host='127.0.0.1', port={mgr.webhook_port})\n"
               "print(json.dumps({'kind': 'List', 'apiVersion': 'v1', 'items': "
               "[configs.mutating_configuration(s), configs.validating_configuration(s)]}))\n")
    out = subprocess.run([sys.executable, "-c", configs], check=True, cwd=REPO, capture_output=True, text=True)
    kc("apply", "-f", "-", input=out.stdout)
    with running(mgr, kc, unregister_first=True):
        yield mgr


_FORBIDDEN = re.compile(r"Forbidden|(?<![\d.])403(?!\d)")


def test_manager_works_with_its_rbac_only(sa_manager: ManagerProcess, kc: Kubectl, namespace: str) -> None:
    r = Release(kc, namespace)
    r.create_workload()
    r.create_rollout()
    r.patch("version-2")
    r.wait_rollout(("Progressing", "1", "StepPaused", step_paused_message(1)))
    r.wait_deploy(("10/10", "1", "10"))
    assert r.approve() == "rollout.rollouts.kruise.io/rollouts-demo approved"
    r.wait_rollout(("Progressing", "2", "StepPaused", step_paused_message(2)))
    r.wait_deploy(("10/10", "5", "10"))
    # Whole tokens only: a timestamp such as "35.544035Z" must not count as a 403.
    forbidden = [line for line in sa_manager.tail(400).splitlines() if _FORBIDDEN.search(line)]
    assert forbidden == [], "\n".join(forbidden[:5])
    assert json.loads(kc("auth", "whoami", "-o", "json", "--kubeconfig", sa_manager.kubeconfig))[
        "status"]["userInfo"]["username"] == f"system:serviceaccount:{OPERATOR_NAMESPACE}:kruise-rollout"


def test_an_identity_without_grants_exits_with_one_line_naming_them(
        kubeconfig: str, kc: Kubectl, tmp_path: Path) -> None:
    """Missing RBAC at start is one line and exit 1, not a manager that retries 403s for ever."""
    sa = "kruise-rollout-nobody"
    kc("create", "namespace", OPERATOR_NAMESPACE, check=False)
    kc("-n", OPERATOR_NAMESPACE, "create", "serviceaccount", sa, check=False)
    token = kc("-n", OPERATOR_NAMESPACE, "create", "token", sa, "--duration=600s").strip()
    cfg = yaml.safe_load(Path(kubeconfig).read_text())
    cfg["users"] = [{"name": sa, "user": {"token": token}}]
    for ctx in cfg["contexts"]:
        ctx["context"]["user"] = sa
    (tmp_path / "nobody.kubeconfig").write_text(yaml.safe_dump(cfg))
    proc = subprocess.run(
        [sys.executable, "-m", "rollouts.cmd.manager", "--kubeconfig", str(tmp_path / "nobody.kubeconfig"),
         "--no-leader-elect", "--namespace", OPERATOR_NAMESPACE, "--webhook-cert-dir", str(tmp_path / "certs")],
        cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr[-2000:]
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("kruise-rollout: cannot start: ") and "Traceback" not in proc.stderr
    assert "rollouts.rollouts.kruise.io (rollouts.kruise.io/v1beta1, all namespaces) cannot be listed (forbidden" \
        in line and "config/rbac/role.yaml" in line
