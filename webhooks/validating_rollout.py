"""Validating webhook for Rollouts (``/validate-rollouts-kruise-io-rollout``; api.md §7).

The rules live in ``rollouts.api.validation.validate_rollout``; this handler only gathers their inputs
and shapes the answer:

* CREATE and UPDATE are validated; DELETE/CONNECT and subresource requests are allowed untouched.
* The conflict rule needs the other Rollouts of the namespace that target the same workload, and the
  update rules need the phase of the *stored* Rollout (upstream re-reads it rather than trusting
  ``oldObject``; we take whichever of the two is newer). Both come from a :class:`RolloutLister`.
  The manager passes :class:`webhooks.rollout_cache.CachedRolloutLister` (informer cache indexed by
  workload, so admission cost does not grow with the number of Rollouts, and guarded against cache
  lag: see its docstring); :class:`KubeRolloutLister` asks the API server every time (a LIST of
  the namespace). Without a lister the conflict rule is skipped and the phase of ``oldObject`` is used.
* Invalid, or using a feature this controller has not built yet (``rollouts.api.unsupported``) →
  denied with HTTP-style code 422 and the aggregated field errors (``format_errors``). Undecodable
  request → 400. A failing lister → 500 (denied: we never admit what we could not check).
* Inputs upstream admits but that probably do not do what was meant (a negative pause, a
  ``failureThreshold`` out of range) are admitted with ``warnings``, which ``kubectl`` prints.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import attrs
import structlog

from rollouts.api.decode import rollout_phase
from rollouts.api.validation import DEFAULT_SETTINGS, ValidationSettings, format_errors, review_rollout
from rollouts.objects import meta
from rollouts.objects.workloadref import raw_workload_ref, workload_ref_index
from runtime.kube.errors import NotFound
from webhooks.admission import AdmissionRequest, AdmissionResponse, allowed, denied, errored
from webhooks.configs import PATH_VALIDATE_ROLLOUT
from webhooks.rollout_query import ROLLOUTS as ROLLOUTS_V1BETA1
from webhooks.rollout_query import RolloutsByWorkload

#: Rollouts as the hub version; listing them never needs the conversion webhook's help for storage.
PATH = PATH_VALIDATE_ROLLOUT
#: Upstream answers invalid Rollouts with 422 Unprocessable Entity.
INVALID_CODE = 422

log = structlog.get_logger("webhooks.validating_rollout")
Obj = Mapping[str, Any]


class RolloutLister(Protocol):
    """Reads the validator needs; :class:`webhooks.rollout_cache.CachedRolloutLister` serves them from the
    informer cache (index by workload), :class:`KubeRolloutLister` from the API server."""

    async def others_targeting(self, namespace: str, rollout: str, workload_ref: Mapping[str, Any]) -> list[Obj]:
        """The Rollouts of ``namespace`` other than ``rollout`` whose workload is ``workload_ref``'s."""
        ...

    async def get_rollout(self, namespace: str, name: str) -> Obj | None: ...

    def admitted(self, rollout: Mapping[str, Any], namespace: str) -> None:
        """Called for each Rollout CREATE/UPDATE the validator allowed (read-your-writes hook)."""
        ...


class _Client(Protocol):
    async def get(self, res: Any, name: str, namespace: str | None = None) -> Mapping[str, Any]: ...

    async def list(self, res: Any, namespace: str | None = None, **options: Any) -> Mapping[str, Any]: ...


def targets(rollout: Mapping[str, Any], value: str, namespace: str) -> bool:
    """Whether ``rollout`` (read in ``namespace``) targets the workload whose index value is ``value``."""
    if not meta.namespace(rollout):
        rollout = {**rollout, "metadata": {**(rollout.get("metadata") or {}), "namespace": namespace}}
    return workload_ref_index(rollout) == [value]


