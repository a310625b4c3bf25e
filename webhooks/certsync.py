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

Replicas converge on one configuration: a replica writes only what every healthy replica would write.
In service mode they agree by construction (one Service, one CA from the shared Secret, the template
from the live object). In URL mode each replica has its own ``https://host:port`` (the local cluster
runs replicas as host processes on different ports), and rewriting the URL to one's own made two
replicas rewrite the configurations and CRDs at each other ~7 times a second until the API server
throttled them. So in URL mode the endpoint (URL base and caBundle) already registered is kept as
long as it answers ``GET /healthz`` over TLS verified with the registered caBundle — whichever replica
registered first keeps admission — and a replica registers itself only when the registered endpoint
does not answer. Admission survives either replica dying: while another replica's endpoint is
registered, this one probes it every :data:`PEER_PROBE_INTERVAL_SECONDS` and takes over at once when
it stops answering (and the registered replica, if it survives, never needs to do anything).

Time comes from ``now`` (injected) so rotation can be tested by moving the clock.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import copy
import ssl
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import aiohttp
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
#: URL mode: how often a replica whose configurations call another replica checks that the other one
#: still answers. Admission to managed workloads (failurePolicy Fail) is refused while the registered
#: replica is dead, so this bounds that window; one local TLS GET every 2 s costs nothing.
PEER_PROBE_INTERVAL_SECONDS = 2.0
#: A peer that does not answer ``/healthz`` within this counts as gone (the API server gives a
#: webhook call 10 s; a replica that slow should not be the one it calls).
PEER_PROBE_TIMEOUT_SECONDS = 2.0

#: ``probe(base_url, ca_pem)`` → does a webhook server of ours answer there?
PeerProbe = Callable[[str, bytes], Awaitable[bool]]


async def probe_peer(base_url: str, ca_pem: bytes) -> bool:
    """True if ``<base_url>/healthz`` answers 200 over TLS verified with ``ca_pem``."""
    try:
        ctx = ssl.create_default_context(cadata=ca_pem.decode())
    except (ssl.SSLError, ValueError):
        return False
    timeout = aiohttp.ClientTimeout(total=PEER_PROBE_TIMEOUT_SECONDS)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session, \
                session.get(f"{base_url}/healthz", ssl=ctx) as resp:
            return resp.status == 200
    except (aiohttp.ClientError, TimeoutError, OSError):
        return False


