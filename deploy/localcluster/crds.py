"""Installing extra CustomResourceDefinitions into the local cluster and waiting until they serve.

One helper for every optional CRD set (Gateway API from its Go module, the Istio stand-ins): create
each document (an existing CRD is left as it is, so a second test module reuses it) and poll the
named ones until ``Established``, failing loudly with what did not become ready.
"""

from __future__ import annotations

import time
import urllib.error
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .cluster import LocalCluster

CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def established(cluster: LocalCluster, name: str) -> bool:
    try:
        crd = cluster.get(f"{CRD_PATH}/{name}")
    except urllib.error.HTTPError:
        return False
    return any(c.get("type") == "Established" and c.get("status") == "True"
               for c in (crd.get("status") or {}).get("conditions") or ())


def install(cluster: LocalCluster, docs: Iterable[dict[str, Any]], *, required: Sequence[str], what: str,
            timeout_s: float, poll_s: float = 0.1) -> None:
    """Create ``docs`` and wait until every CRD in ``required`` is Established (else ``ClusterError``)."""
    from .cluster import ClusterError

    for crd in docs:
        cluster._request("POST", CRD_PATH, crd, ok_conflict=True)
    deadline = time.monotonic() + timeout_s
    while not all(established(cluster, n) for n in required):
        if time.monotonic() > deadline:
            raise ClusterError(f"{what} {tuple(required)} not Established within {timeout_s:.0f}s")
        time.sleep(poll_s)
