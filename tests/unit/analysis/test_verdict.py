"""Measurements → check verdict → run verdict, as tables; Prometheus answers → values."""

from datetime import UTC, datetime, timedelta

import pytest

from rollouts.analysis import template as t
from rollouts.analysis import verdict as v
from rollouts.analysis.prometheus import Answer, read_answer
from rollouts.analysis.run import advance

S, F, INC, N, E = v.SUCCESSFUL, v.FAILED, v.INCONCLUSIVE_M, v.NO_DATA_M, v.ERROR


def _check(**kw: object) -> t.Check:
    obj = {"name": "c", "prometheus": {"address": "http://p:9090", "query": "q"},
           "successCondition": "result < 1", "failureCondition": "result >= 5", "count": 3, **kw}
    return t.parse_template({"spec": {"checks": [obj]}}).checks[0]


@pytest.mark.parametrize(("value", "phase"), [(0.5, S), (7, F), (3, INC), (None, N), (float("nan"), N)])
def test_classify(value: float | None, phase: str) -> None:
    assert v.classify(_check(), value) == phase


def test_only_a_success_condition_fails_what_it_does_not_accept() -> None:
    assert v.classify(_check(failureCondition=None), 3) == F
    assert v.classify(_check(successCondition=None), 3) == S


@pytest.mark.parametrize(("phases", "limits", "verdict"), [
    ([], {}, t.RUNNING),
    ([S, S], {}, t.RUNNING),
    ([S, S, S], {}, t.PASS),
    ([F], {}, t.FAIL),                          # fails at once past the limit
    ([S, F], {"failureLimit": 1}, t.RUNNING),
    ([F, F], {"failureLimit": 1}, t.FAIL),
    ([E], {}, t.INCONCLUSIVE),                  # Prometheus down is never a pass
    ([INC], {"inconclusiveLimit": 1}, t.RUNNING),
    ([S, N, S], {}, t.NO_DATA),
    ([N, N, N, S, S, S], {}, t.PASS),           # the window slides: data arrived
    ([F, S, S, S], {}, t.PASS),                 # an old failure left the window (a Wait run)
    ([S, E, F], {"inconclusiveLimit": 1}, t.FAIL),
])
def test_check_verdict(phases: list[str], limits: dict[str, int], verdict: str) -> None:
    ms = [v.Measurement(f"2026-01-01T00:00:{i:02d}Z", p) for i, p in enumerate(phases)]
    assert v.check_verdict(_check(**limits), ms) == verdict


def test_run_verdict_is_the_worst() -> None:
    assert v.run_verdict([t.PASS, t.NO_DATA, t.RUNNING]) == t.NO_DATA
    assert v.run_verdict([t.PASS, t.FAIL, t.INCONCLUSIVE]) == t.FAIL
    assert v.run_verdict([t.PASS, t.PASS]) == t.PASS
    assert v.run_verdict([t.RUNNING, t.PASS]) == t.RUNNING


