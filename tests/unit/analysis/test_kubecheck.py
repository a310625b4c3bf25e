"""The ``kubernetes`` check kind: template parsing, per-pod signals, canary-vs-stable results, the listing I/O."""

from __future__ import annotations

from typing import Any

import pytest

from rollouts.analysis import kubecheck as k
from rollouts.analysis import template as t
from rollouts.analysis.prometheus import Answer
from rollouts.api.edit import with_fields
from rollouts.api.status import CanaryStatus
from rollouts.controllers.rollout.analysis import ANALYSIS_RUNS, ANALYSIS_TEMPLATES, run_analysis
from runtime.kube.errors import Forbidden
from runtime.kube.resources import Resource
from tests.unit.analysis.test_controller_io import NOW, NS, Client, _never, _rollout

KEY = "pod-template-hash"


def _pod(name: str, rev: str, *, ready: bool = True, restarts: int = 0, last: str = "", waiting: str = "",
         init_restarts: int = 0) -> dict[str, Any]:
    c: dict[str, Any] = {"name": "app", "restartCount": restarts, "state": {"running": {}}}
    if last:
        c["lastState"] = {"terminated": {"reason": last}}
    if waiting:
        c["state"] = {"waiting": {"reason": waiting}}
    status: dict[str, Any] = {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                              "containerStatuses": [c]}
    if init_restarts:
        status["initContainerStatuses"] = [{"name": "init", "restartCount": init_restarts}]
    return {"metadata": {"name": name, "namespace": NS, "labels": {KEY: rev}}, "status": status}


def _event(pod: str, count: Any = 1, kind: str = "Pod", type_: str = "Warning") -> dict[str, Any]:
    return {"metadata": {"name": f"{pod}.1", "namespace": NS}, "type": type_, "count": count,
            "involvedObject": {"kind": kind, "name": pod}}


def _src(signal: str, baseline: str = "stable") -> t.KubernetesSource:
    return t.KubernetesSource(signal=signal, baseline=baseline)


# -- template ------------------------------------------------------------------------------------------


def _tmpl(kube: Any, **check: Any) -> dict[str, Any]:
    return {"spec": {"checks": [{"name": "restarts", "kubernetes": kube, "failureCondition": "result > 0", **check}]}}


def test_a_kubernetes_check_parses_with_stable_as_default_baseline() -> None:
    c = t.parse_template(_tmpl({"signal": "oomKilled"})).checks[0]
    assert c.kubernetes == t.KubernetesSource(signal="oomKilled", baseline="stable")
    assert c.prometheus is None and c.http is None


@pytest.mark.parametrize(("kube", "extra", "field", "says"), [
    ({"signal": "restart"}, {}, "spec.checks[0].kubernetes.signal", "'restart' is not a signal; use one of restarts"),
    ({}, {}, "spec.checks[0].kubernetes.signal", "must be a non-empty string"),
    ({"signal": "restarts", "baseline": "canary"}, {}, "spec.checks[0].kubernetes.baseline", "use stable"),
    ({"signal": "restarts", "selector": "x"}, {}, "spec.checks[0].kubernetes.selector", "use signal and baseline"),
    ("restarts", {}, "spec.checks[0].kubernetes", "must be an object with signal"),
    ({"signal": "restarts"}, {"http": {"url": "http://x"}}, "spec.checks[0]", "exactly one source"),
    ({"signal": "restarts"}, {"failureCondition": None}, "spec.checks[0]", "needs successCondition or"),
])
def test_bad_kubernetes_checks_name_the_field(kube: Any, extra: dict[str, Any], field: str, says: str) -> None:
    obj = _tmpl(kube, **extra)
    obj["spec"]["checks"][0] = {key: v for key, v in obj["spec"]["checks"][0].items() if v is not None}
    with pytest.raises(t.TemplateError) as e:
        t.parse_template(obj)
    assert e.value.field == field and says in str(e.value)


# -- signals and results (pure) ------------------------------------------------------------------------


@pytest.mark.parametrize(("pod", "signal", "want"), [
    (_pod("a", "c", restarts=2, init_restarts=1), "restarts", 3),
    (_pod("a", "c"), "restarts", 0),
    (_pod("a", "c", ready=False), "notReady", 1),
    (_pod("a", "c"), "notReady", 0),
    (_pod("a", "c", last="OOMKilled"), "oomKilled", 1),
    (_pod("a", "c", last="Error"), "oomKilled", 0),
    (_pod("a", "c", waiting="CrashLoopBackOff"), "crashLoopBackOff", 1),
    (_pod("a", "c", waiting="ContainerCreating"), "crashLoopBackOff", 0),
    (_pod("a", "c"), "warningEvents", 4),
    (_pod("b", "c"), "warningEvents", 0),
])
def test_what_each_signal_counts_per_pod(pod: dict[str, Any], signal: str, want: int) -> None:
    assert k.pod_count(pod, signal, {"a": 4}) == want


