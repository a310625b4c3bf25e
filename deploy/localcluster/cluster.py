"""A real Kubernetes control plane made of ordinary processes on 127.0.0.1.

etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok run as processes this
object owns: each in its own session (so a stop reaches its children), each logging to a file
under the run directory, each on a free port. ``start()`` returns only when the API answers
``/readyz``, every fake Node is Ready and the ``default`` ServiceAccount exists — the three
things tests otherwise trip over. ``stop()`` ends them in reverse order (SIGTERM, then SIGKILL
after a grace period) and removes the run directory unless asked to keep it.

This module is synchronous on purpose: it is used from a pytest session fixture, a CLI and a
benchmark, none of which need an event loop to babysit subprocesses.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import yaml

from . import build, gatewayapi, istio, openkruise, stages
from .pki import ClusterPKI

#: How long each component may take to become ready before we give up and show its log.
READY_TIMEOUT_S = 90.0
#: Grace period between SIGTERM and SIGKILL when stopping a component.
STOP_GRACE_S = 10.0
#: Service CIDR; the first address is the in-cluster ``kubernetes`` Service.
SERVICE_CIDR = "10.0.0.0/16"
SERVICE_IP = "10.0.0.1"
#: File in a temp run dir naming the owning process, for ``sweep_stale_run_dirs``.
OWNER_FILE = "owner.pid"
#: Pod CIDR kwok hands addresses from: /16 is 65k pods, plenty for benchmarks.
POD_CIDR = "10.244.0.0/16"


class ClusterError(RuntimeError):
    """The control plane did not come up; the message carries the failing component's log tail."""


@attrs.define
class ClusterSettings:
    """Knobs of a local cluster. Defaults suit tests and the dev loop."""

    #: Number of fake kwok Nodes to create (DaemonSet tests want one per desired pod).
    nodes: int = 3
    #: Directory for PKI, data and logs; a fresh temp dir when None.
    run_dir: Path | None = None
    #: Keep ``run_dir`` (logs, data) after stop, e.g. to debug a failure.
    keep_run_dir: bool = False
    #: Extra kube-apiserver flags (``--feature-gates=...``).
    apiserver_flags: tuple[str, ...] = ()
    #: Also run the real OpenKruise kruise-manager (CloneSet, Advanced StatefulSet/DaemonSet) with its
    #: CRDs and URL-mode webhooks; built on first use (see ``openkruise.py``). Off by default.
    openkruise: bool = False
    #: Install the Gateway API CRDs (HTTPRoute, Gateway, ...) from the ``sigs.k8s.io/gateway-api``
    #: module, fetched once into the cache (see ``gatewayapi.py``). Off by default.
    gateway_api: bool = False
    #: Install minimal test CRDs for Istio's VirtualService and DestinationRule (``istio.py``). Off by default.
    istio: bool = False
    #: Components die with the process that started them (Linux ``PR_SET_PDEATHSIG``), so a killed
    #: test run or ``make dev`` cannot leak a control plane. Off only for ``local-cluster up``, whose
    #: cluster must outlive the command.
    die_with_owner: bool = True
    #: Print progress lines to this callable (stderr by default).
    log: Callable[[str], None] = attrs.field(default=lambda m: print(f"[local-cluster] {m}", flush=True))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@attrs.define
class _Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    def tail(self, lines: int = 40) -> str:
        try:
            return "".join(self.log_path.read_text(errors="replace").splitlines(keepends=True)[-lines:])
        except OSError:
            return "(no log)"


