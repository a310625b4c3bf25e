"""helm is built once into the cache with ``go install``; a failed build is loud and leaves no binary."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from localcluster import build, helm, versions


@pytest.fixture
def cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv(versions.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(build, "go_version", lambda: "go1.26.8")
    gomod = tmp_path / "helm.mod"
    gomod.write_text("module helm.sh/helm/v3\n\nrequire (\n\tk8s.io/client-go v0.36.2\n)\n")
    monkeypatch.setattr(build, "download_module", lambda path, version: {"GoMod": str(gomod)})
    return tmp_path / "cache"


def test_build_installs_the_pinned_version_once(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []

    def fake_run(args: list[str], *, env: dict[str, str], **_: Any) -> subprocess.CompletedProcess:
        calls.append(args)
        (Path(env["GOBIN"]) / "helm").write_text("#!/bin/sh\n")
        return subprocess.CompletedProcess(args, 0)

    monkeypatch.setattr(subprocess, "run", fake_run)
    path = helm.ensure_built()
    assert path == cache / f"helm-{versions.HELM_VERSION}_go1.26.8" / "bin" / "helm"
    assert path.is_file() and path.stat().st_mode & 0o111
    assert calls[0][-1] == f"helm.sh/helm/v3/cmd/helm@{versions.HELM_VERSION}"
    ldflags = calls[0][calls[0].index("-ldflags") + 1]
    assert "helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=36" in ldflags  # offline template assumes 1.36
    assert f"helm.sh/helm/v3/internal/version.version={versions.HELM_VERSION}" in ldflags
    assert helm.ensure_built() == path and len(calls) == 1  # cached: no second build


def test_failed_build_raises_with_the_log_and_leaves_nothing(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_run(args: list[str], *, stdout: Any, **_: Any) -> subprocess.CompletedProcess:
        stdout.write("go: helm.sh/helm/v3@v3.21.4: no matching versions\n")
        return subprocess.CompletedProcess(args, 1)

    monkeypatch.setattr(subprocess, "run", fake_run)
    with pytest.raises(build.BuildError, match="no matching versions"):
        helm.ensure_built()
    assert not helm.binary().exists()
