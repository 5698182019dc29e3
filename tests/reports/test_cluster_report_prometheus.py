"""The cluster report read back from a real Prometheus holding two hours of burstscaler_* series.

``seed`` remote-writes what an operator would have exported for three policies in two namespaces
(two currencies, one operator restart): samples every 15 s from ``T0``, a fixed time in the past, so
no assertion depends on the wall clock. Expected totals are computed from the pushed samples.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pytest

from burstscaler.reports import cluster_report, timerange
from burstscaler.reports.cluster_data import ReportError, TimeRange
from burstscaler.sources import prometheus, report_queries
from tests.fixtures.prometheus import PrometheusServer

pytestmark = pytest.mark.prometheus

T0 = 1_717_408_800  # 2024-06-03T10:00:00Z
HOURS = 2
SCRAPE = 15
TIMES = np.arange(T0, T0 + HOURS * 3600 + 1, SCRAPE, dtype=np.float64)
#: Remote-write appends only within an hour of the newest sample: push every series slice by slice.
_SLICE = 1800


@dataclasses.dataclass(frozen=True)
class Policy:
    """What one policy's operator exported: replicas over time and the counters' rates while bursting."""

    namespace: str
    name: str
    currency: str
    base: int
    burst: int
    burst_from: int  # seconds after T0
    burst_until: int
    cost_per_second: float
    vcpu_per_second: float
    gib_per_second: float
    savings: float  # counted once, when the burst drains back
    moves: int
    restart_at: int | None = None  # an operator restart: the counters begin again from zero

    @property
    def key(self) -> tuple[str, str]:
        return self.namespace, self.name

    def bursting(self, t: np.ndarray) -> np.ndarray:
        return (t - T0 >= self.burst_from) & (t - T0 < self.burst_until)

    def counter(self, rate: float) -> np.ndarray:
        """A counter growing at ``rate`` while bursting, restarting from zero at ``restart_at``."""
        elapsed = np.clip(TIMES - T0 - self.burst_from, 0, self.burst_until - self.burst_from)
        values = elapsed * rate
        if self.restart_at is not None:
            after = self.restart_at <= TIMES - T0
            values[after] -= values[np.argmax(after)]
        return values

    def step(self, amount: float) -> np.ndarray:
        return np.where(self.burst_until <= TIMES - T0, amount, 0.0)


POLICIES = (
    Policy("shop", "web", "USD", 4, 3, 3600, 5400, 0.0006, 1.5, 3.0, 0.25, 3, restart_at=4500),
    Policy("shop", "api", "USD", 2, 1, 0, 1200, 0.0002, 0.5, 1.0, 0.05, 1),
    Policy("batch", "etl", "EUR", 6, 2, 1800, 3600, 0.0004, 1.0, 4.0, 0.5, 2),
)


def series_of(policy: Policy) -> list[tuple[str, dict[str, str], np.ndarray]]:
    """Every series the operator exports for ``policy``: (name, labels, a value per ``TIMES``)."""
    labels = {"namespace": policy.namespace, "policy": policy.name}
    money = {**labels, "currency": policy.currency}
    burst = np.where(policy.bursting(TIMES), float(policy.burst), 0.0)
    base = np.full(TIMES.size, float(policy.base))
    return [
        ("burstscaler_base_replicas", labels, base),
        ("burstscaler_burst_replicas", labels, burst),
        ("burstscaler_desired_replicas", labels, base + burst),
        ("burstscaler_ready_replicas", {**labels, "tier": "burst"}, burst),
        ("burstscaler_burst_cost_total", money, policy.counter(policy.cost_per_second)),
        ("burstscaler_drain_back_savings_total", money, policy.step(policy.savings)),
        ("burstscaler_burst_vcpu_seconds_total", labels, policy.counter(policy.vcpu_per_second)),
        ("burstscaler_burst_gib_seconds_total", labels, policy.counter(policy.gib_per_second)),
        ("burstscaler_drain_back_moves_total", labels, policy.step(float(policy.moves))),
    ]


def seed(server: PrometheusServer) -> None:
    """Push every policy's series (and the operator's own gauge) into ``server``."""
    every = [series for policy in POLICIES for series in series_of(policy)]
    every.append(("burstscaler_policies", {}, np.full(TIMES.size, float(len(POLICIES)))))
    for offset in range(0, HOURS * 3600 + 1, _SLICE):
        chosen = (offset <= TIMES - T0) & (TIMES - T0 < offset + _SLICE)  # noqa: SIM300
        for name, labels, values in every:
            server.push(name, list(zip(TIMES[chosen].tolist(), values[chosen].tolist(), strict=True)), labels)


def grown(values: np.ndarray, *, start: int, end: int) -> float:
    """What a counter's samples in [start, end] grew by: rises, plus the value after each restart."""
    inside = values[(start <= TIMES) & (TIMES <= end)]  # noqa: SIM300
    deltas = np.diff(inside)
    return float(np.where(deltas >= 0, deltas, inside[1:]).sum())


