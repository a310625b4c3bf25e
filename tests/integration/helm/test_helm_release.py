"""The chart on the real local cluster: ``helm upgrade --install`` and ``helm upgrade``, then the manager
run exactly as the chart's Pods would run it (in-cluster config, the chart's ServiceAccount, args, env)
taking the seed's multi-batch release through, with the leader killed between batches.

The local cluster has no kubelet (kwok only marks Pods Running), so the chart's Pods never execute:
two host processes play them. Three things differ from a Pod, each because of the host, not the chart:
ports (two processes on one host: --metrics-addr/--health-addr/--webhook-port appended, last wins),
KUBERNETES_SERVICE_HOST/PORT (the API server's host address, not the ``kubernetes`` ClusterIP nothing
routes here) and WEBHOOK_HOST=127.0.0.1 (Services do not route to host processes, so the webhooks are
registered in URL mode; WEBHOOK_CERT_WRITER=secret keeps the shared Secret flow of the chart).
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from localcluster.cluster import LocalCluster

from tests.e2e.harness import (
    OPERATOR_NAMESPACE,
    REPO,
    Kubectl,
    Release,
    cleanup_cluster_registrations,
    free_port,
    step_paused_message,
    wait_for,
)
from tests.integration.helm.helmcli import CHART, RELEASE, Helm

pytestmark = pytest.mark.integration

LEASE = "71ddec2c.kruise.io"
SA = "kruise-rollout"
CRDS = ("batchreleases.rollouts.kruise.io", "rollouthistories.rollouts.kruise.io", "rollouts.rollouts.kruise.io",
        "trafficroutings.rollouts.kruise.io", "analysisruns.analysis.kruise-rollouts-py.io",
        "analysistemplates.analysis.kruise-rollouts-py.io")
#: runtime.leaderelection defaults: lease_duration 15 s, retry_period 2 s; acquire attempts are jittered, each
#: waiting ``retry_period * (1 + 1.2 * random())``, so up to 4.4 s apart.
LEASE_DURATION_S, RETRY_S, ATTEMPT_GAP_MAX_S = 15.0, 2.0, 4.4
#: A candidate saw the last renewal at most one attempt gap after it happened, and takes over at its first attempt
#: after the lease ran out from that sighting: two gaps past the lease at worst, plus API and log latency.
TAKEOVER_MAX_S = LEASE_DURATION_S + 2 * ATTEMPT_GAP_MAX_S + 2.0
#: An API refusal in the manager's log. Whole words only: identities and serials are hex ("…a403f…").
_FORBIDDEN = re.compile(r"Forbidden|Unauthorized|\b40[13]\b")


def _cluster_rbac() -> list[tuple[str, str]]:
    """Every ClusterRole/ClusterRoleBinding of ``config/rbac`` (the chart renders the same ones)."""
    docs = yaml.safe_load_all((CHART.parents[2] / "config" / "rbac" / "role.yaml").read_text())
    return [(d["kind"], d["metadata"]["name"]) for d in docs
            if d and d["kind"] in ("ClusterRole", "ClusterRoleBinding")]


def _remove_leftovers(kc: Kubectl, helm: Helm) -> None:
    """Earlier modules' ``--local-cluster`` managers install the same cluster-scoped names (not owned by
    a Helm release, so helm would refuse to adopt them): remove them, as a user would before installing."""
    helm.run("uninstall", RELEASE, "--ignore-not-found", "--wait", check=False)
    if kc("get", "crd", "rollouts.rollouts.kruise.io", "--ignore-not-found"):
        cleanup_cluster_registrations(kc)
    kc("delete", "mutatingwebhookconfiguration", "kruise-rollout-mutating-webhook-configuration", "--ignore-not-found")
    kc("delete", "validatingwebhookconfiguration", "kruise-rollout-validating-webhook-configuration",
       "--ignore-not-found")
    for kind, name in _cluster_rbac():
        kc("delete", kind.lower(), name, "--ignore-not-found")
    kc("delete", "namespace", OPERATOR_NAMESPACE, "--ignore-not-found", "--wait=false")
    wait_for(lambda: kc("get", "namespace", OPERATOR_NAMESPACE, "--ignore-not-found"), lambda out: out == "",
             timeout=90, what=f"namespace {OPERATOR_NAMESPACE} gone")


@pytest.fixture(scope="module")
def helm(helm_binary: Path, kubeconfig: str) -> Helm:
    return Helm(helm_binary, kubeconfig)


@pytest.fixture(scope="module")
def installed(helm: Helm, kc: Kubectl) -> Iterator[subprocess.CompletedProcess[str]]:
    _remove_leftovers(kc, helm)
    proc = helm.run("upgrade", "--install", RELEASE, str(CHART))
    try:
        yield proc
    finally:
        helm.run("uninstall", RELEASE, "--wait", check=False)
        cleanup_cluster_registrations(kc)
        wait_for(lambda: kc("get", "namespace", OPERATOR_NAMESPACE, "--ignore-not-found"), lambda out: out == "",
                 timeout=90, what=f"namespace {OPERATOR_NAMESPACE} gone after uninstall")


def test_install_creates_the_crds_and_two_manager_pods(installed: subprocess.CompletedProcess[str],
                                                        kc: Kubectl, helm: Helm) -> None:
    assert "STATUS: deployed" in installed.stdout and "REVISION: 1" in installed.stdout, installed.stdout
    crds = [line.split()[0] for line in kc("get", "crd").splitlines() if "rollout" in line]
    assert sorted(crds) == sorted(CRDS)
    deploy = kc.json("-n", OPERATOR_NAMESPACE, "get", "deploy", "kruise-rollout-controller-manager")
    assert deploy["spec"]["replicas"] == 2
    assert deploy["spec"]["template"]["spec"]["serviceAccountName"] == SA
    pods = wait_for(lambda: kc.json("-n", OPERATOR_NAMESPACE, "get", "pods")["items"], lambda p: len(p) == 2,
                    what="two manager pods")
    assert all(p["metadata"]["name"].startswith("kruise-rollout-controller-manager-") for p in pods)
    # Shown in the report: kwok marks the Pods Running/Ready although no container runs.
    print(kc("-n", OPERATOR_NAMESPACE, "get", "pods", "-o", "wide"))
    assert kc.json("-n", OPERATOR_NAMESPACE, "get", "pdb", "kruise-rollout-controller-manager")["spec"][
        "minAvailable"] == 1
    assert kc("-n", OPERATOR_NAMESPACE, "get", "serviceaccount", SA, "-o", "name") == f"serviceaccount/{SA}\n"


def test_upgrade_succeeds_and_applies_changed_values(installed: subprocess.CompletedProcess[str], kc: Kubectl,
                                                     helm: Helm) -> None:
    proc = helm.run("upgrade", RELEASE, str(CHART), "--set", "log.level=5")
    assert "STATUS: deployed" in proc.stdout and "REVISION: 2" in proc.stdout, proc.stdout
    deploy = kc.json("-n", OPERATOR_NAMESPACE, "get", "deploy", "kruise-rollout-controller-manager")
    assert "--v=5" in deploy["spec"]["template"]["spec"]["containers"][0]["args"]
    proc = helm.run("upgrade", RELEASE, str(CHART), "--reuse-values", "--set", "log.level=4")
    assert "REVISION: 3" in proc.stdout, proc.stdout


@pytest.mark.parametrize(("value", "field"), [("replicaCount=-1", "replicaCount"),
                                              ("featureGates=Bogus=true", "featureGates")])
def test_bad_values_fail_the_upgrade_naming_the_field_and_change_nothing(
        installed: subprocess.CompletedProcess[str], helm: Helm, value: str, field: str) -> None:
    before = json.loads(helm.run("history", RELEASE, "-o", "json").stdout)
    proc = helm.run("upgrade", RELEASE, str(CHART), "--reuse-values", "--set", value, check=False)
    assert proc.returncode != 0
    assert "values don't meet the specifications of the schema" in proc.stderr and field in proc.stderr, proc.stderr
    assert json.loads(helm.run("history", RELEASE, "-o", "json").stdout) == before


# -- the manager as the chart's Pod ---------------------------------------------------------------
class PodProcess:
    """One manager process with what a chart Pod gets (see the module docstring for the three deltas)."""

    def __init__(self, pod: dict[str, Any], container: dict[str, Any], workdir: Path, server: str, kc: Kubectl,
                 ca: str, *, url_mode: bool = True) -> None:
        self.pod_name = pod["metadata"]["name"]
        self.workdir = workdir
        sa_dir = workdir / "serviceaccount"
        sa_dir.mkdir(parents=True)
        # TokenRequest API, bound to the chart's Pod like the kubelet's projected token.
        token = kc("-n", OPERATOR_NAMESPACE, "create", "token", pod["spec"]["serviceAccountName"],
                   "--bound-object-kind=Pod", f"--bound-object-name={self.pod_name}",
                   f"--bound-object-uid={pod['metadata']['uid']}", "--duration=3600s").strip()
        (sa_dir / "token").write_text(token)
        (sa_dir / "ca.crt").write_text(ca)  # what the kubelet projects from kube-root-ca.crt
        self.token = token
        host, port = server.removeprefix("https://").rsplit(":", 1)
        env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "POD_NAMESPACE", "WEBHOOK_HOST")}
        for var in container.get("env") or []:
            if "valueFrom" in var:
                assert var["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace", var
                env[var["name"]] = pod["metadata"]["namespace"]
            else:
                env[var["name"]] = var["value"]
        env["WEBHOOK_CERT_DIR"] = str(workdir / "certs")  # the Pod's emptyDir /tmp
        self.health_port, self.webhook_port = free_port(), free_port()
        env.update(SA_FILES_DIR=str(sa_dir), KUBERNETES_SERVICE_HOST=host, KUBERNETES_SERVICE_PORT=port,
                   HOME=str(workdir))  # no ~/.kube/config to fall back on
        if url_mode:
            env.update(WEBHOOK_HOST="127.0.0.1", WEBHOOK_CERT_WRITER="secret")
        assert container["command"] == ["kruise-rollout"]
        self.args = [sys.executable, "-m", "tests.integration.helm.incluster_launcher", *container["args"],
                     f"--health-addr=127.0.0.1:{self.health_port}", f"--metrics-addr=127.0.0.1:{free_port()}",
                     f"--webhook-port={self.webhook_port}"]
        self.env = env
        self.log_path = workdir / "manager.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the process
        self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env=self.env)

    def ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"{self.pod_name} exited ({self.proc.returncode}):\n{self.tail()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.health_port}/readyz", timeout=2) as r:
                return r.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def events(self) -> list[dict[str, Any]]:
        out = []
        for raw in self.log_path.read_text(errors="replace").splitlines():
            try:
                out.append(json.loads(raw))
            except ValueError:
                continue
        return out

    def identity(self) -> str | None:
        """The Lease identity this process acquired with, if it ever led."""
        for e in self.events():
            if e.get("event") == "acquired lease":
                return str(e.get("identity"))
        return None

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def _pod_processes(kc: Kubectl, local_cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory, *,
                   url_mode: bool) -> list[PodProcess]:
    """One process per chart Pod, each with that Pod's bound token (not started)."""
    deploy = kc.json("-n", OPERATOR_NAMESPACE, "get", "deploy", "kruise-rollout-controller-manager")
    (container,) = deploy["spec"]["template"]["spec"]["containers"]
    kc("-n", OPERATOR_NAMESPACE, "rollout", "status", "deploy/kruise-rollout-controller-manager", "--timeout=90s")
    # The Pods the Deployment settled on (the upgrades rolled it): a token bound to a Pod being deleted dies.
    pods = wait_for(lambda: [p for p in kc.json("-n", OPERATOR_NAMESPACE, "get", "pods")["items"]
                             if not p["metadata"].get("deletionTimestamp")],
                    lambda p: len(p) == 2, what="two live manager pods")
    ca = wait_for(lambda: kc.json("-n", OPERATOR_NAMESPACE, "get", "configmap", "kube-root-ca.crt")["data"]["ca.crt"],
                  bool, what="kube-root-ca.crt published")
    return [PodProcess(p, container, tmp_path_factory.mktemp(f"pod{i}"), local_cluster.server, kc, ca,
                       url_mode=url_mode) for i, p in enumerate(pods)]


