#!/usr/bin/env python3
"""``make image``: build the manager image with whichever of docker, podman or buildah is present and usable.

*Usable*, not just installed: a docker client without a reachable engine, or a podman that cannot
set up its cgroups, fails ``<tool> info``; such a tool is skipped. When none is usable the script prints
one line naming each tool and why it was skipped, and exits 1. Standard library only, so it runs
before any virtual environment exists.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILDERS = ("docker", "podman", "buildah")
"""Preference order: docker first (most common), podman (daemonless), buildah (daemonless, no run)."""
PROBE_TIMEOUT = 20.0
"""Seconds for ``<tool> info``: a docker client with no engine answers in well under a second."""
DEFAULT_TAG = "kruise-rollouts-py:latest"
"""The chart's ``image.repository:image.tag`` defaults (deploy/charts/kruise-rollout/values.yaml)."""


def probe(tool: str, path: str | None = None) -> tuple[str | None, str]:
    """(executable, "") when ``tool`` is installed and ``<tool> info`` succeeds, else (None, why not)."""
    exe = shutil.which(tool, path=path)
    if exe is None:
        return None, "not installed"
    try:
        proc = subprocess.run([exe, "info"], capture_output=True, text=True, timeout=PROBE_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f"'{tool} info' failed: {e}"
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        return None, f"'{tool} info' exit {proc.returncode}" + (f": {lines[-1][:120]}" if lines else "")
    return exe, ""


def choose_builder(path: str | None = None) -> tuple[str | None, list[str]]:
    """The first usable builder's executable, and the reasons the others before it were skipped."""
    skipped = []
    for tool in BUILDERS:
        exe, why = probe(tool, path)
        if exe is not None:
            return exe, skipped
        skipped.append(f"{tool} ({why})")
    return None, skipped


def build_command(exe: str, tag: str, context: Path = REPO) -> list[str]:
    """``build -t TAG -f Dockerfile CONTEXT``: the same spelling works for all three tools."""
    return [exe, "build", "-t", tag, "-f", str(context / "Dockerfile"), str(context)]


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="make image", description=__doc__.splitlines()[0])
    p.add_argument("--tag", default=os.environ.get("IMAGE") or DEFAULT_TAG)
    a = p.parse_args(argv)
    exe, skipped = choose_builder()
    if exe is None:
        print(f"make image: no usable container builder: {'; '.join(skipped)}", file=sys.stderr)
        return 1
    cmd = build_command(exe, a.tag)
    print(f"make image: {' '.join(cmd)}", file=sys.stderr)
    return subprocess.run(cmd).returncode


if __name__ == "__main__":
    sys.exit(main())
