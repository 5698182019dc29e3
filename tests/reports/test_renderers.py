"""Simulation report rows and renderers: the JSON shape, CSV columns, table, self-contained HTML."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
import xml.etree.ElementTree as ElementTree

import numpy as np
import pytest
from rich import console

from burstscaler.reports import formats, htmlpage, rows, simulation, svg, table
from tests.reports import factories


def _full_report() -> simulation.SimulationReport:
    # The hand-made report with what a multi-workload, multi-seed run adds.
    base = factories.report()
    return dataclasses.replace(
        base,
        seeds=5,
        intervals={name: {"cost": (s.cost - 1.0, s.cost + 1.0)} for name, s in base.summaries.items()},
        workloads=(simulation.WorkloadResult(name="web", summaries=base.summaries),),
        prices={
            "name": "p",
            "eci_per_vcpu_second": {"value": 1e-5, "source": "https://x", "date": "2026-11-27", "grade": "official"},
        },
        sweep=(simulation.SweepPoint(parameter="node_price", value=0.1, summaries=base.summaries),),
        drain_back_savings=np.linspace(0.0, 0.5, 10),
    )


def test_json_shape() -> None:
    document = json.loads(formats.render_json(_full_report()))
    assert set(document) == {
        "strategies", "intervals", "seeds", "demand_request_seconds", "workloads", "prices", "settings", "sweep",
        "drain_back_savings",
    }  # fmt: skip
    assert list(document["strategies"]) == ["static-peak", "burstscaler"]
    for required in (
        "cost",
        "unserved_request_seconds",
        "unserved_fraction",
        "slo_violation_minutes",
        "drain_back_moves",
        "burst_pod_seconds",
    ):
        assert required in document["strategies"]["burstscaler"]
        assert required in document["workloads"][0]["strategies"]["burstscaler"]
    assert document["intervals"]["burstscaler"]["cost"] == [10.0, 12.0]
    assert document["prices"]["eci_per_vcpu_second"]["source"] == "https://x"
    assert document["settings"]["currency"] == "USD"


def test_csv_has_a_row_per_strategy_and_workload_and_every_field() -> None:
    parsed = list(csv.DictReader(io.StringIO(formats.render_csv(_full_report()))))
    assert [(row["strategy"], row["workload"]) for row in parsed] == [
        ("static-peak", ""), ("burstscaler", ""), ("static-peak", "web"), ("burstscaler", "web")
    ]  # fmt: skip
    assert set(parsed[0]) == {"strategy", *(key for key, _ in rows.COLUMNS), "workload"}
    assert float(parsed[1]["cost"]) == 11.0


def test_table_shows_every_strategy() -> None:
    out = console.Console(width=200, record=True)
    out.print(table.render_table(factories.report()))
    out.print(table.render_settings(factories.report()))
    text = out.export_text()
    assert "static-peak" in text and "burstscaler" in text
    assert "0.030%" in text  # unserved fraction as a percentage
    assert "step_seconds" in text


def test_table_shows_intervals_workloads_sweep_and_prices() -> None:
    out = console.Console(width=250, record=True)
    report = _full_report()
    for part in (table.render_table, table.render_workloads, table.render_sweep, table.render_prices):
        out.print(part(report))
    text = out.export_text()
    assert "11.00 [10.00, 12.00]" in text  # burstscaler's cost with its 95% interval
    assert "mean of 5 seeds" in text
    assert "web" in text and "node_price" in text and "https://x (2026-11-27)" in text


def test_html_is_self_contained() -> None:
    page = htmlpage.render_html(_full_report())
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)=["']?https?:""", page)
    assert "<script" not in page
    # the trade-off, a capacity chart per strategy, drain-back moves and savings, cumulative cost, the sweep's two
    assert page.count("<svg") == 8
    assert "test &lt;trace&gt;" in page  # titles are escaped
    assert "Per workload" in page and "Prices and their sources" in page


def test_svg_charts_are_well_formed() -> None:
    page = htmlpage.render_html(_full_report())
    for chart in re.findall(r"<svg.*?</svg>", page, flags=re.S):
        ElementTree.fromstring(chart)


@pytest.mark.parametrize(
    ("top", "ticks"),
    [
        pytest.param(0.0, [0.0, 1.0], id="empty"),
        pytest.param(7.0, [0.0, 2.0, 4.0, 6.0, 8.0], id="small"),
        pytest.param(420.0, [0.0, 100.0, 200.0, 300.0, 400.0, 500.0], id="hundreds"),
        pytest.param(1.0, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0], id="exact"),
    ],
)
def test_nice_ticks(top: float, ticks: list[float]) -> None:
    assert svg.nice_ticks(top) == pytest.approx(ticks)


@pytest.mark.parametrize(
    ("size", "points", "expected"),
    [
        pytest.param(10, 20, 10, id="short-kept"),
        pytest.param(10, 5, 5, id="bucketed"),
        pytest.param(10, 3, 3, id="odd"),
    ],
)
def test_downsample(size: int, points: int, expected: int) -> None:
    series = factories.series(size)
    small = rows.downsample(series, points=points)
    assert small.seconds.size == expected
    assert small.cumulative_cost[-1] == pytest.approx(series.cumulative_cost[-1])
    assert not np.isnan(small.demand).all()


@pytest.mark.parametrize(
    ("start", "seconds", "span", "label"),
    [
        pytest.param(0.0, 7200.0, 86400.0, "+2h", id="undated-hours"),
        pytest.param(0.0, 600.0, 3600.0, "+10m", id="undated-minutes"),
        pytest.param(1_700_000_000.0, 0.0, 86400.0, "22:13", id="dated-day"),
        pytest.param(1_700_000_000.0, 0.0, 30 * 86400.0, "11-14 22:13", id="dated-month"),
    ],
)
def test_time_label(start: float, seconds: float, span: float, label: str) -> None:
    assert rows.time_label(start=start, seconds=seconds, span=span) == label
