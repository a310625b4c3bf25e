"""Build the control-plane binaries from the Go module proxy into a version-keyed cache.

No registry ships etcd / kube-apiserver / kwok binaries that this machine may fetch, but
the Go module proxy serves their source. We build them once per version combination into
``<cache root>/<version key>/bin`` and reuse them afterwards; a half-finished build never
leaves a binary in place because each one is written to a temporary name and renamed.

Why a wrapper module for Kubernetes: ``k8s.io/kubernetes`` replaces its ~30 staging modules
with local paths, so ``go install k8s.io/kubernetes/...@v1.x`` refuses. We generate a
wrapper ``go.mod`` that requires the release and replaces every staging module with its
published ``v0.x.y`` tag, reading the replace list from the go.mod the proxy serves.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import versions


class BuildError(RuntimeError):
    """A control-plane binary could not be built; the message says what to do."""


def _log(msg: str) -> None:
    print(f"[local-cluster build] {msg}", file=sys.stderr, flush=True)


def go_version() -> str:
    """Return e.g. ``go1.26.8``; raise one clear error when Go is missing."""
    go = shutil.which("go")
    if go is None:
        raise BuildError(
            "the Go toolchain is not on PATH; the local control plane is built from the Go "
            "module proxy. Install Go >= 1.26 (https://go.dev/doc/install or `apt-get install "
            "golang` if recent enough) and re-run."
        )
    out = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True)
    if out.returncode != 0 or not out.stdout.strip():
        raise BuildError(f"`go env GOVERSION` failed: {out.stderr.strip()}")
    return out.stdout.strip()


def bin_dir() -> Path:
    return versions.cache_root() / versions.version_key(go_version()) / "bin"


def stage_dir() -> Path:
    return versions.cache_root() / versions.version_key(go_version()) / "kwok-stages"


def missing_binaries() -> list[str]:
    d = bin_dir()
    missing = [b for b in versions.BINARIES if not (d / b).is_file()]
    if not all(f.is_file() for f in stage_files()):
        missing.append("kwok-stages")
    return missing


def go_env() -> dict[str, str]:
    """Environment for every go command: local toolchain only, static binaries, module mode."""
    env = dict(os.environ)
    env.update(GOTOOLCHAIN="local", CGO_ENABLED="0", GOFLAGS="-mod=mod -buildvcs=false")
    return env


_go_env = go_env


def run_go(args: list[str], cwd: Path, what: str, log: Path) -> str:
    """Run a go command, appending output to ``log``; raise with the log tail on failure."""
    with log.open("a") as fh:
        fh.write(f"\n$ {' '.join(args)}\n")
        fh.flush()
        proc = subprocess.run(args, cwd=cwd, env=go_env(), stdout=subprocess.PIPE, stderr=fh, text=True)
        fh.write(proc.stdout)
    if proc.returncode != 0:
        tail = "".join(log.read_text().splitlines(keepends=True)[-30:])
        raise BuildError(f"{what} failed (exit {proc.returncode}); log {log}:\n{tail}")
    return proc.stdout


_run = run_go


def download_module(path: str, version: str) -> dict[str, str]:
    """``go mod download -json path@version``: the module's ``Dir``, ``GoMod``, ``Zip``…"""
    proc = subprocess.run(["go", "mod", "download", "-json", f"{path}@{version}"],
                          capture_output=True, text=True, env=go_env())
    if proc.returncode != 0:
        raise BuildError(f"go mod download {path}@{version} failed (exit {proc.returncode}): "
                         f"{(proc.stdout + proc.stderr).strip()[-2000:]}")
    return dict(json.loads(proc.stdout))


