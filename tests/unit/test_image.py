"""The container image: ``make image`` picks a *usable* builder (fake PATH), and the Dockerfile keeps the
properties the chart relies on (non-root numeric user, no dev dependencies, lua_scripts inside)."""

from __future__ import annotations

import importlib.util
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "deploy" / "image" / "build.py"
_spec = importlib.util.spec_from_file_location("image_build", SCRIPT)
assert _spec and _spec.loader
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)


def fake_tool(bindir: Path, name: str, *, info_ok: bool, log: Path | None = None) -> None:
    """A shell script standing in for a builder: ``info`` succeeds or fails, ``build`` records its args."""
    record = f'echo "$0 $*" >> {log}' if log else ":"
    script = (f"#!/bin/sh\nif [ \"$1\" = info ]; then {'exit 0' if info_ok else 'echo no engine >&2; exit 1'}; fi\n"
              f"{record}\nexit 0\n")
    path = bindir / name
    path.write_text(script)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def run_make_image(bindir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}/usr/bin{os.pathsep}/bin"}
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=60)


def test_docker_client_without_engine_is_skipped_for_a_usable_buildah(tmp_path: Path) -> None:
    log = tmp_path / "calls"
    fake_tool(tmp_path, "docker", info_ok=False)
    fake_tool(tmp_path, "buildah", info_ok=True, log=log)
    exe, skipped = build.choose_builder(str(tmp_path))
    assert exe == str(tmp_path / "buildah")
    assert skipped[0].startswith("docker ('docker info' exit 1: no engine") and skipped[1] == "podman (not installed)"
    proc = run_make_image(tmp_path, "--tag", "example/kr:1")
    assert proc.returncode == 0, proc.stderr
    assert log.read_text().split() == [str(tmp_path / "buildah"), "build", "-t", "example/kr:1", "-f",
                                       str(REPO / "Dockerfile"), str(REPO)]


def test_first_usable_builder_wins(tmp_path: Path) -> None:
    for tool in ("docker", "podman", "buildah"):
        fake_tool(tmp_path, tool, info_ok=True)
    assert build.choose_builder(str(tmp_path)) == (str(tmp_path / "docker"), [])


def test_no_usable_builder_is_one_line_and_exit_1(tmp_path: Path) -> None:
    fake_tool(tmp_path, "docker", info_ok=False)
    fake_tool(tmp_path, "podman", info_ok=False)
    proc = run_make_image(tmp_path)
    assert proc.returncode == 1
    assert proc.stdout == "" and len(proc.stderr.strip().splitlines()) == 1
    assert proc.stderr.startswith("make image: no usable container builder: docker (")
    assert "podman ('podman info' exit 1" in proc.stderr and "buildah (not installed)" in proc.stderr


def _final_stage(text: str) -> list[str]:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    starts = [i for i, ln in enumerate(lines) if ln.upper().startswith("FROM ")]
    assert len(starts) >= 2, "multi-stage: a build stage and a final stage"
    return lines[starts[-1]:]


def test_dockerfile_final_stage_runs_as_a_numeric_non_root_user_without_dev_dependencies() -> None:
    text = (REPO / "Dockerfile").read_text()
    final = _final_stage(text)
    users = [ln.split()[1] for ln in final if ln.upper().startswith("USER ")]
    assert users, "the final stage sets USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0, "numeric non-root: runAsNonRoot can only check a numeric UID"
    assert any(ln.startswith("COPY --from=build") for ln in final)
    assert not any(ln.upper().startswith(("RUN ", "COPY . ")) for ln in final), "no build tools in the final stage"
    code = "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("#"))
    assert not re.search(r"\[(test|dev)", code) and "pip install -e" not in code, "no dev/test extras"
    assert "pip install --no-compile ." in text and "compileall" in text and "PYTHONDONTWRITEBYTECODE=1" in text
    assert "COPY lua_scripts/ lua_scripts/" in text
    assert final[-1] == 'ENTRYPOINT ["kruise-rollout"]'


def test_dockerignore_keeps_local_state_out_and_chart_defaults_match() -> None:
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {".venv", ".git", "tests"} <= set(ignored) and "lua_scripts" not in ignored
    values = yaml.safe_load((REPO / "deploy" / "charts" / "kruise-rollout" / "values.yaml").read_text())
    assert f"{values['image']['repository']}:{values['image']['tag']}" == build.DEFAULT_TAG
    exposed = next(ln for ln in (REPO / "Dockerfile").read_text().splitlines() if ln.startswith("EXPOSE"))
    ports = {values["webhook"]["port"], values["metrics"]["port"], values["healthProbe"]["port"]}
    assert {int(p) for p in exposed.split()[1:]} == ports


@pytest.mark.parametrize("tool", ["docker", "podman", "buildah"])
def test_build_command_spelling(tool: str) -> None:
    assert build.build_command(f"/x/{tool}", "t:1")[1:4] == ["build", "-t", "t:1"]
