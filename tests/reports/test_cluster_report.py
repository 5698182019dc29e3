"""Cluster report rows and renderers from hand-made ``ClusterData`` (no Prometheus): sums, currencies,
the JSON and CSV shapes, the terminal tables, the self-contained HTML, time ranges and counter growth."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ElementTree
from typing import Any

import numpy as np
import pytest
from rich import console

from burstscaler.reports import cluster_formats, cluster_html, cluster_report, cluster_table, timerange
from burstscaler.reports.cluster_data import ClusterData, ReportError, TimeRange, counter_growth

NOW = 1_717_416_000  # 2024-06-03T12:00:00Z
WINDOW = TimeRange(start=NOW - 600, end=NOW, step=60)
GRID = np.arange(WINDOW.start, WINDOW.end + 1, WINDOW.step, dtype=np.float64)


def data(**overrides: Any) -> ClusterData:
    """Three policies: shop/web (USD, then EUR too), shop/idle (never burst), lab/<x> (EUR)."""
    web, idle, lab = ("shop", "web"), ("shop", "idle"), ("lab", "<x>")
    values: dict[str, Any] = {
        "source": "http://***@prometheus:9090",
        "window": WINDOW,
        "policies": (web, idle, lab),
        "burst_cost": {(*web, "USD"): 2.0, (*web, "EUR"): 0.5, (*lab, "EUR"): 1.25},
        "drain_back_savings": {(*web, "USD"): 0.75},
        "burst_vcpu_seconds": {web: 100.0, lab: 40.0},
        "burst_gib_seconds": {web: 200.0, lab: 80.0},
        "drain_back_moves": {web: 3.0, idle: 0.0},
        "peak_base": {web: 4.0, idle: 2.0, lab: 1.0},
        "peak_burst": {web: 3.0, idle: 0.0, lab: 2.0},
        "peak_desired": {web: 7.0, idle: 2.0, lab: 3.0},
        "seconds": GRID,
        "base": {web: np.full(GRID.size, 4.0), idle: np.full(GRID.size, 2.0)},
        "burst": {web: np.where(np.arange(GRID.size) < 5, 3.0, 0.0), idle: np.full(GRID.size, np.nan)},
        "desired": {web: np.full(GRID.size, 5.0)},
        "cumulative_cost": {(*web, "USD"): np.linspace(0, 2.0, GRID.size), (*lab, "EUR"): np.zeros(GRID.size)},
    }
    values.update(overrides)
    return ClusterData(**values)


def rows_by_policy(report: cluster_report.ClusterReport) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(row["namespace"], row["policy"], row["currency"]): row for row in report.policies}


def test_a_policy_gets_a_row_per_currency_with_its_usage_on_the_first() -> None:
    rows = rows_by_policy(cluster_report.build(data()))
    assert list(rows) == [("lab", "<x>", "EUR"), ("shop", "idle", ""), ("shop", "web", "USD"), ("shop", "web", "EUR")]
    first, second = rows["shop", "web", "USD"], rows["shop", "web", "EUR"]
    assert (first["burst_cost"], first["burst_vcpu_seconds"], first["peak_burst_replicas"]) == (2.0, 100.0, 3.0)
    assert (second["burst_cost"], second["burst_vcpu_seconds"], second["peak_burst_replicas"]) == (0.5, 0.0, None)


@pytest.mark.parametrize(
    ("key", "field", "want"),
    [
        (("shop", "web", "USD"), "mean_base_replicas", 4.0),
        (("shop", "web", "USD"), "mean_burst_replicas", round(15 / 11, 6)),  # 3 at 5 of 11 points
        (("shop", "idle", ""), "mean_burst_replicas", None),  # never sampled
        (("lab", "<x>", "EUR"), "mean_base_replicas", None),  # no series at all
        (("shop", "idle", ""), "burst_cost", 0.0),
        (("shop", "idle", ""), "peak_base_replicas", 2.0),
    ],
)
def test_policy_fields(key: tuple[str, str, str], field: str, want: float | None) -> None:
    assert rows_by_policy(cluster_report.build(data()))[key][field] == want


def test_namespaces_sum_their_policies_and_a_policy_with_no_spend_joins_the_currency() -> None:
    report = cluster_report.build(data(burst_cost={("shop", "web", "USD"): 2.0, ("lab", "<x>", "EUR"): 1.25}))
    namespaces = {(row["namespace"], row["currency"]): row for row in report.namespaces}
    assert set(namespaces) == {("lab", "EUR"), ("shop", "USD")}
    assert namespaces["shop", "USD"]["policies"] == 2  # idle has no currency of its own
    assert namespaces["shop", "USD"]["burst_cost"] == 2.0
    assert namespaces["shop", "USD"]["drain_back_moves"] == 3.0
    assert {row["currency"]: row["burst_cost"] for row in report.totals} == {"EUR": 1.25, "USD": 2.0}


def test_several_currencies_in_a_namespace_are_never_added_together() -> None:
    report = cluster_report.build(data())
    shop = {row["currency"]: row for row in report.namespaces if row["namespace"] == "shop"}
    assert set(shop) == {"USD", "EUR", ""}  # idle cannot join either currency: it is shown on its own
    assert (shop["USD"]["burst_cost"], shop["EUR"]["burst_cost"]) == (2.0, 0.5)
    totals = {row["currency"]: row for row in report.totals}
    assert totals["EUR"]["burst_cost"] == 1.75 and totals["EUR"]["namespaces"] == 2
    assert sum(row["burst_vcpu_seconds"] for row in report.totals) == 140.0  # usage counted once


def test_json_shape() -> None:
    document = json.loads(cluster_formats.render_json(cluster_report.build(data())))
    assert set(document) == {"range", "policies", "namespaces", "totals"}
    assert document["range"] == {
        "start": "2024-06-03T11:50:00Z",
        "end": "2024-06-03T12:00:00Z",
        "step_seconds": 60,
        "prometheus": "http://***@prometheus:9090",
    }
    policy = document["policies"][0]
    assert set(policy) == {
        "namespace",
        "policy",
        "currency",
        *(name for name, _ in cluster_report.SUMS),
        *(name for name, _ in cluster_report.REPLICAS),
    }
    assert set(document["totals"][0]) == {"currency", "namespaces", "policies", *(n for n, _ in cluster_report.SUMS)}


def test_csv_has_a_row_per_policy_namespace_and_total() -> None:
    report = cluster_report.build(data())
    parsed = list(csv.DictReader(io.StringIO(cluster_formats.render_csv(report))))
    assert tuple(parsed[0]) == cluster_formats.CSV_COLUMNS
    scopes = [row["scope"] for row in parsed]
    assert scopes == ["policy"] * 4 + ["namespace"] * 4 + ["total"] * 3
    web = next(row for row in parsed if row["policy"] == "web" and row["currency"] == "USD")
    assert (web["burst_cost"], web["peak_burst_replicas"]) == ("2.0", "3.0")
    assert (
        next(row for row in parsed if row["policy"] == "web" and row["currency"] == "EUR")["mean_base_replicas"] == ""
    )


def test_tables_show_every_policy_and_namespace() -> None:
    out = console.Console(width=250, record=True)
    for grid in cluster_table.render_tables(cluster_report.build(data())):
        out.print(grid)
    text = out.export_text()
    for needle in ("shop/web", "shop/idle", "lab/<x>", "Per namespace", "Total", "2.00", "0.75"):
        assert needle in text


def test_html_is_self_contained_and_escaped() -> None:
    page = cluster_html.render_html(cluster_report.build(data()))
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)=["']?https?:""", page)
    assert "<script" not in page and "<link" not in page
    assert page.count("<svg") == 3 + 3  # a replica chart per policy, a cost chart per currency (USD, EUR, none)
    assert "lab/&lt;x&gt;" in page and "lab/<x>" not in page
    for chart in re.findall(r"<svg.*?</svg>", page, flags=re.S):
        ElementTree.fromstring(chart)