def test_warning_counts_fold_repeats_and_ignore_normal_and_other_kinds() -> None:
    events = [_event("a", 3), _event("a"), _event("a", None), _event("b", type_="Normal"), _event("c", kind="Node")]
    assert k.warning_counts(events) == {"a": 5}


def test_stable_baseline_is_canary_per_pod_minus_stable_per_pod() -> None:
    canary = [_pod("c1", "c", restarts=3)]
    stable = [_pod("s1", "s", restarts=1), _pod("s2", "s", restarts=1)]
    assert k.compare(_src("restarts"), canary, stable, {}) == Answer(value=2.0)
    assert k.compare(_src("restarts"), [_pod("c1", "c", restarts=1)], stable, {}) == Answer(value=0.0)
    assert k.compare(_src("restarts"), canary, [], {}) == Answer(value=3.0)  # no stable pods: rate 0


def test_baseline_none_is_the_canary_total_and_no_canary_pods_is_no_data() -> None:
    canary = [_pod("c1", "c", ready=False), _pod("c2", "c", ready=False), _pod("c3", "c")]
    assert k.compare(_src("notReady", "none"), canary, [_pod("s", "s", ready=False)], {}) == Answer(value=2.0)
    assert k.compare(_src("notReady"), [], [_pod("s", "s")], {}) == Answer()


# -- listing -------------------------------------------------------------------------------------------


class Lister(Client):
    """The in-memory client plus ``list`` by one ``key=value`` label selector (and Events whole)."""

    def __init__(self, forbid: bool = False) -> None:
        super().__init__()
        self.forbid = forbid
        self.lists: list[tuple[str, str | None, str | None]] = []

    async def list(self, res: Resource, namespace: str | None = None, *, label_selector: str | None = None,
                   field_selector: str | None = None, **_: Any) -> dict[str, Any]:
        self.lists.append((res.plural, label_selector, field_selector))
        if self.forbid:
            raise Forbidden("pods is forbidden")
        key, _sep, value = (label_selector or "=").partition("=")
        items = [o for (plural, ns, _n), o in self.objects.items() if plural == res.plural and ns == namespace
                 and (not key or o["metadata"].get("labels", {}).get(key) == value)]
        return {"items": items, "metadata": {}}


async def test_observe_lists_canary_and_stable_pods_by_revision_and_warning_events() -> None:
    client = Lister()
    for p in (_pod("c1", "c"), _pod("s1", "s"), _pod("s2", "s"), _pod("other", "x")):
        client.put(Resource("", "v1", "pods", "Pod"), p, NS)
    for e in (_event("c1", 2), _event("s1", 2), _event("other", 9)):
        client.put(Resource("", "v1", "events", "Event"), e, NS)
    answer = await k.observe(client, NS, KEY, "c", "s", _src("warningEvents"))
    assert answer == Answer(value=1.0)  # canary 2/1 − stable 2/2
    assert client.lists == [("pods", f"{KEY}=c", None), ("pods", f"{KEY}=s", None),
                            ("events", None, k.WARNING_EVENTS_SELECTOR)]


async def test_an_api_refusal_is_an_error_never_a_pass() -> None:
    answer = await k.observe(Lister(forbid=True), NS, KEY, "c", "s", _src("restarts"))
    assert answer.value is None and "listing pods/events in 'ns' failed" in answer.error


async def test_run_analysis_measures_kubernetes_checks_with_the_canary_pods_hash() -> None:
    client = Lister()
    client.put(ANALYSIS_TEMPLATES, {"metadata": {"name": "errors"}, "spec": {"checks": [
        {"name": "oom", "kubernetes": {"signal": "oomKilled"}, "failureCondition": "result > 0", "count": 1}]}}, NS)
    client.put(Resource("", "v1", "pods", "Pod"), _pod("c1", "hash-c", last="OOMKilled"), NS)
    client.put(Resource("", "v1", "pods", "Pod"), _pod("s1", "s1"), NS)
    sub = with_fields(CanaryStatus, canary_revision="c1", stable_revision="s1", pod_template_hash="hash-c")
    a = await run_analysis(client, _rollout(), sub, 1, "errors", NOW, _never)  # type: ignore[arg-type]
    assert (a.verdict, a.action) == (t.FAIL, t.ROLLBACK)
    assert "oom: fail, value 1 (failureCondition 'result > 0')" in a.message
    run = client.find(ANALYSIS_RUNS, "ro", NS)
    assert run is not None and run["status"]["checks"][0]["lastValue"] == "1"
