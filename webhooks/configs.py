"""The webhook configurations we register, built in one place (spec workload-webhook.md §1, §9.3).

Three consumers share this module so they cannot disagree:

* ``config/webhook/manifests.yaml`` is generated from :func:`manifests` (``python -m webhooks.configs``;
  a unit test fails if the file is stale);
* the certificate sync renders the live configurations with :func:`render_webhooks` (caBundle,
  Service or URL, dropping paths this binary does not serve) and the CRD conversion stanza with
  :func:`crd_conversion_client_config`;
* tests and the local cluster create the configurations with :func:`mutating_configuration` /
  :func:`validating_configuration` when no installer did.

Every webhook has ``failurePolicy: Fail``, ``sideEffects: None``, ``admissionReviewVersions:
[v1, v1beta1]`` like upstream. ``timeoutSeconds: 10`` and ``matchPolicy: Equivalent`` are the API
server defaults, written out so the manifest says what actually happens.
"""

from __future__ import annotations

import base64
import copy
import json
import sys
from typing import Any

import yaml

from rollouts.api import keys
from webhooks.settings import WebhookSettings

MUTATING_CONFIGURATION_NAME = "kruise-rollout-mutating-webhook-configuration"
VALIDATING_CONFIGURATION_NAME = "kruise-rollout-validating-webhook-configuration"
TEMPLATE_ANNOTATION = "template"
CONVERSION_PATH = "/convert"
ROLLOUTS_GROUP = keys.GROUP
#: Port of the Service (443 → targetPort 9876 on the pod).
SERVICE_PORT = 443
WORKLOAD_TYPE_LABEL = keys.WORKLOAD_TYPE_LABEL

#: Paths (spec §1 table).
PATH_CLONESET = "/mutate-apps-kruise-io-v1alpha1-cloneset"
PATH_ADVANCED_DAEMONSET = "/mutate-apps-kruise-io-v1alpha1-daemonset"
PATH_NATIVE_DAEMONSET = "/mutate-apps-v1-daemonset"
PATH_DEPLOYMENT = "/mutate-apps-v1-deployment"
PATH_UNIFIED = "/mutate-unified-workload"
PATH_VALIDATE_ROLLOUT = "/validate-rollouts-kruise-io-rollout"

_HAS_WORKLOAD_TYPE = {"key": WORKLOAD_TYPE_LABEL, "operator": "Exists"}

#: (name, path, apiGroups, apiVersions, resources, operations, objectSelector expressions or None)
_MUTATING: tuple[tuple[str, str, list[str], list[str], list[str], list[str], list[dict[str, Any]] | None], ...] = (
    ("mcloneset.kb.io", PATH_CLONESET, ["apps.kruise.io"], ["v1alpha1"], ["clonesets"], ["UPDATE"],
     [_HAS_WORKLOAD_TYPE]),
    ("mdaemonset.kb.io", PATH_ADVANCED_DAEMONSET, ["apps.kruise.io"], ["v1alpha1"], ["daemonsets"], ["UPDATE"],
     [_HAS_WORKLOAD_TYPE]),
    ("mdaemonset-native.kb.io", PATH_NATIVE_DAEMONSET, ["apps"], ["v1"], ["daemonsets"], ["UPDATE"], None),
    # The NotIn keeps the operator from intercepting its own Deployment.
    ("mdeployment.kb.io", PATH_DEPLOYMENT, ["apps"], ["v1"], ["deployments"], ["UPDATE"],
     [{"key": "control-plane", "operator": "NotIn", "values": ["controller-manager"]}, _HAS_WORKLOAD_TYPE]),
    ("munifiedworload.kb.io", PATH_UNIFIED, ["*"], ["*"], ["*"], ["CREATE", "UPDATE"], [_HAS_WORKLOAD_TYPE]),
)
_VALIDATING = (
    ("vrollout.kb.io", PATH_VALIDATE_ROLLOUT, [ROLLOUTS_GROUP], ["v1alpha1", "v1beta1"], ["rollouts"],
     ["CREATE", "UPDATE"], None),
)


def client_config(settings: WebhookSettings, path: str) -> dict[str, Any]:
    """``clientConfig`` without caBundle: Service reference, or URL in URL mode."""
    if settings.url_mode:
        return {"url": f"{settings.base_url()}{path}"}
    return {"service": {"namespace": settings.namespace, "name": settings.service_name, "path": path,
                        "port": SERVICE_PORT}}


def _webhook(settings: WebhookSettings, entry: tuple[Any, ...]) -> dict[str, Any]:
    name, path, groups, versions, resources, operations, selector = entry
    wh: dict[str, Any] = {
        "name": name,
        "admissionReviewVersions": ["v1", "v1beta1"],
        "clientConfig": client_config(settings, path),
        "failurePolicy": "Fail",
        "matchPolicy": "Equivalent",
        "sideEffects": "None",
        "timeoutSeconds": 10,
        "rules": [{"apiGroups": groups, "apiVersions": versions, "operations": operations,
                   "resources": resources, "scope": "*"}],
    }
    if selector:
        wh["objectSelector"] = {"matchExpressions": copy.deepcopy(selector)}
    return wh


