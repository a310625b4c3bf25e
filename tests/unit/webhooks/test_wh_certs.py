"""Certificate generation and the rotation check, with time injected."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

import attrs
import pytest
from cryptography import x509

from webhooks import certs

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SIX_MONTHS = timedelta(days=183)
DNS = "kruise-rollout-webhook-service.kruise-rollout.svc"


@pytest.fixture(scope="module")
def artifacts() -> certs.CertArtifacts:
    return certs.generate(DNS, NOW, extra_dns=(DNS + ".cluster.local",), extra_ips=("127.0.0.1",))


def test_sans_and_usages(artifacts: certs.CertArtifacts) -> None:
    cert = x509.load_pem_x509_certificate(artifacts.cert)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["localhost", DNS, DNS + ".cluster.local"]
    assert sans.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert cert.subject.rfc4514_string() == f"CN={DNS}"
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]


def test_ca_signs_leaf(artifacts: certs.CertArtifacts) -> None:
    ca = x509.load_pem_x509_certificate(artifacts.ca_cert)
    leaf = x509.load_pem_x509_certificate(artifacts.cert)
    leaf.verify_directly_issued_by(ca)
    assert ca.subject.rfc4514_string() == "CN=webhook-cert-ca"
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert leaf.not_valid_before_utc == ca.not_valid_before_utc
    assert leaf.not_valid_after_utc == NOW + certs.VALIDITY


def test_valid_now_and_in_six_months(artifacts: certs.CertArtifacts) -> None:
    assert certs.invalid_reason(artifacts, DNS, NOW + SIX_MONTHS) is None
    assert certs.invalid_reason(artifacts, "127.0.0.1", NOW) is None
    assert certs.invalid_reason(artifacts, "localhost", NOW) is None


def test_expiring_within_window_is_invalid(artifacts: certs.CertArtifacts) -> None:
    later = NOW + certs.VALIDITY - SIX_MONTHS + timedelta(days=1)
    reason = certs.invalid_reason(artifacts, DNS, later + SIX_MONTHS)
    assert reason is not None and "not valid at" in reason


def test_wrong_name_or_missing_material_is_invalid(artifacts: certs.CertArtifacts) -> None:
    assert "not valid for other.svc" in (certs.invalid_reason(artifacts, "other.svc", NOW) or "")
    assert certs.invalid_reason(None, DNS, NOW) == "certificate material missing"
    assert certs.invalid_reason(attrs.evolve(artifacts, key=b""), DNS, NOW) == "certificate material missing"


def test_mismatched_key_and_foreign_ca_are_invalid(artifacts: certs.CertArtifacts) -> None:
    other = certs.generate(DNS, NOW)
    assert "does not match" in (certs.invalid_reason(attrs.evolve(artifacts, key=other.key), DNS, NOW) or "")
    assert "not signed" in (certs.invalid_reason(attrs.evolve(artifacts, ca_cert=other.ca_cert), DNS, NOW) or "")
    assert "cannot parse" in (certs.invalid_reason(attrs.evolve(artifacts, cert=b"junk"), DNS, NOW) or "")


def test_regeneration_reuses_a_ca_that_outlives_the_window(artifacts: certs.CertArtifacts) -> None:
    again = certs.generate("other.svc", NOW + timedelta(days=1), existing=artifacts, renew_before=SIX_MONTHS)
    assert again.ca_cert == artifacts.ca_cert and again.cert != artifacts.cert
    assert certs.invalid_reason(again, "other.svc", NOW + SIX_MONTHS) is None


def test_regeneration_rolls_a_ca_that_expires_within_the_window(artifacts: certs.CertArtifacts) -> None:
    late = NOW + certs.VALIDITY - timedelta(days=30)
    again = certs.generate(DNS, late, existing=artifacts, renew_before=SIX_MONTHS)
    assert again.ca_cert != artifacts.ca_cert
    assert certs.invalid_reason(again, DNS, late + SIX_MONTHS) is None


def test_ip_literal_name_gets_an_ip_san() -> None:
    a = certs.generate("127.0.0.1", NOW)
    sans = x509.load_pem_x509_certificate(a.cert).extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert sans.value.get_values_for_type(x509.DNSName) == ["localhost"]
    assert certs.invalid_reason(a, "127.0.0.1", NOW) is None
