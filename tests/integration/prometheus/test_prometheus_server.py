"""The tests' real Prometheus scrapes a test-controlled exporter and answers PromQL over what it served."""

from __future__ import annotations

import pytest
from localcluster.prometheus import PrometheusServer

from tests.promexporter import Exporter
from tests.waiting import wait_for

pytestmark = pytest.mark.integration


def _value(server: PrometheusServer, promql: str) -> float | None:
    result = server.query(promql)
    return float(result[0]["value"][1]) if result else None


def test_scrapes_what_the_exporter_serves_and_sees_it_change(prometheus_server: PrometheusServer) -> None:
    exporter = Exporter()
    try:
        exporter.set("demo_requests_total", {"version": "v2", "code": "500"}, 3)
        prometheus_server.set_targets({"exporter": [exporter.address]})
        q = 'demo_requests_total{version="v2",code="500"}'
        assert wait_for(lambda: _value(prometheus_server, q), lambda v: v == 3.0, timeout=20, what="scrape") == 3.0
        exporter.set("demo_requests_total", {"version": "v2", "code": "500"}, 7)
        assert wait_for(lambda: _value(prometheus_server, q), lambda v: v == 7.0, timeout=20, what="new value") == 7.0
        up = prometheus_server.query('up{job="exporter"}')
        assert [r["metric"]["instance"] for r in up] == [exporter.address]
    finally:
        prometheus_server.set_targets({})
        exporter.close()


def test_a_bad_query_is_an_error_not_an_empty_answer(prometheus_server: PrometheusServer) -> None:
    with pytest.raises(Exception, match="400|bad_data|parse"):
        prometheus_server.query("sum(")
