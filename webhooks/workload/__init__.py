"""Mutating webhooks for workloads (workload-webhook.md §1, §2): how a release *starts*.

One module per path: ``deployment.py``, ``cloneset.py``, ``daemonset.py`` (Advanced DaemonSet),
``nativedaemonset.py`` and ``unified.py`` (StatefulSet-like); :func:`register` adds them to a
:class:`webhooks.server.HandlerRegistry` built by ``webhooks.app.build_registry``.
"""

from __future__ import annotations

from typing import Any

from webhooks import configs
from webhooks.rollout_query import RolloutsByWorkload
from webhooks.server import HandlerRegistry
from webhooks.workload.cloneset import CloneSetHandler
from webhooks.workload.daemonset import AdvancedDaemonSetHandler
from webhooks.workload.deployment import DeploymentHandler
from webhooks.workload.nativedaemonset import NativeDaemonSetHandler
from webhooks.workload.unified import UnifiedHandler


def register(registry: HandlerRegistry, client: Any, api: Any = None) -> None:
    """Serve every workload mutating path of workload-webhook.md §1.

    ``client`` may serve reads from informer caches; ``api`` (default ``client``) always asks the
    API server (see :mod:`webhooks.workload.reads`). The handlers share one :class:`RolloutsByWorkload`:
    against a CRD without the selectable field, one fallback (one warning, one retry timer) for all."""
    shared = RolloutsByWorkload(api if api is not None else client)
    for path, handler in ((configs.PATH_DEPLOYMENT, DeploymentHandler), (configs.PATH_CLONESET, CloneSetHandler),
                          (configs.PATH_ADVANCED_DAEMONSET, AdvancedDaemonSetHandler),
                          (configs.PATH_NATIVE_DAEMONSET, NativeDaemonSetHandler),
                          (configs.PATH_UNIFIED, UnifiedHandler)):
        registry.mutating(path, handler(client, api, by_workload=shared))
