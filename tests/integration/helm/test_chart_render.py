"""``helm lint`` and ``helm template`` of deploy/charts/kruise-rollout with the real helm (no cluster).

What is rendered must be what the code expects: the manager parses the Deployment's args, the webhook
configurations are config/webhook/manifests.yaml (python -m webhooks.configs) in the chosen namespace,
the RBAC is config/rbac/role.yaml, and bad values fail in values.schema.json naming the field.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from rollouts.cmd.manager import parse_args
from tests.e2e.harness import REPO
from tests.integration.helm.helmcli import CHART, Helm, by_kind

pytestmark = pytest.mark.integration

MANAGED_LABELS = {"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/managed-by",
                  "helm.sh/chart"}


def _strip_labels(doc: dict) -> dict:
    doc = copy.deepcopy(doc)
    labels = {k: v for k, v in (doc["metadata"].get("labels") or {}).items() if k not in MANAGED_LABELS}
    doc["metadata"].pop("labels", None)
    if labels:
        doc["metadata"]["labels"] = labels
    return doc


def _config(path: str, namespace: str) -> list[dict]:
    text = (REPO / path).read_text().replace("namespace: kruise-rollout", f"namespace: {namespace}")
    return [d for d in yaml.safe_load_all(text) if d]


def test_helm_lint_is_clean(helm_offline: Helm) -> None:
    proc = helm_offline.run("lint", "--strict", str(CHART))
    out = proc.stdout + proc.stderr
    assert "1 chart(s) linted, 0 chart(s) failed" in out, out
    assert "[WARNING]" not in out and "[ERROR]" not in out, out


def test_template_renders_the_installation(helm_offline: Helm) -> None:
    proc = helm_offline.run("template", "kruise-rollout", str(CHART))
    assert proc.stderr == "", proc.stderr
    docs = [d for d in yaml.safe_load_all(proc.stdout) if d]
    kinds = sorted(d["kind"] for d in docs)
    # two ClusterRoles and bindings: the manager's, and the aggregated one for customNetworkRefs kinds
    assert kinds == sorted(["Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding",
                            "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "Service", "Deployment",
                            "PodDisruptionBudget", "ClusterRole", "ClusterRoleBinding"]), kinds
    aggregated = [d for d in by_kind(docs, "ClusterRole") if d.get("aggregationRule")]
    assert [d["metadata"]["name"] for d in aggregated] == ["kruise-rollout-custom-network-role"]
    assert all(s["namespace"] == "kruise-rollout" for b in by_kind(docs, "ClusterRoleBinding") for s in b["subjects"])
    (deploy,) = by_kind(docs, "Deployment")
    assert deploy["metadata"]["namespace"] == "kruise-rollout" and deploy["spec"]["replicas"] == 2
    pod = deploy["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    opts = parse_args(container["args"])  # the manager accepts exactly what the chart passes
    assert (opts.leader_elect, opts.webhook_port, opts.metrics_addr, opts.health_addr) == (True, 9876, ":8080", ":8081")
    assert opts.log_format == "json"  # log collectors get JSON lines
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"webhook": 9876, "metrics": 8080,
                                                                           "health": 8081}
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["serviceAccountName"] == "kruise-rollout"
    (pdb,) = by_kind(docs, "PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"] == deploy["spec"]["selector"]["matchLabels"]


def test_template_takes_the_upstream_value_names(helm_offline: Helm, tmp_path: Path) -> None:
    values = {"installation": {"namespace": "rollouts-system"}, "replicaCount": 3,
              "image": {"repository": "registry.example/kruise-rollout", "tag": "v9", "pullPolicy": "Always"},
              "imagePullSecrets": [{"name": "pull"}], "featureGates": "AdvancedDeployment=true,RolloutHistory=false",
              "webhook": {"port": 10443}, "log": {"level": 5}, "nodeSelector": {"pool": "system"},
              "tolerations": [{"key": "system", "operator": "Exists"}],
              "resources": {"requests": {"cpu": "300m"}}}
    f = tmp_path / "values.yaml"
    f.write_text(yaml.safe_dump(values))
    docs = helm_offline.template("-f", str(f))
    (deploy,) = by_kind(docs, "Deployment")
    pod = deploy["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    assert deploy["spec"]["replicas"] == 3 and deploy["metadata"]["namespace"] == "rollouts-system"
    assert (c["image"], c["imagePullPolicy"]) == ("registry.example/kruise-rollout:v9", "Always")
    assert pod["imagePullSecrets"] == [{"name": "pull"}]
    assert pod["nodeSelector"] == {"pool": "system"} and pod["tolerations"] == values["tolerations"]
    assert c["resources"]["requests"] == {"cpu": "300m", "memory": "128Mi"}  # merged with the defaults
    opts = parse_args(c["args"])
    assert (opts.webhook_port, opts.verbosity) == (10443, 5)
    assert "--feature-gates=AdvancedDeployment=true,RolloutHistory=false" in c["args"]
    (svc,) = by_kind(docs, "Service")
    assert svc["metadata"]["namespace"] == "rollouts-system" and svc["spec"]["ports"][0]["targetPort"] == 10443
    for conf in by_kind(docs, "MutatingWebhookConfiguration") + by_kind(docs, "ValidatingWebhookConfiguration"):
        assert {w["clientConfig"]["service"]["namespace"] for w in conf["webhooks"]} == {"rollouts-system"}
    for binding in by_kind(docs, "ClusterRoleBinding") + by_kind(docs, "RoleBinding"):
        assert {s["namespace"] for s in binding["subjects"]} == {"rollouts-system"}


def test_rendered_webhooks_and_rbac_are_the_generated_config(helm_offline: Helm) -> None:
    """One source: the rendered objects equal config/ (apart from the release labels)."""
    docs = helm_offline.template("--set", "installation.namespace=ns-x")
    rendered = {(d["kind"], d["metadata"]["name"]): _strip_labels(d) for d in docs}
    for path in ("config/webhook/manifests.yaml", "config/rbac/role.yaml"):
        for want in _config(path, "ns-x"):
            assert rendered[(want["kind"], want["metadata"]["name"])] == want, (path, want["kind"])
    for conf in by_kind(docs, "MutatingWebhookConfiguration") + by_kind(docs, "ValidatingWebhookConfiguration"):
        assert all("caBundle" not in w["clientConfig"] for w in conf["webhooks"])  # the manager owns it


@pytest.mark.parametrize(("args", "field"), [
    (("--set", "replicaCount=-1"), "replicaCount"),
    (("--set", "featureGates=NoSuchGate=true"), "featureGates"),
    (("--set", "featureGates=AppendPodSelector=true"), "featureGates"),
    (("--set", "webhook.port=0"), "webhook"),
    (("--set", "image.pullPolicy=Sometimes"), "pullPolicy"),
])
def test_bad_values_fail_in_the_schema_naming_the_field(helm_offline: Helm, args: tuple[str, ...], field: str) -> None:
    proc = helm_offline.run("template", "kruise-rollout", str(CHART), *args, check=False)
    assert proc.returncode != 0
    assert "values don't meet the specifications of the schema" in proc.stderr, proc.stderr
    assert field in proc.stderr, proc.stderr


def test_zero_replicas_renders_no_disruption_budget(helm_offline: Helm) -> None:
    docs = helm_offline.template("--set", "replicaCount=0")
    assert by_kind(docs, "PodDisruptionBudget") == []
    assert by_kind(docs, "Deployment")[0]["spec"]["replicas"] == 0


def test_shards_render_one_deployment_each_with_its_shard_flags(helm_offline: Helm, tmp_path: Path) -> None:
    values = tmp_path / "shards.yaml"
    shards = [{"name": "a", "selector": "tier in (x,y)"},
              {"name": "b", "namespaces": ["team-b", "team-c"], "replicaCount": 1}]
    values.write_text(yaml.safe_dump({"shards": shards}))
    docs = helm_offline.template("-f", str(values))
    deploys = {d["metadata"]["name"]: d for d in by_kind(docs, "Deployment")}
    assert sorted(deploys) == ["kruise-rollout-controller-manager-a", "kruise-rollout-controller-manager-b"]
    a, b = deploys["kruise-rollout-controller-manager-a"], deploys["kruise-rollout-controller-manager-b"]
    shard_a = parse_args(a["spec"]["template"]["spec"]["containers"][0]["args"]).shard
    shard_b = parse_args(b["spec"]["template"]["spec"]["containers"][0]["args"]).shard
    assert shard_a is not None and shard_a.name == "a" and shard_a.label_query == "tier in (x,y)"
    assert shard_b is not None and shard_b.namespaces == {"team-b", "team-c"} and b["spec"]["replicas"] == 1
    # Disjoint Deployment selectors; every shard's Pods keep the labels the webhook Service selects.
    assert a["spec"]["selector"] != b["spec"]["selector"]
    (service,) = by_kind(docs, "Service")
    for d in (a, b):
        assert service["spec"]["selector"].items() <= d["spec"]["template"]["metadata"]["labels"].items()


def test_a_shard_without_selector_or_namespaces_fails_in_the_schema(helm_offline: Helm) -> None:
    proc = helm_offline.run("template", "kruise-rollout", str(CHART), "--set", "shards[0].name=a", check=False)
    assert proc.returncode != 0 and "/shards/0" in proc.stderr, proc.stderr
