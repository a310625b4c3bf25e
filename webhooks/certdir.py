"""Write the certificate files into ``WEBHOOK_CERT_DIR`` atomically (Kubernetes atomic-writer style).

Layout after a write (spec §9.3 step 3, like a projected Secret volume)::

    cert_dir/..2026_11_22_15_04_05.123456789/{ca-cert.pem,ca-key.pem,cert.pem,key.pem,tls.crt,tls.key}
    cert_dir/..data -> ..2026_11_22_15_04_05.123456789
    cert_dir/tls.crt -> ..data/tls.crt            (one such link per file)

The swap of ``..data`` is a ``rename`` of a fresh symlink over the old one, which is atomic on POSIX, so a
reader that opens ``tls.crt`` and ``tls.key`` always gets a matching pair unless a second swap happens
between its two opens (the server then fails to load the pair, keeps the old one, and retries on the
next poll). Old timestamped directories are removed after the swap. Files are mode 0666 and the
directory 0777 like upstream (it holds a key only the operator's own pod can read anyway).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import datetime

from webhooks.certs import CertArtifacts

DATA_LINK = "..data"


def artifact_files(artifacts: CertArtifacts) -> dict[str, bytes]:
    """File name → content, the same six keys as the Secret (spec §9.3)."""
    return {
        "ca-key.pem": artifacts.ca_key,
        "ca-cert.pem": artifacts.ca_cert,
        "key.pem": artifacts.key,
        "tls.key": artifacts.key,
        "cert.pem": artifacts.cert,
        "tls.crt": artifacts.cert,
    }


def read_dir(cert_dir: str) -> dict[str, bytes]:
    """Current file contents (missing files are absent from the result)."""
    out: dict[str, bytes] = {}
    for name in artifact_files(CertArtifacts()):
        try:
            with open(os.path.join(cert_dir, name), "rb") as f:
                out[name] = f.read()
        except FileNotFoundError:
            continue
    return out


def write_dir(cert_dir: str, artifacts: CertArtifacts, now: datetime) -> bool:
    """Make ``cert_dir`` hold ``artifacts``; returns False (and writes nothing) if it already does."""
    files = artifact_files(artifacts)
    if read_dir(cert_dir) == files:
        return False
    os.makedirs(cert_dir, mode=0o777, exist_ok=True)
    # mkdtemp makes the name unique even for two writes within one clock tick (or a frozen test clock).
    ts_dir = tempfile.mkdtemp(prefix=".." + now.strftime("%Y_%m_%d_%H_%M_%S.%f") + "_", dir=cert_dir)
    os.chmod(ts_dir, 0o777)
    stamp = os.path.basename(ts_dir)
    for name, content in files.items():
        path = os.path.join(ts_dir, name)
        with open(path, "wb") as f:
            f.write(content)
        os.chmod(path, 0o666)
    old_target = os.readlink(os.path.join(cert_dir, DATA_LINK)) if os.path.islink(
        os.path.join(cert_dir, DATA_LINK)) else None
    tmp_link = os.path.join(cert_dir, "..data_tmp")
    if os.path.lexists(tmp_link):
        os.unlink(tmp_link)
    os.symlink(stamp, tmp_link)
    os.replace(tmp_link, os.path.join(cert_dir, DATA_LINK))
    for name in files:
        _ensure_link(cert_dir, name)
    if old_target and old_target != stamp:
        shutil.rmtree(os.path.join(cert_dir, old_target), ignore_errors=True)
    return True


def _ensure_link(cert_dir: str, name: str) -> None:
    """``cert_dir/name -> ..data/name``, replacing a plain file left by another writer."""
    path = os.path.join(cert_dir, name)
    target = os.path.join(DATA_LINK, name)
    if os.path.islink(path) and os.readlink(path) == target:
        return
    tmp = path + ".tmp-link"
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(target, tmp)
    os.replace(tmp, path)