def index_value_of(namespace: str, workload_ref: Mapping[str, Any]) -> str | None:
    """The ``workload-ref`` index value of a (raw) workloadRef in ``namespace``; None when incomplete."""
    values = workload_ref_index({"metadata": {"namespace": namespace}, "spec": {"workloadRef": dict(workload_ref)}})
    return values[0] if values else None


class KubeRolloutLister:
    """A :class:`RolloutLister` that asks the API server on every call (a LIST filtered by workload name
    on the server, :mod:`webhooks.rollout_query`; the manager uses the cached lister once synced)."""

    def __init__(self, client: _Client) -> None:
        self.client = client
        self.by_workload = RolloutsByWorkload(client)

    async def others_targeting(self, namespace: str, rollout: str, workload_ref: Mapping[str, Any]) -> list[Obj]:
        value = index_value_of(namespace, workload_ref)
        if value is None:
            return []
        items = await self.by_workload.list(namespace, str(workload_ref.get("name") or ""))
        return [ro for ro in items if meta.name(ro) != rollout and targets(ro, value, namespace)]

    async def get_rollout(self, namespace: str, name: str) -> Obj | None:
        try:
            return await self.client.get(ROLLOUTS_V1BETA1, name, namespace)
        except NotFound:
            return None

    def admitted(self, rollout: Mapping[str, Any], namespace: str) -> None:
        """Nothing to remember: every read goes to the API server."""


class RolloutValidator:
    """The admission handler; an instance is registered with ``registry.validating(PATH, validator)``."""

    def __init__(self, lister: RolloutLister | None = None, settings: ValidationSettings = DEFAULT_SETTINGS) -> None:
        self.lister = lister
        self.settings = settings

    async def __call__(self, request: AdmissionRequest) -> AdmissionResponse:
        if request.operation not in ("CREATE", "UPDATE") or request.sub_resource:
            return allowed()
        obj = request.object
        if not isinstance(obj, dict):
            return errored(400, f"{request.operation} of Rollout {request.namespace}/{request.name} carries no object")
        old = request.old_object if request.operation == "UPDATE" else None
        if request.operation == "UPDATE" and not isinstance(old, dict):
            return errored(400, f"UPDATE of Rollout {request.namespace}/{request.name} carries no oldObject")
        namespace = request.namespace or meta.namespace(obj)  # before decoding: review_rollout reports bad fields
        name = request.name or meta.name(obj)
        others: list[Obj] = []
        latest_phase: str | None = None
        if self.lister is not None:
            try:
                others = await self.lister.others_targeting(namespace, name, raw_workload_ref(obj))
                if old is not None:
                    latest_phase = rollout_phase(newer(await self.lister.get_rollout(namespace, name), old))
            except Exception as exc:  # noqa: BLE001 - deny rather than admit unchecked
                log.warning("cannot read Rollouts for validation", namespace=namespace, error=str(exc))
                return errored(500, f"cannot read Rollouts in namespace {namespace} to validate {name}: {exc}")
        review = review_rollout(obj, old, others=others, settings=self.settings, latest_phase=latest_phase)
        warnings = tuple(review.warnings)
        if review.errors:
            return attrs.evolve(denied(format_errors(review.errors), INVALID_CODE, reason="Invalid"), warnings=warnings)
        if self.lister is not None:
            self.lister.admitted(obj, namespace)
        return allowed(warnings=warnings)


def newer(stored: Mapping[str, Any] | None, old: Mapping[str, Any]) -> Mapping[str, Any]:
    """The stored Rollout as read (cache or server), unless the request's ``oldObject`` is newer.

    ``oldObject`` is what the API server holds at admission time; a cache can be behind it, and
    deciding the update rules on an older phase than the request's own would be wrong.
    """
    if stored is None:
        return old
    return old if resource_version(old) > resource_version(stored) else stored


def resource_version(obj: Mapping[str, Any]) -> int:
    """``metadata.resourceVersion`` as a number (etcd revisions), 0 when absent or not numeric."""
    try:
        return int((obj.get("metadata") or {}).get("resourceVersion") or 0)
    except (TypeError, ValueError):
        return 0
