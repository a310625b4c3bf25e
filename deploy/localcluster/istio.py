"""Test CRDs for Istio's ``VirtualService`` and ``DestinationRule`` in the local cluster.

Why not the real Istio CRDs: they are ~30 000 lines of schema and would have to be fetched; the
customNetworkRefs provider only reads an object and replaces its ``spec``/labels/annotations, so the
minimal stand-ins in ``istio/crds.yaml`` (same group, kinds, plurals, scope and versions, any spec
accepted) exercise exactly the controller's side. No Istio control plane runs: tests check objects.

Opt-in: ``ClusterSettings(istio=True)`` / ``local-cluster up|dev --istio``, or :func:`install` on a
running cluster (the integration fixture of ``tests/integration/customrefs`` does this; CRDs are
cluster-scoped and harmless to other tests).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from . import crds as crds_mod

if TYPE_CHECKING:
    from .cluster import LocalCluster

CRD_FILE = Path(__file__).parent / "istio" / "crds.yaml"
CRD_NAMES = ("virtualservices.networking.istio.io", "destinationrules.networking.istio.io")
#: How long the CRDs may take to become Established (tiny schemas: well under a second).
ESTABLISH_TIMEOUT_S = 30.0


def crds() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(CRD_FILE.read_text()) if d]


def install(cluster: LocalCluster) -> None:
    """Create the two CRDs (existing ones are left as they are) and wait until Established."""
    crds_mod.install(cluster, crds(), required=CRD_NAMES, what="Istio test CRDs",
                     timeout_s=ESTABLISH_TIMEOUT_S, poll_s=0.1)
