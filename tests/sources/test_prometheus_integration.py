"""Through a real Prometheus: readings, failures and the fallback they lead to, tick by tick.

Ticks carry explicit, synthetic ``now`` values for the core; only the samples pushed into Prometheus
are stamped with the wall clock (an instant query evaluates at the server's now).
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from burstscaler.api import spec
from burstscaler.core import recommend
from burstscaler.sources import cpu, metrics, prometheus
from tests.fixtures.prometheus import PrometheusServer

pytestmark = pytest.mark.prometheus

T0 = datetime.datetime(2024, 6, 3, 12, 0, tzinfo=datetime.UTC)
LOAD = 'sum(http_requests{app="web"})'


def make_spec(query: str = LOAD, **fields: Any) -> spec.BurstPolicySpec:
    document: dict[str, Any] = {
        "targetRef": {"name": "web"},
        "minReplicas": 2,
        "maxReplicas": 100,
        "metrics": [{"prometheus": {"query": query, "target": {"type": "AverageValue", "averageValue": "50"}}}],
    }
    return spec.BurstPolicySpec.model_validate(document | fields)


class Ticker:
    """Runs recommend() on readings from a real source, carrying state and replicas between ticks."""

    def __init__(self, source: prometheus.PrometheusSource, policy: spec.BurstPolicySpec, current: int = 4) -> None:
        self.source, self.policy, self.current = source, policy, current
        self.state = recommend.State()
        self.step = 0

    def tick(self, query: str | None = None) -> recommend.Recommendation:
        metric = self.policy.metrics[0].prometheus
        assert metric is not None
        reading = self.source.fetch(query or metric.query)
        request = recommend.Request(
            spec=self.policy, current=self.current, ready=self.current, readings=(reading,), state=self.state
        )
        result = recommend.recommend(request, now=T0 + datetime.timedelta(seconds=15 * self.step))
        self.step += 1
        self.state, self.current = result.state, result.replicas
        return result


def source_for(server: PrometheusServer, timeout: float = 2.0) -> prometheus.PrometheusSource:
    return prometheus.PrometheusSource(prometheus.Settings(url=server.url, timeout_seconds=timeout))


def test_rising_load_gives_rising_recommendations(prometheus_server: PrometheusServer) -> None:
    ticker = Ticker(source_for(prometheus_server), make_spec())
    seen = []
    for load in (200, 400, 800, 1600, 3200):
        prometheus_server.push_now("http_requests", load / 2, {"app": "web", "pod": "a"})
        prometheus_server.push_now("http_requests", load / 2, {"app": "web", "pod": "b"})
        seen.append(ticker.tick().replicas)
    assert seen == sorted(seen)
    assert seen[0] == 4 and seen[-1] == 64  # 3200 / 50, reached through the default +100%/15 s steps


def test_cpu_shortcut_query_runs_on_real_series(prometheus_server: PrometheusServer) -> None:
    now = datetime.datetime.now(datetime.UTC).timestamp()
    for pod, cores in (("web-5d9c7f8b6d-abcde", 0.3), ("web-burst-7f6b5c4d3e-fghij", 0.5), ("web-api-1a2b-xyzab", 9.0)):
        labels = {"namespace": "shop", "pod": pod, "container": "app"}
        prometheus_server.push(
            "container_cpu_usage_seconds_total", [(now - 30, 100.0), (now - 0.5, 100.0 + cores * 29.5)], labels
        )
        prometheus_server.push("kube_pod_container_resource_requests", [(now - 0.5, 0.5)], labels | {"resource": "cpu"})
    query = cpu.query_for(spec.TargetRef(name="web"), namespace="shop")
    reading = source_for(prometheus_server).fetch(query)
    # (0.3 + 0.5) cores used of 1.0 requested; web-api's pod does not belong to web.
    assert reading.value == pytest.approx(80.0, rel=1e-6)


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        pytest.param("sum(rate(http_requests[1m]", "QueryError", id="syntax-error"),
        pytest.param('sum(no_such_metric{app="web"})', "EmptyResult", id="nothing-matches"),
        pytest.param("http_requests", "AmbiguousResult", id="several-series"),
        pytest.param('sum(http_requests{app="web"}) / 0', "InvalidValue", id="division-by-zero"),
    ],
)
def test_bad_queries_fall_back(prometheus_server: PrometheusServer, query: str, reason: str) -> None:
    for pod in ("a", "b"):
        prometheus_server.push_now("http_requests", 500, {"app": "web", "pod": pod})
    policy = make_spec(query=query, fallback={"onMetricsFailure": "fixed", "failureThreshold": 2, "replicas": 7})
    ticker = Ticker(source_for(prometheus_server), policy)
    first, second = ticker.tick(), ticker.tick()
    assert first.metrics_condition is not None and first.metrics_condition.status == "True"
    assert second.metrics_condition is not None
    assert (second.metrics_condition.status, second.metrics_condition.reason) == ("False", reason)
    assert (second.replicas, second.reason) == (7, "fallback-fixed")


def test_killed_prometheus_holds_then_recovers(prometheus_server: PrometheusServer) -> None:
    policy = make_spec(fallback={"onMetricsFailure": "hold", "failureThreshold": 2})
    ticker = Ticker(source_for(prometheus_server), policy, current=10)
    prometheus_server.push_now("http_requests", 1000, {"app": "web"})
    assert ticker.tick().replicas == 20
    prometheus_server.kill()
    held = [ticker.tick() for _ in range(3)]
    assert [result.replicas for result in held] == [20, 20, 20]
    last = held[-1].metrics_condition
    assert last is not None and (last.status, last.reason) == ("False", "PrometheusUnreachable")
    prometheus_server.restart()
    prometheus_server.push_now("http_requests", 1000, {"app": "web"})
    recovered = ticker.tick()
    assert recovered.metrics_condition is not None
    assert (recovered.metrics_condition.status, recovered.metrics_condition.reason) == ("True", "MetricsReceived")
    assert "recovered after 3 failed attempts" in recovered.metrics_condition.message


def test_hung_prometheus_times_out_and_recovers(prometheus_server: PrometheusServer) -> None:
    policy = make_spec(fallback={"onMetricsFailure": "fixed", "failureThreshold": 1, "replicas": 7})
    ticker = Ticker(source_for(prometheus_server, timeout=0.3), policy)
    prometheus_server.push_now("http_requests", 100, {"app": "web"})
    prometheus_server.pause()
    try:
        slow = ticker.tick()
    finally:
        prometheus_server.resume()
    assert slow.metrics_condition is not None
    assert (slow.metrics_condition.status, slow.metrics_condition.reason) == ("False", "PrometheusTimeout")
    assert (slow.replicas, slow.reason) == (7, "fallback-fixed")
    back = ticker.tick()
    assert back.metrics_condition is not None and back.metrics_condition.status == "True"


def test_a_pinned_tenant_query_reads_only_its_namespace(prometheus_server: PrometheusServer) -> None:
    prometheus_server.push_now("tenant_load", 5, {"namespace": "shop", "app": "web"})
    prometheus_server.push_now("tenant_load", 700, {"namespace": "bank", "app": "ledger"})
    fetcher = metrics.Fetcher(prometheus.Settings(url=prometheus_server.url, timeout_seconds=2), tenancy="namespace")
    target = {"type": "Value", "value": "1"}
    queries = [
        metrics.MetricQuery(
            policy="shop/web",
            namespace="shop",
            target=spec.TargetRef(name="web"),
            metric=spec.MetricSpec.model_validate({"prometheus": {"query": query, "target": target}}),
        )
        for query in ("sum(tenant_load)", 'sum({__name__=~"tenant_.+"})', 'sum(tenant_load{namespace="bank"})')
    ]
    try:
        own, everything, other = (fetcher.fetch(query) for query in queries)
    finally:
        fetcher.close()
    assert own.value == 5.0 and everything.value == 5.0
    assert other.failure is not None and other.failure.reason == "EmptyResult"
