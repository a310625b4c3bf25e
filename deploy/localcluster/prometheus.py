"""A real Prometheus server for the tests, from Debian's ``prometheus`` package.

Why Debian's package: it is the Prometheus this machine's registries serve as a binary (building
``github.com/prometheus/prometheus`` from the Go module proxy pulls its web UI assets through npm). The
package is fetched with ``apt-get download`` — no root, no dpkg database: the ``.deb`` is unpacked with
``dpkg-deb -x`` into a temporary directory and only ``usr/bin/prometheus`` (a static Go binary) is
copied into ``<cache root>/prometheus-<version>/bin/``, under a temporary name and renamed, so an
interrupted fetch never leaves a binary that looks finished. Nothing runs as a system service: each
test session starts its own server on a free loopback port with its own TSDB directory.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from . import build, versions
from .cluster import die_with_parent

PACKAGE = "prometheus"
BINARY = "prometheus"


def _log(msg: str) -> None:
    print(f"[local-cluster prometheus] {msg}", file=sys.stderr, flush=True)


def cache_dir() -> Path:
    return versions.cache_root() / versions.prometheus_version_key()


def binary() -> Path:
    return cache_dir() / "bin" / BINARY


def _run(args: list[str], cwd: Path, what: str) -> None:
    try:
        proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    except FileNotFoundError as e:
        raise build.BuildError(f"{what}: {args[0]} is not installed ({e}); the tests' Prometheus comes from "
                               f"Debian's '{PACKAGE}' package through apt-get and dpkg-deb") from e
    if proc.returncode != 0:
        raise build.BuildError(f"{what} failed (exit {proc.returncode}): {' '.join(args)}\n"
                               f"{(proc.stdout + proc.stderr).strip()[-2000:]}")


def ensure_installed() -> Path:
    """Fetch and unpack the pinned package if the cache lacks it; return the binary. Loud on failure."""
    target = binary()
    if target.is_file():
        return target
    started = time.monotonic()
    version = versions.PROMETHEUS_DEB_VERSION
    _log(f"cache {cache_dir()} lacks prometheus; apt-get download {PACKAGE}={version}")
    with tempfile.TemporaryDirectory(prefix="localcluster-prometheus-") as tmp:
        work = Path(tmp)
        _run(["apt-get", "download", f"{PACKAGE}={version}"], work, f"fetching {PACKAGE}={version}")
        debs = sorted(work.glob(f"{PACKAGE}_*.deb"))
        if not debs:
            raise build.BuildError(f"apt-get download {PACKAGE}={version} left no .deb in {work}")
        _run(["dpkg-deb", "-x", str(debs[0]), "root"], work, f"unpacking {debs[0].name}")
        unpacked = work / "root" / "usr" / "bin" / BINARY
        if not unpacked.is_file():
            raise build.BuildError(f"{debs[0].name} has no usr/bin/{BINARY}; the package layout changed")
        build.install_file(unpacked, target)
    _log(f"installed prometheus {version} in {time.monotonic() - started:.0f}s: {target}")
    return target


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrometheusServer:
    """One Prometheus process scraping ``targets`` (``host:port`` strings) every ``scrape_interval``.

    ``set_targets`` rewrites the configuration and reloads it through ``/-/reload`` (the server runs with
    ``--web.enable-lifecycle``), so one server per test session serves every module.
    """

    def __init__(self, run_dir: Path, *, scrape_interval: str = "1s") -> None:
        self.run_dir = run_dir
        self.scrape_interval = scrape_interval
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_path = run_dir / "prometheus.yml"
        self.log_path = run_dir / "prometheus.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def _write_config(self, targets: dict[str, list[str]]) -> None:
        jobs = [{"job_name": job, "scrape_interval": self.scrape_interval, "scrape_timeout": self.scrape_interval,
                 "static_configs": [{"targets": list(addrs)}]} for job, addrs in sorted(targets.items())]
        config = {"global": {"scrape_interval": self.scrape_interval,
                             "evaluation_interval": self.scrape_interval}, "scrape_configs": jobs}
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))

    def start(self, targets: dict[str, list[str]] | None = None, *, timeout: float = 30.0) -> PrometheusServer:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._write_config(targets or {})
        args = [str(ensure_installed()), f"--config.file={self.config_path}",
                f"--storage.tsdb.path={self.run_dir / 'data'}", f"--web.listen-address=127.0.0.1:{self.port}",
                "--web.enable-lifecycle", "--storage.tsdb.retention.time=1h", "--log.level=warn"]
        with self.log_path.open("ab") as log:
            # Dies with the test process (as the cluster's components do): a killed run leaves no server.
            self._proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
        deadline = time.monotonic() + timeout
        while not self._ready():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                tail = self.log_path.read_text(errors="replace")[-2000:]
                self.stop()
                raise RuntimeError(f"prometheus did not become ready on {self.url} within {timeout:.0f}s "
                                   f"(log {self.log_path}):\n{tail}")
            time.sleep(0.1)
        return self

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as r:
                return bool(r.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    def set_targets(self, targets: dict[str, list[str]]) -> None:
        """Replace the scrape jobs (``{job: [host:port, …]}``) and reload; raises if Prometheus refuses."""
        self._write_config(targets)
        req = urllib.request.Request(f"{self.url}/-/reload", method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            if r.status != 200:
                raise RuntimeError(f"prometheus reload answered {r.status}")

    def query(self, promql: str) -> list[dict[str, Any]]:
        """An instant query's ``data.result`` (raises on an error answer)."""
        url = f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
        with urllib.request.urlopen(url, timeout=10) as r:
            body = json.loads(r.read())
        if body.get("status") != "success":
            raise RuntimeError(f"prometheus query {promql!r} failed: {body}")
        return list(body["data"]["result"])

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def __enter__(self) -> PrometheusServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        shutil.rmtree(self.run_dir / "data", ignore_errors=True)

