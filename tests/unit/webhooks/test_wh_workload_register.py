"""``webhooks.workload.register`` serves every workload mutating path with the handler of its kind."""

from __future__ import annotations

from webhooks import configs
from webhooks.server import HandlerRegistry
from webhooks.workload import register
from webhooks.workload.cloneset import CloneSetHandler
from webhooks.workload.daemonset import AdvancedDaemonSetHandler
from webhooks.workload.deployment import DeploymentHandler
from webhooks.workload.nativedaemonset import NativeDaemonSetHandler
from webhooks.workload.unified import UnifiedHandler


def test_every_configured_mutating_path_gets_its_kinds_handler() -> None:
    registry = HandlerRegistry()
    reads, api = object(), object()
    register(registry, reads, api)
    routes = registry._routes
    want = {configs.PATH_DEPLOYMENT: DeploymentHandler, configs.PATH_CLONESET: CloneSetHandler,
            configs.PATH_ADVANCED_DAEMONSET: AdvancedDaemonSetHandler,
            configs.PATH_NATIVE_DAEMONSET: NativeDaemonSetHandler, configs.PATH_UNIFIED: UnifiedHandler}
    assert {p: type(r.target) for p, r in routes.items()} == want
    assert all(r.kind == "mutating" for r in routes.values())
