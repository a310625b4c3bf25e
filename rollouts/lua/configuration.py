"""The ``kruise-rollout-configuration`` ConfigMap as the script lookup reads it (lua-contract.md §4.1, §5.1).

Why a cache and not a GET: upstream reads the ConfigMap on every provider construction, i.e. on
every reconcile of a traffic Rollout, and so must we (an edit takes effect without a restart). An
informer on that one object (field selector ``metadata.name``, the operator namespace only) gives
the same freshness for a dictionary lookup, and its events requeue the Rollouts that use scripts,
so fixing a broken script resumes them at once instead of on the next periodic retry.

:meth:`ScriptConfiguration.data` is synchronous on purpose: the providers decide at construction
(which is synchronous) which script runs and what it may be asked, without an extra round trip.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import attrs

from rollouts.api import keys
from runtime.cache.protocols import CacheReader

__all__ = ["DEFAULT_NAMESPACE", "ScriptConfiguration", "default_namespace"]

#: Operator namespace when ``POD_NAMESPACE`` is unset (upstream's default, and ``--namespace``'s).
DEFAULT_NAMESPACE = "kruise-rollout"


def default_namespace() -> str:
    return os.environ.get("POD_NAMESPACE") or DEFAULT_NAMESPACE


@attrs.frozen(kw_only=True)
class ScriptConfiguration:
    """Where the user scripts live and how they are read."""

    namespace: str = attrs.field(factory=default_namespace)
    """Namespace of the ConfigMap: the manager's ``--namespace`` (``POD_NAMESPACE``)."""
    store: CacheReader | None = None
    """An informer's store holding the ConfigMap; None → no ConfigMap (shipped scripts only: unit
    tests, and tools that run without a cluster)."""

    def data(self) -> Mapping[str, str] | None:
        """The ConfigMap's ``data``, None when it does not exist (not an error: shipped scripts apply)."""
        if self.store is None:
            return None
        obj = self.store.get(keys.ROLLOUT_CONFIGURATION_CONFIGMAP, self.namespace)
        if obj is None:
            return None
        return obj.get("data") or {}
