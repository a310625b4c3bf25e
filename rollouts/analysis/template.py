"""The ``AnalysisTemplate`` kind: what to measure during a step, when it passes, and what each verdict does.

Why a kind of our own, in a group of our own (``analysis.kruise-rollouts-py.io``): the Rollout must
stay valid for the upstream CRD (``rollouts.kruise.io``), whose schema prunes unknown fields, so
checks cannot live in the Rollout spec; and a kind in upstream's group could collide with whatever
upstream adds there later (clusters may run both controllers' CRDs). Argo's ``argoproj.io`` names
are avoided for the same reason. A Rollout refers to a template by annotation (:mod:`.refs`).

The object is decoded once into frozen attrs models by :func:`parse_template`, which checks
everything that can be checked offline: each field's type and range, the conditions' grammar
(:mod:`.condition`), the query's placeholders and bracket balance. Errors name the field path and
the fix (:class:`TemplateError`); a query Prometheus itself refuses is an ``Error`` measurement at
run time, carrying Prometheus' message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlparse

import attrs

from rollouts.analysis import condition as cond
from rollouts.analysis import httpcheck
from rollouts.analysis.deadline import GROUP

VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"
KIND_TEMPLATE: Final = "AnalysisTemplate"
KIND_RUN: Final = "AnalysisRun"

# Actions a verdict may take.
CONTINUE: Final = "Continue"
WAIT: Final = "Wait"
PAUSE: Final = "Pause"
ROLLBACK: Final = "Rollback"
ACTIONS: Final = (CONTINUE, WAIT, PAUSE, ROLLBACK)

# Verdicts (wire values of ``status.verdict`` and of ``spec.actions`` keys).
PASS: Final = "pass"
FAIL: Final = "fail"
INCONCLUSIVE: Final = "inconclusive"
NO_DATA: Final = "noData"
RUNNING: Final = "running"
VERDICTS: Final = (PASS, FAIL, INCONCLUSIVE, NO_DATA)

#: What a verdict does when the template does not say. No-data pauses: upstream tools' users complain
#: that "no data" either passes silently or stalls for ever; a pause is visible and one approve away.
DEFAULT_ACTIONS: Final = {PASS: CONTINUE, FAIL: ROLLBACK, INCONCLUSIVE: PAUSE, NO_DATA: PAUSE}

#: Placeholders a query may use, filled from the Rollout being analysed.
ARGS: Final = ("canary_revision", "stable_revision", "namespace", "rollout")
_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

DEFAULT_INTERVAL_SECONDS: Final = 30
DEFAULT_COUNT: Final = 3
#: Prometheus' own default query timeout is 2 minutes; a check waiting that long would hold the
#: reconcile, so we ask for less and treat a timeout as an inconclusive (Error) measurement.
DEFAULT_TIMEOUT_SECONDS: Final = 5


class TemplateError(ValueError):
    """A template field that cannot be used; ``field`` is its path, the message says the fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@attrs.frozen(kw_only=True)
class PrometheusSource:
    #: Base URL of the Prometheus HTTP API, e.g. ``http://prometheus.monitoring:9090``.
    address: str
    #: PromQL with ``{{arg}}`` placeholders (:data:`ARGS`); must return one series or a scalar.
    query: str
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS

    def render(self, args: Mapping[str, str]) -> str:
        """The query with its placeholders filled (every placeholder was checked by the parser)."""
        return _PLACEHOLDER.sub(lambda m: args.get(m.group(1), ""), self.query)


@attrs.frozen(kw_only=True)
class HttpSource:
    #: URL to GET; may use the ``{{arg}}`` placeholders of :data:`ARGS`.
    url: str
    expected_status: int = 200
    #: ``$.data.errorRate``-style path to the measured number ("" → the status decides alone).
    json_path: str = ""
    keys: tuple[str | int, ...] = ()
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS

    def render(self, args: Mapping[str, str]) -> str:
        return _PLACEHOLDER.sub(lambda m: args.get(m.group(1), ""), self.url)


#: Signals of the ``kubernetes`` check kind (:mod:`rollouts.analysis.kubecheck` says what each counts).
SIGNALS: Final = ("restarts", "notReady", "oomKilled", "crashLoopBackOff", "warningEvents")
#: ``kubernetes.baseline``: ``stable`` → result = canary per-pod rate minus stable per-pod rate;
#: ``none`` → result = the canary pods' total count.
BASELINES: Final = ("stable", "none")


@attrs.frozen(kw_only=True)
class KubernetesSource:
    #: One of :data:`SIGNALS`.
    signal: str
    #: One of :data:`BASELINES` (default ``stable``).
    baseline: str = "stable"


