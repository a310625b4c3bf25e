"""The Kruise Rollouts API (group ``rollouts.kruise.io``): models, conversion, validation, CRDs.

Public surface (everything else is an implementation detail):

* models: :mod:`rollouts.api.v1beta1` (hub: Rollout, BatchRelease), :mod:`rollouts.api.v1alpha1`
  (Rollout, BatchRelease, TrafficRouting, RolloutHistory), shared structs in :mod:`rollouts.api.common`
  and :mod:`rollouts.api.status`, :class:`IntOrString`;
* wire: :func:`from_dict`/:func:`to_dict` for a known class, :func:`load`/:func:`dump` dispatching on
  ``apiVersion``/``kind``, :func:`load_hub` for "whatever version, give me v1beta1";
* :func:`rollouts.api.conversion.convert`, :func:`rollouts.api.validation.validate_rollout`;
* wire constants in :mod:`rollouts.api.keys` and :mod:`rollouts.api.constants`.

This package imports nothing from controllers, the runtime, webhooks or kubernetes_asyncio.
"""

from __future__ import annotations

from typing import Any

from rollouts.api import constants, keys, v1alpha1, v1beta1
from rollouts.api.intstr import IntOrString
from rollouts.api.wire import DecodeError, WireModel, from_dict, to_dict

#: (apiVersion, kind) → model class of every kind this package serves.
KINDS: dict[tuple[str, str], type[WireModel]] = {
    (constants.API_VERSION_V1BETA1, constants.KIND_ROLLOUT): v1beta1.Rollout,
    (constants.API_VERSION_V1BETA1, constants.KIND_BATCH_RELEASE): v1beta1.BatchRelease,
    (constants.API_VERSION_V1ALPHA1, constants.KIND_ROLLOUT): v1alpha1.Rollout,
    (constants.API_VERSION_V1ALPHA1, constants.KIND_BATCH_RELEASE): v1alpha1.BatchRelease,
    (constants.API_VERSION_V1ALPHA1, constants.KIND_TRAFFIC_ROUTING): v1alpha1.TrafficRouting,
    (constants.API_VERSION_V1ALPHA1, constants.KIND_ROLLOUT_HISTORY): v1alpha1.RolloutHistory,
}


def model_class(api_version: str, kind: str) -> type[WireModel]:
    """The model class for ``apiVersion``/``kind``; DecodeError when this package does not serve it."""
    try:
        return KINDS[(api_version, kind)]
    except KeyError:
        raise DecodeError("apiVersion", f"unsupported apiVersion/kind {api_version!r}/{kind!r}") from None


def load(obj: dict[str, Any]) -> Any:
    """Decode a full object of any served kind/version into its model (unknown fields kept)."""
    if not isinstance(obj, dict):
        raise DecodeError("", "expected a JSON object")
    return from_dict(model_class(str(obj.get("apiVersion")), str(obj.get("kind"))), obj)


def dump(model: WireModel) -> dict[str, Any]:
    """Encode a model back to a JSON-ready dict (alias of :func:`to_dict`)."""
    return to_dict(model)


def load_hub(obj: dict[str, Any]) -> Any:
    """Decode a Rollout/BatchRelease of either version as the v1beta1 (hub) model.

    Controllers work on v1beta1 only; this is what lets them accept a v1alpha1 document (e.g. in tests
    or from a file) without knowing about versions. Raises ConversionError/DecodeError.
    """
    from rollouts.api.conversion import convert

    if obj.get("apiVersion") == constants.API_VERSION_V1ALPHA1 and obj.get("kind") in (
        constants.KIND_ROLLOUT, constants.KIND_BATCH_RELEASE,
    ):
        obj = convert(obj, constants.API_VERSION_V1BETA1)
    return load(obj)


__all__ = [
    "DecodeError", "IntOrString", "KINDS", "WireModel", "constants", "dump", "from_dict", "keys", "load",
    "load_hub", "model_class", "to_dict", "v1alpha1", "v1beta1",
]