def _pem_of(ca_b64: str) -> bytes:
    try:
        return base64.b64decode(ca_b64, validate=True)
    except (binascii.Error, ValueError):
        return b""


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
        probe: PeerProbe = probe_peer,
        peer_probe_interval: float = PEER_PROBE_INTERVAL_SECONDS,
    ) -> None:
        """``probe``/``peer_probe_interval``: how a registered peer's health is checked (tests inject)."""
        self.client = client
        self.settings = settings
        self._served_paths = served_paths
        self.now = now
        self.on_certs_written = on_certs_written
        self.probe = probe
        self.peer_probe_interval = peer_probe_interval
        self.peer: tuple[str, bytes] | None = None
        """URL mode: ``(base_url, ca_pem)`` of the healthy peer whose endpoint we keep registered, or
        None when the registered endpoint is ours."""
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
            await self._idle(delay)

    async def _idle(self, delay: float) -> None:
        """Until a trigger or ``delay``; while a peer's endpoint is registered, probe it every
        ``peer_probe_interval`` and return as soon as it stops answering (the next sync takes over)."""
        remaining = delay
        while True:
            step = min(remaining, self.peer_probe_interval) if self.peer else remaining
            try:
                await asyncio.wait_for(self._wake.wait(), step)
                return
            except TimeoutError:
                pass
            remaining -= step
            if remaining <= 0:
                return
            if self.peer is not None and not await self.probe(*self.peer):
                log.warning("registered webhook endpoint stopped answering; taking over", endpoint=self.peer[0])
                return

    async def sync_once(self) -> SyncReport:
        """One full pass (see module docstring)."""
        now = self.now()
        result = await self.writer.ensure(self.settings.dns_name, now, self.settings.renew_before)
        artifacts = result.artifacts
        written = write_dir(self.settings.cert_dir, artifacts, now)
        # The fs writer has already written the files itself, hence "or changed" (reload is idempotent).
        if (written or result.changed) and self.on_certs_written is not None:
            self.on_certs_written()
        base_url, ca_b64 = await self._endpoint(configs.ca_bundle(artifacts.ca_cert))
        updated = [name for name in await self._ensure_configurations(ca_b64, base_url) if name]
        crds = await self._ensure_crds(ca_b64, base_url)
        report = SyncReport(ca_cert=artifacts.ca_cert, cert_changed=result.changed, files_written=written,
                            configurations_updated=tuple(updated), crds_updated=tuple(crds))
        if result.changed or written or updated or crds:
            log.info("webhook certificate sync changed things", cert_reason=result.reason, files_written=written,
                     configurations=updated, crds=crds)
        self.last_error = None
        self._initialized.set()
        return report

    async def _endpoint(self, our_ca_b64: str) -> tuple[str | None, str]:
        """``(base_url, caBundle)`` to register (see the module docstring): service mode → (None,
        ours); URL mode → the registered endpoint if it is a healthy peer's, else ours."""
        self.peer = None
        if not self.settings.url_mode:
            return None, our_ca_b64
        ours = self.settings.base_url()
        try:
            live = await self.client.get(MUTATING_WEBHOOK_CONFIGURATIONS, configs.MUTATING_CONFIGURATION_NAME)
        except NotFound:
            return ours, our_ca_b64
        registered = configs.registered_endpoint(live)
        if registered is None or registered[0] == ours:
            return ours, our_ca_b64
        base, ca_b64 = registered
        ca_pem = _pem_of(ca_b64)
        if ca_pem and await self.probe(base, ca_pem):
            self.peer = (base, ca_pem)
            return base, ca_b64
        log.info("registered webhook endpoint does not answer; registering ours", registered=base, ours=ours)
        return ours, our_ca_b64

    async def _ensure_configurations(self, ca_b64: str, base_url: str | None) -> list[str | None]:
        return [
            await self._ensure_configuration(MUTATING_WEBHOOK_CONFIGURATIONS, configs.MUTATING_CONFIGURATION_NAME,
                                             configs.mutating_configuration, ca_b64, base_url),
            await self._ensure_configuration(VALIDATING_WEBHOOK_CONFIGURATIONS,
                                             configs.VALIDATING_CONFIGURATION_NAME,
                                             configs.validating_configuration, ca_b64, base_url),
        ]

    async def _ensure_configuration(
        self, res: Any, name: str, build: Callable[[WebhookSettings], dict[str, Any]], ca_b64: str,
        base_url: str | None,
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
            body["webhooks"] = configs.render_webhooks(template, self.settings, ca_b64, self.served_paths,
                                                       base_url=base_url)
            await self.client.create(res, body)
            log.info("webhook configuration created", kind=res.kind, name=name)
            return name
        desired = copy.deepcopy(live)
        code = build(self.settings)["webhooks"] if self.settings.create_configurations else None
        template, stored = configs.template_of(desired, code=code)
        desired["webhooks"] = configs.render_webhooks(template, self.settings, ca_b64, self.served_paths,
                                                      base_url=base_url)
        if not stored and configs.contains(live.get("webhooks") or [], desired["webhooks"]):
            return None
        await self.client.update(res, desired)
        log.info("webhook configuration updated", kind=res.kind, name=name)
        return name

    async def _ensure_crds(self, ca_b64: str, base_url: str | None) -> list[str]:
        desired_cfg = configs.crd_conversion_client_config(self.settings, ca_b64, base_url=base_url)
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