@attrs.frozen(kw_only=True)
class Check:
    name: str
    #: Exactly one of ``prometheus``, ``http`` and ``kubernetes`` is set.
    prometheus: PrometheusSource | None = None
    http: HttpSource | None = None
    kubernetes: KubernetesSource | None = None
    success: cond.Condition | None
    failure: cond.Condition | None
    #: The conditions as written (shown in messages).
    success_text: str = ""
    failure_text: str = ""
    interval_seconds: int = DEFAULT_INTERVAL_SECONDS
    #: Measurements a verdict is made of (the last ``count``).
    count: int = DEFAULT_COUNT
    #: Failed measurements tolerated among the last ``count``; one more fails the check at once.
    failure_limit: int = 0
    #: Inconclusive (or erroring) measurements tolerated among the last ``count``.
    inconclusive_limit: int = 0


@attrs.frozen(kw_only=True)
class TemplateSpec:
    checks: tuple[Check, ...]
    #: Verdict → action (every verdict present, defaults filled).
    actions: Mapping[str, str]
    #: A run still without a deciding verdict (or still told to ``Wait``) this long after it started
    #: is stalled: verdict ``inconclusive``, reason ``DeadlineExceeded``, and the inconclusive action
    #: (``Pause`` if that is ``Wait``). None: no deadline.
    deadline_seconds: int | None = None


def _int(obj: Mapping[str, Any], key: str, path: str, default: int, minimum: int) -> int:
    value = obj.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise TemplateError(f"{path}.{key}", f"must be an integer, got {value!r}; write e.g. {key}: {default}")
    if value < minimum:
        raise TemplateError(f"{path}.{key}", f"must be at least {minimum}, got {value}")
    return value


def _str(obj: Mapping[str, Any], key: str, path: str, *, required: bool) -> str:
    value = obj.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise TemplateError(f"{path}.{key}", f"must be a non-empty string, got {value!r}")
    return value


def check_placeholders(text: str, path: str) -> None:
    for m in _PLACEHOLDER.finditer(text):
        if m.group(1) not in ARGS:
            raise TemplateError(path, f"unknown placeholder {{{{{m.group(1)}}}}}; use one of "
                                      + ", ".join(f"{{{{{a}}}}}" for a in ARGS))


def check_query(query: str, path: str) -> None:
    """What can be checked without Prometheus: known placeholders, closed quotes and brackets."""
    check_placeholders(query, path)
    text = _PLACEHOLDER.sub("x", query)
    stack: list[str] = []
    pairs = {")": "(", "]": "[", "}": "{"}
    quote = ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'`":
            quote = ch
        elif ch in "([{":
            stack.append(ch)
        elif ch in pairs:
            if not stack or stack.pop() != pairs[ch]:
                raise TemplateError(path, f"the query does not parse: unbalanced {ch!r}")
    if quote:
        raise TemplateError(path, f"the query does not parse: a {quote} quote is not closed")
    if stack:
        raise TemplateError(path, f"the query does not parse: {stack[-1]!r} is not closed")


def _condition(obj: Mapping[str, Any], key: str, path: str) -> cond.Condition | None:
    text = _str(obj, key, path, required=False)
    if not text:
        return None
    try:
        return cond.parse(text)
    except cond.ConditionError as e:
        raise TemplateError(f"{path}.{key}", f"{e} (in {text!r})") from None


def _prometheus(obj: Any, path: str) -> PrometheusSource:
    if not isinstance(obj, Mapping):
        raise TemplateError(path, "is required: a check needs a source, e.g. prometheus: {address: ..., query: ...}")
    address = _str(obj, "address", path, required=True)
    url = urlparse(address)
    if url.scheme not in ("http", "https") or not url.netloc:
        raise TemplateError(f"{path}.address",
                            f"must be an http(s) URL such as http://prometheus:9090, got {address!r}")
    query = _str(obj, "query", path, required=True)
    check_query(query, f"{path}.query")
    timeout = _int(obj, "timeoutSeconds", path, DEFAULT_TIMEOUT_SECONDS, 1)
    return PrometheusSource(address=address.rstrip("/"), query=query, timeout_seconds=timeout)


def _http(obj: Any, path: str) -> HttpSource:
    if not isinstance(obj, Mapping):
        raise TemplateError(path, "must be an object with url (and expectedStatus, jsonPath)")
    url = _str(obj, "url", path, required=True)
    check_placeholders(url, f"{path}.url")
    parsed = urlparse(_PLACEHOLDER.sub("x", url))
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise TemplateError(f"{path}.url", f"must be an http(s) URL such as http://canary:8080/healthz, got {url!r}")
    json_path = _str(obj, "jsonPath", path, required=False)
    keys: tuple[str | int, ...] = ()
    if json_path:
        try:
            keys = httpcheck.parse_path(json_path)
        except ValueError as e:
            raise TemplateError(f"{path}.jsonPath", str(e)) from None
    return HttpSource(url=url, expected_status=_int(obj, "expectedStatus", path, 200, 100), json_path=json_path,
                      keys=keys, timeout_seconds=_int(obj, "timeoutSeconds", path, DEFAULT_TIMEOUT_SECONDS, 1))


