"""``local-cluster``: build, start, stop and use the embedded local control plane.

Commands
  build             build (or find in the cache) the control-plane binaries (``--helm`` also helm,
                    ``--openkruise`` also kruise-manager)
  up                start a cluster that outlives this command (``--openkruise`` adds the real
                    OpenKruise kruise-manager and CRDs); write the kubeconfig to
                    ``.local/cluster/kubeconfig`` and print ``export KUBECONFIG=...``
                    (``--foreground`` blocks instead and stops the cluster on Ctrl-C;
                    ``--gateway-api`` installs the Gateway API CRDs, ``--istio`` test CRDs for
                    Istio's VirtualService and DestinationRule)
  down              stop the cluster ``up`` started; leaves no process and no run directory
  status            say whether that cluster is up and answering
  dev               the main job: the controller manager against the local cluster (started
                    if needed) or against ``--kubeconfig`` for a real cluster
  test [--lanes N] [-- ARGS]
                    build and fetch everything the suite needs, then run every test with pytest in
                    N lanes (pytest-xdist workers, each with its own cluster; default 2 or
                    $KRUISE_TEST_LANES), printing how long each part took

The state of a detached cluster (pids, server, run dir) lives in ``.local/cluster/state.json``
so ``down`` and ``status`` work from another shell.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from . import build, gatewayapi, helm, openkruise, prometheus
from .cluster import ClusterError, ClusterSettings, LocalCluster

REPO_ROOT = Path(__file__).resolve().parents[2]
STATE_DIR = REPO_ROOT / ".local" / "cluster"
STATE_FILE = STATE_DIR / "state.json"
KUBECONFIG_PATH = STATE_DIR / "kubeconfig"


def _read_state() -> dict | None:
    try:
        return json.loads(STATE_FILE.read_text())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def cmd_build(args: argparse.Namespace) -> int:
    started = time.monotonic()
    try:
        d = build.ensure_binaries()
        if getattr(args, "openkruise", False):
            print(f"kruise-manager: {openkruise.ensure_built()}")
        if getattr(args, "helm", False):
            print(f"helm: {helm.ensure_built()}")
        if getattr(args, "prometheus", False):
            print(f"prometheus: {prometheus.ensure_installed()}")
    except build.BuildError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"control-plane binaries in {d} ({time.monotonic() - started:.1f}s)")
    return 0


def _start(nodes: int, run_dir: Path | None, openkruise: bool = False, gateway_api: bool = False,
           istio: bool = False) -> LocalCluster:
    detached = run_dir is not None
    cluster = LocalCluster(ClusterSettings(nodes=nodes, run_dir=run_dir, keep_run_dir=detached,
                                           openkruise=openkruise, gateway_api=gateway_api, istio=istio,
                                           die_with_owner=not detached))
    cluster.start()
    return cluster


def cmd_up(args: argparse.Namespace) -> int:
    state = _read_state()
    if state and all(_alive(pid) for pid in state["pids"].values()):
        print(f"already up at {state['server']}\nexport KUBECONFIG={KUBECONFIG_PATH}")
        return 0
    if state:
        _stop_from_state(state)
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    run_dir = STATE_DIR / "run"
    try:
        cluster = _start(args.nodes, None if args.foreground else run_dir, args.openkruise, args.gateway_api,
                         args.istio)
    except (ClusterError, build.BuildError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    KUBECONFIG_PATH.write_text(cluster.kubeconfig.read_text())
    KUBECONFIG_PATH.chmod(0o600)
    print(f"export KUBECONFIG={KUBECONFIG_PATH}")
    if not args.foreground:
        STATE_FILE.write_text(json.dumps({"server": cluster.server, "pids": cluster.pids(),
                                          "run_dir": str(run_dir), "etcd": cluster.etcd_endpoint}))
        return 0
    try:
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        cluster.stop()
        KUBECONFIG_PATH.unlink(missing_ok=True)
    return 0


def _stop_from_state(state: dict) -> None:
    """Stop a detached cluster: reverse start order, SIGTERM then SIGKILL, remove its run dir."""
    import shutil

    for name, pid in reversed(list(state["pids"].items())):
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        print(f"stopped {name} (pid {pid})")
    shutil.rmtree(state.get("run_dir", ""), ignore_errors=True)
    STATE_FILE.unlink(missing_ok=True)
    KUBECONFIG_PATH.unlink(missing_ok=True)


def cmd_down(_: argparse.Namespace) -> int:
    state = _read_state()
    if not state:
        print("no local cluster is up")
        return 0
    _stop_from_state(state)
    return 0


def cmd_status(_: argparse.Namespace) -> int:
    state = _read_state()
    if not state:
        print("down")
        return 1
    alive = {n: _alive(p) for n, p in state["pids"].items()}
    for name, ok in alive.items():
        print(f"{name:<26} {'running' if ok else 'DEAD'} (pid {state['pids'][name]})")
    print(f"server {state['server']}\nexport KUBECONFIG={KUBECONFIG_PATH}")
    return 0 if all(alive.values()) else 1


def cmd_dev(args: argparse.Namespace) -> int:
    """Run the controller manager; against the local cluster unless --kubeconfig names another."""
    manager = [sys.executable, "-m", "rollouts.cmd.manager"]
    if args.kubeconfig:
        return subprocess.call([*manager, "--kubeconfig", args.kubeconfig, *args.manager_args])
    state = _read_state()
    cluster = None
    if state and all(_alive(pid) for pid in state["pids"].values()):
        kubeconfig = KUBECONFIG_PATH
        print(f"using the running local cluster at {state['server']}")
    else:
        try:
            cluster = _start(args.nodes, None, args.openkruise, args.gateway_api, args.istio)
        except (ClusterError, build.BuildError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        STATE_DIR.mkdir(parents=True, exist_ok=True)
        kubeconfig = KUBECONFIG_PATH
        kubeconfig.write_text(cluster.kubeconfig.read_text())
    print(f"export KUBECONFIG={kubeconfig}   # in another shell, to use kubectl against it")
    try:
        return subprocess.call([*manager, "--kubeconfig", str(kubeconfig), "--local-cluster", *args.manager_args])
    except KeyboardInterrupt:
        return 0
    finally:
        if cluster is not None:
            cluster.stop()
            KUBECONFIG_PATH.unlink(missing_ok=True)


def cmd_test(args: argparse.Namespace) -> int:
    t0 = time.monotonic()
    try:
        # Everything the suite builds or fetches into the cache, before the lanes start: two lanes
        # must never build the same cache entry at once (each would otherwise do it on first use).
        build.ensure_binaries()
        openkruise.ensure_built()
        helm.ensure_built()
        prometheus.ensure_installed()
        gatewayapi.ensure_fetched()
    except build.BuildError as e:
        print(f"error: the local control plane cannot be built, so the tests cannot run: {e}", file=sys.stderr)
        return 1
    t_build = time.monotonic() - t0
    pytest_args = [a for a in args.pytest_args if a != "--"]
    # Lanes: pytest-xdist workers, each with its own session cluster; tests/conftest.py's scheduler
    # keeps a file's tests (and its module-scoped manager) in one lane. The slowest tests print in every
    # CI log: the suite's time budget is watched from there.
    # --no-loadscope-reorder: files go out in collection order (tests/e2e's long releases first, the
    # unit tests' many small files last, filling the lanes' ends), not most-tests-first, which put
    # the two longest files (one and three tests) at the very end of one lane.
    lanes = ["-n", str(args.lanes), "--dist", "loadscope", "--no-loadscope-reorder"] if args.lanes > 1 else []
    rc = subprocess.call([sys.executable, "-m", "pytest", "--durations=40", *lanes, *pytest_args])
    t_tests = time.monotonic() - t0 - t_build
    print(f"\ntimings: build/cache check {t_build:.1f}s, tests {t_tests:.1f}s in {args.lanes} lane(s), "
          f"total {time.monotonic() - t0:.1f}s")
    return rc


_GATEWAY_HELP = "also install the Gateway API CRDs (HTTPRoute), fetched once from the Go module proxy"
_ISTIO_HELP = "also install minimal test CRDs for Istio's VirtualService and DestinationRule (customNetworkRefs)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="local-cluster", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("--openkruise", action="store_true", help="also build OpenKruise's kruise-manager")
    b.add_argument("--helm", action="store_true", help="also build helm (the chart tests use it)")
    b.add_argument("--prometheus", action="store_true",
                   help="also fetch Prometheus (Debian's package; the metrics and analysis tests use it)")
    b.set_defaults(fn=cmd_build)
    up = sub.add_parser("up")
    up.add_argument("--nodes", type=int, default=3)
    up.add_argument("--foreground", action="store_true", help="block; stop the cluster on Ctrl-C")
    up.add_argument("--detach", action="store_true", help="(default) leave the cluster running")
    up.add_argument("--openkruise", action="store_true",
                    help="also run the real OpenKruise kruise-manager (CloneSet, Advanced StatefulSet/DaemonSet)")
    up.add_argument("--gateway-api", action="store_true", help=_GATEWAY_HELP)
    up.add_argument("--istio", action="store_true", help=_ISTIO_HELP)
    up.set_defaults(fn=cmd_up)
    sub.add_parser("down").set_defaults(fn=cmd_down)
    sub.add_parser("status").set_defaults(fn=cmd_status)
    dev = sub.add_parser("dev")
    dev.add_argument("--kubeconfig", default=os.environ.get("TARGET_KUBECONFIG"),
                     help="run against this (real) cluster instead of the local one")
    dev.add_argument("--nodes", type=int, default=3)
    dev.add_argument("--openkruise", action="store_true", help="start the local cluster with OpenKruise")
    dev.add_argument("--gateway-api", action="store_true", help=_GATEWAY_HELP)
    dev.add_argument("--istio", action="store_true", help=_ISTIO_HELP)
    dev.add_argument("manager_args", nargs="*")
    dev.set_defaults(fn=cmd_dev)
    test = sub.add_parser("test")
    test.add_argument("--lanes", type=int, default=int(os.environ.get("KRUISE_TEST_LANES", "2")),
                      help="pytest-xdist workers, each with its own local cluster (1: one process, no xdist)")
    test.add_argument("pytest_args", nargs=argparse.REMAINDER)
    test.set_defaults(fn=cmd_test)
    args = parser.parse_args(argv)
    return int(args.fn(args))


if __name__ == "__main__":
    sys.exit(main())
