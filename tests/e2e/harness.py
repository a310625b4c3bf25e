"""Shared helpers of the release tests: a kruise-rollout manager subprocess and kubectl views.

The manager runs as ``python -m rollouts.cmd.manager --local-cluster`` (exactly what ``make dev``
runs) against the session's local cluster, with its webhook in URL mode on a free port. Stopping it
(SIGTERM) unregisters the webhook configurations *before* the server stops; the harness deletes
them again and puts the CRD conversion stanzas back, so no other test meets a dead webhook.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "deploy" / "demo"
VENV_BIN = Path(sys.executable).parent
KUBECTL = str(VENV_BIN / "kubectl")
OPERATOR_NAMESPACE = "kruise-rollout"
#: Fully qualified so that test CRDs of other groups with a ``rollouts`` plural cannot shadow it.
ROLLOUT_RESOURCE = "rollouts.rollouts.kruise.io"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Kubectl:
    """kubectl (and the ``kubectl kruise`` plugin, found on PATH from the venv) against one cluster."""

    def __init__(self, kubeconfig: str) -> None:
        self.kubeconfig = kubeconfig
        #: A private discovery cache: kubectl's shared one may still list CRDs other tests deleted
        #: (another ``rollouts`` resource in a test group made ``get rollout`` resolve to it).
        self.cache_dir = tempfile.mkdtemp(prefix="kubectl-cache-")
        self.env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                    "KUBECONFIG": kubeconfig}

    def __call__(self, *args: str, check: bool = True, input: str | None = None) -> str:
        flags = [] if args and args[0] == "kruise" else [f"--cache-dir={self.cache_dir}"]  # plugins take no flags first
        proc = subprocess.run([KUBECTL, *flags, *args], capture_output=True, text=True, input=input, env=self.env,
                              timeout=60)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
        return proc.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "-o", "json"))


def table(output: str) -> list[dict[str, str]]:
    """Parse ``kubectl get`` output into rows keyed by column header (columns split on 2+ spaces)."""
    lines = [line for line in output.splitlines() if line.strip()]
    if not lines:
        return []
    header = lines[0]
    starts = [i for i, c in enumerate(header) if c != " " and (i == 0 or header[i - 1] == " ")]
    names = header.split()
    rows = []
    for line in lines[1:]:
        cells = []
        for j, start in enumerate(starts):
            end = starts[j + 1] if j + 1 < len(starts) else len(line)
            cells.append(line[start:end].strip())
        rows.append(dict(zip(names, cells, strict=True)))
    return rows


def manifest(name: str, namespace: str) -> str:
    """A demo manifest with its namespace rewritten (the seed files say ``default``)."""
    doc = yaml.safe_load((DEMO / name).read_text())
    doc["metadata"]["namespace"] = namespace
    return yaml.safe_dump(doc)


def wait_for(fetch: Callable[[], Any], ok: Callable[[Any], bool], *, timeout: float = 60, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = fetch()
            if ok(last):
                return last
        except AssertionError as e:
            last = e
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last seen: {last!r}"[:4000])
        time.sleep(0.25)


class ManagerProcess:
    """``kruise-rollout --local-cluster`` as a subprocess; start/stop/restart."""

    def __init__(self, kubeconfig: str, workdir: Path, *, extra_args: tuple[str, ...] = (),
                 local_cluster: bool = True, env: dict[str, str] | None = None,
                 module: str = "rollouts.cmd.manager") -> None:
        self.kubeconfig = kubeconfig
        #: The entry module (tests may run a launcher that injects a fault, then calls the real main).
        self.module = module
        self.local_cluster = local_cluster
        self.env = {**os.environ, **(env or {})}
        self.workdir = workdir
        self.webhook_port = free_port()
        self.health_port = free_port()
        self.extra_args = extra_args
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "manager.log"
        self.starts = 0

    def start(self, timeout: float = 60) -> None:
        self.launch()
        self.wait_ready(timeout)

    def launch(self) -> None:
        """Start the process without waiting for it to become ready."""
        self.starts += 1
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the process
        mode = ["--local-cluster"] if self.local_cluster else []
        args = [sys.executable, "-m", self.module, "--kubeconfig", self.kubeconfig, *mode,
                "--webhook-port", str(self.webhook_port), "--health-addr", f"127.0.0.1:{self.health_port}",
                "--metrics-addr", f"127.0.0.1:{self.health_port}", "--webhook-cert-dir",
                str(self.workdir / "certs"), "--namespace", OPERATOR_NAMESPACE, *self.extra_args]
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env=self.env)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def probe(self, path: str = "/readyz") -> tuple[int, str]:
        """Status and body of a probe endpoint (0 when nothing answers)."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.health_port}{path}", timeout=2) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except OSError:
            return 0, ""

    def log_events(self) -> list[dict[str, Any]]:
        """The manager's JSON log lines (a file is not a TTY, so the manager logs JSON)."""
        events = []
        for raw in self.log_path.read_text(errors="replace").splitlines():
            try:
                events.append(json.loads(raw))
            except ValueError:
                continue
        return events

    def wait_ready(self, timeout: float = 60) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"manager exited ({self.proc.returncode}):\n{self.tail()}")
            if self.ready():
                return
            time.sleep(0.2)
        raise AssertionError(f"manager not ready within {timeout}s:\n{self.tail()}")

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.health_port}/readyz", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.health_port}/metrics", timeout=5) as r:
            return r.read().decode()

    def stop(self, kill: bool = False) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def release_finalizers_in_terminating_namespaces(kubectl: Kubectl) -> None:
    """After the manager stopped: drop our finalizers from Rollouts/BatchReleases whose namespace is
    being deleted (the last test's namespace may not have finished its cleanup), so no namespace of
    ours stays Terminating forever."""
    terminating = {n["metadata"]["name"] for n in kubectl.json("get", "namespaces")["items"]
                   if (n.get("status") or {}).get("phase") == "Terminating"}
    for resource in (ROLLOUT_RESOURCE, "batchreleases.rollouts.kruise.io"):
        for obj in kubectl.json("get", resource, "-A")["items"]:
            md = obj["metadata"]
            if md["namespace"] in terminating and md.get("finalizers"):
                kubectl("-n", md["namespace"], "patch", resource, md["name"], "--type=merge",
                        "-p", '{"metadata":{"finalizers":null}}', check=False)


