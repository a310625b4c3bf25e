"""Event triggers for the certificate sync (upstream watches the same objects with informers, §9.1).

Any change to our Secret, to either webhook configuration or to a ``rollouts.kruise.io`` CRD calls
``trigger()``; the sync itself is level-based, so spurious or duplicate triggers only cost a no-op
pass (our own writes come back as MODIFIED events and are absorbed that way).

Each watch is a trivial loop: (re)start a watch without a resourceVersion — the API server then
replays the current objects as ADDED, which is exactly one extra sync per reconnect — and trigger on
every non-bookmark event. Failures back off from 1 s to 30 s. The manager may instead call
``CertSync.trigger`` from its own informers; these loops exist so ``WebhookApp`` is complete alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

import structlog

from rollouts.objects import crd as crd_objects
from runtime.kube.resources import CRDS, MUTATING_WEBHOOK_CONFIGURATIONS, SECRETS, VALIDATING_WEBHOOK_CONFIGURATIONS
from webhooks import configs
from webhooks.settings import WebhookSettings

#: Backoff after a failed or refused watch.
WATCH_RETRY_MIN_S = 1.0
WATCH_RETRY_MAX_S = 30.0

log = structlog.get_logger("webhooks.triggers")


class WatchClient(Protocol):
    def watch(self, res: Any, namespace: str | None = None, *, field_selector: str | None = None
              ) -> AsyncIterator[Any]: ...


async def watch_and_trigger(
    client: WatchClient,
    res: Any,
    trigger: Callable[[], None],
    *,
    namespace: str | None = None,
    field_selector: str | None = None,
    accept: Callable[[dict[str, Any]], bool] = lambda _: True,
) -> None:
    """Trigger on every event of one watch, forever (cancel to stop)."""
    delay = WATCH_RETRY_MIN_S
    while True:
        try:
            async for event in client.watch(res, namespace, field_selector=field_selector):
                delay = WATCH_RETRY_MIN_S
                if event.type != "BOOKMARK" and accept(event.object):
                    trigger()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - any watch failure: back off and re-watch
            log.debug("trigger watch ended", resource=str(res), error=str(exc), retry_in=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, WATCH_RETRY_MAX_S)


def _is_ours(obj: dict[str, Any]) -> bool:
    return crd_objects.group(obj) == configs.ROLLOUTS_GROUP


def start_triggers(client: WatchClient, settings: WebhookSettings, trigger: Callable[[], None]
                   ) -> list[asyncio.Task[None]]:
    """Start the four watches of spec §9.1; returns the tasks (cancel them to stop)."""
    specs: list[tuple[Any, str | None, str | None, Callable[[dict[str, Any]], bool]]] = [
        (MUTATING_WEBHOOK_CONFIGURATIONS, None, f"metadata.name={configs.MUTATING_CONFIGURATION_NAME}",
         lambda _: True),
        (VALIDATING_WEBHOOK_CONFIGURATIONS, None, f"metadata.name={configs.VALIDATING_CONFIGURATION_NAME}",
         lambda _: True),
        (CRDS, None, None, _is_ours),
    ]
    if settings.cert_writer == "secret":
        specs.append((SECRETS, settings.namespace, f"metadata.name={settings.secret_name}", lambda _: True))
    return [
        asyncio.create_task(watch_and_trigger(client, res, trigger, namespace=ns, field_selector=fs, accept=acc),
                            name=f"webhook-trigger-{res.plural}")
        for res, ns, fs, acc in specs
    ]
