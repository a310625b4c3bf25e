"""Pinned versions of the local control plane and where its binaries are cached.

Why pinned: the test bed must behave the same on every machine and in CI, and
the cache directory is keyed by these versions (plus the Go toolchain) so a
version bump rebuilds instead of silently reusing stale binaries.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Kubernetes release for kube-apiserver / kube-controller-manager / kube-scheduler.
#: Its go.mod asks for Go 1.26.0, which the machine's toolchain satisfies.
KUBERNETES_VERSION = "v1.36.3"
#: etcd 3.6.x: kube-apiserver needs watch progress requests (>= 3.5.13).
ETCD_VERSION = "v3.6.16"
#: kwok makes Nodes and Pods Ready without a kubelet.
KWOK_VERSION = "v0.8.0"

#: Environment variable that overrides the cache root.
CACHE_ENV = "KRUISE_LOCAL_CLUSTER_CACHE"
#: Default cache root: outside the repository so a fresh clone reuses it.
DEFAULT_CACHE_ROOT = Path.home() / ".cache" / "kruise-rollouts-py" / "control-plane"

BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")


def cache_root() -> Path:
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE_ROOT).expanduser()


def version_key(go_version: str) -> str:
    """Directory name for one combination of pinned versions and Go toolchain."""
    return f"k8s-{KUBERNETES_VERSION}_etcd-{ETCD_VERSION}_kwok-{KWOK_VERSION}_{go_version}"


#: OpenKruise (github.com/openkruise/kruise) for CloneSet / Advanced StatefulSet / Advanced
#: DaemonSet. Opt-in (``ClusterSettings(openkruise=True)``); built from its own go.mod, which
#: asks for Go 1.23 and pins k8s.io/* v0.32.x through replace lines that point at published tags.
OPENKRUISE_VERSION = "v1.9.1"


def openkruise_version_key(go_version: str) -> str:
    """Cache directory (beside the control plane's) for the kruise-manager binary and its manifests."""
    return f"openkruise-{OPENKRUISE_VERSION}_{go_version}"


#: Gateway API (sigs.k8s.io/gateway-api) whose standard-channel CRDs the local cluster can install
#: (``ClusterSettings(gateway_api=True)``): HTTPRoute for the Gateway API traffic provider. The
#: newest release the machine's Go accepts (v1.7.0 asks for a newer toolchain); it still serves
#: HTTPRoute v1beta1, the version upstream Kruise Rollouts reads. Only YAML is taken: nothing is built.
GATEWAY_API_VERSION = "v1.6.3"


def gateway_api_version_key() -> str:
    """Cache directory (beside the control plane's) of the Gateway API CRDs; no Go version in it."""
    return f"gateway-api-{GATEWAY_API_VERSION}"


#: Helm v3 (helm.sh/helm/v3/cmd/helm) for the chart tests (deploy/charts/kruise-rollout): built by
#: ``localcluster.helm`` with ``go install``; its go.mod asks for Go 1.26.0 and has no replace lines.
HELM_VERSION = "v3.21.4"


def helm_version_key(go_version: str) -> str:
    """Cache directory (beside the control plane's) of the helm binary."""
    return f"helm-{HELM_VERSION}_{go_version}"


#: Debian bookworm's ``prometheus`` package (the tests' real Prometheus; bookworm-security may bump the
#: ``+deb12u`` suffix, in which case ``apt-get download`` names the new one and this pin must follow).
PROMETHEUS_DEB_VERSION = "2.42.0+ds-5+deb12u1"


def prometheus_version_key() -> str:
    """Cache directory (beside the control plane's) of the Prometheus server binary."""
    return f"prometheus-{PROMETHEUS_DEB_VERSION.replace('+', '_')}"
