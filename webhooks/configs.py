"""The webhook configurations we register, built in one place (spec workload-webhook.md §1, §9.3).

Three consumers share this module so they cannot disagree:

* ``config/webhook/manifests.yaml`` is generated from :func:`manifests` (``python -m webhooks.configs``;
  a unit test fails if the file is stale);
* the certificate sync renders the live configurations with :func:`render_webhooks` (caBundle,
  Service or URL, dropping paths this binary does not serve) and the CRD conversion stanza with
  :func:`crd_conversion_client_config`;
* tests and the local cluster create the configurations with :func:`mutating_configuration` /
  :func:`validating_configuration` when no installer did.

Fail-safety (deviation from upstream, whose every entry is ``failurePolicy: Fail``): each workload
path has two entries. The *managed* one (upstream's name) selects workloads carrying the
``rollouts.kruise.io/workload-type`` label the Rollout controller puts on the workloads it manages and
keeps ``Fail``: with the operator down, their template changes are refused instead of rolling out
unmanaged. Its *unmanaged* twin (``<name>-unmanaged.kb.io``) selects the label's absence with
``Ignore``: while we serve, an unlabelled workload whose new Rollout was applied in the same GitOps
sync is still paused; while we are down, nothing we do not manage is blocked. Both carry
:data:`MATCH_CONDITIONS`, so metadata-only edits never call us at all. The Rollout validating entry
and the conversion webhook keep ``Fail`` (they concern only our own kinds).

Every webhook has ``sideEffects: None``, ``admissionReviewVersions: [v1, v1beta1]`` like upstream.
``timeoutSeconds: 10`` and ``matchPolicy: Equivalent`` are the API server defaults, written out so the
manifest says what actually happens.
"""

from __future__ import annotations

import base64
import copy
import json
import sys
from typing import Any

import attrs
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
#: Metrics-analysis templates (docs/analysis.md); our own group, so our own path.
PATH_VALIDATE_ANALYSIS_TEMPLATE = "/validate-analysis-kruise-rollouts-py-io-analysistemplate"
ANALYSIS_GROUP = "analysis.kruise-rollouts-py.io"

#: failurePolicy of the entry for workloads a Rollout manages (``workload-type`` label present): an
#: outage must refuse their template changes, or a release would start unmanaged (the fail-safe).
MANAGED_FAILURE_POLICY = "Fail"
#: failurePolicy of the entry for every other workload: intercepted while we serve — GitOps applies a
#: new Rollout together with its workload's new template before the Rollout controller has labelled
#: the workload, and that edit must still be paused — but an outage blocks nothing.
UNMANAGED_FAILURE_POLICY = "Ignore"
#: Name suffix of the unmanaged twin of an entry (``mdeployment.kb.io`` → ``mdeployment-unmanaged.kb.io``).
UNMANAGED_SUFFIX = "-unmanaged"

_MANAGED = {"key": WORKLOAD_TYPE_LABEL, "operator": "Exists"}
_UNMANAGED = {"key": WORKLOAD_TYPE_LABEL, "operator": "DoesNotExist"}
#: Keeps the operator from intercepting its own Deployment.
_NOT_OURSELVES = {"key": "control-plane", "operator": "NotIn", "values": ["controller-manager"]}
_ROLLOUTS_PREFIX = f"{keys.GROUP}/"


def _annotation_changed(a: str, b: str) -> str:
    """CEL: some ``rollouts.kruise.io/`` annotation of ``a`` is absent from, or different in, ``b``.

    Written with ``exists`` and ``in`` rather than by comparing filtered lists: map iteration order is
    not defined in CEL, so two equal maps could yield differently ordered lists."""
    return (f"(has({a}.metadata.annotations) && {a}.metadata.annotations.exists(k, "
            f"k.startsWith('{_ROLLOUTS_PREFIX}') && (!has({b}.metadata.annotations) || "
            f"!(k in {b}.metadata.annotations) || {b}.metadata.annotations[k] != {a}.metadata.annotations[k])))")