def mutating_configuration(settings: WebhookSettings) -> dict[str, Any]:
    """The MutatingWebhookConfiguration as installed (no caBundle; the sync fills it)."""
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": MUTATING_CONFIGURATION_NAME},
        "webhooks": [_webhook(settings, e) | {"reinvocationPolicy": "Never"} for e in _MUTATING],
    }


def validating_configuration(settings: WebhookSettings) -> dict[str, Any]:
    """The ValidatingWebhookConfiguration as installed (no caBundle; the sync fills it)."""
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": VALIDATING_CONFIGURATION_NAME},
        "webhooks": [_webhook(settings, e) for e in _VALIDATING],
    }


def service(settings: WebhookSettings, target_port: int | None = None) -> dict[str, Any]:
    """The Service in front of the webhook server (service mode only)."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": settings.service_name, "namespace": settings.namespace},
        "spec": {
            "ports": [{"port": SERVICE_PORT, "targetPort": target_port or settings.port, "protocol": "TCP"}],
            "selector": {"control-plane": "controller-manager"},
        },
    }


def ca_bundle(ca_cert_pem: bytes) -> str:
    """``caBundle`` as it appears in JSON (base64 of the PEM bytes)."""
    return base64.b64encode(ca_cert_pem).decode()


def webhook_path(client_cfg: dict[str, Any]) -> str:
    """The path a webhook entry calls (from its Service or URL)."""
    if client_cfg.get("service"):
        return str(client_cfg["service"].get("path") or "/")
    url = str(client_cfg.get("url") or "")
    after_scheme = url.split("://", 1)[-1]
    return "/" + after_scheme.split("/", 1)[1] if "/" in after_scheme else "/"


def template_of(configuration: dict[str, Any]) -> tuple[list[dict[str, Any]], bool]:
    """The webhook template (spec §9.3 step 4): the ``template`` annotation, or the current webhooks.

    Returns ``(template, stored)``; ``stored`` is True when the template was just copied into the
    annotation of ``configuration`` (first run), i.e. the object changed.
    """
    annotations = configuration.setdefault("metadata", {}).setdefault("annotations", {}) or {}
    configuration["metadata"]["annotations"] = annotations
    raw = annotations.get(TEMPLATE_ANNOTATION)
    if raw:
        return json.loads(raw), False
    webhooks = copy.deepcopy(configuration.get("webhooks") or [])
    annotations[TEMPLATE_ANNOTATION] = json.dumps(webhooks, separators=(",", ":"), sort_keys=True)
    return webhooks, True


def render_webhooks(
    template: list[dict[str, Any]], settings: WebhookSettings, ca_bundle_b64: str, served_paths: frozenset[str]
) -> list[dict[str, Any]]:
    """The live webhooks for this binary: caBundle set, unserved paths dropped, Service rewritten to
    our namespace/name, or to ``url`` in URL mode.

    Deviation from upstream: in URL mode an entry that already has a ``url`` is rewritten to our
    current ``https://host:port`` too (upstream only converts Service entries), so a restarted local
    operator on a new port re-points the configuration instead of leaving a stale URL.
    """
    out: list[dict[str, Any]] = []
    for entry in template:
        wh = copy.deepcopy(entry)
        cfg = wh.setdefault("clientConfig", {})
        path = webhook_path(cfg)
        if path not in served_paths:
            continue
        cfg["caBundle"] = ca_bundle_b64
        if settings.url_mode:
            cfg.pop("service", None)
            cfg["url"] = f"{settings.base_url()}{path}"
        elif cfg.get("service"):
            cfg["service"]["namespace"] = settings.namespace
            cfg["service"]["name"] = settings.service_name
        out.append(wh)
    return out


def crd_conversion_client_config(settings: WebhookSettings, ca_bundle_b64: str) -> dict[str, Any]:
    """Desired ``spec.conversion.webhook.clientConfig`` of our CRDs (spec §9.3 step 5)."""
    cfg = client_config(settings, CONVERSION_PATH)
    cfg["caBundle"] = ca_bundle_b64
    return cfg


def contains(live: Any, desired: Any) -> bool:
    """True if every field of ``desired`` is present and equal in ``live`` (extra live fields, such
    as API-server defaults, are ignored). Lists must have the same length and match pairwise."""
    if isinstance(desired, dict):
        return isinstance(live, dict) and all(k in live and contains(live[k], v) for k, v in desired.items())
    if isinstance(desired, list):
        return (isinstance(live, list) and len(live) == len(desired)
                and all(contains(a, b) for a, b in zip(live, desired, strict=True)))
    return bool(live == desired)


def manifests(settings: WebhookSettings | None = None) -> str:
    """YAML of both configurations and the Service (for ``config/webhook/manifests.yaml``)."""
    settings = settings or WebhookSettings()
    header = (
        "# Generated by `python -m webhooks.configs > config/webhook/manifests.yaml`; do not edit.\n"
        "# caBundle is filled in at runtime by the operator's certificate sync (webhooks.certsync).\n"
    )
    docs = [mutating_configuration(settings), validating_configuration(settings), service(settings)]
    return header + yaml.safe_dump_all(docs, sort_keys=False, explicit_start=True)


if __name__ == "__main__":
    sys.stdout.write(manifests())
