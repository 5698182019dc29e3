"""The forecast's history: bounded range reads of a real Prometheus, cached so a tick reads only what is new."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

from burstscaler.api import spec
from burstscaler.sources import history, metrics, prometheus
from tests.fixtures.prometheus import PrometheusServer

LOAD = 'sum(http_requests{app="web"})'
STEP = 15.0


def make_query(query: str = LOAD, *, namespace: str = "shop") -> metrics.MetricQuery:
    metric = {"prometheus": {"query": query, "target": {"type": "AverageValue", "averageValue": "10"}}}
    return metrics.MetricQuery(
        policy=f"{namespace}/web",
        namespace=namespace,
        target=spec.TargetRef(name="web"),
        metric=spec.MetricSpec.model_validate(metric),
    )


def push_ramp(server: PrometheusServer, *, end: float, seconds: float, labels: dict[str, str] | None = None) -> None:
    """A ramp of 1 per second, sampled every 15 s, up to ``end``: value = seconds since the ramp's start."""
    times = np.arange(end - seconds, end + 0.5, STEP)
    server.push("http_requests", [(t, t - times[0]) for t in times], labels or {"app": "web", "namespace": "shop"})


@pytest.mark.parametrize(
    ("lookback", "step"),
    [
        pytest.param(300, 15.0, id="five-minutes"),
        pytest.param(6 * 3600, 15.0, id="six-hours-at-the-scrape"),
        pytest.param(3 * 86400, 26.0, id="three-days"),
        pytest.param(7 * 86400, 61.0, id="a-week"),
    ],
)
def test_the_step_bounds_the_points(lookback: int, step: float) -> None:
    assert history.step_for(lookback) == step
    assert lookback / history.step_for(lookback) <= history.MAX_POINTS


@pytest.mark.prometheus
def test_a_tick_reads_only_the_new_points(prometheus_server: PrometheusServer) -> None:
    now = time.time()
    push_ramp(prometheus_server, end=now, seconds=600)
    source = history.RangeSource(prometheus.Settings(url=prometheus_server.url))
    cache = history.HistoryCache()
    first = cache.read(source, LOAD, now=now, lookback=600)
    assert first.failure is None and first.series is not None
    assert len(first.series) >= 38  # 600 s at 15 s, the grid against the samples' phase aside
    # The ramp rises 1 per second: so does what was read (each step holds the latest sample).
    slope = np.polyfit(first.series.times, first.series.values, 1)[0]
    assert slope == pytest.approx(1.0, rel=0.05)
    read_before = cache.points_read
    prometheus_server.push("http_requests", [(now + 30, 630.0)], {"app": "web", "namespace": "shop"})
    later = cache.read(source, LOAD, now=now + 45, lookback=600)
    assert later.series is not None
    assert cache.points_read - read_before <= 5  # the last point again and the few since, not 40
    assert later.series.values[-1] == pytest.approx(630.0)
    assert later.series.times[0] >= now + 45 - 600  # older points leave the window
    source.close()


@pytest.mark.prometheus
def test_no_series_is_an_empty_history_several_are_ambiguous(prometheus_server: PrometheusServer) -> None:
    now = time.time()
    push_ramp(prometheus_server, end=now, seconds=120, labels={"app": "web", "pod": "a"})
    push_ramp(prometheus_server, end=now, seconds=120, labels={"app": "web", "pod": "b"})
    source = history.RangeSource(prometheus.Settings(url=prometheus_server.url))
    cache = history.HistoryCache()
    nothing = cache.read(source, 'sum(http_requests{app="none"})', now=now, lookback=300)
    assert nothing.series is not None and len(nothing.series) == 0
    both = cache.read(source, 'http_requests{app="web"}', now=now, lookback=300)
    assert both.failure is not None and both.failure.reason == "AmbiguousResult"
    bad = cache.read(source, "sum(", now=now, lookback=300)
    assert bad.failure is not None and bad.failure.reason == "QueryError"
    source.close()