def install_file(src: Path, dest: Path, *, mode: int = 0o755) -> None:
    """Copy ``src`` to ``dest`` atomically (temporary name, then rename): never a half-written file."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    staged = dest.with_name(f".{dest.name}.partial")
    shutil.copy2(src, staged)
    staged.chmod(mode)
    staged.rename(dest)


def _install(tmp_out: Path, name: str) -> None:
    install_file(tmp_out, bin_dir() / name)


def _build_etcd(work: Path, log: Path) -> None:
    mod = work / "etcd"
    mod.mkdir()
    _run(["go", "mod", "init", "localcluster/etcd"], mod, "go mod init (etcd)", log)
    _run(["go", "get", f"go.etcd.io/etcd/server/v3@{versions.ETCD_VERSION}"], mod, "go get etcd", log)
    _run(["go", "build", "-trimpath", "-o", str(mod / "etcd"), "go.etcd.io/etcd/server/v3"], mod, "go build etcd", log)
    _install(mod / "etcd", "etcd")


def _kubernetes_wrapper_gomod() -> str:
    """A go.mod that builds k8s.io/kubernetes with staging modules at their published tags."""
    info = json.loads(
        subprocess.run(
            ["go", "mod", "download", "-json", f"k8s.io/kubernetes@{versions.KUBERNETES_VERSION}"],
            capture_output=True, text=True, env=_go_env(), check=True,
        ).stdout
    )
    upstream = Path(info["GoMod"]).read_text()
    staging_tag = "v0." + versions.KUBERNETES_VERSION.split(".", 1)[1]
    staged = re.findall(r"^\s*(k8s\.io/[\w.-]+)\s*=>\s*\./staging/", upstream, flags=re.M)
    if not staged:
        raise BuildError("no staging replace lines found in k8s.io/kubernetes go.mod; the format changed")
    go_line = re.search(r"^go\s+(\S+)", upstream, flags=re.M)
    godebug = re.search(r"^godebug\s+.*$", upstream, flags=re.M)
    lines = ["module localcluster/kubernetes", "", f"go {go_line.group(1) if go_line else '1.26'}"]
    if godebug:
        lines.append(godebug.group(0))
    lines += ["", f"require k8s.io/kubernetes {versions.KUBERNETES_VERSION}", "", "replace ("]
    lines += [f"\t{m} => {m} {staging_tag}" for m in sorted(set(staged))]
    lines += [")", ""]
    return "\n".join(lines)


def _build_kubernetes(work: Path, log: Path, names: list[str]) -> None:
    mod = work / "kubernetes"
    mod.mkdir()
    (mod / "go.mod").write_text(_kubernetes_wrapper_gomod())
    imports = "\n".join(f'\t_ "k8s.io/kubernetes/cmd/{n}"' for n in names)
    (mod / "tools.go").write_text(f"//go:build tools\n\npackage tools\n\nimport (\n{imports}\n)\n")
    _run(["go", "mod", "tidy", "-e"], mod, "go mod tidy (kubernetes)", log)
    ver = versions.KUBERNETES_VERSION
    major, minor = ver.lstrip("v").split(".")[:2]
    ldflags = []
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        ldflags += [f"-X {pkg}.gitVersion={ver}", f"-X {pkg}.gitMajor={major}", f"-X {pkg}.gitMinor={minor}",
                    f"-X {pkg}.gitTreeState=clean"]
    for n in names:
        started = time.monotonic()
        _log(f"building {n} {ver} (the slowest step; several minutes on 2 cores)")
        _run(["go", "build", "-trimpath", "-tags", "selinux,notest,grpcnotrace", "-ldflags", " ".join(ldflags),
              "-o", str(mod / n), f"k8s.io/kubernetes/cmd/{n}"], mod, f"go build {n}", log)
        _install(mod / n, n)
        _log(f"built {n} in {time.monotonic() - started:.0f}s")


def _build_kwok(work: Path, log: Path) -> None:
    gobin = work / "kwok-bin"
    gobin.mkdir()
    env_gobin = dict(_go_env(), GOBIN=str(gobin))
    args = ["go", "install", f"sigs.k8s.io/kwok/cmd/kwok@{versions.KWOK_VERSION}"]
    with log.open("a") as fh:
        proc = subprocess.run(args, cwd=work, env=env_gobin, stdout=fh, stderr=fh)
    if proc.returncode != 0:
        raise BuildError(f"go install kwok failed (exit {proc.returncode}); see {log}")
    _install(gobin / "kwok", "kwok")


#: The kwok Stage objects we load, relative to ``kustomize/stage`` in the kwok module. The
#: "fast" variants make Pods Ready at once; without pod-delete, deletions and namespace
#: cleanup hang; the lease heartbeat keeps Nodes Ready. They are cached as kwok ships them; at start
#: ``stages.kwok_configs`` guards pod-ready/pod-complete against our failing-pod stages (which live in
#: the repository, not in the cache, so changing them needs no rebuild and no new cache key).
KWOK_STAGES = (
    "node/fast/node-initialize.yaml",
    "node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "pod/fast/pod-ready.yaml",
    "pod/fast/pod-complete.yaml",
    "pod/fast/pod-delete.yaml",
)


def stage_files() -> list[Path]:
    return [stage_dir() / Path(s).name for s in KWOK_STAGES]


def _copy_kwok_stages(log: Path) -> None:
    """kwok exits with "no stages found" unless given Stage objects; they ship in its module."""
    info = json.loads(
        subprocess.run(["go", "mod", "download", "-json", f"sigs.k8s.io/kwok@{versions.KWOK_VERSION}"],
                       capture_output=True, text=True, env=_go_env(), check=True).stdout
    )
    src = Path(info["Dir"]) / "kustomize" / "stage"
    dest = stage_dir()
    dest.mkdir(parents=True, exist_ok=True)
    for rel in KWOK_STAGES:
        if not (src / rel).is_file():
            raise BuildError(f"kwok stage {rel} not found under {src}; the kwok module layout changed")
        shutil.copy2(src / rel, dest / Path(rel).name)


def ensure_binaries() -> Path:
    """Build whatever is missing and return the bin directory. Idempotent and cheap when warm."""
    missing = missing_binaries()
    d = bin_dir()
    if not missing:
        return d
    started = time.monotonic()
    _log(f"cache {d.parent} lacks {', '.join(missing)}; building from the Go module proxy")
    log = d.parent / "build.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="localcluster-build-") as tmp:
        work = Path(tmp)
        if "kwok" in missing or "kwok-stages" in missing:
            _log(f"building kwok {versions.KWOK_VERSION}")
            if "kwok" in missing:
                _build_kwok(work, log)
            _copy_kwok_stages(log)
        if "etcd" in missing:
            _log(f"building etcd {versions.ETCD_VERSION}")
            _build_etcd(work, log)
        kube: list[str] = [n for n in ("kube-apiserver", "kube-controller-manager", "kube-scheduler") if n in missing]
        if kube:
            _build_kubernetes(work, log, kube)
    _log(f"cold build finished in {time.monotonic() - started:.0f}s")
    return d


def main() -> int:
    try:
        d = ensure_binaries()
    except BuildError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(d)
    return 0


if __name__ == "__main__":
    sys.exit(main())