def expected(policy: Policy, name: str, *, start: int, end: int) -> float:
    values = next(values for series, _, values in series_of(policy) if series == name)
    return grown(values, start=start, end=end)


def read(server: PrometheusServer, *, start: int = T0, end: int = T0 + HOURS * 3600, **options: object):
    window = TimeRange(start=start, end=end, step=60)
    return report_queries.read(prometheus.Settings(url=server.url), window=window, **options)  # type: ignore[arg-type]


@pytest.fixture
def seeded(prometheus_server: PrometheusServer) -> PrometheusServer:
    seed(prometheus_server)
    return prometheus_server


WINDOWS = [
    pytest.param(T0, T0 + HOURS * 3600, id="whole-range"),
    pytest.param(T0 + 3600, T0 + HOURS * 3600, id="second-hour"),
    pytest.param(T0 + 4200, T0 + 4800, id="across-the-restart"),
]


@pytest.mark.parametrize(("start", "end"), WINDOWS)
def test_policy_totals_equal_what_the_counters_grew_by(seeded: PrometheusServer, start: int, end: int) -> None:
    rows = {
        (row["namespace"], row["policy"]): row
        for row in cluster_report.build(read(seeded, start=start, end=end)).policies
    }
    assert set(rows) == {policy.key for policy in POLICIES}
    for policy in POLICIES:
        row = rows[policy.key]
        assert row["currency"] == policy.currency
        for field, metric in (
            ("burst_cost", "burstscaler_burst_cost_total"),
            ("drain_back_savings", "burstscaler_drain_back_savings_total"),
            ("burst_vcpu_seconds", "burstscaler_burst_vcpu_seconds_total"),
            ("burst_gib_seconds", "burstscaler_burst_gib_seconds_total"),
            ("drain_back_moves", "burstscaler_drain_back_moves_total"),
        ):
            want = expected(policy, metric, start=start, end=end)
            assert row[field] == pytest.approx(want, abs=1e-6), (policy.key, field)


def test_namespace_and_currency_totals(seeded: PrometheusServer) -> None:
    report = cluster_report.build(read(seeded))
    end = T0 + HOURS * 3600

    def cost(*keys: tuple[str, str]) -> float:
        return sum(
            expected(policy, "burstscaler_burst_cost_total", start=T0, end=end)
            for policy in POLICIES
            if policy.key in keys
        )

    namespaces = {(row["namespace"], row["currency"]): row for row in report.namespaces}
    assert set(namespaces) == {("shop", "USD"), ("batch", "EUR")}
    assert namespaces["shop", "USD"]["policies"] == 2
    assert namespaces["shop", "USD"]["burst_cost"] == pytest.approx(cost(("shop", "web"), ("shop", "api")))
    assert namespaces["shop", "USD"]["drain_back_moves"] == pytest.approx(4)
    assert namespaces["batch", "EUR"]["burst_cost"] == pytest.approx(cost(("batch", "etl")))
    totals = {row["currency"]: row for row in report.totals}
    assert totals["USD"]["namespaces"] == 1 and totals["EUR"]["policies"] == 1
    assert totals["USD"]["drain_back_savings"] == pytest.approx(0.3)


