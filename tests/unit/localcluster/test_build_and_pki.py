"""Unit tests for the local-cluster tooling that need no running cluster."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from localcluster import build, pki, versions


def test_wrapper_gomod_replaces_every_staging_module_with_its_published_tag(monkeypatch, tmp_path) -> None:
    upstream = tmp_path / "go.mod"
    upstream.write_text(
        "module k8s.io/kubernetes\n\ngo 1.26.0\n\ngodebug default=go1.26\n\nrequire (\n\tk8s.io/api v0.0.0\n)\n\n"
        "replace (\n\tk8s.io/api => ./staging/src/k8s.io/api\n"
        "\tk8s.io/cri-streaming => ./staging/src/k8s.io/cri-streaming\n"
        "\tk8s.io/client-go => ./staging/src/k8s.io/client-go\n)\n"
    )

    def fake_run(args, **kwargs):  # type: ignore[no-untyped-def]
        assert args[:4] == ["go", "mod", "download", "-json"]
        return subprocess.CompletedProcess(args, 0, stdout=f'{{"GoMod": "{upstream}"}}', stderr="")

    monkeypatch.setattr(build.subprocess, "run", fake_run)
    gomod = build._kubernetes_wrapper_gomod()
    tag = "v0." + versions.KUBERNETES_VERSION.split(".", 1)[1]
    assert f"require k8s.io/kubernetes {versions.KUBERNETES_VERSION}" in gomod
    for mod in ("k8s.io/api", "k8s.io/client-go", "k8s.io/cri-streaming"):
        assert f"\t{mod} => {mod} {tag}" in gomod
    assert "godebug default=go1.26" in gomod
    assert "go 1.26.0" in gomod


def test_missing_go_gives_one_clear_error(monkeypatch) -> None:
    monkeypatch.setattr(build.shutil, "which", lambda name: None)
    with pytest.raises(build.BuildError, match="Install Go"):
        build.go_version()


def test_cache_root_is_overridable(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv(versions.CACHE_ENV, str(tmp_path / "c"))
    assert versions.cache_root() == tmp_path / "c"
    assert versions.KUBERNETES_VERSION in versions.version_key("go1.26.8")


def test_pki_serving_cert_has_local_sans_and_admin_is_system_masters(tmp_path: Path) -> None:
    p = pki.ClusterPKI.generate(tmp_path, service_ip="10.0.0.1")
    serving = x509.load_pem_x509_certificate(p.apiserver_crt.read_bytes())
    san = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "kubernetes.default.svc" in san.get_values_for_type(x509.DNSName)
    assert {str(i) for i in san.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "10.0.0.1"}
    admin = x509.load_pem_x509_certificate(p.admin_crt.read_bytes())
    orgs = [a.value for a in admin.subject.get_attributes_for_oid(x509.oid.NameOID.ORGANIZATION_NAME)]
    assert orgs == ["system:masters"]
    ca = x509.load_pem_x509_certificate(p.ca_crt.read_bytes())
    assert serving.issuer == ca.subject
    assert oct(p.admin_key.stat().st_mode & 0o777) == "0o600"


def test_stale_run_dirs_of_dead_owners_are_swept(tmp_path: Path) -> None:
    from localcluster.cluster import OWNER_FILE, sweep_stale_run_dirs

    dead = tmp_path / "kruise-local-cluster-dead"
    alive = tmp_path / "kruise-local-cluster-alive"
    foreign = tmp_path / "kruise-local-cluster-nofile"
    for d in (dead, alive, foreign):
        d.mkdir()
    proc = subprocess.Popen(["true"])
    proc.wait()
    (dead / OWNER_FILE).write_text(str(proc.pid))
    import os

    (alive / OWNER_FILE).write_text(str(os.getpid()))
    assert sweep_stale_run_dirs(tmp_path) == [dead]
    assert alive.exists() and foreign.exists() and not dead.exists()
