"""Keep the CA and serving certificate in a Secret shared by every replica (upstream writer/secret.go),
or only in the cert directory (:class:`FsCertWriter`, upstream writer/fs.go).

``ensure`` is upstream's ``handleCommon``:

1. read the Secret; if it does not exist, generate and *create* it. If the create loses a race with
   another replica (AlreadyExists) re-read and use the winner's material — so all replicas converge on
   one CA and one caBundle.
2. if what we have is not valid for the DNS name at ``now + renew_before`` (missing keys, wrong name,
   foreign CA, about to expire), regenerate — reusing the CA when it is still good — and overwrite with
   the ``resourceVersion`` we read. A concurrent overwrite makes ours fail with Conflict; the caller
   retries on the next sync, re-reads and finds the other replica's fresh, valid material.

The Secret holds six keys (spec §9.3): ``ca-key.pem``, ``ca-cert.pem``, ``key.pem``, ``tls.key``,
``cert.pem``, ``tls.crt``.
"""

from __future__ import annotations

import asyncio
import base64
from datetime import datetime, timedelta
from typing import Any, Protocol

import attrs
import structlog

from rollouts.objects import meta as objmeta
from runtime.kube.errors import AlreadyExists, NotFound
from runtime.kube.resources import SECRETS
from webhooks import certs
from webhooks.certdir import artifact_files, read_dir, write_dir
from webhooks.certs import CertArtifacts

log = structlog.get_logger("webhooks.certwriter")


class SecretClient(Protocol):
    """The part of ``runtime.kube.client.KubeClient`` the writer uses."""

    async def get(self, res: Any, name: str, namespace: str | None = None) -> dict[str, Any]: ...

    async def create(self, res: Any, body: dict[str, Any], namespace: str | None = None) -> dict[str, Any]: ...

    async def update(self, res: Any, body: dict[str, Any]) -> dict[str, Any]: ...


def secret_to_artifacts(secret: dict[str, Any]) -> CertArtifacts:
    """Decode the Secret's base64 ``data`` (missing keys become empty bytes)."""
    data = secret.get("data") or {}

    def key(name: str) -> bytes:
        return base64.b64decode(data[name]) if data.get(name) else b""

    return CertArtifacts(
        ca_key=key("ca-key.pem"), ca_cert=key("ca-cert.pem"), key=key("key.pem"), cert=key("cert.pem"),
        resource_version=str(objmeta.metadata(secret).get("resourceVersion") or ""),
    )


def artifacts_to_secret(artifacts: CertArtifacts, namespace: str, name: str) -> dict[str, Any]:
    """The Secret body for ``artifacts`` (``resourceVersion`` set when overwriting)."""
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if artifacts.resource_version:
        meta["resourceVersion"] = artifacts.resource_version
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta,
        "type": "Opaque",
        "data": {k: base64.b64encode(v).decode() for k, v in artifact_files(artifacts).items()},
    }


async def generate_off_loop(dns_name: str, now: datetime, existing: CertArtifacts | None, renew_before: timedelta,
                            extra_dns: tuple[str, ...], extra_ips: tuple[str, ...]) -> CertArtifacts:
    """``certs.generate`` in a worker thread: two RSA-2048 keys cost 0.1-0.5 s of CPU, which would
    otherwise stall every webhook request and watch sharing the manager's event loop."""
    return await asyncio.to_thread(certs.generate, dns_name, now, existing=existing, renew_before=renew_before,
                                   extra_dns=extra_dns, extra_ips=extra_ips)


@attrs.frozen(kw_only=True)
class EnsureResult:
    """What ``ensure`` settled on and whether it wrote (or adopted freshly written) material."""

    artifacts: CertArtifacts
    changed: bool
    reason: str = ""