class LocalCluster:
    """Owns the processes of one local control plane. Use as a context manager or start/stop."""

    def __init__(self, settings: ClusterSettings | None = None) -> None:
        self.settings = settings or ClusterSettings()
        self._procs: list[_Proc] = []
        self._owns_run_dir = self.settings.run_dir is None
        if self._owns_run_dir:
            sweep_stale_run_dirs()
        self.run_dir = self.settings.run_dir or Path(tempfile.mkdtemp(prefix="kruise-local-cluster-"))
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if self._owns_run_dir:
            (self.run_dir / OWNER_FILE).write_text(str(os.getpid()))
        self.kubeconfig = self.run_dir / "kubeconfig"
        self.etcd_endpoint = ""
        self.server = ""
        self.pki: ClusterPKI | None = None
        self.timings: dict[str, float] = {}
        #: ``https://127.0.0.1:PORT`` of kruise-manager's webhook server when ``settings.openkruise``.
        self.openkruise_webhook = ""

    # -- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> LocalCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        started = time.monotonic()
        bins = build.ensure_binaries()
        kruise_bin = openkruise.ensure_built() if self.settings.openkruise else None
        if self.settings.gateway_api:
            gatewayapi.ensure_fetched()
        self.timings["build_check_s"] = time.monotonic() - started
        try:
            self.pki = ClusterPKI.generate(self.run_dir / "pki", service_ip=SERVICE_IP)
            self._start_etcd(bins)
            self._start_apiserver(bins)
            self._write_kubeconfig()
            self._start_controller_manager(bins)
            self._start_scheduler(bins)
            self._start_kwok(bins)
            self._create_nodes()
            self._wait_nodes_ready()
            self._wait_default_service_account()
            if kruise_bin is not None:
                openkruise.start(self, kruise_bin)
            if self.settings.gateway_api:
                t0 = time.monotonic()
                gatewayapi.install(self)
                self.timings["gateway_api_s"] = time.monotonic() - t0
            if self.settings.istio:
                istio.install(self)
        except BaseException:
            self.stop()
            raise
        self.timings["start_s"] = time.monotonic() - started
        self.settings.log(f"control plane ready in {self.timings['start_s']:.1f}s at {self.server}")

    def stop(self) -> None:
        for proc in reversed(self._procs):
            _terminate(proc)
        self._procs.clear()
        if self._owns_run_dir and not self.settings.keep_run_dir:
            shutil.rmtree(self.run_dir, ignore_errors=True)

    def pids(self) -> dict[str, int]:
        return {p.name: p.popen.pid for p in self._procs}

    # -- components ------------------------------------------------------------------------
    def _spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> _Proc:
        log_path = self.run_dir / "logs" / f"{name}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as fh:
            popen = subprocess.Popen(args, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True, cwd=self.run_dir,
                                     env=None if env is None else {**os.environ, **env},
                                     preexec_fn=die_with_parent if self.settings.die_with_owner else None)
        proc = _Proc(name, popen, log_path)
        self._procs.append(proc)
        return proc

    def _wait(self, proc: _Proc, what: str, check: Callable[[], bool], timeout: float = READY_TIMEOUT_S) -> None:
        t0 = time.monotonic()
        deadline = t0 + timeout
        while time.monotonic() < deadline:
            if proc.popen.poll() is not None:
                raise ClusterError(f"{proc.name} exited with code {proc.popen.returncode} before {what}; "
                                   f"log {proc.log_path}:\n{proc.tail()}")
            try:
                if check():
                    self.timings[f"{proc.name}_ready_s"] = time.monotonic() - t0
                    return
            except (OSError, ValueError, urllib.error.URLError):
                pass
            time.sleep(0.2)
        raise ClusterError(f"{proc.name}: timed out after {timeout:.0f}s waiting for {what}; "
                           f"log {proc.log_path}:\n{proc.tail()}")

    def _start_etcd(self, bins: Path) -> None:
        client, peer = free_port(), free_port()
        self.etcd_endpoint = f"http://127.0.0.1:{client}"
        peer_url = f"http://127.0.0.1:{peer}"
        proc = self._spawn("etcd", [
            str(bins / "etcd"), "--name=local", f"--data-dir={self.run_dir / 'etcd-data'}",
            f"--listen-client-urls={self.etcd_endpoint}", f"--advertise-client-urls={self.etcd_endpoint}",
            f"--listen-peer-urls={peer_url}", f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=local={peer_url}", "--unsafe-no-fsync=true", "--log-level=warn",
            "--quota-backend-bytes=8589934592",
        ])

        def healthy() -> bool:
            with urllib.request.urlopen(f"{self.etcd_endpoint}/health", timeout=2) as r:
                return bool(json.loads(r.read()).get("health") == "true")

        self._wait(proc, "GET /health", healthy)
        self.settings.log(f"etcd healthy at {self.etcd_endpoint}")

    def stop_apiserver(self) -> None:
        """Stop kube-apiserver only (outage tests): the other components keep running and retrying."""
        proc = self._proc("kube-apiserver")
        _terminate(proc)
        self._procs.remove(proc)
        self.settings.log("kube-apiserver stopped")

    def start_apiserver(self) -> None:
        """Start kube-apiserver again on the same port (the kubeconfig stays valid); wait for /readyz."""
        if any(p.name == "kube-apiserver" for p in self._procs):
            raise ClusterError("kube-apiserver is already running")
        port = int(self.server.rsplit(":", 1)[1])
        self._start_apiserver(build.bin_dir(), port=port)

    def _proc(self, name: str) -> _Proc:
        for proc in self._procs:
            if proc.name == name:
                return proc
        raise ClusterError(f"{name} is not running")

    def _start_apiserver(self, bins: Path, *, port: int | None = None) -> None:
        assert self.pki is not None
        port = port or free_port()
        self.server = f"https://127.0.0.1:{port}"
        p = self.pki
        proc = self._spawn("kube-apiserver", [
            str(bins / "kube-apiserver"), f"--etcd-servers={self.etcd_endpoint}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={port}",
            f"--tls-cert-file={p.apiserver_crt}", f"--tls-private-key-file={p.apiserver_key}",
            f"--client-ca-file={p.ca_crt}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={p.sa_pub}", f"--service-account-signing-key-file={p.sa_key}",
            f"--service-cluster-ip-range={SERVICE_CIDR}", "--authorization-mode=RBAC",
            "--endpoint-reconciler-type=none", "--allow-privileged=true", "--profiling=false",
            "--max-requests-inflight=1000", "--max-mutating-requests-inflight=500",
            *self.settings.apiserver_flags,
        ])
        self._wait(proc, "/readyz", lambda: self._get("/readyz", raw=True) == b"ok")
        self.settings.log(f"kube-apiserver ready at {self.server}")

    def _write_kubeconfig(self) -> None:
        assert self.pki is not None
        b64 = lambda path: base64.b64encode(path.read_bytes()).decode()  # noqa: E731
        cfg = {
            "apiVersion": "v1", "kind": "Config", "current-context": "kruise-local",
            "clusters": [{"name": "kruise-local", "cluster": {
                "server": self.server, "certificate-authority-data": b64(self.pki.ca_crt)}}],
            "users": [{"name": "kruise-local-admin", "user": {
                "client-certificate-data": b64(self.pki.admin_crt), "client-key-data": b64(self.pki.admin_key)}}],
            "contexts": [{"name": "kruise-local", "context": {
                "cluster": "kruise-local", "user": "kruise-local-admin", "namespace": "default"}}],
        }
        self.kubeconfig.write_text(yaml.safe_dump(cfg))
        self.kubeconfig.chmod(0o600)

    def _start_controller_manager(self, bins: Path) -> None:
        assert self.pki is not None
        self._spawn("kube-controller-manager", [
            str(bins / "kube-controller-manager"), f"--kubeconfig={self.kubeconfig}",
            f"--authentication-kubeconfig={self.kubeconfig}", f"--authorization-kubeconfig={self.kubeconfig}",
            "--leader-elect=false", "--controllers=*", "--bind-address=127.0.0.1", f"--secure-port={free_port()}",
            f"--service-account-private-key-file={self.pki.sa_key}", f"--root-ca-file={self.pki.ca_crt}",
            "--kube-api-qps=500", "--kube-api-burst=1000", "--node-monitor-grace-period=120s",
            "--concurrent-deployment-syncs=10", "--concurrent-replicaset-syncs=10",
            "--concurrent-statefulset-syncs=10", "--concurrent-daemonset-syncs=10",
        ])

    def _start_scheduler(self, bins: Path) -> None:
        config = self.run_dir / "scheduler.yaml"
        config.write_text(yaml.safe_dump({
            "apiVersion": "kubescheduler.config.k8s.io/v1", "kind": "KubeSchedulerConfiguration",
            "clientConnection": {"kubeconfig": str(self.kubeconfig), "qps": 500, "burst": 1000},
            "leaderElection": {"leaderElect": False},
        }))
        self._spawn("kube-scheduler", [
            str(bins / "kube-scheduler"), f"--config={config}", f"--authentication-kubeconfig={self.kubeconfig}",
            f"--authorization-kubeconfig={self.kubeconfig}", "--bind-address=127.0.0.1", f"--secure-port={free_port()}",
        ])

    def _start_kwok(self, bins: Path) -> None:
        args = [str(bins / "kwok"), f"--kubeconfig={self.kubeconfig}", "--manage-all-nodes=true",
                f"--cidr={POD_CIDR}", "--node-lease-duration-seconds=40"]
        for stage in stages.kwok_configs(build.stage_files(), self.run_dir / "kwok-stages"):
            args.append(f"--config={stage}")
        self._spawn("kwok", args)

    def _create_nodes(self) -> None:
        for i in range(self.settings.nodes):
            self.create_node(f"kwok-node-{i}")

    def create_node(self, name: str) -> None:
        """Create one fake Node that kwok manages; ordinary workloads schedule onto it."""
        node = {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "annotations": {"kwok.x-k8s.io/node": "fake"},
                         "labels": {"type": "kwok", "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                                    "kubernetes.io/arch": "amd64"}},
            "status": {"allocatable": {"cpu": "64", "memory": "256Gi", "pods": "1000"},
                       "capacity": {"cpu": "64", "memory": "256Gi", "pods": "1000"}},
        }
        self._request("POST", "/api/v1/nodes", node, ok_conflict=True)

    def _wait_nodes_ready(self) -> None:
        kwok = next(p for p in self._procs if p.name == "kwok")

        def ready() -> bool:
            nodes = json.loads(self._get("/api/v1/nodes", raw=True))["items"]
            ready_count = sum(1 for n in nodes for c in n.get("status", {}).get("conditions", [])
                              if c["type"] == "Ready" and c["status"] == "True")
            return ready_count >= self.settings.nodes

        self._wait(kwok, f"{self.settings.nodes} Ready nodes", ready)
        self.settings.log(f"{self.settings.nodes} kwok nodes Ready")

    def _wait_default_service_account(self) -> None:
        kcm = next(p for p in self._procs if p.name == "kube-controller-manager")
        self._wait(kcm, "the default ServiceAccount",
                   lambda: bool(self._get("/api/v1/namespaces/default/serviceaccounts/default", raw=True)))

    # -- helpers for fixtures -------------------------------------------------------------------
    def create_namespace(self, name: str, *, labels: dict[str, str] | None = None) -> None:
        """Create a namespace and wait for its ``default`` ServiceAccount (Pods need it)."""
        self._request("POST", "/api/v1/namespaces",
                      {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels or {}}})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                self._get(f"/api/v1/namespaces/{name}/serviceaccounts/default", raw=True)
                return
            except urllib.error.HTTPError:
                time.sleep(0.1)
        raise ClusterError(f"namespace {name}: the default ServiceAccount did not appear within 30s")

    def delete_namespace(self, name: str) -> None:
        """Ask for deletion; the real namespace controller finishes it in the background."""
        self._request("DELETE", f"/api/v1/namespaces/{name}", {}, ok_missing=True)

    def get(self, path: str) -> Any:
        """GET an API path as the admin (a bootstrap helper, not the project's kube client)."""
        return self._get(path)

    # -- tiny HTTPS client (admin cert) used only for bootstrap checks ---------------------------
    def _ssl(self) -> ssl.SSLContext:
        assert self.pki is not None
        ctx = ssl.create_default_context(cafile=str(self.pki.ca_crt))
        ctx.load_cert_chain(str(self.pki.admin_crt), str(self.pki.admin_key))
        return ctx

    def _get(self, path: str, *, raw: bool = False) -> Any:
        with urllib.request.urlopen(f"{self.server}{path}", context=self._ssl(), timeout=5) as r:
            body = r.read()
        return body if raw else json.loads(body)

    def _request(self, method: str, path: str, body: dict[str, Any], *, ok_conflict: bool = False,
                 ok_missing: bool = False) -> None:
        req = urllib.request.Request(f"{self.server}{path}", method=method, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        try:
            urllib.request.urlopen(req, context=self._ssl(), timeout=10).close()
        except urllib.error.HTTPError as e:
            if not ((ok_conflict and e.code == 409) or (ok_missing and e.code == 404)):
                raise ClusterError(f"{method} {path} failed: {e.code} {e.read()[:500]!r}") from e


_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In the child, before exec: ask the kernel for SIGKILL when the spawning process dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def sweep_stale_run_dirs(tmp: Path | None = None) -> list[Path]:
    """Remove temp run dirs of clusters whose owner process is gone (a killed run cannot clean up)."""
    removed = []
    for d in (tmp or Path(tempfile.gettempdir())).glob("kruise-local-cluster-*"):
        try:
            pid = int((d / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
        except PermissionError:
            pass
    return removed


def _terminate(proc: _Proc) -> None:
    """SIGTERM the component's whole process group, then SIGKILL after the grace period."""
    if proc.popen.poll() is not None:
        return
    try:
        os.killpg(proc.popen.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.popen.wait(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.popen.wait(timeout=5)


@contextlib.contextmanager
def kubeconfig_or_local(kubeconfig: str | None, *, nodes: int = 3,
                        apiserver_flags: tuple[str, ...] = ()) -> Iterator[str]:
    """``kubeconfig`` as given, or a fresh local control plane's for the duration (benchmarks)."""
    if kubeconfig:
        yield kubeconfig
        return
    with LocalCluster(ClusterSettings(nodes=nodes, apiserver_flags=apiserver_flags)) as cluster:
        yield str(cluster.kubeconfig)