def _kubernetes(obj: Any, path: str) -> KubernetesSource:
    if not isinstance(obj, Mapping):
        raise TemplateError(path, "must be an object with signal (and baseline), e.g. {signal: restarts}")
    signal = _str(obj, "signal", path, required=True)
    if signal not in SIGNALS:
        raise TemplateError(f"{path}.signal", f"{signal!r} is not a signal; use one of {', '.join(SIGNALS)}")
    baseline = _str(obj, "baseline", path, required=False) or "stable"
    if baseline not in BASELINES:
        raise TemplateError(f"{path}.baseline", f"{baseline!r} is not a baseline; use stable (canary per pod minus "
                                                "stable per pod) or none (the canary pods' count)")
    unknown = sorted(set(obj) - {"signal", "baseline"})
    if unknown:
        raise TemplateError(f"{path}.{unknown[0]}", "is not a field of a kubernetes check; use signal and baseline")
    return KubernetesSource(signal=signal, baseline=baseline)


_SOURCES: Final = ("prometheus", "http", "kubernetes")


def _source(obj: Mapping[str, Any], path: str) -> tuple[PrometheusSource | None, HttpSource | None,
                                                          KubernetesSource | None]:
    present = [k for k in _SOURCES if obj.get(k) is not None]
    if len(present) != 1:
        raise TemplateError(path, "needs exactly one source: prometheus: {address: ..., query: ...}, "
                                  "http: {url: ..., expectedStatus: 200, jsonPath: ...} or "
                                  "kubernetes: {signal: restarts, baseline: stable}")
    if present[0] == "prometheus":
        return _prometheus(obj.get("prometheus"), f"{path}.prometheus"), None, None
    if present[0] == "http":
        return None, _http(obj.get("http"), f"{path}.http"), None
    return None, None, _kubernetes(obj.get("kubernetes"), f"{path}.kubernetes")


def _check(obj: Any, path: str) -> Check:
    if not isinstance(obj, Mapping):
        raise TemplateError(path, "must be an object with name, a source (prometheus, http or kubernetes) and "
                                  "conditions")
    name = _str(obj, "name", path, required=True)
    if not _NAME.match(name):
        raise TemplateError(f"{path}.name", f"{name!r} must be lower-case letters, digits and '-'")
    prom, http, kube = _source(obj, path)
    success, failure = _condition(obj, "successCondition", path), _condition(obj, "failureCondition", path)
    status_only = http is not None and not http.json_path
    if success is None and failure is None and not status_only:
        raise TemplateError(path, "needs successCondition or failureCondition (or both), e.g. "
                                  "successCondition: 'result < 0.05'")
    if status_only and (success is not None or failure is not None):
        raise TemplateError(f"{path}.http.jsonPath", "is needed for conditions: they judge the number read there")
    return Check(
        name=name, prometheus=prom, http=http, kubernetes=kube,
        success=success, failure=failure,
        success_text=obj.get("successCondition") or "", failure_text=obj.get("failureCondition") or "",
        interval_seconds=_int(obj, "intervalSeconds", path, DEFAULT_INTERVAL_SECONDS, 1),
        count=_int(obj, "count", path, DEFAULT_COUNT, 1),
        failure_limit=_int(obj, "failureLimit", path, 0, 0),
        inconclusive_limit=_int(obj, "inconclusiveLimit", path, 0, 0),
    )


def _actions(obj: Any) -> dict[str, str]:
    if obj is None:
        return dict(DEFAULT_ACTIONS)
    if not isinstance(obj, Mapping):
        raise TemplateError("spec.actions", "must map verdicts (pass, fail, inconclusive, noData) to actions")
    out = dict(DEFAULT_ACTIONS)
    for key, value in obj.items():
        if key not in VERDICTS:
            raise TemplateError(f"spec.actions.{key}", f"unknown verdict; use one of {', '.join(VERDICTS)}")
        if value not in ACTIONS:
            raise TemplateError(f"spec.actions.{key}", f"{value!r} is not an action; use one of {', '.join(ACTIONS)}")
        out[key] = value
    return out


def parse_template(obj: Mapping[str, Any]) -> TemplateSpec:
    """The spec of an ``AnalysisTemplate`` wire object; :class:`TemplateError` names the bad field."""
    spec = obj.get("spec")
    if not isinstance(spec, Mapping):
        raise TemplateError("spec", "is required and must be an object with checks")
    raw = spec.get("checks")
    if not isinstance(raw, list) or not raw:
        raise TemplateError("spec.checks", "needs at least one check")
    checks = tuple(_check(c, f"spec.checks[{i}]") for i, c in enumerate(raw))
    seen: set[str] = set()
    for i, c in enumerate(checks):
        if c.name in seen:
            raise TemplateError(f"spec.checks[{i}].name", f"{c.name!r} is used twice; names must be unique")
        seen.add(c.name)
    deadline = _int(spec, "deadlineSeconds", "spec", 0, 1) if spec.get("deadlineSeconds") is not None else None
    return TemplateSpec(checks=checks, actions=_actions(spec.get("actions")), deadline_seconds=deadline)
