"""A killed owner cannot leak a control plane: its components die with it (PR_SET_PDEATHSIG)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.waiting import wait_for

pytestmark = pytest.mark.integration

OWNER = """
import json, sys, time
from localcluster.cluster import ClusterSettings, LocalCluster
c = LocalCluster(ClusterSettings(nodes=1, log=lambda m: None))
c.start()
print(json.dumps({"pids": c.pids(), "run_dir": str(c.run_dir)}), flush=True)
time.sleep(600)
"""


def _gone(pid: int) -> bool:
    """Exited (a zombie waiting for its new parent to reap it counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in state


def test_components_die_when_the_owner_is_killed() -> None:
    owner = subprocess.Popen([sys.executable, "-c", OWNER], stdout=subprocess.PIPE, text=True)
    try:
        line = owner.stdout.readline() if owner.stdout else ""
        assert line, "the owner process did not report a started cluster"
        info = json.loads(line)
        pids = list(info["pids"].values())
        assert set(info["pids"]) >= {"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"}
        assert not any(_gone(p) for p in pids)
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait(timeout=10)
        wait_for(lambda: [p for p in pids if not _gone(p)], lambda alive: alive == [], timeout=20,
                 what="every component to exit after its owner was killed")
    finally:
        if owner.poll() is None:
            owner.kill()
        for p in locals().get("pids", []):
            try:
                os.killpg(p, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
