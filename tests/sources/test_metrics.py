"""The fetcher: kinds -> queries, servers per metric, credentials, bounded off-loop concurrency."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

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
    assert fetcher.settings_for(make_query(own).metric) == prometheus.Settings(
        url="http://team:9090", restrict_addresses=True
    )
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


class StallingSource(FakeSource):
    """Stalls (as a dripping server would, up to its read deadline) on queries mentioning "slow"."""

    def __init__(self, settings: prometheus.Settings, *, stall: threading.Event) -> None:
        super().__init__(settings)
        self.stall = stall
        self.closed = False

    def fetch(self, query: str) -> recommend.Reading:
        if "slow" in query:
            self.stall.wait(10)
            return recommend.Reading(value=0.0)
        return super().fetch(query)

    def close(self) -> None:
        self.closed = True


def query_in(namespace: str, promql: str) -> metrics.MetricQuery:
    return metrics.MetricQuery(
        policy=f"{namespace}/web",
        namespace=namespace,
        target=spec.TargetRef(name="web"),
        metric=spec.MetricSpec.model_validate(
            {"prometheus": {"query": promql, "target": PROM["prometheus"]["target"]}}
        ),
    )


def test_one_namespaces_stalled_reads_miss_the_tick_and_nobody_elses_do() -> None:
    stall = threading.Event()
    fetcher = metrics.Fetcher(
        DEFAULTS, concurrency=4, tick_deadline_seconds=0.5, source_factory=lambda s: StallingSource(s, stall=stall)
    )
    # 16 stalled reads from one tenant (the pool has 4 threads) and 6 good reads from two others.
    queries = [query_in("evil", f"slow{n}") for n in range(16)]
    queries += [query_in(namespace, f"sum(up{n})") for namespace in ("shop", "blog") for n in range(3)]
    try:
        readings = asyncio.run(fetcher.fetch_all(queries))
    finally:
        stall.set()
        fetcher.close()
    evil, good = readings[:16], readings[16:]
    assert all(r.failure is not None and r.failure.reason == "PrometheusTimeout" for r in evil)
    assert all(r.value is not None for r in good), [r.failure for r in good]


def test_the_source_cache_is_bounded() -> None:
    made: list[StallingSource] = []

    def factory(settings: prometheus.Settings) -> StallingSource:
        made.append(StallingSource(settings, stall=threading.Event()))
        return made[-1]

    fetcher = metrics.Fetcher(DEFAULTS, source_factory=factory, max_sources=2)
    for n in range(3):
        fetcher.source_for(prometheus.Settings(url=f"http://prom-{n}:9090"))
    fetcher.source_for(prometheus.Settings(url="http://prom-2:9090"))  # a cache hit, no new source
    fetcher.close()
    assert len(made) == 3 and made[0].closed


@pytest.mark.parametrize(
    ("url", "patterns", "allowed"),
    [
        pytest.param("http://prometheus.shop.svc:9090", (), False, id="none-by-default"),
        pytest.param("http://prometheus.shop.svc:9090", ("http://prometheus.*.svc:9090",), True, id="glob"),
        pytest.param("http://prometheus.shop.svc", ("http://prometheus.*.svc:9090",), False, id="other-port"),
        pytest.param("https://prometheus.shop.svc", ("https://prometheus.*.svc:443",), True, id="default-port"),
        pytest.param("http://evil.example:9090", ("http://prometheus.*.svc:9090",), False, id="other-host"),
    ],
)
def test_allowed_servers(url: str, patterns: tuple[str, ...], allowed: bool) -> None:
    assert metrics.allowed(url, patterns) is allowed


def test_a_server_not_allowed_is_never_asked_and_says_how_to_allow_it() -> None:
    made: list[FakeSource] = []
    fetcher = metrics.Fetcher(DEFAULTS, source_factory=lambda s: made.append(FakeSource(s)) or made[-1])
    own = {"prometheus": {"query": "up", "target": {"type": "Value", "value": "1"}, "serverUrl": "http://team:9090"}}
    reading = fetcher.fetch(make_query(own))
    fetcher.close()
    assert reading.failure is not None and "--allowed-prometheus-url" in reading.failure.message
    assert made == []


def test_tenancy_pins_tenant_queries_on_the_operators_server_only() -> None:
    seen: list[FakeSource] = []
    fetcher = metrics.Fetcher(
        DEFAULTS,
        tenancy="namespace",
        allowed_urls=("http://team:9090",),
        source_factory=lambda s: seen.append(FakeSource(s)) or seen[-1],
    )
    own = {"prometheus": {"query": "up", "target": {"type": "Value", "value": "1"}, "serverUrl": "http://team:9090"}}
    fetcher.fetch(make_query(PROM))
    fetcher.fetch(make_query(own))
    fetcher.fetch(make_query({"cpu": {"targetAverageUtilization": 60}}))
    fetcher.close()
    by_server = {source.settings.url: source.queries for source in seen}
    assert by_server["http://team:9090"] == ["up"], "the tenant's own server is theirs: nothing to pin"
    assert by_server[DEFAULTS.url][0] == 'sum(up{namespace="shop"})'
    assert by_server[DEFAULTS.url][1] == cpu.query_for(spec.TargetRef(name="web"), namespace="shop")
