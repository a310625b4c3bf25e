"""How OpenKruise is installed in the local cluster: manifests rendered from its module, URL-mode webhooks."""

from __future__ import annotations

import json

import pytest
from localcluster import openkruise, versions

from tests.integration.openkruise.conftest import Kubectl

pytestmark = pytest.mark.integration


def test_webhook_configurations_render_like_kustomize(openkruise_cluster) -> None:  # type: ignore[no-untyped-def]
    confs = {c["metadata"]["name"]: c for c in openkruise.webhook_configurations()}
    assert set(confs) == {openkruise.MUTATING_CONFIG, openkruise.VALIDATING_CONFIG}
    mpod = next(w for w in confs[openkruise.MUTATING_CONFIG]["webhooks"] if w["name"] == "mpod.kb.io")
    # patch_manifests.yaml: Pods in namespaces labelled control-plane are left alone.
    assert mpod["namespaceSelector"]["matchExpressions"][0]["key"] == "control-plane"
    assert mpod["clientConfig"]["service"]["namespace"] == openkruise.NAMESPACE


def test_kruise_manager_rewrote_webhooks_and_conversion_to_its_127_0_0_1_url(
        openkruise_cluster, kruise_kubectl: Kubectl) -> None:  # type: ignore[no-untyped-def]
    url = openkruise_cluster.openkruise_webhook
    assert url.startswith("https://127.0.0.1:")
    for kind, name in (("mutatingwebhookconfiguration", openkruise.MUTATING_CONFIG),
                       ("validatingwebhookconfiguration", openkruise.VALIDATING_CONFIG)):
        conf = json.loads(kruise_kubectl("get", kind, name, "-o", "json").stdout)
        assert conf["webhooks"], name
        for wh in conf["webhooks"]:
            assert "service" not in wh["clientConfig"] and wh["clientConfig"]["url"].startswith(url + "/"), wh["name"]
            assert wh["clientConfig"]["caBundle"]
    for crd in ("statefulsets.apps.kruise.io", "daemonsets.apps.kruise.io"):
        conv = json.loads(kruise_kubectl("get", "crd", crd, "-o", "json").stdout)["spec"]["conversion"]
        assert conv["strategy"] == "Webhook"
        assert conv["webhook"]["clientConfig"]["url"] == f"{url}/convert"
    log = (openkruise_cluster.run_dir / "logs" / f"{openkruise.BINARY}.log").read_text(errors="replace")
    assert "starting manager" in log
    assert openkruise.manager_binary().is_file()
    assert versions.OPENKRUISE_VERSION in str(openkruise.cache_dir())