@attrs.define(kw_only=True)
class SecretCertWriter:
    """Reads/writes the certificate Secret ``namespace/name`` through ``client``."""

    client: SecretClient
    namespace: str
    name: str
    extra_dns: tuple[str, ...] = ()
    extra_ips: tuple[str, ...] = ()

    async def read(self) -> CertArtifacts | None:
        """The stored material, or None if the Secret does not exist."""
        try:
            return secret_to_artifacts(await self.client.get(SECRETS, self.name, self.namespace))
        except NotFound:
            return None

    async def _generate(self, dns_name: str, now: datetime, existing: CertArtifacts | None,
                        renew_before: timedelta) -> CertArtifacts:
        return await generate_off_loop(dns_name, now, existing, renew_before, self.extra_dns, self.extra_ips)

    async def _create_if_missing(self, dns_name: str, now: datetime, renew_before: timedelta) -> EnsureResult:
        current = await self.read()
        if current is not None:
            return EnsureResult(artifacts=current, changed=False)
        fresh = await self._generate(dns_name, now, None, renew_before)
        try:
            created = await self.client.create(SECRETS, artifacts_to_secret(fresh, self.namespace, self.name),
                                               self.namespace)
        except AlreadyExists:
            log.info("certificate secret created concurrently by another replica; adopting it",
                     secret=f"{self.namespace}/{self.name}")
            current = await self.read()
            if current is None:
                raise RuntimeError(f"Secret {self.namespace}/{self.name} vanished right after AlreadyExists") from None
            return EnsureResult(artifacts=current, changed=True, reason="adopted concurrently created secret")
        log.info("certificate secret created", secret=f"{self.namespace}/{self.name}")
        return EnsureResult(artifacts=secret_to_artifacts(created), changed=True, reason="secret created")

    async def ensure(self, dns_name: str, now: datetime, renew_before: timedelta) -> EnsureResult:
        """Valid material for ``dns_name`` at ``now + renew_before``, creating/rotating as needed."""
        result = await self._create_if_missing(dns_name, now, renew_before)
        reason = certs.invalid_reason(result.artifacts, dns_name, now + renew_before)
        if reason is None:
            return result
        log.info("certificate invalid or expiring, regenerating", reason=reason,
                 secret=f"{self.namespace}/{self.name}")
        fresh = attrs.evolve(await self._generate(dns_name, now, result.artifacts, renew_before),
                             resource_version=result.artifacts.resource_version)
        body = artifacts_to_secret(fresh, self.namespace, self.name)
        try:
            updated = await self.client.update(SECRETS, body)
        except NotFound:
            # Deleted between our read and update: recreate (AlreadyExists is handled there).
            return await self._create_if_missing(dns_name, now, renew_before)
        return EnsureResult(artifacts=secret_to_artifacts(updated), changed=True, reason=reason)


@attrs.define(kw_only=True)
class FsCertWriter:
    """Keeps the material only in ``cert_dir`` (upstream writer/fs.go, ``WEBHOOK_CERT_WRITER=fs``).

    Same contract as :class:`SecretCertWriter`; there is nothing to race with except another process
    writing the same directory, which the atomic ``..data`` swap makes safe (last writer wins).
    """

    cert_dir: str
    extra_dns: tuple[str, ...] = ()
    extra_ips: tuple[str, ...] = ()

    async def read(self) -> CertArtifacts | None:
        files = read_dir(self.cert_dir)
        if not files:
            return None
        return CertArtifacts(ca_key=files.get("ca-key.pem", b""), ca_cert=files.get("ca-cert.pem", b""),
                             key=files.get("key.pem", b""), cert=files.get("cert.pem", b""))

    async def ensure(self, dns_name: str, now: datetime, renew_before: timedelta) -> EnsureResult:
        current = await self.read()
        reason = certs.invalid_reason(current, dns_name, now + renew_before)
        if reason is None and current is not None:
            return EnsureResult(artifacts=current, changed=False)
        fresh = await generate_off_loop(dns_name, now, current, renew_before, self.extra_dns, self.extra_ips)
        write_dir(self.cert_dir, fresh, now)
        log.info("certificate files written", cert_dir=self.cert_dir, reason=reason)
        return EnsureResult(artifacts=fresh, changed=True, reason=reason or "")
