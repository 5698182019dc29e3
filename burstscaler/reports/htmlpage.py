"""The HTML renderer of a simulation report: one self-contained file with inline SVG charts.

No script, no web font, no external stylesheet: it opens from disk with no network, and can be
mailed or attached to a ticket as one file. Per strategy a chart of load against ready serving
capacity stacked by tier (ECS base, ECI burst); then the cumulative cost of every strategy.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from burstscaler.reports import rows, simulation, svg

#: How many points a line carries at most (a month at 30-second steps is averaged into buckets).
CHART_POINTS = 1200
_BASE_COLOR, _BURST_COLOR, _LOAD_COLOR = "#4C78A8", "#F58518", "#222222"
_STRATEGY_COLORS = ("#4C78A8", "#E45756", "#F58518", "#54A24B", "#B279A2", "#9D755D")

STYLE = """
body { font-family: sans-serif; margin: 24px; color: #222; max-width: 980px; }
table { border-collapse: collapse; margin: 8px 0 20px; font-size: 13px; }
th, td { border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
h2 { margin-top: 28px; font-size: 17px; }
.note { color: #666; font-size: 12px; }
"""


def render_html(report: simulation.SimulationReport) -> str:
    """The whole report as one HTML document (a string)."""
    currency = str(report.settings.get("currency", ""))
    sections = [
        f"<h1>burstscaler simulation: {html.escape(report.title)}</h1>",
        _summary_table(report, currency=currency),
    ]
    for name, series in report.series.items():
        sections.append(f"<h2>{html.escape(name)}: load vs. ready capacity</h2>")
        sections.append(_capacity_chart(series, start=report.start))
    sections.append(f"<h2>Cumulative cost ({html.escape(currency)})</h2>")
    sections.append(_cost_chart(report))
    sections.append("<h2>Settings</h2>")
    sections.append(_settings_table(report.settings))
    body = "\n".join(sections)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>burstscaler simulation: {html.escape(report.title)}</title><style>{STYLE}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )


def _summary_table(report: simulation.SimulationReport, *, currency: str) -> str:
    header = "".join(f"<th>{html.escape(label)}</th>" for _, label in rows.COLUMNS)
    lines = [f"<table><tr><th>strategy</th>{header}</tr>"]
    for entry in rows.summary_rows(report):
        cells = "".join(f"<td>{_format(key, entry[key])}</td>" for key, _ in rows.COLUMNS)
        lines.append(f"<tr><td>{html.escape(entry['strategy'])}</td>{cells}</tr>")
    lines.append("</table>")
    lines.append(
        f'<p class="note">Costs in {html.escape(currency)}. Unserved: request-seconds above the '
        "capacity of Ready replicas.</p>"
    )
    return "".join(lines)


def _capacity_chart(series: simulation.StrategySeries, *, start: float) -> str:
    small = rows.downsample(series, points=CHART_POINTS)
    return svg.chart(
        xs=small.seconds,
        stacks=[
            svg.Layer("ECS base", small.base_capacity, _BASE_COLOR),
            svg.Layer("ECI burst", small.burst_capacity, _BURST_COLOR),
        ],
        lines=[svg.Layer("load", small.demand, _LOAD_COLOR)],
        x_ticks=rows.time_ticks(small.seconds, start=start),
        y_label="requests/s",
    )


def _cost_chart(report: simulation.SimulationReport) -> str:
    layers = []
    xs = np.zeros(0)
    for index, (name, series) in enumerate(report.series.items()):
        small = rows.downsample(series, points=CHART_POINTS)
        xs = small.seconds
        layers.append(svg.Layer(name, small.cumulative_cost, _STRATEGY_COLORS[index % len(_STRATEGY_COLORS)]))
    return svg.chart(xs=xs, lines=layers, x_ticks=rows.time_ticks(xs, start=report.start), y_label="cost")


def _settings_table(settings: Any) -> str:
    lines = ["<table>"]
    for key, value in settings.items():
        shown = "; ".join(f"{k}: {v}" for k, v in value.items()) if isinstance(value, dict) else value
        lines.append(f"<tr><td>{html.escape(str(key))}</td><td>{html.escape(str(shown))}</td></tr>")
    lines.append("</table>")
    return "".join(lines)


def _format(key: str, value: Any) -> str:
    if key == "unserved_fraction":
        return f"{value * 100:.3f}%"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return f"{value:,}"
