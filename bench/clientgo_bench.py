#!/usr/bin/env python3
"""client-go informer baseline: build and run ``bench/clientgo`` (Go) against a cluster.

The Python runtime's informer benchmark is compared against the figures this prints.
Standard library (+ optional pyyaml) only; it does not import the project's runtime.

Build
    ``go build`` of ``bench/clientgo`` (client-go v0.36.3, pinned in its go.mod) into
    ``$KRUISE_BENCH_CACHE`` (default ``~/.cache/kruise-rollouts-py/bench``) as
    ``clientgo-bench-<hash>``, the hash covering main.go, go.mod, go.sum and ``go version``;
    reused while those are unchanged (older builds are removed). Built with
    ``GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0``. Nothing is written inside the repository.

What the Go program measures (one namespace, one kind)
    memory   HeapAlloc (after runtime.GC x2 + debug.FreeOSMemory) before the informer is
             created and after it has synced; ``bytes_per_object = (after - before) /
             cached_objects``. A transform drops ``metadata.managedFields`` (as the Python
             informer does by default). Handlers are registered only after this measurement.
             This is the Go live heap, not RSS; ``rss_before_bytes``/``rss_after_bytes``
             (VmRSS at the same two moments) are reported for reference. The objects are
             created (``--create``) before the first measurement.
    latency  an UpdateFunc handler is registered, then ``--updates`` JSON merge patches set
             the annotation ``bench/sent-at=<unix ns>`` on the cached objects round-robin
             (sorted by name; only ``bench-*`` objects if any, never kube-root-ca.crt),
             ``--concurrency`` requests in flight. For each update whose
             ``bench/sent-at`` changed, the handler records ``now - sent-at`` (patch round
             trip + watch delivery + informer dispatch). ``updates_per_s = observed /
             (last observed - first patch sent)``. Percentiles are nearest-rank.
             ``patch_p50_ms``/``patch_p99_ms``: the patch requests' own round trip. The
             load is closed-loop (C in flight), so at saturation latency ~ C / throughput
             of the apiserver; ``--concurrency 1`` shows the unloaded delivery latency.
             The load generator runs in the same process as the informer.

CLI (stable)
    --kubeconfig PATH     default $KUBECONFIG, then <repo>/.local/cluster/kubeconfig
    --namespace NS        default bench-clientgo
    --kind K              configmaps | deployments (default configmaps)
    --objects N           default 10000; objects are named bench-000000 ...
    --updates M           default 5000; 0 skips the latency phase
    --create              create the namespace and missing objects first (configmaps with
                          two data keys; deployments with replicas 0)
    --delete-namespace    with --create: delete the namespace at the end and wait (<=2m)
                          until it is gone
    --concurrency C       requests in flight for creates and patches (default 32)
    --qps Q / --burst B   client-side rate limit (default 5000 / 10000)
    --content-type T      json | protobuf wire format of the Go client (default json)
    --watch-list MODE     auto | on | off: client-go's WatchListClient gate (streaming
                          initial list; on by default in client-go 1.35+). ``off`` = the
                          classic LIST then WATCH, sets KUBE_FEATURE_WatchListClient=false
    --timeout DUR         Go duration for the whole run (default 15m)
    --build-only          build (if needed) and print the binary path; no cluster needed
    --rebuild             build even if the cached binary exists
    --output FILE         also append the JSON line to FILE

Output: exactly one JSON line on stdout (the Go program's), logs on stderr. Keys (stable):
    impl                 "client-go"
    kind, namespace      as given
    objects, updates     as requested
    cached_objects       objects in the informer's store after sync (a namespace's
                         kube-root-ca.crt ConfigMap counts too)
    heap_before_bytes, heap_after_bytes, bytes_per_object
    rss_before_bytes, rss_after_bytes
    sync_s               informer start -> HasSynced
    observed             updates seen by the handler (== updates on success)
    p50_ms, p99_ms, max_ms, mean_ms      patch sent -> UpdateFunc called
    patch_p50_ms, patch_p99_ms           patch sent -> patch response
    updates_per_s, update_s              observed / update_s; first patch -> last event
    concurrency, content_type, watch_list (bool), go_version, client_go_version
    error                only on failure
Exit status: 0 on success, non-zero if the run failed (the JSON line still carries
``error``), 2 for usage errors.

Example
    python3 bench/clientgo_bench.py --kubeconfig .local/cluster/kubeconfig \\
        --namespace bench-clientgo --create --delete-namespace --objects 1000 --updates 500
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE / "clientgo"
REPO = HERE.parent
CACHE_ENV = "KRUISE_BENCH_CACHE"
DEFAULT_CACHE = Path.home() / ".cache" / "kruise-rollouts-py" / "bench"
SOURCES = ("main.go", "go.mod", "go.sum")


def _log(msg: str) -> None:
    print(f"[clientgo_bench] {msg}", file=sys.stderr, flush=True)


def _go_env(go: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(GOTOOLCHAIN="local", GOFLAGS="-mod=mod", CGO_ENABLED="0")
    return env


def binary_path(go: str) -> Path:
    """Cache path keyed by the sources and the Go toolchain."""
    h = hashlib.sha256()
    for name in SOURCES:
        h.update(name.encode() + b"\0" + (SRC / name).read_bytes() + b"\0")
    version = subprocess.run(
        [go, "version"], check=True, capture_output=True, text=True, env=_go_env(go)
    ).stdout.strip()
    h.update(version.encode())
    root = Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE).expanduser()
    return root / f"clientgo-bench-{h.hexdigest()[:16]}"


def build(go: str, *, force: bool = False) -> Path:
    out = binary_path(go)
    if out.exists() and not force:
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    _log(f"building {SRC} -> {out}")
    proc = subprocess.run(
        [go, "build", "-trimpath", "-o", str(tmp), "."], cwd=SRC, env=_go_env(go)
    )
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise SystemExit(f"go build failed (exit {proc.returncode})")
    tmp.replace(out)  # atomic: a half-finished build is never reused
    for old in out.parent.glob("clientgo-bench-*"):
        if old != out and re.fullmatch(r"clientgo-bench-[0-9a-f]{16}", old.name):
            old.unlink(missing_ok=True)  # builds of earlier sources
    return out


def _find_go() -> str:
    found = shutil.which("go")
    if found:
        return found
    return "/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else "go"


def _default_kubeconfig() -> str | None:
    if os.environ.get("KUBECONFIG"):
        return os.environ["KUBECONFIG"]
    local = REPO / ".local" / "cluster" / "kubeconfig"
    return str(local) if local.exists() else None


def _describe_cluster(kubeconfig: str) -> None:
    try:
        import yaml  # optional: only for a friendlier log line
    except ImportError:
        return
    try:
        cfg = yaml.safe_load(Path(kubeconfig).read_text())
        ctx_name = cfg.get("current-context")
        ctx = next(c["context"] for c in cfg["contexts"] if c["name"] == ctx_name)
        server = next(c["cluster"]["server"] for c in cfg["clusters"] if c["name"] == ctx["cluster"])
        _log(f"cluster {server} (context {ctx_name})")
    except Exception as exc:  # noqa: BLE001 - purely informational
        _log(f"could not read {kubeconfig}: {exc}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--kubeconfig", default=_default_kubeconfig())
    p.add_argument("--namespace", default="bench-clientgo")
    p.add_argument("--kind", choices=("configmaps", "deployments"), default="configmaps")
    p.add_argument("--objects", type=int, default=10000)
    p.add_argument("--updates", type=int, default=5000)
    p.add_argument("--create", action="store_true")
    p.add_argument("--delete-namespace", action="store_true")
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--qps", type=float, default=5000)
    p.add_argument("--burst", type=int, default=10000)
    p.add_argument("--content-type", choices=("json", "protobuf"), default="json")
    p.add_argument("--watch-list", choices=("auto", "on", "off"), default="auto")
    p.add_argument("--timeout", default="15m")
    p.add_argument("--build-only", action="store_true")
    p.add_argument("--rebuild", action="store_true")
    p.add_argument("--output")
    p.add_argument("--go", default=_find_go(), help="go binary (default: go on PATH)")
    a = p.parse_args(argv)

    exe = build(a.go, force=a.rebuild)
    if a.build_only:
        print(exe)
        return 0
    if not a.kubeconfig:
        p.error("no kubeconfig: pass --kubeconfig or set $KUBECONFIG")
    if a.delete_namespace and not a.create:
        p.error("--delete-namespace only makes sense with --create")
    _describe_cluster(a.kubeconfig)

    cmd = [
        str(exe),
        f"--kubeconfig={a.kubeconfig}",
        f"--namespace={a.namespace}",
        f"--kind={a.kind}",
        f"--objects={a.objects}",
        f"--updates={a.updates}",
        f"--concurrency={a.concurrency}",
        f"--qps={a.qps}",
        f"--burst={a.burst}",
        f"--content-type={a.content_type}",
        f"--timeout={a.timeout}",
    ]
    if a.create:
        cmd.append("--create")
    if a.delete_namespace:
        cmd.append("--delete-namespace")
    env = dict(os.environ)
    if a.watch_list != "auto":
        env["KUBE_FEATURE_WatchListClient"] = "true" if a.watch_list == "on" else "false"
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    line = lines[-1] if lines else ""
    if line:
        print(line, flush=True)
        if a.output:
            with open(a.output, "a", encoding="utf-8") as f:
                f.write(line + "\n")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
