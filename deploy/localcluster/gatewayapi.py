"""Gateway API CRDs in the local cluster, taken from the ``sigs.k8s.io/gateway-api`` Go module.

Why from the Go module proxy: it is the one source of upstream artefacts this machine may fetch
(the control plane is built from it too, ``build.py``), and the module carries the rendered CRDs
in ``config/crd/standard``. Only the ``CustomResourceDefinition`` documents of the standard channel
are kept (Gateway API's ``ValidatingAdmissionPolicy`` guarding channel upgrades is not needed for
tests). They are cached, as released, in ``<cache root>/gateway-api-<version>/crds`` (installed under
a temporary name and renamed, like the binaries), so after the first fetch nothing is downloaded.

Opt-in: ``ClusterSettings(gateway_api=True)`` / ``local-cluster up|dev --gateway-api``, or
:func:`install` on a running cluster (the integration fixture does this on the shared test
cluster: CRDs are cluster-scoped and harmless to the other tests). A fetch that fails raises
:class:`~localcluster.build.BuildError` with the go command's output: never a silent skip.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from . import build, versions
from . import crds as crds_mod

if TYPE_CHECKING:
    from .cluster import LocalCluster

MODULE = "sigs.k8s.io/gateway-api"
#: The channel directory inside the module.
CHANNEL_DIR = Path("config") / "crd" / "standard"
#: CRDs that must be Established before :func:`install` returns (the provider reads HTTPRoutes;
#: a Gateway and its class are what an HTTPRoute's parentRefs name).
REQUIRED_CRDS = ("httproutes.gateway.networking.k8s.io", "gateways.gateway.networking.k8s.io",
                 "gatewayclasses.gateway.networking.k8s.io")
#: How long the CRDs may take to become Established.
ESTABLISH_TIMEOUT_S = 30.0


def crd_dir() -> Path:
    return versions.cache_root() / versions.gateway_api_version_key() / "crds"


def _marker() -> Path:
    """Written last: its presence means every CRD file is in place (a fetch killed halfway is redone)."""
    return crd_dir().parent / "complete"


def crd_files() -> list[Path]:
    return sorted(crd_dir().glob("*.yaml"))


def ensure_fetched() -> list[Path]:
    """The cached CRD files, fetched from the Go module proxy first if the cache lacks them."""
    if _marker().is_file():
        return crd_files()
    info = build.download_module(MODULE, versions.GATEWAY_API_VERSION)
    src = Path(info["Dir"]) / CHANNEL_DIR
    picked: dict[str, Path] = {}
    for path in sorted(src.glob("*.yaml")):
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        if docs and all(d.get("kind") == "CustomResourceDefinition" for d in docs):
            picked.update({d["metadata"]["name"]: path for d in docs})
    if missing := [n for n in REQUIRED_CRDS if n not in picked]:
        raise build.BuildError(f"{MODULE}@{versions.GATEWAY_API_VERSION}: {src} lacks the CRDs {missing}; "
                               "the module layout changed, adjust gatewayapi.CHANNEL_DIR")
    for path in sorted(set(picked.values())):
        build.install_file(path, crd_dir() / path.name, mode=0o644)
    _marker().write_text(f"{MODULE}@{versions.GATEWAY_API_VERSION}\n")
    return crd_files()


#: libyaml's loader when PyYAML has it: the HTTPRoute CRD alone is ~7000 lines (3 s in pure Python).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def crds() -> list[dict[str, Any]]:
    """Every cached CRD document (fetching first if needed)."""
    return [d for p in ensure_fetched() for d in yaml.load_all(p.read_text(), Loader=_LOADER) if d]


def install(cluster: LocalCluster) -> None:
    """Create the Gateway API CRDs (existing ones are left as they are) and wait until Established."""
    crds_mod.install(cluster, crds(), required=REQUIRED_CRDS, what="Gateway API CRDs",
                     timeout_s=ESTABLISH_TIMEOUT_S, poll_s=0.2)