#: ``matchConditions`` (CEL, GA in Kubernetes 1.30) of every workload entry: the API server calls us
#: only when a handler could answer with a patch. What the handlers read (workload-webhook.md §2–§6):
#:
#: * ``spec``: ``template`` (the "effective release change", §1.2), ``replicas`` (0 → nothing),
#:   Deployment ``paused`` and ``strategy`` (type, rollingUpdate; §2.1), CloneSet
#:   ``updateStrategy.partition``, DaemonSet/StatefulSet ``updateStrategy`` (type, rollingUpdate);
#:   the condition compares the whole ``spec`` — a superset that costs nothing and stays right when a
#:   handler starts reading another field;
#: * annotations, all under ``rollouts.kruise.io/``: ``rollout-id``, ``in-progressing``,
#:   ``deployment-strategy``, ``original-deployment-strategy``, ``daemonset-original-update-strategy``;
#: * labels only decide *whether* a handler runs (objectSelector, the unified path's
#:   ``workload-type: statefulset``). With ``spec`` and our annotations unchanged no handler changes
#:   anything: every mutation is gated on a template/rollout-id change, except that a Deployment in a
#:   release is re-frozen (paused, Recreate, strategy annotation) — which the stored object already is,
#:   since the last write that changed its spec or our annotations went through this webhook.
#: * CloneSet ``status.replicas/updatedReplicas`` — read only when the template changed.
#:
#: So label-only and other metadata-only edits (``kubectl label``, the Deployment controller's
#: ``deployment.kubernetes.io/revision``) never call us and are never blocked by an outage. CREATE is
#: listed in the unified rule like upstream but skipped here: its handler allows every CREATE
#: unchanged (§6), so calling it only added an outage dependency.
MATCH_CONDITIONS: tuple[dict[str, str], ...] = (
    {"name": "update", "expression": "request.operation == 'UPDATE'"},
    {"name": "spec-or-rollouts-annotation-changed",
     "expression": ("!has(object.spec) || !has(oldObject.spec) || object.spec != oldObject.spec || "
                    f"{_annotation_changed('object', 'oldObject')} || {_annotation_changed('oldObject', 'object')}")},
)


def _rule(groups: list[str], versions: list[str], resources: list[str], operations: list[str]) -> dict[str, Any]:
    return {"apiGroups": groups, "apiVersions": versions, "operations": operations, "resources": resources,
            "scope": "*"}


_STATEFULSETS = [_rule(["apps"], ["v1"], ["statefulsets"], ["UPDATE"]),
                 _rule(["apps.kruise.io"], ["v1alpha1", "v1beta1"], ["statefulsets"], ["UPDATE"])]


@attrs.frozen
class _Workload:
    """One workload path: served by a managed entry (Fail) and its unmanaged twin (Ignore)."""

    name: str
    path: str
    rules: list[dict[str, Any]]
    #: Rules of the unmanaged twin when narrower (the unified ``*`` rule would route every unlabelled
    #: object of the cluster — Leases, Events — through us; the twin only needs StatefulSets).
    unmanaged_rules: list[dict[str, Any]] | None = None
    #: matchExpressions both entries carry besides the workload-type one.
    selector: tuple[dict[str, Any], ...] = ()


