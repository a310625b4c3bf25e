"""Admission of AnalysisTemplates: the parser's rules, answered 422 naming the field."""

from typing import Any

from webhooks.admission import AdmissionRequest
from webhooks.app import build_registry
from webhooks.configs import PATH_VALIDATE_ANALYSIS_TEMPLATE
from webhooks.validating_analysis import AnalysisTemplateValidator

GOOD = {"metadata": {"name": "errors"}, "spec": {"checks": [{"name": "error-rate", "prometheus": {
    "address": "http://p:9090", "query": "sum(x)"}, "successCondition": "result < 0.05"}]}}


def _request(obj: Any, operation: str = "CREATE") -> AdmissionRequest:
    return AdmissionRequest(uid="u", operation=operation, kind={"kind": "AnalysisTemplate"},
                            resource={"resource": "analysistemplates"}, name="errors", namespace="ns", object=obj)


async def test_a_valid_template_is_admitted() -> None:
    assert (await AnalysisTemplateValidator()(_request(GOOD))).allowed


async def test_a_bad_threshold_is_refused_naming_the_field() -> None:
    bad = {**GOOD, "spec": {"checks": [{**GOOD["spec"]["checks"][0], "successCondition": "result < high"}]}}
    resp = await AnalysisTemplateValidator()(_request(bad, "UPDATE"))
    assert not resp.allowed and resp.code == 422
    assert resp.message.startswith("AnalysisTemplate ns/errors is invalid: spec.checks[0].successCondition: "
                                   "'high' is not a number")


async def test_delete_is_not_checked() -> None:
    assert (await AnalysisTemplateValidator()(_request(None, "DELETE"))).allowed


def test_the_manager_serves_the_path() -> None:
    assert PATH_VALIDATE_ANALYSIS_TEMPLATE in build_registry().paths()


async def test_kubernetes_checks_are_admitted_and_a_bad_baseline_is_refused() -> None:
    check = {"name": "restarts", "kubernetes": {"signal": "restarts"}, "failureCondition": "result > 0"}
    ok = {**GOOD, "spec": {"checks": [check]}}
    assert (await AnalysisTemplateValidator()(_request(ok))).allowed
    bad = {**GOOD, "spec": {"checks": [{**check, "kubernetes": {"signal": "restarts", "baseline": "prod"}}]}}
    resp = await AnalysisTemplateValidator()(_request(bad))
    assert not resp.allowed and resp.code == 422
    assert "spec.checks[0].kubernetes.baseline: 'prod' is not a baseline; use stable" in resp.message
