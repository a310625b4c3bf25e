"""Validating webhook for Rollouts (``/validate-rollouts-kruise-io-rollout``; api.md §7).

The rules live in ``rollouts.api.validation.validate_rollout``; this handler only gathers their inputs
and shapes the answer:

* CREATE and UPDATE are validated; DELETE/CONNECT and subresource requests are allowed untouched.
* The conflict rule needs the other Rollouts of the namespace and the update rules need the phase of
  the *stored* Rollout (upstream re-reads it rather than trusting ``oldObject``). Both come from a
  :class:`RolloutLister`. The manager currently passes ``KubeRolloutLister``, which asks the API
  server on every CREATE/UPDATE (a LIST of the namespace's Rollouts, plus a GET on UPDATE), so in a
  cluster those round trips dominate admission latency; upstream reads its informer cache instead.
  Without a lister the conflict rule is skipped and the phase of ``oldObject`` is used.
* Invalid, or using a feature this controller has not built yet (``rollouts.api.unsupported``) →
  denied with HTTP-style code 422 and the aggregated field errors (``format_errors``). Undecodable
  request → 400. A failing lister → 500 (denied: we never admit what we could not check).
* Inputs upstream admits but that probably do not do what was meant (a negative pause, a
  ``failureThreshold`` out of range) are admitted with ``warnings``, which ``kubectl`` prints.
"""

from __future__ import annotations

from typing import Any, Protocol

import attrs
import structlog

from rollouts.api.decode import rollout_phase
from rollouts.api.validation import DEFAULT_SETTINGS, ValidationSettings, format_errors, review_rollout
from rollouts.objects import meta
from runtime.kube.errors import NotFound
from runtime.kube.resources import Resource
from webhooks.admission import AdmissionRequest, AdmissionResponse, allowed, denied, errored
from webhooks.configs import PATH_VALIDATE_ROLLOUT

#: Rollouts as the hub version; listing them never needs the conversion webhook's help for storage.
ROLLOUTS_V1BETA1 = Resource("rollouts.kruise.io", "v1beta1", "rollouts", "Rollout")
PATH = PATH_VALIDATE_ROLLOUT
#: Upstream answers invalid Rollouts with 422 Unprocessable Entity.
INVALID_CODE = 422

log = structlog.get_logger("webhooks.validating_rollout")


class RolloutLister(Protocol):
    """Reads the validator needs (an informer cache would serve them without API round trips)."""

    async def list_rollouts(self, namespace: str) -> list[dict[str, Any]]: ...

    async def get_rollout(self, namespace: str, name: str) -> dict[str, Any] | None: ...


class _Client(Protocol):
    async def get(self, res: Any, name: str, namespace: str | None = None) -> dict[str, Any]: ...

    async def list(self, res: Any, namespace: str | None = None) -> dict[str, Any]: ...


class KubeRolloutLister:
    """A :class:`RolloutLister` that asks the API server on every call (no cache)."""

    def __init__(self, client: _Client) -> None:
        self.client = client

    async def list_rollouts(self, namespace: str) -> list[dict[str, Any]]:
        return list((await self.client.list(ROLLOUTS_V1BETA1, namespace)).get("items") or [])

    async def get_rollout(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            return await self.client.get(ROLLOUTS_V1BETA1, name, namespace)
        except NotFound:
            return None


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
        others: list[dict[str, Any]] = []
        latest_phase: str | None = None
        if self.lister is not None:
            try:
                others = await self.lister.list_rollouts(namespace)
                if old is not None:
                    stored = await self.lister.get_rollout(namespace, name)
                    if stored is not None:
                        latest_phase = rollout_phase(stored)
            except Exception as exc:  # noqa: BLE001 - deny rather than admit unchecked
                log.warning("cannot read Rollouts for validation", namespace=namespace, error=str(exc))
                return errored(500, f"cannot read Rollouts in namespace {namespace} to validate {name}: {exc}")
        review = review_rollout(obj, old, others=others, settings=self.settings, latest_phase=latest_phase)
        warnings = tuple(review.warnings)
        if review.errors:
            return attrs.evolve(denied(format_errors(review.errors), INVALID_CODE, reason="Invalid"), warnings=warnings)
        return allowed(warnings=warnings)
