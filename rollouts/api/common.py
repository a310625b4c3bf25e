"""Structs shared verbatim by several kinds/versions (object refs, traffic refs, Gateway API bits).

Sharing the classes (instead of one copy per version, as the Go code does) lets conversion move
these sub-objects across versions untouched — including any unknown fields they carry.
Field order = Go struct order (it matters for the rollout hash, rollout-lifecycle.md §3.1).
"""

from __future__ import annotations

from typing import Any

import attrs

from rollouts.api.intstr import IntOrString
from rollouts.api.wire import WireModel, field, string_map

I32 = {"format": "int32"}
I64 = {"format": "int64"}
DATE_TIME = {"format": "date-time"}

#: RFC 7230 token, the Gateway API header-name pattern.
HEADER_NAME_PATTERN = "^[A-Za-z0-9!#$%&'*+\\-.^_\\x60|~]+$"
_HEADER_NAME = {"minLength": 1, "maxLength": 256, "pattern": HEADER_NAME_PATTERN}


@attrs.define(kw_only=True)
class ObjectRef(WireModel):
    """Reference to a workload in the same namespace (``workloadRef``). All three are required."""

    api_version: str = field("apiVersion", required=True, default="", doc="API Version of the referent")
    kind: str = field("kind", required=True, default="", doc="Kind of the referent")
    name: str = field("name", required=True, default="", doc="Name of the referent")


@attrs.define(kw_only=True)
class IngressTrafficRouting(WireModel):
    """Kubernetes Ingress provider; empty ``classType`` means ``nginx``."""

    class_type: str = field("classType", omitempty=True, default="", doc="Lua script selector, default nginx")
    name: str = field("name", required=True, default="", doc="Name of the Ingress")


@attrs.define(kw_only=True)
class GatewayTrafficRouting(WireModel):
    """Gateway API HTTPRoute provider. ``httpRouteName`` is a Go pointer (absent ≠ empty)."""

    http_route_name: str | None = field("httpRouteName", omitempty=True)


@attrs.define(kw_only=True)
class CustomNetworkRef(WireModel):
    api_version: str = field("apiVersion", required=True, default="")
    kind: str = field("kind", required=True, default="")
    name: str = field("name", required=True, default="")


@attrs.define(kw_only=True)
class TrafficRoutingRef(WireModel):
    """One traffic provider configuration (``trafficRoutings[i]`` / TrafficRouting ``objectRef[i]``).

    ``grace_period_seconds`` defaults to 0 in Python like Go (0 is omitted on the wire); the CRD schema
    default (3) is what the apiserver fills in, so stored objects always carry a value.
    """

    service: str = field("service", required=True, default="", doc="Name of the stable Service")
    grace_period_seconds: int = field(
        "gracePeriodSeconds", omitempty=True, default=0, schema={**I32, "default": 3},
        doc="Seconds to wait after each traffic change so that data planes converge",
    )
    ingress: IngressTrafficRouting | None = field("ingress", omitempty=True)
    gateway: GatewayTrafficRouting | None = field("gateway", omitempty=True)
    custom_network_refs: list[CustomNetworkRef] = field("customNetworkRefs", omitempty=True, factory=list)


@attrs.define(kw_only=True)
class HTTPHeader(WireModel):
    name: str = field("name", required=True, default="", schema=_HEADER_NAME)
    value: str = field("value", required=True, default="", schema={"minLength": 1, "maxLength": 4096})