@pytest.mark.parametrize(
    ("values", "want"),
    [
        ([0, 1, 3, 6], [0, 1, 3, 6]),
        ([5, 6, 7], [0, 1, 2]),  # growth since the first sample, not the value
        ([2, 4, 1, 3], [0, 2, 3, 5]),  # a restart: the counter began again from zero
        ([np.nan, 1, np.nan, 4], [0, 0, 0, 3]),  # gaps hold the last growth
        ([np.nan, np.nan], [0, 0]),
        ([], []),
    ],
)
def test_counter_growth(values: list[float], want: list[float]) -> None:
    assert counter_growth(np.array(values, dtype=np.float64)).tolist() == want


@pytest.mark.parametrize(
    ("since", "until", "step", "want"),
    [
        ("24h", None, "60s", TimeRange(NOW - 86400, NOW, 60)),
        ("2h", "1h", "5m", TimeRange(NOW - 7200, NOW - 3600, 300)),
        ("2024-06-03T10:00:00Z", "2024-06-03T11:00:00+00:00", "15s", TimeRange(NOW - 7200, NOW - 3600, 15)),
        ("2024-06-03 10:00", str(NOW), "60s", TimeRange(NOW - 7200, NOW, 60)),  # naive is UTC; unix seconds
        ("30d", None, "60s", TimeRange(NOW - 30 * 86400, NOW, 236)),  # widened to 11,000 points
    ],
)
def test_windows(since: str, until: str | None, step: str, want: TimeRange) -> None:
    assert timerange.parse_window(since=since, until=until, step=step, now=NOW + 0.9) == want


@pytest.mark.parametrize(
    ("since", "until", "step", "message"),
    [
        ("yesterday", None, "60s", "--since 'yesterday' is not a duration (24h, 90m, 7d) or a time"),
        ("", None, "60s", "--since is empty"),
        ("3600", None, "60s", "--since '3600' is not a unix time; for a duration give a unit (3600s)"),
        ("1h", "2h", "60s", "--since (2024-06-03T11:00:00Z) must be before --until (2024-06-03T10:00:00Z)"),
        ("1h", "1h", "60s", "--since (2024-06-03T11:00:00Z) must be before --until (2024-06-03T11:00:00Z)"),
        ("24h", "soon", "60s", "--until 'soon' is not a duration"),
        ("24h", None, "fast", "--step 'fast' is not a duration"),
        ("24h", None, "0s", "--step '0s' must be longer than zero"),
    ],
)
def test_bad_windows(since: str, until: str | None, step: str, message: str) -> None:
    with pytest.raises(ReportError) as caught:
        timerange.parse_window(since=since, until=until, step=step, now=NOW)
    assert str(caught.value).startswith(message)
