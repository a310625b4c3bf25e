"""Parse kubectl-style resource arguments (``rollout/NAME``, ``TYPE NAME``, bare ``NAME``)."""

from __future__ import annotations

import attrs

#: Spellings kubectl accepts for the Rollout kind (singular, plural, short, fully qualified).
ROLLOUT_ALIASES = frozenset(
    {
        "rollout",
        "rollouts",
        "ro",
        "rollout.rollouts.kruise.io",
        "rollouts.rollouts.kruise.io",
        "rollout.v1beta1.rollouts.kruise.io",
        "rollout.v1alpha1.rollouts.kruise.io",
    }
)
DEPLOYMENT_ALIASES = frozenset({"deployment", "deployments", "deploy", "deployment.apps", "deployments.apps"})
KIND_OF = {**{a: "Rollout" for a in ROLLOUT_ALIASES}, **{a: "Deployment" for a in DEPLOYMENT_ALIASES}}
#: How kubectl prints an object reference in its one-line results.
DISPLAY_PREFIX = {"Rollout": "rollout.rollouts.kruise.io", "Deployment": "deployment.apps"}


class TargetError(ValueError):
    """A resource argument that does not name a supported object."""


@attrs.frozen
class Target:
    kind: str
    name: str

    @property
    def display(self) -> str:
        """``rollout.rollouts.kruise.io/NAME`` — the prefix kubectl prints in results."""
        return f"{DISPLAY_PREFIX[self.kind]}/{self.name}"


def parse_target(args: list[str], *, allowed: frozenset[str] = frozenset({"Rollout"})) -> Target:
    """``["rollout/x"]``, ``["rollout", "x"]`` or ``["x"]`` (bare names are Rollouts)."""
    if len(args) == 2:
        kind = KIND_OF.get(args[0].lower())
        name = args[1]
    elif len(args) == 1 and "/" in args[0]:
        type_, _, name = args[0].partition("/")
        kind = KIND_OF.get(type_.lower())
        if kind is None:
            raise TargetError(f"the server doesn't have a resource type {type_!r} usable here (expected rollout/NAME)")
    elif len(args) == 1:
        kind, name = "Rollout", args[0]
    else:
        raise TargetError("expected exactly one resource, e.g. rollout/rollouts-demo")
    if kind is None:
        raise TargetError(f"the server doesn't have a resource type {args[0]!r} usable here (expected rollout/NAME)")
    if kind not in allowed:
        raise TargetError(f"{kind.lower()} is not supported by this command (supported: {', '.join(sorted(allowed))})")
    if not name:
        raise TargetError("resource name may not be empty")
    return Target(kind, name)
