"""Settings of the webhook server and of the certificate/registration sync.

One attrs object is built once by the manager (``WebhookSettings.from_env()`` reads the upstream
environment variables of workload-webhook.md §9.2) and passed down; nothing in ``webhooks`` reads the
environment on its own.

Two modes decide how the API server reaches us:

* **service mode** (default, ``url_host`` empty): configurations point at the Service
  ``service_namespace/service_name`` port 443, the serving certificate is issued for
  ``<service>.<namespace>.svc``.
* **URL mode** (``url_host`` set, upstream ``WEBHOOK_HOST``): configurations carry
  ``url: https://<url_host>:<port><path>``. The local cluster uses it with ``127.0.0.1`` because the
  operator runs as a process on the host, not behind a Service.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from datetime import timedelta

import attrs

#: Upstream defaults (workload-webhook.md §1 and §9.2).
DEFAULT_NAMESPACE = "kruise-rollout"
DEFAULT_SECRET_NAME = "kruise-rollout-webhook-certs"
DEFAULT_SERVICE_NAME = "kruise-rollout-webhook-service"
DEFAULT_PORT = 9876
DEFAULT_CERT_DIR = "/tmp/kruise-rollout-webhook-certs"

#: Upstream regenerates the serving certificate when it would no longer verify six months from now
#: (``time.Now().AddDate(0, 6, 0)`` in writer/certwriter.go). 183 days is the longest six-month span.
DEFAULT_RENEW_BEFORE = timedelta(days=183)
#: Upstream re-enqueues the sync key one minute after every success (util/controller).
DEFAULT_RESYNC_PERIOD = timedelta(seconds=60)
#: Upstream fails the process if the first sync has not succeeded within 20 seconds.
DEFAULT_INITIAL_SYNC_TIMEOUT = timedelta(seconds=20)
#: How often the server compares the certificate files on disk with the ones it serves. The sync
#: also asks for a reload directly after writing, so this only matters for external writers.
DEFAULT_CERT_POLL_INTERVAL = timedelta(seconds=10)


@attrs.frozen(kw_only=True)
class WebhookSettings:
    """Everything the webhook server and its certificate sync need to know."""

    host: str = "0.0.0.0"
    """Address the HTTPS server binds to. Upstream listens on all addresses; tests use 127.0.0.1."""

    port: int = DEFAULT_PORT
    """Listen port (``WEBHOOK_PORT``); in URL mode also the port written into the client URLs.
    0 picks a free port (tests); the bound port is then reported by ``WebhookServer.port``. In URL mode
    ``WebhookApp.start`` binds before the first sync so the registered URLs carry the real port."""

    cert_dir: str = DEFAULT_CERT_DIR
    """Directory the server reads ``tls.crt``/``tls.key`` from (``WEBHOOK_CERT_DIR``); the sync writes
    it atomically (``..data`` symlink swap) so the server never sees a half-written pair."""

    namespace: str = DEFAULT_NAMESPACE
    """Namespace of the Secret and the Service (``POD_NAMESPACE``)."""

    secret_name: str = DEFAULT_SECRET_NAME
    """Secret that holds the CA and serving certificate so all replicas share one CA (``SECRET_NAME``)."""

    service_name: str = DEFAULT_SERVICE_NAME
    """Service written into ``clientConfig.service`` in service mode (``SERVICE_NAME``)."""

    url_host: str = ""
    """URL mode when non-empty (``WEBHOOK_HOST``): host in ``https://<url_host>:<port><path>`` and the
    name the serving certificate is issued for (an IP SAN when it is an IPv4/IPv6 literal)."""

    cert_writer: str = "secret"
    """Where the CA and serving certificate are kept (``WEBHOOK_CERT_WRITER``): ``secret`` — the Secret
    ``namespace/secret_name``, shared by all replicas; ``fs`` — only the files in ``cert_dir`` (one
    replica, or a cert dir mounted from elsewhere). ``from_env`` picks ``fs`` when ``WEBHOOK_HOST`` is set
    and the variable is empty, like upstream."""

    extra_ip_sans: tuple[str, ...] = ()
    """Additional IP SANs for the serving certificate (e.g. ``127.0.0.1`` so a service-mode cert can
    also be used by a local client). Not upstream; empty by default."""

    create_configurations: bool = False
    """Create the two webhook configurations from ``webhooks.configs`` when they are missing. Upstream
    requires them to exist (installed by kustomize/Helm) and errors otherwise; the local cluster has no
    installer, so it turns this on."""

    renew_before: timedelta = DEFAULT_RENEW_BEFORE
    """Regenerate the serving certificate when it would not verify at ``now + renew_before``."""

    resync_period: timedelta = DEFAULT_RESYNC_PERIOD
    """Interval of the periodic certificate/configuration/CRD sync."""

    initial_sync_timeout: timedelta = DEFAULT_INITIAL_SYNC_TIMEOUT
    """How long ``CertSync.wait_initialized`` waits for the first successful sync."""

    cert_poll_interval: timedelta = DEFAULT_CERT_POLL_INTERVAL
    """How often the server checks the cert files for rotation done by someone else."""

    def __attrs_post_init__(self) -> None:
        if self.cert_writer not in ("secret", "fs"):
            raise ValueError(f"cert_writer must be 'secret' or 'fs', got {self.cert_writer!r}")

    @property
    def url_mode(self) -> bool:
        """True when clients reach us through ``url_host`` rather than the Service."""
        return bool(self.url_host)

    @property
    def dns_name(self) -> str:
        """The name the serving certificate must verify for (spec §9.3 step 1)."""
        if self.url_host:
            return self.url_host
        return f"{self.service_name}.{self.namespace}.svc"

    def base_url(self) -> str:
        """``https://host:port`` used in URL mode (IPv6 literals bracketed)."""
        host = self.url_host
        try:
            if ipaddress.ip_address(host).version == 6:
                host = f"[{host}]"
        except ValueError:
            pass
        return f"https://{host}:{self.port}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> WebhookSettings:
        """Read the upstream environment variables (spec §9.2); keyword overrides win."""
        env = os.environ if env is None else env
        url_host = env.get("WEBHOOK_HOST", "")
        writer = (env.get("WEBHOOK_CERT_WRITER") or "").lower() or ("fs" if url_host else "secret")
        values: dict[str, object] = {
            "namespace": env.get("POD_NAMESPACE") or DEFAULT_NAMESPACE,
            "secret_name": env.get("SECRET_NAME") or DEFAULT_SECRET_NAME,
            "service_name": env.get("SERVICE_NAME") or DEFAULT_SERVICE_NAME,
            "url_host": url_host,
            "cert_writer": writer,
            "port": int(env.get("WEBHOOK_PORT") or DEFAULT_PORT),
            "cert_dir": env.get("WEBHOOK_CERT_DIR") or DEFAULT_CERT_DIR,
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
