"""The operator's /metrics: the names `burstscaler report`, the alerts and the dashboard read."""

from __future__ import annotations

import prometheus_client
import pytest

from burstscaler.operator import metrics

EXPECTED = {
    "burstscaler_desired_replicas",
    "burstscaler_base_replicas",
    "burstscaler_burst_replicas",
    "burstscaler_ready_replicas",
    "burstscaler_burst_vcpu_seconds_total",
    "burstscaler_burst_gib_seconds_total",
    "burstscaler_burst_cost_total",
    "burstscaler_drain_back_savings_total",
    "burstscaler_drain_back_moves_total",
    "burstscaler_decisions_total",
    "burstscaler_metric_source_errors_total",
    "burstscaler_tick_duration_seconds_bucket",
    "burstscaler_burst_degraded_pods",
}


def test_metric_names_are_the_public_contract() -> None:
    registry = metrics.Metrics()
    registry.desired.labels("shop", "web").set(3)
    registry.burst_cost.labels("shop", "web", "USD").inc(0.5)
    registry.decisions.labels(reason="ecs-full").inc()
    registry.metric_errors.labels("shop", "web", "PrometheusTimeout").inc()
    registry.tick_seconds.observe(0.02)
    for name in ("burst", "base"):
        getattr(registry, name).labels("shop", "web").set(1)
    registry.ready.labels("shop", "web", "base").set(1)
    for counter in (registry.burst_vcpu_seconds, registry.burst_gib_seconds, registry.drain_back_moves):
        counter.labels("shop", "web").inc()
    registry.drain_back_savings.labels("shop", "web", "USD").inc()
    registry.set_burst_degraded("shop", "web", counts={"ProviderFailed": 1})
    text = prometheus_client.generate_latest(registry.registry).decode()
    exposed = {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")}
    assert exposed >= EXPECTED


def test_forget_drops_a_deleted_policys_series() -> None:
    registry = metrics.Metrics()
    registry.desired.labels("shop", "web").set(3)
    registry.forget("shop", "web")
    registry.forget("shop", "web")  # twice is fine
    text = prometheus_client.generate_latest(registry.registry).decode()
    assert 'burstscaler_desired_replicas{namespace="shop",policy="web"}' not in text


def _degraded(text: str) -> dict[str, float]:
    prefix = "burstscaler_burst_degraded_pods{"
    rows = [line for line in text.splitlines() if line.startswith(prefix)]
    return {line.split('reason="')[1].split('"')[0]: float(line.rsplit(" ", 1)[1]) for line in rows}


@pytest.mark.parametrize(
    ("ticks", "expected"),
    [
        pytest.param([{"ProviderFailed": 2}], {"ProviderFailed": 2.0}, id="one-cause"),
        pytest.param(
            [{"ProviderFailed": 2, "ErrImagePull": 1}, {"ErrImagePull": 3}], {"ErrImagePull": 3.0}, id="cause-gone"
        ),
        pytest.param([{"NoStock": 1}, {}], {}, id="healthy-again"),
    ],
)
def test_burst_degraded_pods_follow_the_latest_tick(ticks: list[dict[str, int]], expected: dict[str, float]) -> None:
    registry = metrics.Metrics()
    for counts in ticks:
        registry.set_burst_degraded("shop", "web", counts=counts)
    assert _degraded(prometheus_client.generate_latest(registry.registry).decode()) == expected


def test_forget_drops_the_degraded_series() -> None:
    registry = metrics.Metrics()
    registry.set_burst_degraded("shop", "web", counts={"NoStock": 4})
    registry.forget("shop", "web")
    assert _degraded(prometheus_client.generate_latest(registry.registry).decode()) == {}
