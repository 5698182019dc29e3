"""The HTML renderer of a simulation report: one self-contained file with inline SVG charts.

No script, no web font, no external stylesheet: it opens from disk with no network, and can be
mailed or attached to a ticket as one file. The cluster's totals (with 95% intervals over seeds), a
cost-versus-unserved chart (one point per strategy with its interval), per-workload breakdowns, per
strategy a chart of demand against Ready capacity stacked by tier (ECS base, ECI burst), drain-back
moves over time, the cumulative cost of every strategy, a sweep's charts, the prices with their
sources and the settings.
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
        f"<h2>Cost ({html.escape(currency)}) against unserved demand, whole cluster</h2>",
        _tradeoff_chart(report),
    ]
    if report.workloads:
        sections.append("<h2>Per workload</h2>")
        sections.append(_workload_table(report))
    for name, series in report.series.items():
        sections.append(f"<h2>{html.escape(name)}: demand vs. ready capacity (replicas' worth, seed 1)</h2>")
        sections.append(_capacity_chart(series, start=report.start))
    sections.append("<h2>Drain-back moves over time (cumulative, seed 1)</h2>")
    sections.append(_moves_chart(report))
    if report.drain_back_savings.size:
        sections.append(f"<h2>Drain-back savings over time ({html.escape(currency)}, seed 1)</h2>")
        sections.append(_savings_chart(report))
    sections.append(f"<h2>Cumulative cost ({html.escape(currency)}, seed 1)</h2>")
    sections.append(_cost_chart(report))
    if report.sweep:
        sections.append(f"<h2>Sweep of {html.escape(report.sweep[0].parameter)}</h2>")
        sections.append(_sweep_charts(report))
    if report.prices:
        sections.append("<h2>Prices and their sources</h2>")
        sections.append(_prices_table(report.prices))
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
        intervals = report.intervals.get(entry["strategy"], {})
        cells = "".join(
            f"<td>{rows.with_interval(key, entry[key], intervals.get(key), fmt=_format)}</td>"
            for key, _ in rows.COLUMNS
        )
        lines.append(f"<tr><td>{html.escape(entry['strategy'])}</td>{cells}</tr>")
    lines.append("</table>")
    lines.append(
        f'<p class="note">Costs in {html.escape(currency)}. Unserved: request-seconds above the '
        "capacity of Ready replicas, judged at each trace's resolution."
        + (f" Means of {report.seeds} seeds, [95% interval]." if report.seeds > 1 else "")
        + "</p>"
    )
    return "".join(lines)


def _tradeoff_chart(report: simulation.SimulationReport) -> str:
    points = []
    for index, (name, summary) in enumerate(report.summaries.items()):
        intervals = report.intervals.get(name, {})
        unserved = summary.unserved_fraction * 100
        low, high = intervals.get("unserved_fraction", (summary.unserved_fraction,) * 2)
        points.append(
            svg.Point(
                label=name,
                x=unserved,
                y=summary.cost,
                x_interval=(low * 100, high * 100),
                y_interval=intervals.get("cost", (summary.cost, summary.cost)),
                color=_STRATEGY_COLORS[index % len(_STRATEGY_COLORS)],
            )
        )
    return svg.scatter(points, x_label="unserved % of demand", y_label="cost")


def _workload_table(report: simulation.SimulationReport) -> str:
    header = "".join(f"<th>{html.escape(label)}</th>" for _, label in rows.HEADLINE)
    lines = [f"<table><tr><th>workload</th><th>strategy</th><th>ECS cost</th><th>ECI cost</th>{header}</tr>"]
    for workload in report.workloads:
        for name, summary in workload.summaries.items():
            intervals = workload.intervals.get(name, {})
            cells = "".join(
                f"<td>{rows.with_interval(key, getattr(summary, key), intervals.get(key), fmt=_format)}</td>"
                for key, _ in rows.HEADLINE
            )
            lines.append(
                f"<tr><td>{html.escape(workload.name)}</td><td>{html.escape(name)}</td>"
                f"<td>{_format('ecs_cost', summary.ecs_cost)}</td><td>{_format('eci_cost', summary.eci_cost)}</td>"
                f"{cells}</tr>"
            )
    lines.append("</table>")
    lines.append(
        '<p class="note">ECS cost is attributed by each workload\'s share of the vCPU requested on ECS; '
        "node cost while no pod runs on ECS is in the cluster total only.</p>"
    )
    return "".join(lines)


def _moves_chart(report: simulation.SimulationReport) -> str:
    layers = []
    xs = np.zeros(0)
    for index, (name, series) in enumerate(report.series.items()):
        if not series.cumulative_moves.size:
            continue
        small = rows.downsample(series, points=CHART_POINTS)
        xs = small.seconds
        layers.append(svg.Layer(name, small.cumulative_moves, _STRATEGY_COLORS[index % len(_STRATEGY_COLORS)]))
    return svg.chart(xs=xs, lines=layers, x_ticks=rows.time_ticks(xs, start=report.start), y_label="moves")


def _savings_chart(report: simulation.SimulationReport) -> str:
    savings = report.drain_back_savings
    xs = np.arange(savings.size, dtype=np.float64) * float(report.settings.get("step_seconds", 1.0))
    bucket = max(1, savings.size // CHART_POINTS)
    chart = svg.chart(
        xs=xs[::bucket],
        lines=[svg.Layer("burstscaler without drain-back minus with", savings[::bucket], _STRATEGY_COLORS[3])],
        x_ticks=rows.time_ticks(xs[::bucket], start=report.start),
        y_label="saved",
    )
    return chart + (
        '<p class="note">The same run with <code>drainBack.enabled: false</code>, cumulative cost minus '
        "burstscaler's: what moving burst replicas back to ECS saved so far.</p>"
    )


def _sweep_charts(report: simulation.SimulationReport) -> str:
    xs = np.array([point.value for point in report.sweep])
    names = list(report.sweep[0].summaries)
    charts = []
    for key, label in (("cost", "cost"), ("unserved_fraction", "unserved %")):
        scale = 100.0 if key == "unserved_fraction" else 1.0
        layers = [
            svg.Layer(
                name,
                np.array([getattr(point.summaries[name], key) * scale for point in report.sweep]),
                _STRATEGY_COLORS[index % len(_STRATEGY_COLORS)],
            )
            for index, name in enumerate(names)
        ]
        ticks = [(float(x), f"{x:g}") for x in xs]
        charts.append(svg.chart(xs=xs, lines=layers, x_ticks=ticks, y_label=label))
    return "".join(charts)


def _prices_table(prices: Any) -> str:
    lines = ["<table><tr><th>figure</th><th>value</th><th>grade</th><th>source</th></tr>"]
    for key, value in prices.items():
        if isinstance(value, dict) and "value" in value:
            source = f"{value['source']} ({value['date']})" if value.get("date") else value["source"]
            if value.get("basis"):
                source += f"; basis: {value['basis']}"
            lines.append(
                f"<tr><td>{html.escape(key)}</td><td>{value['value']:g}</td><td>{html.escape(value['grade'])}</td>"
                f"<td>{html.escape(source)}</td></tr>"
            )
        else:
            lines.append(f"<tr><td>{html.escape(key)}</td><td>{html.escape(str(value))}</td><td></td><td></td></tr>")
    lines.append("</table>")
    return "".join(lines)


def _capacity_chart(series: simulation.StrategySeries, *, start: float) -> str:
    small = rows.downsample(series, points=CHART_POINTS)
    return svg.chart(
        xs=small.seconds,
        stacks=[
            svg.Layer("ECS base", small.base_capacity, _BASE_COLOR),
            svg.Layer("ECI burst", small.burst_capacity, _BURST_COLOR),
        ],
        lines=[svg.Layer("demand", small.demand, _LOAD_COLOR)],
        x_ticks=rows.time_ticks(small.seconds, start=start),
        y_label="replicas",
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
        if isinstance(value, dict):
            shown: Any = "; ".join(f"{k}: {v}" for k, v in value.items())
        elif isinstance(value, list):
            shown = " | ".join(str(item) for item in value)
        else:
            shown = value
        lines.append(f"<tr><td>{html.escape(str(key))}</td><td>{html.escape(str(shown))}</td></tr>")
    lines.append("</table>")
    return "".join(lines)


def _format(key: str, value: Any) -> str:
    if key == "unserved_fraction":
        return f"{value * 100:.3f}%"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return f"{value:,}"
