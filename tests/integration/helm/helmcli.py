"""The real ``helm`` (built from the Go module proxy into the cache) against one kubeconfig."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import yaml

from tests.e2e.harness import REPO

CHART = REPO / "deploy" / "charts" / "kruise-rollout"
RELEASE = "kruise-rollout"


class Helm:
    """``helm`` with a private config/cache/data home, so nothing of the user's helm set-up leaks in."""

    def __init__(self, binary: Path, kubeconfig: str | None = None) -> None:
        self.binary = binary
        home = Path(tempfile.mkdtemp(prefix="helm-home-"))
        self.env = {**os.environ, "HELM_CONFIG_HOME": str(home / "config"), "HELM_CACHE_HOME": str(home / "cache"),
                    "HELM_DATA_HOME": str(home / "data")}
        self.env.pop("KUBECONFIG", None)
        if kubeconfig:
            self.env["KUBECONFIG"] = kubeconfig

    def run(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([str(self.binary), *args], capture_output=True, text=True, env=self.env,
                              timeout=timeout, cwd=REPO)
        if check and proc.returncode != 0:
            raise AssertionError(f"helm {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
        return proc

    def template(self, *set_args: str) -> list[dict]:
        out = self.run("template", RELEASE, str(CHART), *set_args).stdout
        return [d for d in yaml.safe_load_all(out) if d]


def by_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]
