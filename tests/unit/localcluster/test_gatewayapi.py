"""Gateway API CRD fetch: only CRD files are cached, a broken module layout or fetch fails loudly."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from localcluster import build, gatewayapi, versions


def _crd(name: str) -> str:
    return yaml.safe_dump({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                           "metadata": {"name": name}})


def _module(tmp_path: Path, names: tuple[str, ...]) -> Path:
    src = tmp_path / "module" / gatewayapi.CHANNEL_DIR
    src.mkdir(parents=True)
    for n in names:
        (src / f"{n}.yaml").write_text(_crd(n))
    (src / "vap.yaml").write_text(yaml.safe_dump({"kind": "ValidatingAdmissionPolicy", "metadata": {"name": "v"}}))
    return tmp_path / "module"


def test_fetch_caches_only_the_crds_and_reuses_them(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv(versions.CACHE_ENV, str(tmp_path / "cache"))
    module = _module(tmp_path, gatewayapi.REQUIRED_CRDS)
    calls: list[tuple[str, str]] = []

    def download(path: str, version: str) -> dict[str, str]:
        calls.append((path, version))
        return {"Dir": str(module)}

    monkeypatch.setattr(build, "download_module", download)
    files = gatewayapi.ensure_fetched()
    assert sorted(p.stem for p in files) == sorted(gatewayapi.REQUIRED_CRDS), "the policy is not a CRD: left out"
    assert files[0].parent == tmp_path / "cache" / f"gateway-api-{versions.GATEWAY_API_VERSION}" / "crds"
    assert gatewayapi.ensure_fetched() == files and calls == [("sigs.k8s.io/gateway-api",
                                                              versions.GATEWAY_API_VERSION)], "second call: cache"
    assert [c["metadata"]["name"] for c in gatewayapi.crds()] == sorted(gatewayapi.REQUIRED_CRDS)


def test_a_module_without_httproute_fails_loudly(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv(versions.CACHE_ENV, str(tmp_path / "cache"))
    module = _module(tmp_path, ("gateways.gateway.networking.k8s.io",))
    monkeypatch.setattr(build, "download_module", lambda path, version: {"Dir": str(module)})
    with pytest.raises(build.BuildError, match="httproutes.gateway.networking.k8s.io"):
        gatewayapi.ensure_fetched()
    assert gatewayapi.crd_files() == [], "nothing cached from a module that failed the check"
    with pytest.raises(build.BuildError, match="httproutes"):
        gatewayapi.ensure_fetched()
