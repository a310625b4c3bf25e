"""``--feature-gates``: upstream's gate names, refused unless this manager can honour the value.

Upstream (pkg/feature) has four gates, all default off; the shipped manager turns
``AdvancedDeployment`` on. This manager always runs the advanced Deployment controller and does not
implement ``AppendPodSelector``, so a gate set to a value we would silently ignore is an error naming
the gate: a chart value that changes nothing must not look accepted. ``RolloutHistory`` starts the
RolloutHistory controller and ``KeepWorkloadPausedOnRolloutDeletion`` keeps partitions on deletion
and disabling (both default off, as upstream; the latter never on a rollback:
``rollouts/controllers/batchrelease/keeppaused.py``). The chart's ``values.schema.json`` encodes the
same table (``tests/unit/chart`` keeps the two in step).
"""

from __future__ import annotations

#: gate → (the values this manager accepts, the reason for the others).
SUPPORTED: dict[str, tuple[frozenset[bool], str]] = {
    "AdvancedDeployment": (frozenset({True}), "this manager always runs the advanced Deployment controller"),
    "RolloutHistory": (frozenset({True, False}), ""),
    "AppendPodSelector": (frozenset({False}), "appending patchPodTemplateMetadata labels to the canary Service "
                                              "selector is not implemented"),
    "KeepWorkloadPausedOnRolloutDeletion": (frozenset({True, False}), ""),
}
#: The value of a gate left out (upstream: all off; ``AdvancedDeployment`` is always on here).
DEFAULTS: dict[str, bool] = {"AdvancedDeployment": True, "RolloutHistory": False, "AppendPodSelector": False,
                             "KeepWorkloadPausedOnRolloutDeletion": False}


def parse(value: str) -> dict[str, bool]:
    """``"A=true,B=false"`` → ``{"A": True, "B": False}``; ValueError naming the gate and the fix."""
    gates: dict[str, bool] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        name, sep, raw = item.partition("=")
        if not sep or raw.lower() not in ("true", "false"):
            raise ValueError(f"--feature-gates: {item!r} is not Name=true|false")
        if name not in SUPPORTED:
            raise ValueError(f"--feature-gates: unknown feature gate {name!r}; known: {', '.join(SUPPORTED)}")
        enabled = raw.lower() == "true"
        accepted, why = SUPPORTED[name]
        if enabled not in accepted:
            (only,) = accepted
            raise ValueError(f"--feature-gates: {name}={raw} is not supported ({why}); use {name}="
                             f"{str(only).lower()} or leave it out")
        gates[name] = enabled
    return gates


def enabled(gates: dict[str, bool], name: str) -> bool:
    """The gate's value, its default when not given."""
    return gates.get(name, DEFAULTS[name])
