"""The HTML renderer of a cluster report: one self-contained file with inline SVG charts.

Built from the simulation report's blocks (``svg.chart``, ``rows.downsample``, ``rows.time_label`` and
the page style), so both reports look alike and open from disk with no network and no script. Per
policy a chart of base (ECS) and burst (virtual node) target replicas stacked, with the desired
replicas over them; then the cumulative burst cost of every policy, one chart per currency.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import numpy as np

from burstscaler.reports import cluster_report, htmlpage, rows, simulation, svg, timerange
from burstscaler.reports.cluster_data import FloatArray

_BASE_COLOR, _BURST_COLOR, _DESIRED_COLOR = "#4C78A8", "#F58518", "#222222"
_POLICY_COLORS = ("#4C78A8", "#E45756", "#F58518", "#54A24B", "#B279A2", "#9D755D", "#72B7B2", "#FF9DA6")


def render_html(report: cluster_report.ClusterReport) -> str:
    """The whole report as one HTML document (a string)."""
    window = report.window
    sections = [
        f"<h1>burstscaler report: {html.escape(report.title)}</h1>",
        f'<p class="note">From {html.escape(timerange.iso(window.start))} to {html.escape(timerange.iso(window.end))}'
        f", series every {window.step}s, read from Prometheus at {html.escape(report.source)}. Totals are "
        "increase() of the operator's counters over the range; peaks are max_over_time of its gauges, means "
        "are averaged over the series' points.</p>",
        "<h2>Per policy</h2>",
        _table(
            report.policies,
            first=("policy", "currency"),
            columns=(*cluster_report.SUMS, *cluster_report.REPLICAS),
            name=lambda row: f"{row['namespace']}/{row['policy']}",
        ),
        "<h2>Per namespace</h2>",
        _table(
            report.namespaces,
            first=("namespace", "currency"),
            columns=(("policies", "policies"), *cluster_report.SUMS),
            name=lambda row: row["namespace"],
        ),
        "<h2>Total</h2>",
        _table(
            report.totals,
            first=("currency", "namespaces"),
            columns=(("policies", "policies"), *cluster_report.SUMS),
            name=lambda row: row["currency"] or "-",
            second="namespaces",
        ),
    ]
    for policy, series in report.series.items():
        sections.append(f"<h2>{html.escape(policy)}: base vs. burst replicas</h2>")
        sections.append(_replica_chart(series, start=window.start))
    for currency in sorted(set(report.currencies.values())):
        sections.append(f"<h2>Cumulative burst cost{f' ({html.escape(currency)})' if currency else ''}</h2>")
        sections.append(_cost_chart(report, currency=currency))
    body = "\n".join(sections)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>burstscaler report: {html.escape(report.title)}</title>"
        # The simulation report's style, so the two reports read alike.
        f"<style>{htmlpage.STYLE}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )


def _table(
    entries: list[dict[str, Any]],
    *,
    first: tuple[str, str],
    columns: tuple[tuple[str, str], ...],
    name: Callable[[dict[str, Any]], str],
    second: str = "currency",
) -> str:
    header = "".join(f"<th>{html.escape(label)}</th>" for label in (*first, *(label for _, label in columns)))
    lines = [f"<table><tr>{header}</tr>"]
    for row in entries:
        cells = "".join(f"<td>{_format(row[key])}</td>" for key, _ in columns)
        lines.append(
            f"<tr><td>{html.escape(str(name(row)))}</td><td>{html.escape(str(row[second] or '-'))}</td>{cells}</tr>"
        )
    lines.append("</table>")
    return "".join(lines)


def _replica_chart(series: simulation.StrategySeries, *, start: float) -> str:
    small = rows.downsample(series, points=htmlpage.CHART_POINTS)
    return svg.chart(
        xs=small.seconds,
        stacks=[
            svg.Layer("base (ECS)", small.base_capacity, _BASE_COLOR),
            svg.Layer("burst (virtual node)", small.burst_capacity, _BURST_COLOR),
        ],
        lines=[svg.Layer("desired", small.demand, _DESIRED_COLOR)],
        x_ticks=rows.time_ticks(small.seconds, start=start),
        y_label="replicas",
    )


def _cost_chart(report: cluster_report.ClusterReport, *, currency: str) -> str:
    layers = []
    xs: FloatArray = np.zeros(0)
    for index, (policy, series) in enumerate(report.series.items()):
        if report.currencies[policy] != currency:
            continue
        small = rows.downsample(series, points=htmlpage.CHART_POINTS)
        xs = small.seconds
        layers.append(svg.Layer(policy, small.cumulative_cost, _POLICY_COLORS[index % len(_POLICY_COLORS)]))
    return svg.chart(xs=xs, lines=layers, x_ticks=rows.time_ticks(xs, start=report.window.start), y_label="cost")


def _format(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return html.escape(f"{value:,}" if isinstance(value, int) else str(value))
