"""Helm v3 for the chart tests, built from the Go module proxy into the control-plane cache.

Why build it: the chart (``deploy/charts/kruise-rollout``) is only proven by the real ``helm``
— its template engine, ``values.schema.json`` validation, CRD handling and release storage —
and no registry this machine may use ships a helm binary. ``helm.sh/helm/v3`` keeps no
``replace`` lines in its go.mod, so ``go install helm.sh/helm/v3/cmd/helm@<version>`` builds the
release exactly as its go.mod pins it. The binary lands in
``<cache root>/helm-<version>_<go>/bin/helm`` (beside, not inside, the control plane's directory:
a helm bump must not rebuild kube-apiserver), written under a temporary name and renamed, so a
failed or interrupted build never leaves a binary that looks finished.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import build, versions

MODULE = "helm.sh/helm/v3"
PACKAGE = f"{MODULE}/cmd/helm"
BINARY = "helm"


def _log(msg: str) -> None:
    print(f"[local-cluster helm] {msg}", file=sys.stderr, flush=True)


def cache_dir() -> Path:
    return versions.cache_root() / versions.helm_version_key(build.go_version())


def binary() -> Path:
    return cache_dir() / "bin" / BINARY


def _client_go_minor(gomod: str) -> str:
    """``k8s.io/client-go v0.36.2`` in helm's go.mod → ``"36"`` (the Kubernetes minor it speaks)."""
    m = re.search(r"^\s*k8s\.io/client-go\s+v0\.(\d+)\.", gomod, flags=re.M)
    if m is None:
        raise build.BuildError(f"k8s.io/client-go not found in the go.mod of {MODULE}@{versions.HELM_VERSION}; "
                               "the module layout changed")
    return m.group(1)


def _ldflags(version: str) -> list[str]:
    """What upstream's Makefile sets: the version ``helm version`` prints, and the Kubernetes version
    ``helm template``/``lint`` assume offline (else 1.20, and a chart's ``kubeVersion`` check fails)."""
    minor = _client_go_minor(Path(build.download_module(MODULE, version)["GoMod"]).read_text())
    flags = ["-s", "-w", f"-X {MODULE}/internal/version.version={version}",
             f"-X {MODULE}/internal/version.gitTreeState=clean"]
    for pkg in ("pkg/lint/rules", "pkg/chartutil"):
        flags += [f"-X {MODULE}/{pkg}.k8sVersionMajor=1", f"-X {MODULE}/{pkg}.k8sVersionMinor={minor}"]
    return flags


def ensure_built() -> Path:
    """Build helm if it is not in the cache; return its path. Cheap when warm; loud on failure."""
    target = binary()
    if target.is_file():
        return target
    started = time.monotonic()
    log = cache_dir() / "build.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    version = versions.HELM_VERSION
    _log(f"cache {cache_dir()} lacks helm; building {PACKAGE}@{version} (a few minutes on 2 cores; log {log})")
    with tempfile.TemporaryDirectory(prefix="localcluster-helm-") as tmp:
        gobin = Path(tmp) / "bin"
        gobin.mkdir()
        ldflags = " ".join(_ldflags(version))
        args = ["go", "install", "-trimpath", "-ldflags", ldflags, f"{PACKAGE}@{version}"]
        env = dict(build.go_env(), GOBIN=str(gobin))
        with log.open("a") as fh:
            fh.write(f"\n$ {' '.join(args)}\n")
            fh.flush()
            proc = subprocess.run(args, cwd=tmp, env=env, stdout=fh, stderr=fh)
        if proc.returncode != 0 or not (gobin / BINARY).is_file():
            tail = "".join(log.read_text().splitlines(keepends=True)[-30:])
            raise build.BuildError(f"go install {PACKAGE}@{version} failed (exit {proc.returncode}); "
                                   f"log {log}:\n{tail}")
        build.install_file(gobin / BINARY, target)
    _log(f"built helm {version} in {time.monotonic() - started:.0f}s: {target}")
    return target


def find() -> Path | None:
    """The cached helm, or one on PATH only when the cache has none (never builds)."""
    if binary().is_file():
        return binary()
    on_path = shutil.which(BINARY)
    return Path(on_path) if on_path else None


def main() -> int:
    try:
        print(ensure_built())
    except build.BuildError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
