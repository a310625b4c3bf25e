"""The certificate/registration controller (upstream pkg/webhook/util/controller; spec §9).

One sync does, in order:

1. ensure the CA + serving certificate in the Secret, or in the cert dir with ``cert_writer="fs"``
   (``webhooks.certwriter``);
2. write them into ``cert_dir`` atomically and tell the server to reload (``on_certs_written``);
3. render our two webhook configurations (caBundle, Service or URL, only the paths we serve) from their
   ``template`` annotation and update them if they differ (creating them first when
   ``settings.create_configurations``);
4. point the conversion webhook of every ``rollouts.kruise.io`` CRD with ``strategy: Webhook`` at
   ``/convert`` with the caBundle.

It runs as one level-based loop: a sync on start, then after every ``resync_period`` (upstream's one
minute re-enqueue) or as soon as :meth:`CertSync.trigger` is called (the manager wires informer events
on the Secret, the two configurations and our CRDs to it, which is upstream's trigger set). A failed
sync is retried with exponential backoff (0.5 s doubling, capped at the resync period). Updates use the
``resourceVersion`` we read, so concurrent replicas never overwrite each other blindly: the loser gets
a Conflict and converges on the next pass.

Time comes from ``now`` (injected) so rotation can be tested by moving the clock.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import attrs
import structlog

from runtime.kube.errors import NotFound
from runtime.kube.resources import CRDS, MUTATING_WEBHOOK_CONFIGURATIONS, VALIDATING_WEBHOOK_CONFIGURATIONS
from webhooks import configs
from webhooks.certdir import write_dir
from webhooks.certwriter import FsCertWriter, SecretCertWriter
from webhooks.settings import WebhookSettings

log = structlog.get_logger("webhooks.certsync")

#: First retry delay after a failed sync; doubles up to ``resync_period``.
RETRY_BASE_SECONDS = 0.5


class SyncClient(Protocol):
    """The part of ``runtime.kube.client.KubeClient`` the sync uses."""

    async def get(self, res: Any, name: str, namespace: str | None = None) -> dict[str, Any]: ...

    async def list(self, res: Any, namespace: str | None = None) -> dict[str, Any]: ...

    async def create(self, res: Any, body: dict[str, Any], namespace: str | None = None) -> dict[str, Any]: ...

    async def update(self, res: Any, body: dict[str, Any]) -> dict[str, Any]: ...


def utcnow() -> datetime:
    return datetime.now(UTC)


@attrs.frozen(kw_only=True)
class SyncReport:
    """What one sync changed (tests and logs)."""

    ca_cert: bytes
    cert_changed: bool
    files_written: bool
    configurations_updated: tuple[str, ...]
    crds_updated: tuple[str, ...]


def _default_extra_dns(settings: WebhookSettings) -> tuple[str, ...]:
    if settings.url_mode:
        return ()
    return (f"{settings.service_name}.{settings.namespace}.svc.cluster.local",)


class CertSync:
    """Keeps TLS material, webhook configurations and CRD conversion stanzas in sync."""

    def __init__(
        self,
        client: SyncClient,
        settings: WebhookSettings,
        served_paths: frozenset[str] | Callable[[], frozenset[str]],
        *,
        now: Callable[[], datetime] = utcnow,
        on_certs_written: Callable[[], object] | None = None,
    ) -> None:
        self.client = client
        self.settings = settings
        self._served_paths = served_paths
        self.now = now
        self.on_certs_written = on_certs_written
        self.writer: SecretCertWriter | FsCertWriter
        if settings.cert_writer == "fs":
            self.writer = FsCertWriter(cert_dir=settings.cert_dir, extra_dns=_default_extra_dns(settings),
                                       extra_ips=settings.extra_ip_sans)
        else:
            self.writer = SecretCertWriter(client=client, namespace=settings.namespace, name=settings.secret_name,
                                           extra_dns=_default_extra_dns(settings), extra_ips=settings.extra_ip_sans)
        self._wake = asyncio.Event()
        self._initialized = asyncio.Event()
        self.last_error: BaseException | None = None

    @property
    def served_paths(self) -> frozenset[str]:
        """Paths this binary serves, read at every sync (a registry may grow after construction)."""
        paths = self._served_paths
        return paths() if callable(paths) else paths

    @property
    def initialized(self) -> bool:
        return self._initialized.is_set()

    def trigger(self) -> None:
        """Ask for a sync as soon as possible (informer event handlers call this)."""
        self._wake.set()

    async def wait_initialized(self) -> None:
        """Wait ``initial_sync_timeout`` for the first successful sync; raise TimeoutError with
        upstream's wording (the manager then exits, as upstream does)."""
        limit = self.settings.initial_sync_timeout.total_seconds()
        try:
            await asyncio.wait_for(self._initialized.wait(), limit)
        except TimeoutError:
            raise TimeoutError(
                f"failed to start webhook controller for waiting more than {limit:g}s"
                + (f" (last error: {self.last_error})" if self.last_error else "")
            ) from None

    async def run(self) -> None:
        """Sync forever (cancel the task to stop)."""
        failures = 0
        while True:
            self._wake.clear()
            try:
                await self.sync_once()
                failures = 0
                delay = self.settings.resync_period.total_seconds()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure is retried with backoff
                self.last_error = exc
                failures += 1
                delay = min(RETRY_BASE_SECONDS * 2 ** (failures - 1), self.settings.resync_period.total_seconds())
                log.warning("webhook certificate sync failed", error=str(exc), retry_in=delay)
            try:
                await asyncio.wait_for(self._wake.wait(), delay)
            except TimeoutError:
                pass

    async def sync_once(self) -> SyncReport:
        """One full pass (see module docstring)."""
        now = self.now()
        result = await self.writer.ensure(self.settings.dns_name, now, self.settings.renew_before)
        artifacts = result.artifacts
        written = write_dir(self.settings.cert_dir, artifacts, now)
        # The fs writer has already written the files itself, hence "or changed" (reload is idempotent).
        if (written or result.changed) and self.on_certs_written is not None:
            self.on_certs_written()
        ca_b64 = configs.ca_bundle(artifacts.ca_cert)
        updated = [name for name in await self._ensure_configurations(ca_b64) if name]
        crds = await self._ensure_crds(ca_b64)
        report = SyncReport(ca_cert=artifacts.ca_cert, cert_changed=result.changed, files_written=written,
                            configurations_updated=tuple(updated), crds_updated=tuple(crds))
        if result.changed or written or updated or crds:
            log.info("webhook certificate sync changed things", cert_reason=result.reason, files_written=written,
                     configurations=updated, crds=crds)
        self.last_error = None
        self._initialized.set()
        return report

    async def _ensure_configurations(self, ca_b64: str) -> list[str | None]:
        return [
            await self._ensure_configuration(MUTATING_WEBHOOK_CONFIGURATIONS, configs.MUTATING_CONFIGURATION_NAME,
                                             configs.mutating_configuration, ca_b64),
            await self._ensure_configuration(VALIDATING_WEBHOOK_CONFIGURATIONS,
                                             configs.VALIDATING_CONFIGURATION_NAME,
                                             configs.validating_configuration, ca_b64),
        ]

    async def _ensure_configuration(
        self, res: Any, name: str, build: Callable[[WebhookSettings], dict[str, Any]], ca_b64: str
    ) -> str | None:
        """Render one configuration; returns its name if it was created or updated."""
        try:
            live = await self.client.get(res, name)
        except NotFound:
            if not self.settings.create_configurations:
                raise RuntimeError(
                    f"{res.kind} {name} not found: install config/webhook/manifests.yaml "
                    "(or enable create_configurations for the local cluster)"
                ) from None
            body = build(self.settings)
            template, _ = configs.template_of(body)
            body["webhooks"] = configs.render_webhooks(template, self.settings, ca_b64, self.served_paths)
            await self.client.create(res, body)
            log.info("webhook configuration created", kind=res.kind, name=name)
            return name
        desired = copy.deepcopy(live)
        template, stored = configs.template_of(desired)
        desired["webhooks"] = configs.render_webhooks(template, self.settings, ca_b64, self.served_paths)
        if not stored and configs.contains(live.get("webhooks") or [], desired["webhooks"]):
            return None
        await self.client.update(res, desired)
        log.info("webhook configuration updated", kind=res.kind, name=name)
        return name

    async def _ensure_crds(self, ca_b64: str) -> list[str]:
        desired_cfg = configs.crd_conversion_client_config(self.settings, ca_b64)
        updated: list[str] = []
        for crd in (await self.client.list(CRDS)).get("items") or []:
            spec = crd.get("spec") or {}
            conversion = spec.get("conversion") or {}
            if spec.get("group") != configs.ROLLOUTS_GROUP or conversion.get("strategy") != "Webhook":
                continue
            current = (conversion.get("webhook") or {}).get("clientConfig")
            if current is not None and configs.contains(current, desired_cfg) and \
                    set(current) <= set(desired_cfg):
                continue
            new = copy.deepcopy(crd)
            new["spec"]["conversion"]["webhook"] = {
                "clientConfig": copy.deepcopy(desired_cfg),
                "conversionReviewVersions": ["v1", "v1beta1"],
            }
            await self.client.update(CRDS, new)
            updated.append(crd["metadata"]["name"])
            log.info("CRD conversion webhook updated", crd=crd["metadata"]["name"])
        return updated

