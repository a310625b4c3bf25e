"""Static descriptions of API resources: enough to build URLs without discovery.

A :class:`Resource` names a REST collection (group, version, plural) and the kind it serves. The
runtime builds paths from it directly instead of using discovery, so the client works against a
cold API server, with CRDs created a second ago, and in tests with a scripted HTTP server.
"""

from __future__ import annotations

import attrs

__all__ = [
    "Resource", "PODS", "SERVICES", "CONFIGMAPS", "SECRETS", "NAMESPACES", "NODES", "EVENTS",
    "SERVICE_ACCOUNTS", "DEPLOYMENTS", "REPLICASETS", "STATEFULSETS", "DAEMONSETS", "INGRESSES",
    "HTTPROUTES", "LEASES", "CRDS", "MUTATING_WEBHOOK_CONFIGURATIONS", "VALIDATING_WEBHOOK_CONFIGURATIONS", "HPAS",
]


@attrs.frozen
class Resource:
    """One REST collection. ``group`` is "" for the core (legacy) group."""

    group: str
    """API group, "" for core."""
    version: str
    """API version within the group, e.g. "v1"."""
    plural: str
    """Lower-case plural used in URLs, e.g. "deployments"."""
    kind: str
    """Kind of the objects served, e.g. "Deployment"."""
    namespaced: bool = True
    """Whether objects live in namespaces."""

    @property
    def api_version(self) -> str:
        """``apiVersion`` as written in objects: "apps/v1", or "v1" for core."""
        return f"{self.group}/{self.version}" if self.group else self.version

    def with_version(self, version: str) -> Resource:
        """The same resource at another version (e.g. a CRD's v1alpha1)."""
        return attrs.evolve(self, version=version)

    def collection_path(self, namespace: str | None = None) -> str:
        """URL path of the collection, namespaced when ``namespace`` is given and the resource is."""
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            return f"{base}/namespaces/{namespace}/{self.plural}"
        return f"{base}/{self.plural}"

    def object_path(self, name: str, namespace: str | None = None, subresource: str | None = None) -> str:
        """URL path of one object (and optionally one of its subresources)."""
        if not name:
            raise ValueError(f"{self.kind}: an object name is required")
        if self.namespaced and not namespace:
            raise ValueError(f"{self.kind} {name!r} is namespaced: pass namespace=")
        path = f"{self.collection_path(namespace)}/{name}"
        return f"{path}/{subresource}" if subresource else path

    def __str__(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural


PODS = Resource("", "v1", "pods", "Pod")
SERVICES = Resource("", "v1", "services", "Service")
CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap")
SECRETS = Resource("", "v1", "secrets", "Secret")
NAMESPACES = Resource("", "v1", "namespaces", "Namespace", namespaced=False)
NODES = Resource("", "v1", "nodes", "Node", namespaced=False)
EVENTS = Resource("", "v1", "events", "Event")
SERVICE_ACCOUNTS = Resource("", "v1", "serviceaccounts", "ServiceAccount")
DEPLOYMENTS = Resource("apps", "v1", "deployments", "Deployment")
REPLICASETS = Resource("apps", "v1", "replicasets", "ReplicaSet")
STATEFULSETS = Resource("apps", "v1", "statefulsets", "StatefulSet")
DAEMONSETS = Resource("apps", "v1", "daemonsets", "DaemonSet")
INGRESSES = Resource("networking.k8s.io", "v1", "ingresses", "Ingress")
#: Gateway API HTTPRoute at v1beta1, the version upstream Kruise Rollouts reads (served by Gateway API
#: v0.6 and every v1.x, so older installations work too).
HTTPROUTES = Resource("gateway.networking.k8s.io", "v1beta1", "httproutes", "HTTPRoute")
LEASES = Resource("coordination.k8s.io", "v1", "leases", "Lease")
CRDS = Resource("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
                namespaced=False)
MUTATING_WEBHOOK_CONFIGURATIONS = Resource("admissionregistration.k8s.io", "v1",
                                           "mutatingwebhookconfigurations", "MutatingWebhookConfiguration",
                                           namespaced=False)
VALIDATING_WEBHOOK_CONFIGURATIONS = Resource("admissionregistration.k8s.io", "v1",
                                             "validatingwebhookconfigurations",
                                             "ValidatingWebhookConfiguration", namespaced=False)
HPAS = Resource("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler")
