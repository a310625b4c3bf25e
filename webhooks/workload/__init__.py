"""Mutating webhooks for workloads (workload-webhook.md §1, §2): how a release *starts*.

Only the Deployment handler exists so far (``deployment.py``); :func:`register` adds it to a
:class:`webhooks.server.HandlerRegistry` built by ``webhooks.app.build_registry``.
"""

from __future__ import annotations

from typing import Any

from webhooks import configs
from webhooks.server import HandlerRegistry
from webhooks.workload.deployment import DeploymentHandler


def register(registry: HandlerRegistry, client: Any) -> None:
    """Serve ``/mutate-apps-v1-deployment`` (the only workload path served for now)."""
    registry.mutating(configs.PATH_DEPLOYMENT, DeploymentHandler(client))