@contextlib.contextmanager
def running(mgr: ManagerProcess, kubectl: Kubectl, *, unregister_first: bool = False) -> Iterator[ManagerProcess]:
    """Start ``mgr`` for a fixture; on failure print its log tail; at the end stop it and remove our
    cluster registrations. ``unregister_first``: remove them before stopping the server (for a
    manager that did not create them itself: their failurePolicy is Fail)."""
    try:
        mgr.start()
        yield mgr
    except BaseException:
        print(mgr.tail())
        raise
    finally:
        if unregister_first:
            cleanup_cluster_registrations(kubectl)
        mgr.stop()
        if not unregister_first:
            cleanup_cluster_registrations(kubectl)


def cleanup_cluster_registrations(kubectl: Kubectl) -> None:
    """Delete our webhook configurations and point the CRD conversion stanzas back to the manifests."""
    kubectl("delete", "mutatingwebhookconfiguration", "kruise-rollout-mutating-webhook-configuration",
            "--ignore-not-found")
    kubectl("delete", "validatingwebhookconfiguration", "kruise-rollout-validating-webhook-configuration",
            "--ignore-not-found")
    for path in sorted((REPO / "config" / "crd").glob("rollouts.kruise.io_*.yaml")):
        wanted = yaml.safe_load(path.read_text())
        name = wanted["metadata"]["name"]
        live = json.loads(kubectl("get", "crd", name, "-o", "json", check=False) or "null")
        if not live or live["spec"].get("conversion") == wanted["spec"].get("conversion"):
            continue
        body = copy.deepcopy(live)
        body["spec"]["conversion"] = wanted["spec"].get("conversion")
        kubectl("replace", "-f", "-", input=json.dumps(body), check=False)
    release_finalizers_in_terminating_namespaces(kubectl)


def patch_version(version: str) -> str:
    """The seed's ``kubectl patch`` body setting env VERSION."""
    return ('{"spec":{"template":{"spec":{"containers":[{"name":"busybox", '
            f'"env":[{{"name":"VERSION", "value":"{version}"}}]}}]}}}}}}}}')


