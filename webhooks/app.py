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
    await app.stop(unregister=local_cluster)   # never delete-then-stop by hand: see WebhookApp.stop
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

import attrs

from rollouts.api.validation import DEFAULT_SETTINGS, ValidationSettings
from runtime.kube.errors import NotFound
from runtime.kube.resources import MUTATING_WEBHOOK_CONFIGURATIONS, VALIDATING_WEBHOOK_CONFIGURATIONS
from runtime.tasks import cancel_and_wait
from webhooks import configs
from webhooks.certsync import CertSync, SyncClient, utcnow
from webhooks.conversion import ConvertFn, default_converter
from webhooks.metrics import AdmissionMetrics
from webhooks.server import HandlerRegistry, WebhookServer
from webhooks.settings import WebhookSettings
from webhooks.triggers import start_triggers
from webhooks.validating_analysis import AnalysisTemplateValidator
from webhooks.validating_rollout import RolloutLister, RolloutValidator


def build_registry(
    *,
    rollout_lister: RolloutLister | None = None,
    validation_settings: ValidationSettings = DEFAULT_SETTINGS,
    convert: ConvertFn | None = None,
) -> HandlerRegistry:
    """A registry with the Rollout and AnalysisTemplate validating webhooks and ``/convert``; add mutating
    handlers to it."""
    registry = HandlerRegistry()
    registry.validating(configs.PATH_VALIDATE_ROLLOUT, RolloutValidator(rollout_lister, validation_settings))
    registry.validating(configs.PATH_VALIDATE_ANALYSIS_TEMPLATE, AnalysisTemplateValidator())
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
        metrics: AdmissionMetrics | None = None,
    ) -> None:
        """``watch_triggers``: start the watches of ``webhooks.triggers`` (off when the manager feeds
        ``cert_sync.trigger`` from its own informers, or for clients without ``watch``); ``metrics``: admission
        latency and denials (``webhooks.metrics``)."""
        self.client = client
        self.watch_triggers = watch_triggers
        self.settings = settings
        self.registry = registry
        self.server = WebhookServer(registry, settings, metrics=metrics)
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

    async def stop_sync(self) -> None:
        """Stop the sync loop and its watches (the server keeps serving). Idempotent.

        A task that loses its cancellation is cancelled again (``runtime.tasks``: a CI run hung once
        in this teardown with the server still listening)."""
        await cancel_and_wait(self._tasks)
        self._tasks = []

    async def stop(self, *, unregister: bool = False) -> None:
        """Stop the sync, optionally delete our two webhook configurations, then stop serving.

        The order is the point. With ``failurePolicy: Fail`` a configuration that outlives its server
        rejects every matching request, so ``unregister=True`` (local cluster, tests: nobody else
        serves) deletes the configurations *after* the sync is stopped — a still-running sync would see
        the deletion through its watch and re-create them — and *before* the server goes away, so
        in-flight calls still get answers. In-cluster, leave ``unregister`` False: other replicas keep
        serving the same configurations.
        """
        await self.stop_sync()
        if unregister:
            await delete_configurations(self.client, only_base_url=self.settings.base_url()
                                        if self.settings.url_mode else None)
        await self.server.stop()


async def delete_configurations(client: Any, *, only_base_url: str | None = None) -> None:
    """Delete our mutating and validating configurations (missing ones are fine).

    ``only_base_url``: delete a configuration only if it calls that endpoint (URL mode: another
    replica's registered endpoint is left alone when this one stops — deleting it would leave a gap
    in which the survivor has to re-create it)."""
    for res, name in ((MUTATING_WEBHOOK_CONFIGURATIONS, configs.MUTATING_CONFIGURATION_NAME),
                      (VALIDATING_WEBHOOK_CONFIGURATIONS, configs.VALIDATING_CONFIGURATION_NAME)):
        try:
            if only_base_url is not None:
                registered = configs.registered_endpoint(await client.get(res, name))
                if registered is not None and registered[0] != only_base_url:
                    continue
            await client.delete(res, name)
        except NotFound:
            pass
