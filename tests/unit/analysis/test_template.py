"""Reading an AnalysisTemplate: defaults, and errors that name the field and the fix."""

from typing import Any

import pytest

from rollouts.analysis import template as t


def _tmpl(**check: Any) -> dict[str, Any]:
    query = 'sum(x{v="{{canary_revision}}"})'
    base = {"name": "errors", "prometheus": {"address": "http://prom:9090", "query": query},
            "successCondition": "result < 0.05"}
    base.update(check)
    return {"spec": {"checks": [{k: v for k, v in base.items() if v is not None}]}}


def test_defaults_are_filled() -> None:
    spec = t.parse_template(_tmpl())
    c = spec.checks[0]
    assert (c.interval_seconds, c.count, c.failure_limit, c.inconclusive_limit) == (30, 3, 0, 0)
    assert c.prometheus.timeout_seconds == 5 and c.failure is None
    assert spec.actions == {"pass": "Continue", "fail": "Rollback", "inconclusive": "Pause", "noData": "Pause"}


def test_placeholders_are_filled_from_the_rollout() -> None:
    c = t.parse_template(_tmpl(prometheus={"address": "http://p:9090/", "query":
                                           'x{v="{{ canary_revision }}",s="{{stable_revision}}",n="{{namespace}}",'
                                           'r="{{rollout}}"}'})).checks[0]
    q = c.prometheus.render({"canary_revision": "c1", "stable_revision": "s1", "namespace": "ns", "rollout": "ro"})
    assert q == 'x{v="c1",s="s1",n="ns",r="ro"}'
    assert c.prometheus.address == "http://p:9090"


@pytest.mark.parametrize(("obj", "field", "says"), [
    ({}, "spec", "is required"),
    ({"spec": {"checks": []}}, "spec.checks", "at least one"),
    (_tmpl(count="3"), "spec.checks[0].count", "must be an integer, got '3'"),
    (_tmpl(count=True), "spec.checks[0].count", "must be an integer"),
    (_tmpl(count=0), "spec.checks[0].count", "at least 1"),
    (_tmpl(failureLimit=-1), "spec.checks[0].failureLimit", "at least 0"),
    (_tmpl(intervalSeconds=1.5), "spec.checks[0].intervalSeconds", "integer"),
    (_tmpl(successCondition="result < 5%"), "spec.checks[0].successCondition", "not a number"),
    (_tmpl(successCondition="result < '0.1'"), "spec.checks[0].successCondition", "not a number"),
    (_tmpl(successCondition=None), "spec.checks[0]", "needs successCondition or failureCondition"),
    (_tmpl(name="Bad_Name"), "spec.checks[0].name", "lower-case"),
    (_tmpl(prometheus=None), "spec.checks[0]", "needs exactly one source"),
    (_tmpl(http={"url": "http://x"}), "spec.checks[0]", "needs exactly one source"),
    (_tmpl(prometheus={"address": "prom:9090", "query": "up"}), "spec.checks[0].prometheus.address", "http"),
    (_tmpl(prometheus={"address": "http://p", "query": "sum(up"}), "spec.checks[0].prometheus.query",
     "does not parse"),
    (_tmpl(prometheus={"address": "http://p", "query": 'up{job="x}'}), "spec.checks[0].prometheus.query",
     "quote is not closed"),
    (_tmpl(prometheus={"address": "http://p", "query": "up{v=\"{{canary}}\"}"}), "spec.checks[0].prometheus.query",
     "unknown placeholder {{canary}}; use one of {{canary_revision}}"),
    ({"spec": {"checks": _tmpl()["spec"]["checks"], "actions": {"fail": "Abort"}}}, "spec.actions.fail",
     "not an action; use one of Continue, Wait, Pause, Rollback"),
    ({"spec": {"checks": _tmpl()["spec"]["checks"], "actions": {"error": "Pause"}}}, "spec.actions.error",
     "unknown verdict"),
])
def test_bad_templates_name_the_field_and_the_fix(obj: dict[str, Any], field: str, says: str) -> None:
    with pytest.raises(t.TemplateError) as info:
        t.parse_template(obj)
    assert info.value.field == field
    assert says in str(info.value)


def test_check_names_are_unique() -> None:
    obj = _tmpl()
    obj["spec"]["checks"].append(dict(obj["spec"]["checks"][0]))
    with pytest.raises(t.TemplateError, match=r"spec.checks\[1\].name: 'errors' is used twice"):
        t.parse_template(obj)