def step_paused_message(step: int, total: int = 3) -> str:
    return f"Rollout is in step({step}/{total}), and you need manually confirm to enter the next step"


class Release:
    """The seed's objects in one namespace and the kubectl views of the walkthrough."""

    def __init__(self, kc: Kubectl, namespace: str) -> None:
        self.kc = kc
        self.ns = namespace
        self.old_rs = ""

    def create_workload(self, replicas: int = 10) -> None:
        doc = yaml.safe_load(manifest("workload-demo.yaml", self.ns))
        doc["spec"]["replicas"] = replicas
        self.kc("apply", "-f", "-", input=yaml.safe_dump(doc))
        want = (f"{replicas}/{replicas}", str(replicas), str(replicas))
        wait_for(self.deploy_row, lambda r: r == want, what=f"{replicas} ready version-1 pods")
        (self.old_rs,) = self.replica_sets()

    def create_rollout(self, body: dict[str, Any] | None = None) -> None:
        text = yaml.safe_dump(body) if body else manifest("rollouts-demo.yaml", self.ns)
        self.kc("apply", "-f", "-", input=text)
        self.wait_rollout(("Healthy", "3" if body is None else None, "Completed", "workload deployment is completed"))

    def patch(self, version: str) -> None:
        self.kc("-n", self.ns, "patch", "deployment", "workload-demo", "-p", patch_version(version))

    def rollout_row(self) -> tuple[str, str, str, str]:
        row = table(self.kc("-n", self.ns, "get", ROLLOUT_RESOURCE, "rollouts-demo"))[0]
        return row["STATUS"], row["CANARY_STEP"], row["CANARY_STATE"], row["MESSAGE"]

    def wait_rollout(self, want: tuple[str | None, ...], timeout: float = 90) -> tuple[str, str, str, str]:
        """Wait for the ``get rollout`` columns; ``None`` entries match anything."""
        return wait_for(self.rollout_row, lambda r: all(w is None or w == v for w, v in zip(want, r, strict=True)),
                        timeout=timeout, what=f"rollout {want}")

    def replica_sets(self) -> dict[str, tuple[int, int, int]]:
        return {r["NAME"]: (int(r["DESIRED"]), int(r["CURRENT"]), int(r["READY"]))
                for r in table(self.kc("-n", self.ns, "get", "replicaset"))}

    def deploy_row(self) -> tuple[str, str, str]:
        row = table(self.kc("-n", self.ns, "get", "deploy", "workload-demo"))[0]
        return row["READY"], row["UP-TO-DATE"], row["AVAILABLE"]

    def wait_deploy(self, want: tuple[str, str, str], timeout: float = 90) -> None:
        wait_for(self.deploy_row, lambda r: r == want, timeout=timeout, what=f"deploy {want}")

    def approve(self) -> str:
        return self.kc("kruise", "rollout", "approve", "rollout/rollouts-demo", "-n", self.ns).strip()

    def deployment(self) -> dict[str, Any]:
        return self.kc.json("-n", self.ns, "get", "deploy", "workload-demo")

    def rollout(self) -> dict[str, Any]:
        return self.kc.json("-n", self.ns, "get", "rollouts.v1beta1.rollouts.kruise.io", "rollouts-demo")

    def batch_releases(self) -> list[str]:
        """Names (``batchrelease.rollouts.kruise.io/x``) of the BatchReleases left in the namespace."""
        return self.kc("-n", self.ns, "get", "batchreleases.rollouts.kruise.io", "-o", "name").split()

    def assert_handed_back(self) -> None:
        """Unpaused, original RollingUpdate strategy, no rollouts bookkeeping left on the Deployment, and
        no BatchRelease left: every hand-back (success, rollback, disable, delete) ends with
        ReleaseWorkloadControl deleting it (rollout-lifecycle.md §8), and the Rollout only reports the
        hand-back once it saw the deletion, so none may remain by the time this is called."""
        d = self.deployment()
        assert not d["spec"].get("paused"), d["spec"]
        assert d["spec"]["strategy"] == {"type": "RollingUpdate",
                                         "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}
        leftovers = [k for k in (d["metadata"].get("annotations") or {}) if "rollouts.kruise.io" in k]
        assert leftovers == [], leftovers
        assert self.batch_releases() == [], self.batch_releases()
