"""Atomic cert-dir writer: ..data symlink swap, idempotence, old directories removed."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from webhooks.certdir import read_dir, write_dir
from webhooks.certs import CertArtifacts

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _a(tag: str) -> CertArtifacts:
    return CertArtifacts(ca_key=b"cak" + tag.encode(), ca_cert=b"cac" + tag.encode(),
                         key=b"k" + tag.encode(), cert=b"c" + tag.encode())


def test_write_layout_and_idempotence(tmp_path: Path) -> None:
    d = str(tmp_path / "certs")
    assert write_dir(d, _a("1"), NOW)
    assert os.path.islink(os.path.join(d, "..data"))
    assert os.readlink(os.path.join(d, "tls.crt")) == os.path.join("..data", "tls.crt")
    assert read_dir(d)["tls.crt"] == b"c1" and read_dir(d)["cert.pem"] == b"c1"
    assert read_dir(d)["tls.key"] == b"k1" and read_dir(d)["ca-cert.pem"] == b"cac1"
    assert not write_dir(d, _a("1"), NOW + timedelta(seconds=1))


def test_rotation_swaps_and_cleans_up(tmp_path: Path) -> None:
    d = str(tmp_path)
    write_dir(d, _a("1"), NOW)
    first = os.readlink(os.path.join(d, "..data"))
    assert write_dir(d, _a("2"), NOW + timedelta(seconds=1))
    assert read_dir(d)["tls.crt"] == b"c2"
    assert not os.path.exists(os.path.join(d, first))
    stamped = [n for n in os.listdir(d) if n.startswith("..") and n != "..data"]
    assert len(stamped) == 1


def test_plain_files_from_another_writer_are_replaced(tmp_path: Path) -> None:
    (tmp_path / "tls.crt").write_bytes(b"old")
    write_dir(str(tmp_path), _a("3"), NOW)
    assert read_dir(str(tmp_path))["tls.crt"] == b"c3"