_HEADER_LIST = {"maxItems": 16, "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]}


@attrs.define(kw_only=True)
class HTTPHeaderFilter(WireModel):
    """Gateway API ``HTTPHeaderFilter`` applied to requests routed to the canary."""

    set: list[HTTPHeader] = field("set", omitempty=True, factory=list, schema=_HEADER_LIST)
    add: list[HTTPHeader] = field("add", omitempty=True, factory=list, schema=_HEADER_LIST)
    remove: list[str] = field(
        "remove", omitempty=True, factory=list, schema={"maxItems": 16, "x-kubernetes-list-type": "set"}
    )


_PATH_PREFIX_RULE = "(self.type in ['Exact','PathPrefix'])"
_PATH_RULES = [
    {"message": "value must be an absolute path and start with '/' when type one of ['Exact', 'PathPrefix']",
     "rule": f"{_PATH_PREFIX_RULE} ? self.value.startsWith('/') : true"},
    *[
        {"message": f"must not contain '{s}' when type one of ['Exact', 'PathPrefix']",
         "rule": f"{_PATH_PREFIX_RULE} ? !self.value.contains('{s}') : true"}
        for s in ("//", "/./", "/../", "%2f", "%2F", "#")
    ],
    *[
        {"message": f"must not end with '{s}' when type one of ['Exact', 'PathPrefix']",
         "rule": f"{_PATH_PREFIX_RULE} ? !self.value.endsWith('{s}') : true"}
        for s in ("/..", "/.")
    ],
]


@attrs.define(kw_only=True)
class HTTPPathMatch(WireModel):
    """Gateway API path match; both fields are Go pointers with schema defaults."""

    __schema_extra__ = {"x-kubernetes-validations": _PATH_RULES}

    type: str | None = field(
        "type", omitempty=True, schema={"default": "PathPrefix", "enum": ["Exact", "PathPrefix", "RegularExpression"]}
    )
    value: str | None = field("value", omitempty=True, schema={"default": "/", "maxLength": 1024})


_EXACT_OR_REGEX = {"default": "Exact", "enum": ["Exact", "RegularExpression"]}


@attrs.define(kw_only=True)
class HTTPHeaderMatch(WireModel):
    type: str | None = field("type", omitempty=True, schema=_EXACT_OR_REGEX)
    name: str = field("name", required=True, default="", schema=_HEADER_NAME)
    value: str = field("value", required=True, default="", schema={"minLength": 1, "maxLength": 4096})


@attrs.define(kw_only=True)
class HTTPQueryParamMatch(WireModel):
    type: str | None = field("type", omitempty=True, schema=_EXACT_OR_REGEX)
    name: str = field("name", required=True, default="", schema=_HEADER_NAME)
    value: str = field("value", required=True, default="", schema={"minLength": 1, "maxLength": 1024})


@attrs.define(kw_only=True)
class RolloutPause(WireModel):
    """``duration`` absent → wait for manual approval; present → continue after that many seconds."""

    duration: int | None = field("duration", omitempty=True, schema=I32)


@attrs.define(kw_only=True)
class PatchPodTemplateMetadata(WireModel):
    annotations: dict[str, str] = field("annotations", omitempty=True, factory=dict)
    labels: dict[str, str] = field("labels", omitempty=True, factory=dict)


@attrs.define(kw_only=True)
class RolloutCondition(WireModel):
    """A status condition (Rollout and BatchRelease share the shape).

    Times are RFC 3339 strings; ``None`` is omitted (Go would write ``null`` for a zero metav1.Time).
    """

    type: str = field("type", required=True, default="")
    status: str = field("status", required=True, default="", doc="True, False or Unknown")
    last_update_time: str | None = field("lastUpdateTime", omitempty=True, schema=DATE_TIME)
    last_transition_time: str | None = field("lastTransitionTime", omitempty=True, schema=DATE_TIME)
    reason: str = field("reason", required=True, default="")
    message: str = field("message", required=True, default="")


@attrs.define(kw_only=True)
class KubeObject(WireModel):
    """Read helpers shared by the top-level kinds, whose ``metadata`` is the raw ObjectMeta dict.

    Subclasses declare the ``metadata`` field (it is not declared here so that each kind keeps Go's
    field order: apiVersion, kind, metadata, spec, status). The accessors never fail on malformed input.
    """

    def _meta(self) -> dict[str, Any]:
        meta = getattr(self, "metadata", None)
        return meta if isinstance(meta, dict) else {}

    @property
    def name(self) -> str:
        return str(self._meta().get("name") or "")

    @property
    def namespace(self) -> str:
        return str(self._meta().get("namespace") or "")

    @property
    def annotations(self) -> dict[str, str]:
        """``metadata.annotations`` as a read-only copy; non-string values (malformed input) are skipped."""
        return string_map(self._meta().get("annotations"))

    @property
    def labels(self) -> dict[str, str]:
        return string_map(self._meta().get("labels"))


__all__ = [
    "KubeObject",
    "ObjectRef", "IngressTrafficRouting", "GatewayTrafficRouting", "CustomNetworkRef", "TrafficRoutingRef",
    "HTTPHeader", "HTTPHeaderFilter", "HTTPPathMatch", "HTTPHeaderMatch", "HTTPQueryParamMatch",
    "RolloutPause", "PatchPodTemplateMetadata", "RolloutCondition", "IntOrString",
]
