"""Validating webhook for ``AnalysisTemplate`` (``/validate-analysis-kruise-rollouts-py-io-analysistemplate``).

The rules are :func:`rollouts.analysis.template.parse_template`'s, so admission and the controller
agree on what a valid template is: a refused template is answered 422 with the field path and the
fix (``spec.checks[0].successCondition: 'high' is not a number; ...``). The webhook fails open
(``failurePolicy: Ignore``, ``webhooks/configs.py``): the controller checks the template again before
running it, and a bad one pauses the step with the same message.
"""

from __future__ import annotations

from rollouts.analysis.template import TemplateError, parse_template
from webhooks.admission import AdmissionRequest, AdmissionResponse, allowed, denied, errored
from webhooks.configs import PATH_VALIDATE_ANALYSIS_TEMPLATE

PATH = PATH_VALIDATE_ANALYSIS_TEMPLATE
INVALID_CODE = 422


class AnalysisTemplateValidator:
    """The admission handler; registered with ``registry.validating(PATH, validator)``."""

    async def __call__(self, request: AdmissionRequest) -> AdmissionResponse:
        if request.operation not in ("CREATE", "UPDATE") or request.sub_resource:
            return allowed()
        obj = request.object
        if not isinstance(obj, dict):
            return errored(400, f"{request.operation} of AnalysisTemplate {request.namespace}/{request.name} "
                                "carries no object")
        try:
            parse_template(obj)
        except TemplateError as e:
            return denied(f"AnalysisTemplate {request.namespace}/{request.name} is invalid: {e}", INVALID_CODE,
                          reason="Invalid")
        return allowed()
