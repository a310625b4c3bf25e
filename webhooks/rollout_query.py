"""The Rollouts of a namespace that name one workload, asked of the API server.

Why: both webhooks confirm what their cache says with an API read. The workload webhook confirms
every "no Rollout for this workload" (a GitOps sync can apply a Rollout and its workload's new
template together, and the workload must not roll natively because our cache lagged). That read was
a LIST of every Rollout in the namespace — at 10,000 Rollouts ~30 MB decoded for each update of any
workload without a Rollout, and such updates are the webhook's common case outside releases.

Our Rollout CRD declares ``spec.workloadRef.name`` as a selectable field (Kubernetes >= 1.31), so the
API server filters the LIST and returns only the Rollouts naming that workload: the answer no longer
grows with the namespace on our side. The server-side filter is by name only; callers still match
kind and apiVersion. Against a CRD without the field (upstream's CRD, an older cluster) the server
answers 400 "field label not supported": then we LIST the namespace as before, and do not try the
selector again for :data:`RETRY_SELECTOR_SECONDS` (a CRD upgrade is picked up without a restart).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import structlog

from runtime.clock import REAL_CLOCK, Clock
from runtime.kube.errors import BadRequest
from runtime.kube.resources import Resource

__all__ = ["RolloutsByWorkload", "WORKLOAD_NAME_FIELD", "RETRY_SELECTOR_SECONDS"]

log = structlog.get_logger("webhooks.rollout_query")
Obj = Mapping[str, Any]

ROLLOUTS = Resource("rollouts.kruise.io", "v1beta1", "rollouts", "Rollout")
WORKLOAD_NAME_FIELD = "spec.workloadRef.name"
"""The v1beta1 selectable field (rollouts/api/crdgen.py declares it)."""
RETRY_SELECTOR_SECONDS = 300.0


class _Lister(Protocol):
    async def list(self, res: Any, namespace: str | None = None, **options: Any) -> Mapping[str, Any]: ...


class RolloutsByWorkload:
    """``list(namespace, workload)``: Rollouts of ``namespace`` whose workloadRef names ``workload``
    (a superset when the server cannot filter: the whole namespace)."""

    def __init__(self, client: _Lister, *, clock: Clock = REAL_CLOCK) -> None:
        self.client = client
        self._clock = clock
        self._unfiltered_until: float | None = None
        self.filtered = 0
        """LISTs the API server filtered (tests and benches read it)."""

    async def list(self, namespace: str, workload: str) -> list[Obj]:
        if self._unfiltered_until is None or self._clock.monotonic() >= self._unfiltered_until:
            try:
                page = await self.client.list(ROLLOUTS, namespace, field_selector=f"{WORKLOAD_NAME_FIELD}={workload}")
            except BadRequest as e:
                self._unfiltered_until = self._clock.monotonic() + RETRY_SELECTOR_SECONDS
                log.warning("rollout LIST cannot be filtered by workload; listing the namespace",
                            field=WORKLOAD_NAME_FIELD, error=e.message,
                            fix="install this controller's Rollout CRD (config/crd) on Kubernetes >= 1.31")
            else:
                self._unfiltered_until = None
                self.filtered += 1
                return list(page.get("items") or [])
        return list((await self.client.list(ROLLOUTS, namespace)).get("items") or [])
