"""Self-signed CA and serving certificate: generation and the "still good enough?" check.

Pure functions over PEM bytes with the time passed in, so rotation is tested by moving ``now``
instead of waiting ten years. I/O (Secret, files) lives in ``webhooks.certwriter``.

Follows upstream (pkg/webhook/util/generator, writer/certwriter.go; spec §9.3):

* CA: self-signed, CN ``webhook-cert-ca``, RSA 2048, valid 10 years (Kubernetes
  ``NewSelfSignedCACert``).
* Serving certificate: RSA 2048, CN = the DNS name, SANs ``localhost`` plus the name (an IP SAN when the
  name is an IP literal), serverAuth, keyEncipherment + digitalSignature, NotBefore = the CA's
  NotBefore, NotAfter = now + 10 years, random serial. We may add extra SANs (the ``.cluster.local``
  form of the service name, IPs such as 127.0.0.1 for the local cluster); they never hurt verification.
* Validity check: key pair matches, CA parses, the certificate was issued by the CA, names the DNS
  name, and the chain is valid at ``now + renew_before`` (upstream: six months).

Deviation, on purpose: when regenerating, upstream reuses the existing CA if it is a CA with an RSA key,
even if that CA itself expires within the renewal window — the new leaf then fails the check again and
is regenerated on every resync. We reuse the CA only if it is valid at ``now + renew_before`` too and
otherwise roll a new CA (the caBundles follow on the same sync).
"""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta

import attrs
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_COMMON_NAME = "webhook-cert-ca"
#: Both certificates live ten years (upstream); rotation is driven by ``renew_before`` instead.
VALIDITY = timedelta(days=3650)
#: RSA 2048 like upstream; generation costs ~50-100 ms per key on this class of machine.
KEY_SIZE = 2048
#: Backdate NotBefore a little so API servers with a slightly slow clock accept a fresh cert.
CLOCK_SKEW = timedelta(minutes=5)


@attrs.frozen(kw_only=True)
class CertArtifacts:
    """PEM material of one CA + serving certificate. ``resource_version`` is the Secret's, if read
    from one (used for optimistic-concurrency overwrites)."""

    ca_key: bytes = b""
    ca_cert: bytes = b""
    key: bytes = b""
    cert: bytes = b""
    resource_version: str = ""


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )


def _ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


def generate_ca(now: datetime) -> tuple[bytes, bytes]:
    """A new self-signed CA; returns ``(key_pem, cert_pem)``."""
    key = _new_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_COMMON_NAME)])
    not_before = now - CLOCK_SKEW
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_encipherment=True, key_cert_sign=True, content_commitment=False,
                data_encipherment=False, key_agreement=False, crl_sign=False, encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return _key_pem(key), cert.public_bytes(serialization.Encoding.PEM)


def generate_serving(
    ca_key_pem: bytes,
    ca_cert_pem: bytes,
    dns_name: str,
    now: datetime,
    *,
    extra_dns: tuple[str, ...] = (),
    extra_ips: tuple[str, ...] = (),
) -> tuple[bytes, bytes]:
    """A serving certificate for ``dns_name`` signed by the CA; returns ``(key_pem, cert_pem)``."""
    ca_key = serialization.load_pem_private_key(ca_key_pem, password=None)
    ca_cert = x509.load_pem_x509_certificate(ca_cert_pem)
    if not isinstance(ca_key, rsa.RSAPrivateKey):
        raise ValueError("CA key is not an RSA key")
    key = _new_key()
    sans: list[x509.GeneralName] = [x509.DNSName("localhost")]
    for name in (dns_name, *extra_dns, *extra_ips):
        ip = _ip(name)
        general: x509.GeneralName = x509.IPAddress(ip) if ip is not None else x509.DNSName(name)
        if general not in sans:
            sans.append(general)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(ca_cert.not_valid_before_utc)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_encipherment=True, key_cert_sign=False, content_commitment=False,
                data_encipherment=False, key_agreement=False, crl_sign=False, encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    return _key_pem(key), cert.public_bytes(serialization.Encoding.PEM)


def usable_ca(artifacts: CertArtifacts, at: datetime) -> bool:
    """True if the artifacts hold an RSA CA key + CA certificate pair that is valid at ``at``."""
    try:
        ca_key = serialization.load_pem_private_key(artifacts.ca_key, password=None)
        ca_cert = x509.load_pem_x509_certificate(artifacts.ca_cert)
    except (ValueError, TypeError):
        return False
    if not isinstance(ca_key, rsa.RSAPrivateKey) or ca_key.public_key() != ca_cert.public_key():
        return False
    try:
        is_ca = ca_cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False
    return is_ca and ca_cert.not_valid_before_utc <= at <= ca_cert.not_valid_after_utc


def generate(
    dns_name: str,
    now: datetime,
    *,
    existing: CertArtifacts | None = None,
    renew_before: timedelta = timedelta(0),
    extra_dns: tuple[str, ...] = (),
    extra_ips: tuple[str, ...] = (),
) -> CertArtifacts:
    """New serving certificate, reusing ``existing``'s CA when it stays valid past the renewal window
    (so caBundles and other replicas keep trusting us); otherwise a new CA as well."""
    if existing is not None and usable_ca(existing, now + renew_before):
        ca_key, ca_cert = existing.ca_key, existing.ca_cert
    else:
        ca_key, ca_cert = generate_ca(now)
    key, cert = generate_serving(ca_key, ca_cert, dns_name, now, extra_dns=extra_dns, extra_ips=extra_ips)
    return CertArtifacts(ca_key=ca_key, ca_cert=ca_cert, key=key, cert=cert)


def invalid_reason(artifacts: CertArtifacts | None, dns_name: str, at: datetime) -> str | None:
    """``None`` if the serving cert is usable for ``dns_name`` at time ``at``; else why not.

    ``at`` is ``now + renew_before``: a cert that will be invalid then is already "invalid" now, which
    is how rotation happens ahead of expiry.
    """
    if artifacts is None or not (artifacts.cert and artifacts.key and artifacts.ca_cert):
        return "certificate material missing"
    try:
        cert = x509.load_pem_x509_certificate(artifacts.cert)
        ca_cert = x509.load_pem_x509_certificate(artifacts.ca_cert)
        key = serialization.load_pem_private_key(artifacts.key, password=None)
    except (ValueError, TypeError) as exc:
        return f"cannot parse certificate material: {exc}"
    if key.public_key() != cert.public_key():
        return "serving key does not match the serving certificate"
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return "serving certificate is not signed by the CA"
    if not _names(cert, dns_name):
        return f"serving certificate is not valid for {dns_name}"
    for which, c in (("serving certificate", cert), ("CA certificate", ca_cert)):
        if not c.not_valid_before_utc <= at <= c.not_valid_after_utc:
            return f"{which} is not valid at {at.isoformat()} (expires {c.not_valid_after_utc.isoformat()})"
    return None


def _names(cert: x509.Certificate, dns_name: str) -> bool:
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    ip = _ip(dns_name)
    if ip is not None:
        return ip in sans.get_values_for_type(x509.IPAddress)
    return dns_name.lower() in (n.lower() for n in sans.get_values_for_type(x509.DNSName))


def not_after(cert_pem: bytes) -> datetime:
    """Expiry of a PEM certificate (for logs and metrics)."""
    return x509.load_pem_x509_certificate(cert_pem).not_valid_after_utc