@pytest.mark.parametrize(("body", "answer"), [
    ({"status": "success", "data": {"resultType": "vector", "result": []}}, Answer()),
    ({"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}, "value": [1, "0.25"]}]}},
     Answer(0.25)),
    ({"status": "success", "data": {"resultType": "scalar", "result": [1, "3"]}}, Answer(3.0)),
    ({"status": "success", "data": {"resultType": "vector", "result": [{"value": [1, "NaN"]}]}}, Answer()),
])
def test_read_answer(body: dict, answer: Answer) -> None:
    assert read_answer(body) == answer


@pytest.mark.parametrize(("body", "says"), [
    ({"status": "error", "errorType": "bad_data", "error": "parse error at char 5"}, "bad_data: parse error"),
    ({"status": "success", "data": {"resultType": "vector", "result": [{"value": [1, "1"]}, {"value": [1, "2"]}]}},
     "2 series; aggregate"),
    ({"status": "success", "data": {"resultType": "matrix", "result": []}}, "matrix"),
    ("<html>", "not its JSON"),
])
def test_read_answer_errors(body: object, says: str) -> None:
    assert says in read_answer(body).error


T0 = datetime(2026, 1, 1, tzinfo=UTC)


async def test_advance_measures_when_due_and_stops_at_a_final_verdict() -> None:
    spec = t.parse_template({"spec": {"checks": [{"name": "c", "prometheus": {"address": "http://p",
        "query": 'x{v="{{canary_revision}}"}'}, "successCondition": "result < 1", "intervalSeconds": 10,
        "count": 2}]}})
    asked: list[str] = []
    values = iter([0.5, 0.2, 9.0])

    async def query(address: str, promql: str, seconds: float) -> Answer:
        asked.append(promql)
        return Answer(next(values))

    args = {"canary_revision": "abc"}
    d, st = await advance(spec, {}, args, T0, query)
    assert (d.verdict, d.action, d.requeue_after) == (t.RUNNING, t.WAIT, 10)
    d, st = await advance(spec, st, args, T0 + timedelta(seconds=4), query)  # not due: nothing asked
    assert len(asked) == 1 and d.requeue_after == 6
    d, st = await advance(spec, st, args, T0 + timedelta(seconds=10), query)
    assert (d.verdict, d.action, d.requeue_after) == (t.PASS, t.CONTINUE, None)
    assert st["checks"][0]["lastValue"] == "0.2" and st["verdict"] == "pass"
    assert "c: pass, value 0.2" in st["message"]
    d, st = await advance(spec, st, args, T0 + timedelta(seconds=60), query)  # final: no more queries
    assert asked == ['x{v="abc"}'] * 2 and d.verdict == t.PASS


async def test_a_failure_names_the_check_the_value_and_the_condition() -> None:
    spec = t.parse_template({"spec": {"checks": [{"name": "error-rate", "prometheus": {"address": "http://p",
        "query": "q"}, "failureCondition": "result > 0.1", "count": 3}]}})

    async def query(address: str, promql: str, seconds: float) -> Answer:
        return Answer(0.4)

    d, st = await advance(spec, {}, {}, T0, query)
    assert (d.verdict, d.action) == (t.FAIL, t.ROLLBACK)
    assert d.message == "error-rate: fail, value 0.4 (failureCondition 'result > 0.1'), 1/3 measurements"


async def test_prometheus_errors_are_inconclusive_with_its_message() -> None:
    spec = t.parse_template({"spec": {"checks": [{"name": "c", "prometheus": {"address": "http://p",
        "query": "q"}, "successCondition": "result < 1"}], "actions": {"inconclusive": "Pause"}}})

    async def query(address: str, promql: str, seconds: float) -> Answer:
        return Answer(error="Prometheus at http://p is unreachable: refused")

    d, st = await advance(spec, {}, {}, T0, query)
    assert (d.verdict, d.action) == (t.INCONCLUSIVE, t.PAUSE)
    assert "unreachable: refused" in d.message
    assert st["checks"][0]["measurements"][0]["phase"] == "Error"


def test_rollout_status_shows_the_last_analysis_values_once() -> None:
    from rollouts.cli.commands import status_line

    ro = {"apiVersion": "rollouts.kruise.io/v1beta1", "kind": "Rollout",
          "metadata": {"name": "ro", "generation": 1}, "spec": {"strategy": {"canary": {"steps": [{}, {}]}}},
          "status": {"observedGeneration": 1, "phase": "Progressing", "currentStepIndex": 1,
                     "currentStepState": "StepPaused", "message": "Rollout is in step(1/2), and you need manually "
                                                                  "confirm to enter the next step",
                     "conditions": [{"type": "MetricsAnalysis", "status": "True", "reason": "Passed",
                                     "message": "errors: error-rate: pass, value 0.01, 2/2 measurements"}]}}
    line, done, failed = status_line(ro)
    assert line.endswith("(last analysis Passed: errors: error-rate: pass, value 0.01, 2/2 measurements)")
    assert not done and not failed
    ro["status"]["message"] = "Rollout is in step(1/2), and metrics analysis errors verdict fail (Rollback): " \
                              "error-rate: pass, value 0.01, 2/2 measurements; ..."
    assert "last analysis" not in status_line(ro)[0]  # already in the message


async def test_a_run_without_a_verdict_past_its_deadline_stalls_and_pauses() -> None:
    spec = t.parse_template({"spec": {"deadlineSeconds": 30, "actions": {"noData": "Wait", "inconclusive": "Wait"},
                                      "checks": [{"name": "c", "prometheus": {"address": "http://p", "query": "q"},
                                                  "successCondition": "result < 1", "intervalSeconds": 10,
                                                  "count": 1}]}})
    asked = []

    async def query(address: str, promql: str, seconds: float) -> Answer:
        asked.append(promql)
        return Answer()  # no data, for ever

    started = {"startedAt": "2026-01-01T00:00:00Z"}
    d, st = await advance(spec, started, {}, T0, query)
    assert (d.verdict, d.action, d.reason) == (t.NO_DATA, t.WAIT, "")
    d, st = await advance(spec, st, {}, T0 + timedelta(seconds=25), query)
    assert d.requeue_after == 5  # the deadline comes before the next measurement
    d, st = await advance(spec, st, {}, T0 + timedelta(seconds=30), query)
    assert (d.verdict, d.action, d.reason) == (t.INCONCLUSIVE, t.PAUSE, "DeadlineExceeded")
    assert d.message.startswith("no verdict within deadlineSeconds 30: c: noData")
    assert st["reason"] == "DeadlineExceeded"
    n = len(asked)
    d, st = await advance(spec, st, {}, T0 + timedelta(seconds=90), query)
    assert len(asked) == n and d.reason == "DeadlineExceeded"  # final: no more queries