@pytest.mark.prometheus
def test_the_size_cap_holds(prometheus_server: PrometheusServer) -> None:
    now = time.time()
    push_ramp(prometheus_server, end=now, seconds=3000)
    settings = prometheus.Settings(url=prometheus_server.url, max_response_bytes=2000)
    reading = history.HistoryCache().read(history.RangeSource(settings), LOAD, now=now, lookback=3000)
    assert reading.failure is not None and reading.failure.reason == "PrometheusError"
    assert "cap" in reading.failure.message


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A server that accepts connections and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    listener.close()


def test_a_silent_server_costs_one_deadline(silent_server: str) -> None:
    settings = prometheus.Settings(url=silent_server, timeout_seconds=0.3)
    began = time.monotonic()
    reading = history.HistoryCache().read(history.RangeSource(settings), LOAD, now=time.time(), lookback=300)
    assert reading.failure is not None and reading.failure.reason == "PrometheusTimeout"
    assert time.monotonic() - began < 5.0  # bounded by the deadline, generously


@pytest.mark.prometheus
def test_the_fetcher_pins_tenants_and_evicts_with_the_policy(prometheus_server: PrometheusServer) -> None:
    now = time.time()
    push_ramp(prometheus_server, end=now, seconds=300, labels={"app": "web", "namespace": "shop"})
    push_ramp(prometheus_server, end=now, seconds=300, labels={"app": "web", "namespace": "other"})
    fetcher = metrics.Fetcher(prometheus.Settings(url=prometheus_server.url), tenancy="namespace")
    try:
        shop = metrics.HistoryQuery(metric=make_query(), now=now, lookback=300)
        other = metrics.HistoryQuery(metric=make_query(namespace="other"), now=now, lookback=300)
        # `sum` over both namespaces would be twice the ramp: pinned, each sees its own only.
        got = asyncio.run(fetcher.fetch_history_all([shop, other]))
        assert all(reading.series is not None for reading in got)
        peaks = [float(reading.series.values.max()) for reading in got if reading.series is not None]
        assert len(peaks) == 2 and all(270.0 <= peak <= 300.0 for peak in peaks)  # unpinned: up to 600
        assert len(fetcher.histories) == 2
        asyncio.run(fetcher.fetch_history_all([shop]))  # the other policy is gone
        assert len(fetcher.histories) == 1
    finally:
        fetcher.close()


def test_a_refused_server_is_a_failure_for_that_policy_only() -> None:
    fetcher = metrics.Fetcher(prometheus.Settings(url="http://127.0.0.1:9"))
    try:
        own = make_query()
        foreign = metrics.MetricQuery(
            policy="shop/web",
            namespace="shop",
            target=spec.TargetRef(name="web"),
            metric=spec.MetricSpec.model_validate(
                {
                    "prometheus": {
                        "query": LOAD,
                        "serverUrl": "http://evil:9090",
                        "target": {"type": "Value", "value": "1"},
                    }
                }
            ),
        )
        queries = [metrics.HistoryQuery(metric=query, now=time.time(), lookback=300) for query in (own, foreign)]
        got = asyncio.run(fetcher.fetch_history_all(queries))
        assert [reading.failure.reason if reading.failure else None for reading in got] == [
            "PrometheusUnreachable",
            "PrometheusUnreachable",
        ]
        assert got[1].failure is not None and "not allowed" in got[1].failure.message
    finally:
        fetcher.close()


def test_the_tick_waits_for_histories_no_longer_than_its_deadline(silent_server: str) -> None:
    # Each read would give up after 5 s; the tick stops waiting at its own 0.5 s deadline.
    fetcher = metrics.Fetcher(prometheus.Settings(url=silent_server, timeout_seconds=5.0), tick_deadline_seconds=0.5)
    try:
        query = metrics.HistoryQuery(metric=make_query(), now=time.time(), lookback=300)
        began = time.monotonic()
        got = asyncio.run(fetcher.fetch_history_all([query]))
        assert time.monotonic() - began < 4.0
        assert got[0].failure is not None and got[0].failure.reason == "PrometheusTimeout"
        assert "tick's 0.5s deadline" in got[0].failure.message
    finally:
        fetcher.close()
