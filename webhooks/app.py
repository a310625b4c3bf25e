"""Wiring for the manager: build the registry, then start the certificate sync and the server in order.

Order matters (upstream pkg/webhook/server.go): the server can only listen once a certificate exists
in ``cert_dir``, and that certificate comes from the first successful sync. ``WebhookApp.start``
therefore starts the sync loop, waits up to ``initial_sync_timeout`` (20 s) for it — failing the
process like upstream if it does not finish — and then starts the server. The sync keeps running and
tells the server to reload whenever it rewrites the files.

Typical manager code::

    registry = build_registry(rollout_lister=cache_lister)
    registry.mutating(configs.PATH_DEPLOYMENT, deployment_handler)     # workload handlers
    app = WebhookApp(client, WebhookSettings.from_env(), registry)
    await app.start()
    ...
    await app.stop()
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

import attrs

from rollouts.api.validation import DEFAULT_SETTINGS, ValidationSettings
from webhooks import configs
from webhooks.certsync import CertSync, SyncClient, utcnow
from webhooks.conversion import ConvertFn, default_converter
from webhooks.server import HandlerRegistry, WebhookServer
from webhooks.settings import WebhookSettings
from webhooks.triggers import start_triggers
from webhooks.validating_rollout import RolloutLister, RolloutValidator


def build_registry(
    *,
    rollout_lister: RolloutLister | None = None,
    validation_settings: ValidationSettings = DEFAULT_SETTINGS,
    convert: ConvertFn | None = None,
) -> HandlerRegistry:
    """A registry with the Rollout validating webhook and ``/convert``; add mutating handlers to it."""
    registry = HandlerRegistry()
    registry.validating(configs.PATH_VALIDATE_ROLLOUT, RolloutValidator(rollout_lister, validation_settings))
    registry.conversion(configs.CONVERSION_PATH, convert or default_converter())
    return registry


class WebhookApp:
    """The certificate sync plus the HTTPS server, as one startable/stoppable component."""

    def __init__(
        self,
        client: SyncClient,
        settings: WebhookSettings,
        registry: HandlerRegistry,
        *,
        now: Callable[[], datetime] = utcnow,
        watch_triggers: bool = True,
    ) -> None:
        """``watch_triggers``: start the watches of ``webhooks.triggers`` (off when the manager feeds
        ``cert_sync.trigger`` from its own informers, or for clients without ``watch``)."""
        self.client = client
        self.watch_triggers = watch_triggers
        self.settings = settings
        self.registry = registry
        self.server = WebhookServer(registry, settings)
        self.cert_sync = CertSync(client, settings, registry.paths, now=now,
                                  on_certs_written=self.server.reload_certs)
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Run the sync loop, wait for its first success, then listen. Raises TimeoutError if the
        first sync does not succeed in ``settings.initial_sync_timeout``."""
        if self.settings.url_mode and self.settings.port == 0:
            # The URLs we register must carry the real port: bind first, then sync.
            self.settings = attrs.evolve(self.settings, port=self.server.bind())
            self.server.settings = self.cert_sync.settings = self.settings
        self._tasks = [asyncio.create_task(self.cert_sync.run(), name="webhook-cert-sync")]
        if self.watch_triggers:
            self._tasks += start_triggers(self.client, self.settings, self.cert_sync.trigger)  # type: ignore[arg-type]
        try:
            await self.cert_sync.wait_initialized()
            await self.server.start()
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop serving, then stop the sync and its watches. Configurations are left in place on purpose: other
        replicas keep serving them (tests delete them before stopping, see docs/webhooks.md)."""
        await self.server.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
