"""Which ``AnalysisTemplate`` a Rollout step runs: annotations, so the Rollout stays upstream-valid.

* ``analysis.kruise-rollouts-py.io/template: <name>`` — every step of every release runs it;
* ``analysis.kruise-rollouts-py.io/step.<N>: <name>`` — step N (1-based) runs ``<name>`` instead;
  an empty value turns analysis off for that step.

Why annotations: the upstream Rollout CRD prunes unknown spec fields, and annotations survive every
API version and conversion unchanged. The template lives in the Rollout's namespace.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from rollouts.analysis.template import GROUP

TEMPLATE_ANNOTATION: Final = f"{GROUP}/template"
STEP_ANNOTATION_PREFIX: Final = f"{GROUP}/step."


def step_annotation(index: int) -> str:
    return f"{STEP_ANNOTATION_PREFIX}{index}"


def template_for(annotations: Mapping[str, str], index: int) -> str:
    """The template step ``index`` runs ("" for none)."""
    per_step = annotations.get(step_annotation(index))
    if per_step is not None:
        return per_step.strip()
    return (annotations.get(TEMPLATE_ANNOTATION) or "").strip()


def uses_analysis(annotations: Mapping[str, str]) -> bool:
    return any(k == TEMPLATE_ANNOTATION or k.startswith(STEP_ANNOTATION_PREFIX) for k in annotations)
