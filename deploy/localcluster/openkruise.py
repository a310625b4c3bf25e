"""OpenKruise in the local cluster: the real kruise-manager, built from the Go module proxy.

CloneSet (``apps.kruise.io/v1alpha1``), Advanced StatefulSet (``apps.kruise.io/v1beta1``) and
Advanced DaemonSet (``apps.kruise.io/v1alpha1``) are reconciled by OpenKruise's own controllers,
so tests of multi-batch releases on those workloads see the real partition / paused semantics.

Build. ``github.com/openkruise/kruise`` keeps its ``main`` package at the module root and its
go.mod replaces the k8s.io modules with *published* tags (v0.32.x), not local paths. So we build
the released module as the main module — a writable copy of its module-cache directory, with its
own go.mod and go.sum, so its replace lines apply exactly as upstream's release build — into
``<cache root>/openkruise-<version>_<go>/bin/kruise-manager``. Its CRDs (``config/crd/bases``)
and webhook configurations (``config/webhook``) are copied from the same module into
``manifests/`` beside it. Everything is installed under a temporary name and renamed.

Run. kruise-manager runs as one more process of :class:`~localcluster.cluster.LocalCluster`
(opt-in: ``ClusterSettings(openkruise=True)`` / ``local-cluster up --openkruise``), with the
admin kubeconfig. Services do not route to host processes here, so its admission webhooks run
in kruise's own *URL mode*: with ``WEBHOOK_HOST=127.0.0.1`` its webhook controller writes a
self-signed CA and a serving cert (SAN IP 127.0.0.1, DNS localhost) to ``WEBHOOK_CERT_DIR`` and
rewrites the webhook configurations we create (from ``config/webhook``, as kustomize renders
them) to ``clientConfig.url: https://127.0.0.1:<WEBHOOK_PORT>/...`` with that CA as caBundle.
No Service or ``kruise-webhook-certs`` Secret is needed. kruise-daemon (image pulling, container
restarts on real nodes) is not run, so the ``KruiseDaemon`` feature gate is off.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from . import build, versions

if TYPE_CHECKING:
    from .cluster import LocalCluster

MODULE = "github.com/openkruise/kruise"
BINARY = "kruise-manager"
NAMESPACE = "kruise-system"
#: kruise's defaults (pkg/webhook/util): the Service name only matters until the manager rewrites
#: the configurations to URL mode; the configuration names are what its webhook controller looks up.
SERVICE_NAME = "kruise-webhook-service"
MUTATING_CONFIG = "kruise-mutating-webhook-configuration"
VALIDATING_CONFIG = "kruise-validating-webhook-configuration"
#: kruise-daemon is not run (it pulls images / restarts containers on real nodes).
FEATURE_GATES = "KruiseDaemon=false"
#: Workload kinds this project relies on; their CRDs must be Established before we call it ready.
REQUIRED_CRDS = ("clonesets.apps.kruise.io", "statefulsets.apps.kruise.io", "daemonsets.apps.kruise.io")
#: kruise-manager may take a while: webhook certs, caches of every kruise kind, then controllers.
READY_TIMEOUT_S = 150.0


def _log(msg: str) -> None:
    print(f"[local-cluster openkruise] {msg}", file=sys.stderr, flush=True)


# -- cache layout -------------------------------------------------------------------------------
def cache_dir() -> Path:
    return versions.cache_root() / versions.openkruise_version_key(build.go_version())


def manager_binary() -> Path:
    return cache_dir() / "bin" / BINARY


def manifest_dir() -> Path:
    return cache_dir() / "manifests"


def crd_files() -> list[Path]:
    return sorted((manifest_dir() / "crds").glob("*.yaml"))


def crd_patch_files() -> list[Path]:
    return sorted((manifest_dir() / "crd-patches").glob("*.yaml"))


def webhook_files() -> tuple[Path, Path]:
    d = manifest_dir() / "webhook"
    return d / "manifests.yaml", d / "patch_manifests.yaml"


def missing() -> list[str]:
    out = []
    if not manager_binary().is_file():
        out.append(BINARY)
    if not (manifest_dir() / "complete").is_file():
        out.append("manifests")
    return out


# -- build --------------------------------------------------------------------------------------
def _check_go_line(gomod: str) -> None:
    """Refuse early, with one clear message, when the release wants a newer Go than installed."""
    m = re.search(r"^go\s+(\d+)\.(\d+)", gomod, flags=re.M)
    have = re.match(r"go(\d+)\.(\d+)", build.go_version())
    if m and have and (int(m[1]), int(m[2])) > (int(have[1]), int(have[2])):
        raise build.BuildError(
            f"{MODULE}@{versions.OPENKRUISE_VERSION} needs Go {m[1]}.{m[2]} but {build.go_version()} is "
            "installed (GOTOOLCHAIN=local); install a newer Go or pin an older OpenKruise in versions.py")


class _Heartbeat:
    """Print 'still building' every ``every`` seconds so a long compile is visibly alive."""

    def __init__(self, what: str, every: float = 60.0) -> None:
        self.what, self.every = what, every
        self._stop = threading.Event()
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            _log(f"still building {self.what} ({time.monotonic() - self._t0:.0f}s)")

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()


def _copy_manifests(src: Path) -> None:
    """CRDs (+ the conversion-webhook patches kustomize applies) and webhook configurations."""
    bases = src / "config" / "crd" / "bases"
    kustomization = yaml.safe_load((src / "config" / "crd" / "kustomization.yaml").read_text()) or {}
    patches = [src / "config" / "crd" / rel for rel in kustomization.get("patchesStrategicMerge", [])]
    webhook = src / "config" / "webhook"
    crds = sorted(bases.glob("*.yaml"))
    names = {p.name for p in crds}
    for need in ("apps.kruise.io_clonesets.yaml", "apps.kruise.io_statefulsets.yaml", "apps.kruise.io_daemonsets.yaml"):
        if need not in names:
            raise build.BuildError(f"{need} not found under {bases}; the OpenKruise module layout changed")
    for f in ("manifests.yaml", "patch_manifests.yaml"):
        if not (webhook / f).is_file():
            raise build.BuildError(f"{webhook / f} not found; the OpenKruise module layout changed")
    dest = manifest_dir()
    (dest / "complete").unlink(missing_ok=True)
    for p in crds:
        build.install_file(p, dest / "crds" / p.name, mode=0o644)
    for p in patches:
        build.install_file(p, dest / "crd-patches" / p.name, mode=0o644)
    for f in ("manifests.yaml", "patch_manifests.yaml"):
        build.install_file(webhook / f, dest / "webhook" / f, mode=0o644)
    (dest / "complete").write_text(f"{MODULE}@{versions.OPENKRUISE_VERSION}\n")


def ensure_built() -> Path:
    """Build kruise-manager and copy its manifests if missing; return the binary. Cheap when warm."""
    todo = missing()
    binary = manager_binary()
    if not todo:
        return binary
    started = time.monotonic()
    log = cache_dir() / "build.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    _log(f"cache {cache_dir()} lacks {', '.join(todo)}; fetching {MODULE}@{versions.OPENKRUISE_VERSION}")
    info = build.download_module(MODULE, versions.OPENKRUISE_VERSION)
    src = Path(info["Dir"])
    _check_go_line((src / "go.mod").read_text())
    if "manifests" in todo:
        _copy_manifests(src)
    if BINARY in todo:
        with tempfile.TemporaryDirectory(prefix="localcluster-openkruise-") as tmp:
            work = Path(tmp) / "kruise"
            # The module cache is read-only; a copy is a normal main module (go.mod + go.sum).
            shutil.copytree(src, work, ignore=shutil.ignore_patterns("docs", "test", "*_test.go"))
            for p in [work, *work.rglob("*")]:
                p.chmod(p.stat().st_mode | 0o200)
            _log(f"building {BINARY} {versions.OPENKRUISE_VERSION} (several minutes on 2 cores; output in {log})")
            with _Heartbeat(BINARY):
                build.run_go(["go", "build", "-trimpath", "-o", str(work / BINARY), "."], work,
                             f"go build {MODULE}@{versions.OPENKRUISE_VERSION}", log)
            build.install_file(work / BINARY, binary)
    _log(f"OpenKruise ready in the cache after {time.monotonic() - started:.0f}s")
    return binary


# -- manifests ------------------------------------------------------------------------------------
def webhook_configurations() -> list[dict[str, Any]]:
    """kruise's Mutating/ValidatingWebhookConfiguration as its kustomize overlay renders them.

    ``config/webhook``: ``manifests.yaml`` (generated), ``patch_manifests.yaml`` (strategic merge
    by webhook name: namespace/object selectors), namespace ``kruise-system``, name prefix
    ``kruise-``. The manager then rewrites each clientConfig to URL mode with its caBundle.
    """
    manifests, patches = (list(yaml.safe_load_all(p.read_text())) for p in webhook_files())
    by_kind = {d["kind"]: d for d in patches if d}
    out = []
    for doc in manifests:
        if not doc:
            continue
        doc = copy.deepcopy(doc)
        patch = {w["name"]: w for w in by_kind.get(doc["kind"], {}).get("webhooks", [])}
        for wh in doc.get("webhooks", []):
            for key, value in patch.get(wh["name"], {}).items():
                if key != "name":
                    wh[key] = copy.deepcopy(value)
            svc = wh.get("clientConfig", {}).get("service")
            if svc is not None:
                svc["namespace"], svc["name"] = NAMESPACE, SERVICE_NAME
        doc["metadata"]["name"] = "kruise-" + doc["metadata"]["name"]
        out.append(doc)
    names = {d["metadata"]["name"] for d in out}
    if names != {MUTATING_CONFIG, VALIDATING_CONFIG}:
        raise build.BuildError(f"unexpected webhook configurations in {webhook_files()[0]}: {sorted(names)}")
    return out


def crds() -> list[dict[str, Any]]:
    """Every OpenKruise CRD as ``config/crd`` renders it.

    The kustomization patches ``spec.conversion`` of the multi-version CRDs (Advanced StatefulSet
    and DaemonSet, SidecarSet: v1alpha1 + v1beta1) to a conversion webhook served by
    kruise-manager; it then points them at its URL with its caBundle, like the admission webhooks.
    """
    docs = []
    for p in crd_files():
        docs += [d for d in yaml.safe_load_all(p.read_text()) if d]
    by_name = {d["metadata"]["name"]: d for d in docs}
    for p in crd_patch_files():
        for patch in yaml.safe_load_all(p.read_text()):
            if not patch or patch["metadata"]["name"] not in by_name:
                continue
            conversion = copy.deepcopy(patch["spec"]["conversion"])
            svc = conversion.get("webhook", {}).get("clientConfig", {}).get("service")
            if svc is not None:
                svc["namespace"], svc["name"] = NAMESPACE, SERVICE_NAME
            by_name[patch["metadata"]["name"]]["spec"]["conversion"] = conversion
    return docs


# -- running ------------------------------------------------------------------------------------
def _api(cluster: LocalCluster, method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{cluster.server}{path}", method=method, data=data,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, context=cluster._ssl(), timeout=30) as r:
        return json.loads(r.read() or b"null")


def _create(cluster: LocalCluster, path: str, obj: dict[str, Any]) -> None:
    try:
        _api(cluster, "POST", path, obj)
    except urllib.error.HTTPError as e:
        if e.code != 409:
            from .cluster import ClusterError

            raise ClusterError(f"POST {path} {obj.get('kind')}/{obj['metadata']['name']} failed: "
                               f"{e.code} {e.read()[:500]!r}") from e


def install_manifests(cluster: LocalCluster) -> None:
    """Namespace, every OpenKruise CRD, and the two webhook configurations kruise-manager manages."""
    _create(cluster, "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": NAMESPACE, "labels": {"control-plane": "controller-manager"}}})
    for crd in crds():
        _create(cluster, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
    for conf in webhook_configurations():
        plural = conf["kind"].lower() + "s"
        _create(cluster, f"/apis/admissionregistration.k8s.io/v1/{plural}", conf)


def _established(cluster: LocalCluster) -> bool:
    for name in REQUIRED_CRDS:
        crd = _api(cluster, "GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
        conds = {c["type"]: c["status"] for c in crd.get("status", {}).get("conditions", [])}
        if conds.get("Established") != "True":
            return False
    return True


def _webhook_live(cluster: LocalCluster) -> bool:
    """A server-side dry-run CloneSet comes back defaulted only if kruise's mutating webhook ran."""
    probe = {"apiVersion": "apps.kruise.io/v1alpha1", "kind": "CloneSet",
             "metadata": {"name": "webhook-probe", "namespace": NAMESPACE},
             "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "webhook-probe"}},
                      "template": {"metadata": {"labels": {"app": "webhook-probe"}},
                                   "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}
    try:
        out = _api(cluster, "POST", f"/apis/apps.kruise.io/v1alpha1/namespaces/{NAMESPACE}/clonesets?dryRun=All", probe)
    except urllib.error.HTTPError:
        return False
    return bool(out.get("spec", {}).get("updateStrategy", {}).get("type"))


def manager_args(binary: Path, cluster: LocalCluster, *, metrics_port: int, health_port: int) -> list[str]:
    return [
        str(binary), f"--kubeconfig={cluster.kubeconfig}", "--enable-leader-election=false",
        f"--metrics-addr=127.0.0.1:{metrics_port}", f"--health-probe-addr=127.0.0.1:{health_port}",
        "--enable-pprof=false", f"--feature-gates={FEATURE_GATES}",
        "--rest-config-qps=200", "--rest-config-burst=400", "--logtostderr=true",
    ]


def start(cluster: LocalCluster, binary: Path) -> None:
    """Install CRDs + webhook configurations, start kruise-manager, wait until it serves.

    Ready means: the three workload CRDs are Established, the manager's ``/readyz`` (which
    includes its webhook self-check) is ok, and a dry-run CloneSet is defaulted by its mutating
    webhook through the API server (so the URL-mode registration is live). Controllers start
    right after the webhook is ready and pick up any object created before.
    """
    from .cluster import free_port

    t0 = time.monotonic()
    install_manifests(cluster)
    cert_dir = cluster.run_dir / "kruise-webhook-certs"
    cert_dir.mkdir(parents=True, exist_ok=True)
    webhook_port, metrics_port, health_port = free_port(), free_port(), free_port()
    env = {"POD_NAMESPACE": NAMESPACE, "WEBHOOK_HOST": "127.0.0.1", "WEBHOOK_PORT": str(webhook_port),
           "WEBHOOK_CERT_DIR": str(cert_dir), "KUBECONFIG": str(cluster.kubeconfig)}
    proc = cluster._spawn(BINARY, manager_args(binary, cluster, metrics_port=metrics_port, health_port=health_port),
                          env=env)
    cluster._wait(proc, "OpenKruise CRDs Established", lambda: _established(cluster), timeout=READY_TIMEOUT_S)

    def readyz() -> bool:
        with urllib.request.urlopen(f"http://127.0.0.1:{health_port}/readyz", timeout=2) as r:
            return r.status == 200

    cluster._wait(proc, "kruise-manager /readyz", readyz, timeout=READY_TIMEOUT_S)
    cluster._wait(proc, "kruise webhooks live (dry-run CloneSet defaulted)", lambda: _webhook_live(cluster),
                  timeout=READY_TIMEOUT_S)
    cluster.openkruise_webhook = f"https://127.0.0.1:{webhook_port}"
    cluster.timings["openkruise_ready_s"] = time.monotonic() - t0
    cluster.settings.log(f"OpenKruise {versions.OPENKRUISE_VERSION} kruise-manager ready in "
                         f"{cluster.timings['openkruise_ready_s']:.1f}s (webhooks at 127.0.0.1:{webhook_port})")


def main() -> int:
    try:
        print(ensure_built())
    except build.BuildError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