@pytest.mark.parametrize(
    ("field", "check"),
    [
        ("peak_base_replicas", lambda policy, value: value == policy.base),
        ("peak_burst_replicas", lambda policy, value: value == policy.burst),
        ("peak_desired_replicas", lambda policy, value: value == policy.base + policy.burst),
        ("mean_base_replicas", lambda policy, value: value == pytest.approx(policy.base)),
        (
            # Grid points every 60 s over 2 h (121 of them) and the burst lasting a whole number of minutes.
            "mean_burst_replicas",
            lambda policy, value: (
                value == pytest.approx(policy.burst * (policy.burst_until - policy.burst_from) / 60 / 121, abs=1e-6)
            ),
        ),
    ],
)
def test_replica_peaks_and_means(seeded: PrometheusServer, field: str, check: Callable[[Policy, float], bool]) -> None:
    rows = {(row["namespace"], row["policy"]): row for row in cluster_report.build(read(seeded)).policies}
    for policy in POLICIES:
        assert check(policy, rows[policy.key][field]), (policy.key, field, rows[policy.key][field])


def test_series_and_cumulative_cost_follow_the_samples(seeded: PrometheusServer) -> None:
    data = read(seeded)
    web = data.base[("shop", "web")], data.burst[("shop", "web")]
    assert data.seconds.size == 121
    assert np.all(web[0] == 4)
    assert web[1][60] == 3 and web[1][59] == 0 and web[1][90] == 0  # bursting from minute 60 to 90
    cumulative = data.cumulative_cost[("shop", "web", "USD")]
    assert np.all(np.diff(cumulative) >= -1e-12)  # the restart is not negative spend
    want = expected(POLICIES[0], "burstscaler_burst_cost_total", start=T0, end=T0 + HOURS * 3600)
    # At 60 s steps the samples between grid points are skipped, so the restart loses up to a step's spend.
    assert want - 60 * POLICIES[0].cost_per_second <= cumulative[-1] <= want + 1e-9


def test_one_policy(seeded: PrometheusServer) -> None:
    data = read(seeded, policy=("batch", "etl"))
    report = cluster_report.build(data)
    assert [(row["namespace"], row["policy"]) for row in report.policies] == [("batch", "etl")]
    assert list(report.series) == ["batch/etl"]
    assert set(data.burst_cost) == {("batch", "etl", "EUR")}


def test_extra_matchers_filter_every_series(seeded: PrometheusServer) -> None:
    with pytest.raises(ReportError, match="no burstscaler metrics"):
        read(seeded, matchers='cluster="elsewhere"')


@pytest.mark.parametrize(
    ("options", "start", "message"),
    [
        (
            {},
            T0 - 86400,
            "no burstscaler metrics between 2024-06-02T10:00:00Z and 2024-06-02T11:00:00Z: is the operator scraped?",
        ),
        ({"policy": ("shop", "nope")}, T0, "unknown policy shop/nope: no burstscaler metrics for it between "),
        ({"matchers": "job=~"}, T0, "rejected a query: "),
    ],
)
def test_bad_input_is_one_clear_error(
    seeded: PrometheusServer, options: dict[str, object], start: int, message: str
) -> None:
    with pytest.raises(ReportError) as caught:
        read(seeded, start=start, end=start + 3600, **options)
    assert message in str(caught.value)
    if "policy" in options:
        assert str(caught.value).endswith("(policies seen: batch/etl, shop/api, shop/web)")


def test_unreachable_prometheus(prometheus_server: PrometheusServer) -> None:
    prometheus_server.kill()
    with pytest.raises(ReportError, match=r"^cannot reach Prometheus at http://127\.0\.0\.1:\d+: Connection refused$"):
        read(prometheus_server)


def test_only_a_scraped_operator_with_no_policy(prometheus_server: PrometheusServer) -> None:
    prometheus_server.push("burstscaler_policies", [(T0, 0.0), (T0 + 60, 0.0)])
    with pytest.raises(ReportError, match="planned no policy"):
        read(prometheus_server, end=T0 + 600)


def test_the_range_is_in_the_title(seeded: PrometheusServer) -> None:
    title = cluster_report.build(read(seeded)).title
    assert title == f"{seeded.url}, {timerange.iso(T0)} to {timerange.iso(T0 + 7200)} (2h)"