_WORKLOADS = (
    _Workload("mcloneset.kb.io", PATH_CLONESET, [_rule(["apps.kruise.io"], ["v1alpha1"], ["clonesets"], ["UPDATE"])]),
    _Workload("mdaemonset.kb.io", PATH_ADVANCED_DAEMONSET,
              [_rule(["apps.kruise.io"], ["v1alpha1"], ["daemonsets"], ["UPDATE"])]),
    _Workload("mdaemonset-native.kb.io", PATH_NATIVE_DAEMONSET, [_rule(["apps"], ["v1"], ["daemonsets"], ["UPDATE"])]),
    _Workload("mdeployment.kb.io", PATH_DEPLOYMENT, [_rule(["apps"], ["v1"], ["deployments"], ["UPDATE"])],
              selector=(_NOT_OURSELVES,)),
    _Workload("munifiedworload.kb.io", PATH_UNIFIED, [_rule(["*"], ["*"], ["*"], ["CREATE", "UPDATE"])],
              unmanaged_rules=_STATEFULSETS),
)
#: (name, path, rules, failurePolicy) of the validating entries. The template check fails open: the
#: controller parses every template again before running it (a bad one pauses the step, naming the
#: field), so an operator outage need not block editing templates.
_VALIDATING = (
    ("vrollout.kb.io", PATH_VALIDATE_ROLLOUT,
     [_rule([ROLLOUTS_GROUP], ["v1alpha1", "v1beta1"], ["rollouts"], ["CREATE", "UPDATE"])], MANAGED_FAILURE_POLICY),
    ("vanalysistemplate.kruise-rollouts-py.io", PATH_VALIDATE_ANALYSIS_TEMPLATE,
     [_rule([ANALYSIS_GROUP], ["v1alpha1"], ["analysistemplates"], ["CREATE", "UPDATE"])], UNMANAGED_FAILURE_POLICY),
)


def unmanaged_name(name: str) -> str:
    """``mdeployment.kb.io`` → ``mdeployment-unmanaged.kb.io``."""
    first, _, rest = name.partition(".")
    return f"{first}{UNMANAGED_SUFFIX}.{rest}"


def client_config(settings: WebhookSettings, path: str) -> dict[str, Any]:
    """``clientConfig`` without caBundle: Service reference, or URL in URL mode."""
    if settings.url_mode:
        return {"url": f"{settings.base_url()}{path}"}
    return {"service": {"namespace": settings.namespace, "name": settings.service_name, "path": path,
                        "port": SERVICE_PORT}}


def _webhook(settings: WebhookSettings, name: str, path: str, rules: list[dict[str, Any]], *,
             policy: str = MANAGED_FAILURE_POLICY) -> dict[str, Any]:
    return {
        "name": name,
        "admissionReviewVersions": ["v1", "v1beta1"],
        "clientConfig": client_config(settings, path),
        "failurePolicy": policy,
        "matchPolicy": "Equivalent",
        "sideEffects": "None",
        "timeoutSeconds": 10,
        "rules": copy.deepcopy(rules),
    }


def _workload_webhooks(settings: WebhookSettings, w: _Workload) -> list[dict[str, Any]]:
    """The managed entry (Fail, label present) and its unmanaged twin (Ignore, label absent)."""
    out = []
    for name, rules, label, policy in (
        (w.name, w.rules, _MANAGED, MANAGED_FAILURE_POLICY),
        (unmanaged_name(w.name), w.unmanaged_rules or w.rules, _UNMANAGED, UNMANAGED_FAILURE_POLICY),
    ):
        wh = _webhook(settings, name, w.path, rules, policy=policy)
        wh["objectSelector"] = {"matchExpressions": copy.deepcopy([*w.selector, label])}
        wh["matchConditions"] = [dict(c) for c in MATCH_CONDITIONS]
        wh["reinvocationPolicy"] = "Never"
        out.append(wh)
    return out


def mutating_configuration(settings: WebhookSettings) -> dict[str, Any]:
    """The MutatingWebhookConfiguration as installed (no caBundle; the sync fills it)."""
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": MUTATING_CONFIGURATION_NAME},
        "webhooks": [wh for w in _WORKLOADS for wh in _workload_webhooks(settings, w)],
    }


def validating_configuration(settings: WebhookSettings) -> dict[str, Any]:
    """The ValidatingWebhookConfiguration as installed (no caBundle; the sync fills it)."""
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": VALIDATING_CONFIGURATION_NAME},
        "webhooks": [_webhook(settings, name, path, rules, policy=policy) for name, path, rules, policy in _VALIDATING],
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


