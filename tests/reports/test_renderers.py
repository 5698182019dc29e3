"""Simulation report rows and renderers: the JSON shape, CSV columns, table, self-contained HTML."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ElementTree

import numpy as np
import pytest
from rich import console

from burstscaler.reports import formats, htmlpage, rows, svg, table
from tests.reports import factories


def test_json_shape() -> None:
    document = json.loads(formats.render_json(factories.report()))
    assert set(document) == {"strategies", "settings"}
    assert list(document["strategies"]) == ["static-peak", "burstscaler"]
    for required in ("cost", "unserved_request_seconds", "slo_violation_minutes", "burst_pod_seconds"):
        assert required in document["strategies"]["burstscaler"]
    assert document["settings"]["currency"] == "USD"


def test_csv_has_a_row_per_strategy_and_every_field() -> None:
    parsed = list(csv.DictReader(io.StringIO(formats.render_csv(factories.report()))))
    assert [row["strategy"] for row in parsed] == ["static-peak", "burstscaler"]
    assert set(parsed[0]) == {"strategy", *(key for key, _ in rows.COLUMNS)}
    assert float(parsed[1]["cost"]) == 11.0


def test_table_shows_every_strategy() -> None:
    out = console.Console(width=200, record=True)
    out.print(table.render_table(factories.report()))
    out.print(table.render_settings(factories.report()))
    text = out.export_text()
    assert "static-peak" in text and "burstscaler" in text
    assert "0.030%" in text  # unserved fraction as a percentage
    assert "step_seconds" in text


def test_html_is_self_contained() -> None:
    page = htmlpage.render_html(factories.report())
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)=["']?https?:""", page)
    assert "<script" not in page
    assert page.count("<svg") == 3  # a capacity chart per strategy and the cost chart
    assert "test &lt;trace&gt;" in page  # titles are escaped


def test_svg_charts_are_well_formed() -> None:
    page = htmlpage.render_html(factories.report())
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
