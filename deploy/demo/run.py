"""``make demo``: the seed walkthrough, played step by step.

``SCENARIO=multibatch`` (the default) is part 1, the multi-batch Deployment release;
``SCENARIO=canary`` and ``SCENARIO=ab`` are parts 2 and 3, ``SCENARIO=bluegreen`` the seed's echoserver
released blue-green (``demo_traffic.py``).

Starts a fresh local control plane (or uses ``--kubeconfig``), runs the kruise-rollout manager
(``python -m rollouts.cmd.manager --local-cluster``) unless ``--no-manager`` says one is already
running (``make dev``), then applies the seed's manifests in ``default`` and prints the same
kubectl views the walkthrough shows. Other kinds (``KIND=statefulset``, ``daemonset``, ``cloneset``,
``advanced-statefulset``, ``advanced-daemonset``) are played by ``demo_kinds.py``.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import demo_kinds  # deploy/demo/demo_kinds.py (this script's directory is on sys.path)
import demo_traffic
from shell import DemoShell

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
PATCH_V2 = ('{"spec":{"template":{"spec":{"containers":[{"name":"busybox", '
            '"env":[{"name":"VERSION", "value":"version-2"}]}]}}}}')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Demo(DemoShell):
    """The seed's Deployment walkthrough."""

    def rollout_state(self) -> str:
        return self.run("get", "rollout", "rollouts-demo", "-o",
                        "jsonpath={.status.phase}/{.status.currentStepIndex}/{.status.currentStepState}", show=False)

    def ready(self, updated: int) -> bool:
        out = self.run("get", "deploy", "workload-demo", "-o",
                       "jsonpath={.status.updatedReplicas}/{.status.readyReplicas}/{.status.replicas}", show=False)
        return out == f"{updated}/10/10"

    def play(self) -> None:
        print("# 1. the workload (version-1)")
        self.run("apply", "-f", str(HERE / "workload-demo.yaml"))
        self.wait("10 ready pods", lambda: self.ready(10))
        self.run("get", "pods")
        print("\n# 2. the Rollout (multi-batch: 1 / 50% / 100%)")
        self.run("apply", "-f", str(HERE / "rollouts-demo.yaml"))
        self.wait("Healthy", lambda: self.rollout_state() == "Healthy/3/Completed")
        self.run("get", "rollout")
        print("\n# 3. release version-2: only the first batch (1 pod) is updated")
        self.run("patch", "deployment", "workload-demo", "-p", PATCH_V2)
        self.wait("step 1 paused", lambda: self.rollout_state() == "Progressing/1/StepPaused" and self.ready(1))
        for view in (("get", "deploy"), ("get", "replicaset"), ("get", "pods"), ("get", "rollout")):
            self.run(*view)
        print("\n# 4. approve the second batch (50%)")
        self.run("kruise", "rollout", "approve", "rollout/rollouts-demo", "-n", "default")
        self.wait("step 2 paused", lambda: self.rollout_state() == "Progressing/2/StepPaused" and self.ready(5))
        for view in (("get", "deploy"), ("get", "replicaset"), ("get", "rollout")):
            self.run(*view)
        print("\n# 5. approve the last batch (100%)")
        self.run("kruise", "rollout", "approve", "rollout/rollouts-demo", "-n", "default")
        self.wait("completed", lambda: self.rollout_state() == "Healthy/3/Completed" and self.ready(10))
        self.wait("old RS at 0", lambda: " 0 " in self.run("get", "replicaset", show=False))
        for view in (("get", "deploy"), ("get", "replicaset"), ("get", "rollout")):
            self.run(*view)


def start_manager(kubeconfig: str, workdir: str) -> tuple[subprocess.Popen[bytes], str]:
    health = free_port()
    log_path = os.path.join(workdir, "manager.log")
    args = [sys.executable, "-m", "rollouts.cmd.manager", "--kubeconfig", kubeconfig, "--local-cluster",
            "--webhook-port", str(free_port()), "--health-addr", f"127.0.0.1:{health}",
            "--metrics-addr", f"127.0.0.1:{health}", "--webhook-cert-dir", os.path.join(workdir, "certs")]
    proc = subprocess.Popen(args, stdout=open(log_path, "wb"), stderr=subprocess.STDOUT, cwd=REPO)  # noqa: SIM115
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"manager exited, see {log_path}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{health}/readyz", timeout=2) as r:
                if r.status == 200:
                    print(f"[demo] kruise-rollout manager ready (log: {log_path})")
                    return proc, log_path
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"manager not ready, see {log_path}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kubeconfig", help="use this cluster instead of starting a fresh local one")
    p.add_argument("--no-manager", action="store_true", help="a manager is already running (make dev)")
    args = p.parse_args(argv)
    kind = os.environ.get("KIND", "deployment").lower()
    scenario = os.environ.get("SCENARIO", "multibatch").lower()
    if scenario != "multibatch" and scenario not in demo_traffic.SCENARIOS:
        print(f"error: SCENARIO={scenario} is not supported (multibatch, {', '.join(demo_traffic.SCENARIOS)})",
              file=sys.stderr)
        return 2
    if kind != "deployment" and kind not in demo_kinds.KINDS:
        print(f"error: KIND={kind} is not supported (deployment, {', '.join(demo_kinds.KINDS)})", file=sys.stderr)
        return 2
    if scenario != "multibatch" and kind != "deployment":
        print(f"error: SCENARIO={scenario} plays the seed's Deployments; KIND applies to SCENARIO=multibatch only",
              file=sys.stderr)
        return 2
    workdir = tempfile.mkdtemp(prefix="kruise-demo-")
    cluster = None
    if args.kubeconfig:
        kubeconfig = args.kubeconfig
    else:
        from localcluster.cluster import ClusterSettings, LocalCluster

        other = kind != "deployment"  # the other kinds: 10 nodes (DaemonSets), OpenKruise when needed
        cluster = LocalCluster(ClusterSettings(nodes=10 if other else 3,
                                               openkruise=other and demo_kinds.needs_openkruise(kind)))
        cluster.start()
        kubeconfig = str(cluster.kubeconfig)
    manager = None
    try:
        if not args.no_manager:
            manager, _ = start_manager(kubeconfig, workdir)
        if scenario != "multibatch":
            demo_traffic.play(scenario, kubeconfig)
            print(f"\n[demo] the {scenario} release is complete")
        elif kind == "deployment":
            Demo(kubeconfig).play()
            print("\n[demo] the multi-batch release is complete")
        else:
            demo_kinds.play(kind, kubeconfig)
            print("\n[demo] the multi-batch release is complete")
        return 0
    finally:
        if manager is not None:
            manager.send_signal(signal.SIGTERM)  # unregisters the webhooks before the server stops
            manager.wait(timeout=30)
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
