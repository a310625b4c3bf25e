"""Certificates and keys for a throwaway local control plane.

One CA signs everything: the apiserver's serving certificate, the admin client certificate
(``O=system:masters``, used by the components and by kubectl) and any extra serving
certificates a caller asks for (the webhook tests reuse it). The service-account signing key
is a separate RSA key pair. Generation takes well under a second, so every cluster gets
fresh material and nothing secret is ever reused across runs.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

#: Validity of everything generated here; a local cluster lives for hours, not days.
VALIDITY = dt.timedelta(days=30)


@attrs.frozen
class CertPair:
    cert_pem: bytes
    key_pem: bytes


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key) -> bytes:  # type: ignore[no-untyped-def]
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _name(cn: str, org: str | None = None) -> x509.Name:
    attrs_ = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        attrs_.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(attrs_)


def make_ca(cn: str = "kruise-rollouts-local-ca") -> CertPair:
    key = _key()
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn)).issuer_name(_name(cn))
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )
    return CertPair(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def issue(ca: CertPair, *, cn: str, org: str | None = None, dns: tuple[str, ...] = (),
          ips: tuple[str, ...] = (), server: bool = False, client: bool = False) -> CertPair:
    """Issue a leaf certificate signed by ``ca`` for serving and/or client authentication."""
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem)
    ca_key = serialization.load_pem_private_key(ca.key_pem, password=None)
    key = _key()
    now = dt.datetime.now(dt.UTC)
    usages = [ExtendedKeyUsageOID.SERVER_AUTH] if server else []
    usages += [ExtendedKeyUsageOID.CLIENT_AUTH] if client else []
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn, org)).issuer_name(ca_cert.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    )
    sans: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    sans += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    return CertPair(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def make_service_account_keys() -> CertPair:
    """RSA key pair for signing service-account tokens (cert_pem holds the public key)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pub = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return CertPair(pub, _key_pem(key))


@attrs.frozen
class ClusterPKI:
    """Paths of the files a control plane needs, all under one directory."""

    ca_crt: Path
    ca_key: Path
    apiserver_crt: Path
    apiserver_key: Path
    admin_crt: Path
    admin_key: Path
    sa_pub: Path
    sa_key: Path

    @classmethod
    def generate(cls, directory: Path, *, service_ip: str) -> ClusterPKI:
        directory.mkdir(parents=True, exist_ok=True)
        ca = make_ca()
        serving = issue(ca, cn="kube-apiserver", server=True,
                        dns=("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                             "kubernetes.default.svc.cluster.local"),
                        ips=("127.0.0.1", service_ip))
        admin = issue(ca, cn="kruise-local-admin", org="system:masters", client=True)
        sa = make_service_account_keys()
        files = {
            "ca_crt": ("ca.crt", ca.cert_pem), "ca_key": ("ca.key", ca.key_pem),
            "apiserver_crt": ("apiserver.crt", serving.cert_pem), "apiserver_key": ("apiserver.key", serving.key_pem),
            "admin_crt": ("admin.crt", admin.cert_pem), "admin_key": ("admin.key", admin.key_pem),
            "sa_pub": ("sa.pub", sa.cert_pem), "sa_key": ("sa.key", sa.key_pem),
        }
        paths = {}
        for field, (fname, data) in files.items():
            p = directory / fname
            p.write_bytes(data)
            p.chmod(0o600)
            paths[field] = p
        return cls(**paths)

    def ca(self) -> CertPair:
        return CertPair(self.ca_crt.read_bytes(), self.ca_key.read_bytes())
