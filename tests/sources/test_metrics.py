"""The fetcher: kinds -> queries, servers per metric, credentials, bounded off-loop concurrency."""

from __future__ import annotations

import asyncio
import threading
import time

from burstscaler.api import spec
from burstscaler.core import recommend
from burstscaler.sources import cpu, metrics, prometheus

DEFAULTS = prometheus.Settings(url="http://prometheus:9090", bearer_token="operator-token")


def make_query(metric: dict[str, object]) -> metrics.MetricQuery:
    return metrics.MetricQuery(
        policy="shop/web",
        namespace="shop",
        target=spec.TargetRef(name="web"),
        metric=spec.MetricSpec.model_validate(metric),
    )


class FakeSource:
    """Records queries; sleeps a little to expose concurrency; can be armed to raise."""

    def __init__(self, settings: prometheus.Settings) -> None:
        self.settings = settings
        self.queries: list[str] = []
        self.in_flight = 0
        self.peak = 0
        self.lock = threading.Lock()
        self.explode = False

    def fetch(self, query: str) -> recommend.Reading:
        with self.lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            self.queries.append(query)
        time.sleep(0.02)
        with self.lock:
            self.in_flight -= 1
        if self.explode:
            raise RuntimeError("bug")
        return recommend.Reading(value=float(len(query)))

    def describe(self) -> str:
        return "fake"

    def close(self) -> None:
        pass


PROM = {"prometheus": {"query": "sum(up)", "target": {"type": "Value", "value": "1"}}}


def test_queries_per_kind() -> None:
    assert metrics.promql_for(make_query(PROM)) == "sum(up)"
    cpu_query = make_query({"cpu": {"targetAverageUtilization": 60}})
    assert metrics.promql_for(cpu_query) == cpu.query_for(spec.TargetRef(name="web"), namespace="shop")


def test_per_metric_server_gets_no_operator_token() -> None:
    fetcher = metrics.Fetcher(DEFAULTS)
    own = {"prometheus": {"query": "up", "target": {"type": "Value", "value": "1"}, "serverUrl": "http://team:9090"}}
    assert fetcher.settings_for(make_query(own).metric) == prometheus.Settings(url="http://team:9090")
    assert fetcher.settings_for(make_query(PROM).metric) is DEFAULTS
    fetcher.close()


def test_fetch_all_is_bounded_and_ordered() -> None:
    sources: list[FakeSource] = []

    def factory(settings: prometheus.Settings) -> FakeSource:
        sources.append(FakeSource(settings))
        return sources[-1]

    fetcher = metrics.Fetcher(DEFAULTS, concurrency=3, source_factory=factory)
    queries = [
        make_query({"prometheus": {"query": "x" * (n + 1), "target": {"type": "Value", "value": "1"}}})
        for n in range(12)
    ]
    readings = asyncio.run(fetcher.fetch_all(queries))
    fetcher.close()
    assert [reading.value for reading in readings] == [float(n + 1) for n in range(12)]
    assert len(sources) == 1  # one client per server, shared
    assert sources[0].peak <= 3


def test_a_source_bug_costs_one_reading() -> None:
    source = FakeSource(DEFAULTS)
    source.explode = True
    fetcher = metrics.Fetcher(DEFAULTS, source_factory=lambda _: source)
    reading = fetcher.fetch(make_query(PROM))
    fetcher.close()
    assert reading.failure is not None and reading.failure.reason == "PrometheusError"