def test_service_mode_certificates_survive_helm_upgrade(
        installed: subprocess.CompletedProcess[str], kc: Kubectl, helm: Helm, local_cluster: LocalCluster,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """The chart's certificate flow as in a real cluster (service mode, no WEBHOOK_HOST): a manager creates
    the Secret and writes the caBundle next to the chart's clientConfig.service; `helm upgrade` keeps both.
    (The API server here cannot call a Service, so this manager only provisions; it serves no admission.)"""
    proc = _pod_processes(kc, local_cluster, tmp_path_factory, url_mode=False)[0]
    proc.start()
    try:
        wait_for(proc.ready, bool, timeout=60, what=f"{proc.pod_name} ready")
        bundles = wait_for(lambda: _ca_bundles(kc), lambda b: all(b.values()), what="caBundle written")
    finally:
        proc.stop()
    secret = kc.json("-n", OPERATOR_NAMESPACE, "get", "secret", "kruise-rollout-webhook-certs")
    assert base64.b64encode(base64.b64decode(secret["data"]["ca-cert.pem"])).decode() in bundles.values()
    services = _client_services(kc)
    assert services == {(OPERATOR_NAMESPACE, "kruise-rollout-webhook-service")}, services
    out = helm.run("upgrade", RELEASE, str(CHART), "--reuse-values", "--set", "podDisruptionBudget.minAvailable=0")
    assert "STATUS: deployed" in out.stdout, out.stdout
    assert _ca_bundles(kc) == bundles and _client_services(kc) == services
    assert kc.json("-n", OPERATOR_NAMESPACE, "get", "pdb", "kruise-rollout-controller-manager")["spec"][
        "minAvailable"] == 0
    forbidden = [line for line in proc.tail(2000).splitlines() if _FORBIDDEN.search(line)]
    assert forbidden == [], "\n".join(forbidden[:5])


def _client_services(kc: Kubectl) -> set[tuple[str, str]]:
    out = set()
    for kind in ("mutatingwebhookconfiguration", "validatingwebhookconfiguration"):
        conf = kc.json("get", kind, f"kruise-rollout-{kind.removesuffix('webhookconfiguration')}-webhook-configuration")
        out |= {(w["clientConfig"]["service"]["namespace"], w["clientConfig"]["service"]["name"])
                for w in conf["webhooks"] if "service" in w["clientConfig"]}
        assert all("url" not in w["clientConfig"] for w in conf["webhooks"]), conf["webhooks"]
    return out


@pytest.fixture(scope="module")
def pod_processes(installed: subprocess.CompletedProcess[str], kc: Kubectl, local_cluster: LocalCluster,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[PodProcess]]:
    procs = _pod_processes(kc, local_cluster, tmp_path_factory, url_mode=True)
    try:
        for p in procs:
            p.start()
        for p in procs:
            wait_for(p.ready, bool, timeout=60, what=f"{p.pod_name} ready")
        yield procs
    except BaseException:
        for p in procs:
            print(f"--- {p.pod_name}\n{p.tail()}")
        raise
    finally:
        for p in procs:
            p.stop()


def _whoami(p: PodProcess) -> str:
    """SelfSubjectReview with exactly the Pod's files: who the manager is to the API server."""
    ctx = ssl.create_default_context(cafile=str(p.workdir / "serviceaccount" / "ca.crt"))
    url = f"https://{p.env['KUBERNETES_SERVICE_HOST']}:{p.env['KUBERNETES_SERVICE_PORT']}" \
          "/apis/authentication.k8s.io/v1/selfsubjectreviews"
    body = json.dumps({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}).encode()
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "Authorization": f"Bearer {p.token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
        return str(json.loads(r.read())["status"]["userInfo"]["username"])


def _ca_bundles(kc: Kubectl) -> dict[str, str]:
    out = {}
    for kind in ("mutatingwebhookconfiguration", "validatingwebhookconfiguration"):
        conf = kc.json("get", kind, f"kruise-rollout-{kind.removesuffix('webhookconfiguration')}-webhook-configuration")
        out.update({w["name"]: w["clientConfig"].get("caBundle", "") for w in conf["webhooks"]})
    return out


def _lease_holder(kc: Kubectl) -> str:
    lease = kc.json("-n", OPERATOR_NAMESPACE, "get", "lease", LEASE)
    return str(lease["spec"].get("holderIdentity") or "")


def test_in_cluster_managers_release_in_batches_and_survive_the_leader(
        pod_processes: list[PodProcess], kc: Kubectl, namespace: str) -> None:
    assert _whoami(pod_processes[0]) == f"system:serviceaccount:{OPERATOR_NAMESPACE}:{SA}"
    secret = kc.json("-n", OPERATOR_NAMESPACE, "get", "secret", "kruise-rollout-webhook-certs")
    assert base64.b64decode(secret["data"]["ca-cert.pem"]).startswith(b"-----BEGIN CERTIFICATE")

    r = Release(kc, namespace)
    r.create_workload()
    r.create_rollout()
    r.patch("version-2")
    r.wait_rollout(("Progressing", "1", "StepPaused", step_paused_message(1)))
    r.wait_deploy(("10/10", "1", "10"))

    holder = wait_for(lambda: _lease_holder(kc), bool, what="a lease holder")
    (leader,) = [p for p in pod_processes if p.identity() == holder]
    (other,) = [p for p in pod_processes if p is not leader]
    leader.stop(signal.SIGKILL)  # no lease release: the other must wait the lease out
    killed = time.monotonic()
    wait_for(lambda: other.identity(), bool, timeout=TAKEOVER_MAX_S + 5, what="the other takes over")
    took = time.monotonic() - killed
    assert _lease_holder(kc) == other.identity()
    print(f"leader {leader.pod_name} killed; {other.pod_name} took over after {took:.1f}s")
    # Safety, not speed: the leader renewed at most one retry period (plus a request) before it died, so nobody
    # may hold the lease before it ran out from then; the upper bound is the jittered worst case, not a target.
    assert LEASE_DURATION_S - RETRY_S - 1.0 <= took <= TAKEOVER_MAX_S

    # No double step: the new leader re-reads a paused step 1 and stays there until approved.
    r.wait_rollout(("Progressing", "1", "StepPaused", step_paused_message(1)))
    assert r.rollout()["status"]["canaryStatus"]["currentStepIndex"] == 1
    r.wait_deploy(("10/10", "1", "10"))
    assert wait_for(r.approve, bool, timeout=20, what="approve (webhook re-registered by the survivor)") == \
        "rollout.rollouts.kruise.io/rollouts-demo approved"
    r.wait_rollout(("Progressing", "2", "StepPaused", step_paused_message(2)))
    r.wait_deploy(("10/10", "5", "10"))
    assert r.rollout()["status"]["canaryStatus"]["currentStepIndex"] == 2
    assert r.approve() == "rollout.rollouts.kruise.io/rollouts-demo approved"
    r.wait_rollout(("Healthy", "3", "Completed", None))
    r.wait_deploy(("10/10", "10", "10"))

    for p in pod_processes:
        forbidden = [line for line in p.tail(2000).splitlines() if _FORBIDDEN.search(line)]
        assert forbidden == [], f"{p.pod_name}:\n" + "\n".join(forbidden[:5])
    assert yaml.safe_load(kc("-n", OPERATOR_NAMESPACE, "get", "lease", LEASE, "-o", "yaml"))["spec"][
        "holderIdentity"] == other.identity()
