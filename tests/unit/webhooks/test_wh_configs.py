"""Webhook configurations: spec §1 table, generated YAML in sync, rendering per §9.3 step 4."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from webhooks import configs
from webhooks.settings import WebhookSettings

REPO = Path(__file__).resolve().parents[3]
SERVICE = WebhookSettings()
LOCAL = WebhookSettings(url_host="127.0.0.1", port=34567)
ALL_PATHS = frozenset({configs.PATH_CLONESET, configs.PATH_ADVANCED_DAEMONSET, configs.PATH_NATIVE_DAEMONSET,
                       configs.PATH_DEPLOYMENT, configs.PATH_UNIFIED, configs.PATH_VALIDATE_ROLLOUT})


def test_manifest_file_is_generated_from_code() -> None:
    on_disk = (REPO / "config" / "webhook" / "manifests.yaml").read_text()
    assert on_disk == configs.manifests(), "run: python -m webhooks.configs > config/webhook/manifests.yaml"


MANAGED = {"key": "rollouts.kruise.io/workload-type", "operator": "Exists"}
UNMANAGED = {"key": "rollouts.kruise.io/workload-type", "operator": "DoesNotExist"}
NOT_OURSELVES = {"key": "control-plane", "operator": "NotIn", "values": ["controller-manager"]}
WORKLOAD_ENTRIES = ("mcloneset.kb.io", "mdaemonset.kb.io", "mdaemonset-native.kb.io", "mdeployment.kb.io",
                    "munifiedworload.kb.io")


def test_spec_table() -> None:
    m = configs.mutating_configuration(SERVICE)
    v = configs.validating_configuration(SERVICE)
    assert m["metadata"]["name"] == "kruise-rollout-mutating-webhook-configuration"
    assert v["metadata"]["name"] == "kruise-rollout-validating-webhook-configuration"
    hooks = {w["name"]: w for w in m["webhooks"] + v["webhooks"]}
    twins = {configs.unmanaged_name(n) for n in WORKLOAD_ENTRIES}
    assert set(hooks) == {*WORKLOAD_ENTRIES, *twins, "vrollout.kb.io", "vanalysistemplate.kruise-rollouts-py.io"}
    assert hooks["vanalysistemplate.kruise-rollouts-py.io"]["failurePolicy"] == "Ignore"
    assert "mdeployment-unmanaged.kb.io" in twins
    for w in hooks.values():
        assert w["sideEffects"] == "None"
        assert w["admissionReviewVersions"] == ["v1", "v1beta1"]
    unified = hooks["munifiedworload.kb.io"]["rules"][0]
    assert unified["apiGroups"] == ["*"] and unified["operations"] == ["CREATE", "UPDATE"]
    vr = hooks["vrollout.kb.io"]
    assert vr["failurePolicy"] == "Fail" and "objectSelector" not in vr and "matchConditions" not in vr
    assert vr["rules"][0]["apiVersions"] == ["v1alpha1", "v1beta1"]
    assert vr["clientConfig"]["service"] == {"namespace": "kruise-rollout", "name": "kruise-rollout-webhook-service",
                                             "path": "/validate-rollouts-kruise-io-rollout", "port": 443}


def test_every_workload_kind_fails_closed_only_for_managed_workloads() -> None:
    """Issue 9 item 6: an outage refuses edits only of workloads a Rollout manages (label present);
    the unmanaged twin serves the same path with Ignore, so every workload is still intercepted
    while we are up. Checked for every kind, the OpenKruise ones included."""
    hooks = {w["name"]: w for w in configs.mutating_configuration(SERVICE)["webhooks"]}
    for name in WORKLOAD_ENTRIES:
        managed, twin = hooks[name], hooks[configs.unmanaged_name(name)]
        extra = [NOT_OURSELVES] if name == "mdeployment.kb.io" else []
        assert managed["failurePolicy"] == "Fail", name
        assert managed["objectSelector"] == {"matchExpressions": [*extra, MANAGED]}, name
        assert twin["failurePolicy"] == "Ignore", name
        assert twin["objectSelector"] == {"matchExpressions": [*extra, UNMANAGED]}, name
        assert managed["clientConfig"] == twin["clientConfig"], name
        assert managed["matchConditions"] == twin["matchConditions"] == list(configs.MATCH_CONDITIONS), name
    for name in ("mcloneset.kb.io", "mdaemonset.kb.io", "mdaemonset-native.kb.io", "mdeployment.kb.io"):
        assert hooks[name]["rules"] == hooks[configs.unmanaged_name(name)]["rules"], name
    # The unified twin must not route every unlabelled object of the cluster through us.
    assert hooks["munifiedworload-unmanaged.kb.io"]["rules"] == [
        {"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["UPDATE"], "resources": ["statefulsets"],
         "scope": "*"},
        {"apiGroups": ["apps.kruise.io"], "apiVersions": ["v1alpha1", "v1beta1"], "operations": ["UPDATE"],
         "resources": ["statefulsets"], "scope": "*"}]


def test_match_conditions_call_only_for_updates_of_spec_or_our_annotations() -> None:
    update, changed = configs.MATCH_CONDITIONS
    assert update["expression"] == "request.operation == 'UPDATE'"
    cel = changed["expression"]
    assert cel.startswith("!has(object.spec) || !has(oldObject.spec) || object.spec != oldObject.spec || ")
    # both directions (an annotation added/changed, an annotation removed), only our prefix
    assert cel.count("startsWith('rollouts.kruise.io/')") == 2
    assert "object.metadata.annotations.exists(" in cel and "oldObject.metadata.annotations.exists(" in cel
    assert "labels" not in cel


def test_url_mode_client_config() -> None:
    v = configs.validating_configuration(LOCAL)
    assert v["webhooks"][0]["clientConfig"] == {"url": "https://127.0.0.1:34567/validate-rollouts-kruise-io-rollout"}
    assert configs.crd_conversion_client_config(LOCAL, "Q0E=") == {"url": "https://127.0.0.1:34567/convert",
                                                                   "caBundle": "Q0E="}
    assert WebhookSettings(url_host="::1", port=1).base_url() == "https://[::1]:1"


def test_template_stored_on_first_run_then_reused() -> None:
    cfg = configs.validating_configuration(SERVICE)
    template, stored = configs.template_of(cfg)
    assert stored and json.loads(cfg["metadata"]["annotations"]["template"]) == template
    cfg["webhooks"] = []
    again, stored = configs.template_of(cfg)
    assert not stored and again == template


def test_render_sets_ca_overrides_service_and_drops_unserved() -> None:
    template = configs.mutating_configuration(WebhookSettings(namespace="x", service_name="y"))["webhooks"]
    settings = WebhookSettings(namespace="ops", service_name="hook")
    out = configs.render_webhooks(template, settings, "Q0E=", frozenset({configs.PATH_DEPLOYMENT}))
    assert [w["name"] for w in out] == ["mdeployment.kb.io", "mdeployment-unmanaged.kb.io"]
    assert out[1]["clientConfig"] == out[0]["clientConfig"]
    assert out[0]["clientConfig"] == {"service": {"namespace": "ops", "name": "hook", "port": 443,
                                                  "path": configs.PATH_DEPLOYMENT}, "caBundle": "Q0E="}


def test_render_url_mode_rewrites_service_and_stale_urls() -> None:
    template = configs.validating_configuration(SERVICE)["webhooks"]
    template += [{"name": "old", "clientConfig": {"url": "https://127.0.0.1:1/convert-old"}}]
    out = configs.render_webhooks(template, LOCAL, "Q0E=", ALL_PATHS | {"/convert-old"})
    assert out[0]["clientConfig"] == {"url": "https://127.0.0.1:34567/validate-rollouts-kruise-io-rollout",
                                      "caBundle": "Q0E="}
    assert out[1]["clientConfig"]["url"] == "https://127.0.0.1:34567/convert-old"


def test_contains_ignores_server_defaults_only() -> None:
    desired = {"a": 1, "l": [{"x": 1}]}
    assert configs.contains({"a": 1, "l": [{"x": 1, "d": 0}], "extra": {}}, desired)
    assert not configs.contains({"a": 1, "l": [{"x": 1}, {"x": 2}]}, desired)
    assert not configs.contains({"a": 2, "l": [{"x": 1}]}, desired)


def test_yaml_is_three_documents() -> None:
    docs = list(yaml.safe_load_all(configs.manifests()))
    assert [d["kind"] for d in docs] == ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "Service"]
    assert docs[2]["spec"]["ports"] == [{"port": 443, "targetPort": 9876, "protocol": "TCP"}]


def test_a_stale_template_is_replaced_by_newer_entries() -> None:
    """Upgrades: upstream renders from the stored template forever, so entries added by a newer
    version (the -unmanaged twins) would never appear and every workload stayed behind Fail."""
    old_entries = [w for w in configs.mutating_configuration(SERVICE)["webhooks"] if "unmanaged" not in w["name"]]
    new_entries = configs.mutating_configuration(SERVICE)["webhooks"]
    stale = {"metadata": {"annotations": {"template": json.dumps(old_entries)}}, "webhooks": old_entries}
    # unchanged: our own rendering (a subset of the template) keeps the stored template
    same = json.loads(json.dumps(stale))
    template, stored = configs.template_of(same)
    assert not stored and template == old_entries
    # an installer applied the new manifests (kubectl apply keeps our annotation)
    applied = json.loads(json.dumps(stale)) | {"webhooks": new_entries}
    template, stored = configs.template_of(applied)
    assert stored and template == new_entries
    assert json.loads(applied["metadata"]["annotations"]["template"]) == new_entries
    # we own the configurations (local cluster): the code's entries win over a stale template
    owned = json.loads(json.dumps(stale))
    template, stored = configs.template_of(owned, code=new_entries)
    assert stored and template == new_entries
    template, stored = configs.template_of(owned, code=new_entries)
    assert not stored and template == new_entries
