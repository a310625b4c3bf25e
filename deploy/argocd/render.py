"""Write ``argocd-cm.yaml`` from the Lua files beside it (``python deploy/argocd/render.py``).

The Lua files are the source: they are what the unit tests run (tests/unit/argocd). The ConfigMap
snippet embeds them verbatim, twice nested (the actions key holds YAML text that holds Lua text),
which is easy to get wrong by hand; hence a generator, and a test that the committed snippet matches.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: Argo CD's keys: ``resource.customizations.<health|actions>.<group>_<kind>``.
HEALTH_KEY = "resource.customizations.health.rollouts.kruise.io_Rollout"
ACTIONS_KEY = "resource.customizations.actions.rollouts.kruise.io_Rollout"
ACTIONS = ("approve", "pause", "resume", "disable")

HEADER = """\
# Paste into the argocd-cm ConfigMap (namespace argocd) to give Argo CD a health check and actions
# (approve, pause, resume, disable) for Kruise Rollouts (rollouts.kruise.io/Rollout, v1alpha1 and
# v1beta1). Generated from deploy/argocd/health.lua and deploy/argocd/actions/*.lua: edit those and
# regenerate with `python deploy/argocd/render.py` (tests/unit/argocd checks the two agree).
# Documented in docs/operations.md ("Argo CD").
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-cm
  namespace: argocd
  labels:
    app.kubernetes.io/name: argocd-cm
    app.kubernetes.io/part-of: argocd
data:
"""


def _block(text: str, spaces: int) -> str:
    return textwrap.indent(text, " " * spaces)


def render() -> str:
    """The ConfigMap text."""
    out = HEADER + f"  {HEALTH_KEY}: |\n" + _block((HERE / "health.lua").read_text(), 4)
    out += f"  {ACTIONS_KEY}: |\n    discovery.lua: |\n" + _block((HERE / "actions" / "discovery.lua").read_text(), 6)
    out += "    definitions:\n"
    for name in ACTIONS:
        out += f"      - name: {name}\n        action.lua: |\n"
        out += _block((HERE / "actions" / f"{name}.lua").read_text(), 10)
    return out


if __name__ == "__main__":
    (HERE / "argocd-cm.yaml").write_text(render())
    sys.exit(0)