def _names(webhooks: list[dict[str, Any]]) -> set[str]:
    return {str(w.get("name")) for w in webhooks}


def template_of(configuration: dict[str, Any], *, code: list[dict[str, Any]] | None = None
                ) -> tuple[list[dict[str, Any]], bool]:
    """The webhook template (spec §9.3 step 4): the ``template`` annotation, or the current webhooks.

    Returns ``(template, stored)``; ``stored`` is True when the template was just copied into the
    annotation of ``configuration`` (first run, or a stale template replaced), i.e. the object changed.

    Deviation (upgrades): a stored template is stale when the live object has an entry it lacks (an
    installer applied newer manifests: ``kubectl apply`` keeps our annotation) or, when we own the
    configurations (``code``: the entries this binary would create), when the code has an entry it
    lacks. It is then replaced by the newer list — upstream would render the old entries forever, so
    an upgrade adding the ``-unmanaged`` twins would keep every workload behind ``failurePolicy: Fail``.
    (Entries only *removed* by a newer version are not detected: our rendering legitimately drops
    unserved ones.)
    """
    annotations = configuration.setdefault("metadata", {}).setdefault("annotations", {}) or {}
    configuration["metadata"]["annotations"] = annotations
    live = configuration.get("webhooks") or []
    raw = annotations.get(TEMPLATE_ANNOTATION)
    newer = live
    if raw:
        stored = json.loads(raw)
        known = _names(stored)
        if code is not None and not _names(code) <= known:
            newer = code
        elif _names(live) <= known:
            return stored, False
    webhooks = copy.deepcopy(newer)
    annotations[TEMPLATE_ANNOTATION] = json.dumps(webhooks, separators=(",", ":"), sort_keys=True)
    return webhooks, True


def render_webhooks(
    template: list[dict[str, Any]], settings: WebhookSettings, ca_bundle_b64: str, served_paths: frozenset[str],
    *, base_url: str | None = None,
) -> list[dict[str, Any]]:
    """The live webhooks for this binary: caBundle set, unserved paths dropped, Service rewritten to
    our namespace/name, or to ``url`` in URL mode (``base_url``, default ``settings.base_url()``: a
    replica that adopts a healthy peer's endpoint renders with the peer's, see ``certsync``).

    Deviation from upstream: in URL mode an entry that already has a ``url`` is rewritten to our
    current ``https://host:port`` too (upstream only converts Service entries), so a restarted local
    operator on a new port re-points the configuration instead of leaving a stale URL.
    """
    base = base_url or settings.base_url()
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
            cfg["url"] = f"{base}{path}"
        elif cfg.get("service"):
            cfg["service"]["namespace"] = settings.namespace
            cfg["service"]["name"] = settings.service_name
        out.append(wh)
    return out


def crd_conversion_client_config(settings: WebhookSettings, ca_bundle_b64: str, *,
                                 base_url: str | None = None) -> dict[str, Any]:
    """Desired ``spec.conversion.webhook.clientConfig`` of our CRDs (spec §9.3 step 5)."""
    cfg = client_config(settings, CONVERSION_PATH)
    if settings.url_mode and base_url:
        cfg["url"] = f"{base_url}{CONVERSION_PATH}"
    cfg["caBundle"] = ca_bundle_b64
    return cfg


def registered_endpoint(configuration: dict[str, Any]) -> tuple[str, str] | None:
    """``(https://host:port, caBundle)`` that the first URL entry of a live configuration calls, or
    None (no URL entry: service mode, or nothing registered yet)."""
    for wh in configuration.get("webhooks") or []:
        cfg = wh.get("clientConfig") or {}
        url = str(cfg.get("url") or "")
        scheme, sep, rest = url.partition("://")
        if sep and rest:
            return f"{scheme}://{rest.split('/', 1)[0]}", str(cfg.get("caBundle") or "")
    return None


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
