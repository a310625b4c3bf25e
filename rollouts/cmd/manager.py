"""``kruise-rollout``: the controller manager (Rollout, BatchRelease, advanced Deployment controllers,
the webhook server and its certificate sync) on one :class:`runtime.manager.Manager`.

Controllers run on the leader only; the webhook server (and the certificate sync) on every replica,
and it serves before the controllers start. A manager started while the API server is down waits for
it (not ready) instead of crashing. ``--local-cluster`` targets the embedded control plane: CRDs,
namespace and RBAC are installed once the API answers, the webhooks are registered in URL mode
(``https://127.0.0.1:<port>``; a healthy replica's registration is kept) and the webhook
configurations are deleted on shutdown when they call this replica, so a stopped manager does not
block the managed workloads' template changes (their entries use ``failurePolicy: Fail``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import structlog

from rollouts.analysis.template import GROUP as ANALYSIS_GROUP
from rollouts.cmd import featuregates
from rollouts.cmd.install import install
from rollouts.controllers.common import ROLLOUTS
from rollouts.controllers.setup import ControllerOptions, add_controllers
from rollouts.controllers.sharding import Shard, lease_name, parse_shard
from rollouts.controllers.workloads import available_kruise_resources
from rollouts.objects.workloadref import WORKLOAD_REF_INDEX, workload_ref_index
from runtime.cache.reader import CachedReader
from runtime.gcpolicy import GcSettings
from runtime.kube.client import ClientSettings, KubeClient
from runtime.kube.resources import MUTATING_WEBHOOK_CONFIGURATIONS
from runtime.logging import LOG_FORMATS, configure_logging
from runtime.manager import Manager, ManagerSettings
from runtime.preflight import Problem, check_collections, collections_of
from webhooks.app import WebhookApp, build_registry
from webhooks.metrics import AdmissionMetrics
from webhooks.rollout_cache import CachedRolloutLister
from webhooks.settings import WebhookSettings
from webhooks.validating_rollout import KubeRolloutLister, RolloutLister
from webhooks.workload import register as register_workload_webhooks

#: Upstream's leader election id (main.go).
LEADER_ELECTION_ID = "71ddec2c.kruise.io"

log = structlog.get_logger("rollouts.cmd.manager")


@attrs.frozen(kw_only=True)
class Options:
    """Command-line options (defaults follow upstream main.go)."""

    kubeconfig: str | None = None
    """Kubeconfig path; None → ``$KUBECONFIG``, in-cluster config, ``~/.kube/config``."""
    local_cluster: bool = False
    """Install CRDs/RBAC/webhook configurations and serve the webhook in URL mode on 127.0.0.1."""
    metrics_addr: str = ":8080"
    """Address of ``/metrics`` (and, when equal to ``health_addr``, of the probes too)."""
    health_addr: str = ":8081"
    """Address of ``/healthz`` and ``/readyz``."""
    leader_elect: bool = True
    """Run controllers only on the replica holding the Lease ``71ddec2c.kruise.io``."""
    webhook_port: int = 9876
    """HTTPS port of the webhook server (0: pick a free one)."""
    webhook_cert_dir: str | None = None
    """Where the serving certificate is written (default ``$WEBHOOK_CERT_DIR`` or /tmp/...)."""
    namespace: str = "kruise-rollout"
    """Namespace of the Lease and the webhook certificate Secret (``POD_NAMESPACE``)."""
    kruise_resources: frozenset | None = None
    """OpenKruise workload resources (not a flag): None → discovered from the CRDs once the API
    server answers (a manager started during an API outage must not conclude "no OpenKruise")."""
    rest_config_qps: float = 50.0
    """Client-side request rate (OpenKruise's ``--rest-config-qps``). A release step costs ~20–40
    requests in a burst; controller-runtime's 20/s throttled every step by hundreds of ms."""
    rest_config_burst: int = 100
    """Requests allowed at once above the rate (``--rest-config-burst``)."""
    trafficrouting_workers: int = 3
    """Concurrent TrafficRouting reconciles (upstream ``--trafficrouting-workers``, default 3)."""
    verbosity: int = 0
    """Upstream's klog ``--v`` (the chart's ``log.level``): 5 and above logs debug lines."""
    feature_gates: Mapping[str, bool] = attrs.field(factory=dict)
    """``--feature-gates`` as parsed (gates left out take ``featuregates.DEFAULTS``)."""
    rollouthistory_workers: int = 3
    """Concurrent RolloutHistory reconciles (upstream ``--rollouthistory-workers``, default 3)."""
    rollout_workers: int = 3
    """Concurrent Rollout reconciles (upstream ``--rollout-workers``, default 3). A reconcile mostly
    waits on API round trips, so on a busy API server (thousands of Rollouts starting at once,
    bench/RESULTS.md "Scale") the throughput is workers / round-trip time: raise it with the QPS."""
    batchrelease_workers: int = 3
    """Concurrent BatchRelease reconciles (upstream ``--batchrelease-workers``, default 3)."""
    deployment_workers: int = 2
    """Concurrent advanced-Deployment syncs (upstream ``--deployment-workers``)."""
    nativedaemonset_workers: int = 1
    """Concurrent native-DaemonSet pod-deleter syncs (upstream ``--nativedaemonset-workers``)."""
    log_format: str = "auto"
    """``--log-format``: ``json`` (the chart's ``log.format``), ``console`` (structlog's, for a person),
    or ``auto``: console with colours when stderr is a terminal, JSON otherwise (``make dev`` in a shell
    reads well, a pod or a pipe gets JSON lines)."""
    gc_freeze: bool = True
    """``--gc-freeze``: stop the cycle collector from rescanning the informer caches (survivors of each
    full collection are frozen; runtime/gcpolicy.py says why). ``--no-gc-freeze``: CPython's default."""
    gc_rescan_interval: float = 1800.0
    """``--gc-rescan-interval`` seconds: how often the frozen objects are scanned once anyway."""
    shard: Shard | None = None
    """``--shard-name`` with ``--shard-selector`` and/or ``--shard-namespaces``: reconcile only that
    shard's Rollouts, electing a leader on the Lease ``71ddec2c.kruise.io-shard-<name>`` (docs/operations.md
    "Sharding"). None: every Rollout, upstream's Lease."""


#: Upstream's per-controller concurrency flags, ``--<name>-workers`` (rollout-lifecycle.md "Workers").
WORKER_FLAGS = ("rollout", "batchrelease", "deployment", "nativedaemonset", "trafficrouting", "rollouthistory")


def _addr(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host or "0.0.0.0", int(port)


def parse_args(argv: Sequence[str] | None = None) -> Options:
    p = argparse.ArgumentParser(prog="kruise-rollout", description=__doc__.splitlines()[0])
    p.add_argument("--kubeconfig", default=None)
    p.add_argument("--local-cluster", action="store_true")
    p.add_argument("--metrics-addr", "--metrics-bind-address", dest="metrics_addr", default=":8080")
    p.add_argument("--health-addr", "--health-probe-bind-address", dest="health_addr", default=":8081")
    p.add_argument("--leader-elect", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--webhook-port", type=int, default=int(os.environ.get("WEBHOOK_PORT") or 9876))
    p.add_argument("--webhook-cert-dir", default=None)
    p.add_argument("--namespace", default=os.environ.get("POD_NAMESPACE") or "kruise-rollout")
    defaults = attrs.fields(Options)
    p.add_argument("--rest-config-qps", type=float, default=defaults.rest_config_qps.default)
    p.add_argument("--rest-config-burst", type=int, default=defaults.rest_config_burst.default)
    for flag in WORKER_FLAGS:
        p.add_argument(f"--{flag}-workers", type=int, default=getattr(defaults, f"{flag}_workers").default)
    p.add_argument("--v", dest="verbosity", type=int, default=0, help="log verbosity (klog style): >= 5 is debug")
    p.add_argument("--feature-gates", default="", help="upstream gates, Name=true|false[,...]")
    p.add_argument("--log-format", choices=LOG_FORMATS, default="auto",
                   help="json, console, or auto (console on a terminal, JSON otherwise)")
    p.add_argument("--shard-name", default=None, help="run as this shard (its own Lease); needs --shard-selector "
                   "and/or --shard-namespaces")
    p.add_argument("--shard-selector", default=None,
                   help="label selector on the Rollouts this shard owns, e.g. shard=a")
    p.add_argument("--shard-namespaces", default=None, help="namespaces whose Rollouts this shard owns, e.g. a,b")
    p.add_argument("--gc-freeze", action=argparse.BooleanOptionalAction, default=defaults.gc_freeze.default,
                   help="freeze what survives a full garbage collection (short pauses with large caches)")
    p.add_argument("--gc-rescan-interval", type=float, default=defaults.gc_rescan_interval.default,
                   help="seconds between full scans of the frozen objects")
    a = p.parse_args(argv)
    if a.gc_rescan_interval <= 0:
        p.error(f"--gc-rescan-interval must be > 0 seconds (got {a.gc_rescan_interval})")
    try:
        shard = parse_shard(a.shard_name, a.shard_selector, a.shard_namespaces)
    except ValueError as e:
        p.error(str(e))
    workers = {f"{flag}_workers": getattr(a, f"{flag}_workers") for flag in WORKER_FLAGS}
    for flag in WORKER_FLAGS:
        if (count := getattr(a, f"{flag}_workers")) < 1:
            p.error(f"--{flag}-workers must be >= 1 (got {count})")
    try:
        gates = featuregates.parse(a.feature_gates)
    except ValueError as e:
        p.error(str(e))
    if a.rest_config_qps <= 0 or a.rest_config_burst < 1:
        p.error(f"--rest-config-qps must be > 0 and --rest-config-burst >= 1 (got {a.rest_config_qps}, "
                f"{a.rest_config_burst})")
    return Options(kubeconfig=a.kubeconfig, local_cluster=a.local_cluster, metrics_addr=a.metrics_addr,
                   health_addr=a.health_addr, leader_elect=a.leader_elect, webhook_port=a.webhook_port,
                   webhook_cert_dir=a.webhook_cert_dir, namespace=a.namespace, rest_config_qps=a.rest_config_qps,
                   rest_config_burst=a.rest_config_burst, verbosity=a.verbosity, feature_gates=gates,
                   log_format=a.log_format, shard=shard, gc_freeze=a.gc_freeze,
                   gc_rescan_interval=a.gc_rescan_interval, **workers)


def webhook_settings(opts: Options) -> WebhookSettings:
    overrides: dict[str, Any] = {"namespace": opts.namespace, "port": opts.webhook_port}
    if opts.webhook_cert_dir:
        overrides["cert_dir"] = opts.webhook_cert_dir
    if opts.local_cluster:
        overrides.update(host="127.0.0.1", url_host="127.0.0.1", create_configurations=True)
    return WebhookSettings.from_env(**overrides)


class WebhookRunnable:
    """The webhook app as a manager runnable; in local mode it unregisters itself before stopping."""

    def __init__(self, client: Any, settings: WebhookSettings, *, unregister_on_stop: bool,
                 workload_reads: Any = None, metrics: AdmissionMetrics | None = None,
                 rollout_lister: RolloutLister | None = None) -> None:
        """``workload_reads``: the cached reader the workload handlers use (default: ``client``);
        ``metrics``: where admission latency and denials go (the manager's registry);
        ``rollout_lister``: the Rollout validator's reads (default: the API server on every call)."""
        self.client = client
        self.registry = build_registry(rollout_lister=rollout_lister or KubeRolloutLister(client))
        register_workload_webhooks(self.registry, workload_reads or client, api=client)
        self.app = WebhookApp(client, settings, self.registry, metrics=metrics)
        self.unregister_on_stop = unregister_on_stop

    @property
    def ready(self) -> bool:
        return self.app.server.ready

    async def __call__(self) -> None:
        await self.app.start()
        log.info("webhook server serving", port=self.app.server.port, paths=sorted(self.registry.paths()))
        try:
            await asyncio.Event().wait()
        finally:
            # stop(unregister=True) stops the certificate sync *before* deleting the configurations;
            # deleting first lets the still-running sync see the deletion and re-create them, leaving
            # a failurePolicy=Fail configuration that points at a stopped server.
            await asyncio.shield(self.app.stop(unregister=self.unregister_on_stop))


def controller_options(opts: Options, resources: frozenset) -> ControllerOptions:
    """The controllers' part of the flags (worker counts, gates, shard) and the OpenKruise kinds found."""
    gates = dict(opts.feature_gates)
    return ControllerOptions(
        kruise_resources=resources, namespace=opts.namespace,
        **{f"{flag}_workers": getattr(opts, f"{flag}_workers") for flag in WORKER_FLAGS},
        rollout_history=featuregates.enabled(gates, "RolloutHistory"),
        keep_workload_paused_on_deletion=featuregates.enabled(gates, "KeepWorkloadPausedOnRolloutDeletion"),
        shard=opts.shard)


def build_manager(client: Any, opts: Options, webhook_client: Any = None) -> tuple[Manager, WebhookRunnable]:
    """The fully wired manager (tests call this with their own client).

    Start order (``runtime.manager``): the manager waits for the API server, then the setup step
    installs (local cluster), discovers the OpenKruise kinds and registers the controllers; the
    webhook server serves before any informer or controller starts (its ``ready`` gates them).

    ``webhook_client`` (default: ``client``) serves admission reads; the manager gives it its own
    rate limiter so an admission answer never queues behind the controllers' requests."""
    host, port = _addr(opts.health_addr)
    settings = ManagerSettings(http_host=host, http_port=port, leader_election=opts.leader_elect,
                               leader_election_id=lease_name(LEADER_ELECTION_ID, opts.shard),
                               leader_election_namespace=opts.namespace,
                               gc=GcSettings(freeze=opts.gc_freeze, rescan_interval=opts.gc_rescan_interval))
    mgr = Manager(client, settings=settings)

    async def setup() -> None:
        if opts.local_cluster:
            await install(client, opts.namespace)
        resources = opts.kruise_resources
        if resources is None:
            resources = await available_kruise_resources(client)
        add_controllers(mgr, controller_options(opts, resources))
        # Every informer exists now (the controllers' and the webhooks'): a missing CRD or grant stops
        # the start here with one line, instead of reflectors retrying 404/403 for ever.
        if problems := await check_collections(client, collections_of(mgr.informers.informers)):
            raise StartupError(startup_problem(problems))

    mgr.add_setup("install-and-controllers", setup)
    webhook_client = webhook_client or client
    # Every replica runs the informers (only the controllers wait for leadership), so the workload
    # webhooks can read Rollouts and their own configuration from them (webhooks.workload.reads).
    # The Rollout validator finds a Rollout already targeting the same workload by the informer's index.
    # This informer is never sharded: the check must see every shard's Rollouts.
    rollouts = mgr.informers.informer(ROLLOUTS, indexers={WORKLOAD_REF_INDEX: workload_ref_index})
    reads = CachedReader(webhook_client, {ROLLOUTS: rollouts,
                                          MUTATING_WEBHOOK_CONFIGURATIONS:
                                              mgr.informers.informer(MUTATING_WEBHOOK_CONFIGURATIONS)})
    webhook = WebhookRunnable(webhook_client, webhook_settings(opts), unregister_on_stop=opts.local_cluster,
                              workload_reads=reads, metrics=AdmissionMetrics(mgr.registry),
                              rollout_lister=CachedRolloutLister(rollouts, webhook_client, clock=mgr.clock))
    mgr.add_runnable("webhook", webhook, ready=lambda: webhook.ready)
    if opts.metrics_addr != opts.health_addr:
        from runtime.http import HealthServer

        mhost, mport = _addr(opts.metrics_addr)
        metrics = HealthServer(mgr.registry, host=mhost, port=mport)

        async def serve_metrics() -> None:
            await metrics.start()
            try:
                await asyncio.Event().wait()
            finally:
                await metrics.stop()

        mgr.add_runnable("metrics", serve_metrics)
    return mgr, webhook


#: API groups whose CRDs this project ships (config/crd and the chart).
_OUR_GROUPS = frozenset({ROLLOUTS.group, ANALYSIS_GROUP})


class StartupError(Exception):
    """The manager cannot work in this cluster (a CRD or an RBAC grant is missing): one line, exit 1."""


def startup_problem(problems: Sequence[Problem]) -> str:
    """One line naming every collection the manager cannot read and where its fix lives."""
    parts = []
    for p in problems:
        if p.kind == "missing":
            fix = ("install the CRDs (config/crd, or the Helm chart deploy/charts/kruise-rollout)"
                   if p.resource.group in _OUR_GROUPS else "install its CRD")
            parts.append(f"{p.where} is not served by the API server; {fix}")
        else:
            parts.append(f"{p.where} cannot be listed ({p.kind}: {p.message}); grant get/list/watch on it to "
                         "this identity (config/rbac/role.yaml, or the Helm chart)")
    return "cannot start: " + "; ".join(parts)


async def run(opts: Options) -> None:
    settings = ClientSettings(qps=opts.rest_config_qps, burst=opts.rest_config_burst)
    client = await KubeClient.auto(opts.kubeconfig, settings=settings)
    webhook_client = KubeClient(client.connection, settings=settings)
    try:
        mgr, _ = build_manager(client, opts, webhook_client)
        await mgr.run()
    finally:
        await webhook_client.aclose()
        await client.aclose()


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_args(argv)
    configure_logging(level="debug" if opts.verbosity >= 5 else "info", log_format=opts.log_format)
    try:
        asyncio.run(run(opts))
    except KeyboardInterrupt:
        pass
    except StartupError as e:
        print(f"kruise-rollout: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
