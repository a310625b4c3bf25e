"""The Istio test CRDs: the names, versions and scope the customNetworkRefs tests rely on."""

from __future__ import annotations

from localcluster import istio


def test_two_namespaced_crds_serving_v1alpha3_and_v1beta1_with_any_spec() -> None:
    crds = istio.crds()
    assert [c["metadata"]["name"] for c in crds] == list(istio.CRD_NAMES)
    for crd in crds:
        spec = crd["spec"]
        assert spec["group"] == "networking.istio.io" and spec["scope"] == "Namespaced"
        versions = {v["name"]: v for v in spec["versions"]}
        assert set(versions) == {"v1alpha3", "v1beta1"} and all(v["served"] for v in versions.values())
        assert [n for n, v in versions.items() if v["storage"]] == ["v1alpha3"]
        schema = versions["v1beta1"]["schema"]["openAPIV3Schema"]["properties"]["spec"]
        assert schema["x-kubernetes-preserve-unknown-fields"] is True
