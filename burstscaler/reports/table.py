"""The terminal renderer of a simulation report: rich tables of the strategies, workloads and settings."""

from __future__ import annotations

from typing import Any

from rich import box, table

from burstscaler.reports import rows, simulation

#: The columns shown in a terminal, narrower than the CSV/JSON (which carry every field).
_SHOWN = (
    "cost",
    "ecs_cost",
    "eci_cost",
    "unserved_fraction",
    "slo_violation_minutes",
    "peak_base_replicas",
    "mean_base_replicas",
    "peak_burst_replicas",
    "mean_burst_replicas",
    "mean_ecs_nodes",
    "burst_pod_seconds",
    "drain_back_moves",
)


def render_table(report: simulation.SimulationReport) -> table.Table:
    """A table with one column per strategy and one row per measure (fits a terminal); cheapest is green.

    With several seeds every figure is the mean, and the headline ones carry their 95% interval.
    """
    labels = dict(rows.COLUMNS)
    currency = str(report.settings.get("currency", ""))
    entries = rows.summary_rows(report)
    cheapest = min((entry["cost"] for entry in entries), default=None)
    seeds = f", mean of {report.seeds} seeds [95% interval]" if report.seeds > 1 else ""
    summary = table.Table(title=f"Simulation: {report.title} (whole cluster{seeds})", box=box.SIMPLE_HEAVY)
    summary.add_column("measure", style="bold")
    for entry in entries:
        summary.add_column(entry["strategy"], justify="right")
    for key in _SHOWN:
        label = f"{labels[key]} ({currency})" if key.endswith("cost") and currency else labels[key]
        cells = [
            rows.with_interval(key, entry[key], report.intervals.get(entry["strategy"], {}).get(key), fmt=_cell)
            for entry in entries
        ]
        if key == "cost":
            cells = [
                f"[bold green]{cell}[/]" if entry["cost"] == cheapest else cell
                for cell, entry in zip(cells, entries, strict=True)
            ]
        summary.add_row(label, *cells)
    return summary


def render_workloads(report: simulation.SimulationReport) -> table.Table:
    """Per workload and strategy: the headline figures (cost attributed as ``metrics`` defines)."""
    grid = table.Table(title="Per workload", box=box.SIMPLE)
    grid.add_column("workload", style="bold")
    grid.add_column("strategy")
    for _, label in rows.HEADLINE:
        grid.add_column(label, justify="right")
    for workload in report.workloads:
        for name, summary in workload.summaries.items():
            values = rows.summary_rows(
                simulation.SimulationReport(title="", start=0.0, settings={}, summaries={name: summary}, series={})
            )[0]
            cells = [
                rows.with_interval(key, values[key], workload.intervals.get(name, {}).get(key), fmt=_cell)
                for key, _ in rows.HEADLINE
            ]
            grid.add_row(workload.name, name, *cells)
    return grid


def render_sweep(report: simulation.SimulationReport) -> table.Table:
    """One row per swept value and strategy: cost and unserved."""
    grid = table.Table(title="Sweep", box=box.SIMPLE)
    for column in ("parameter", "value", "strategy", "cost", "unserved %"):
        grid.add_column(column, justify="right")
    for point in report.sweep:
        for name, summary in point.summaries.items():
            intervals = point.intervals.get(name, {})
            grid.add_row(
                point.parameter,
                f"{point.value:g}",
                name,
                rows.with_interval("cost", summary.cost, intervals.get("cost"), fmt=_cell),
                rows.with_interval(
                    "unserved_fraction", summary.unserved_fraction, intervals.get("unserved_fraction"), fmt=_cell
                ),
            )
    return grid


def render_prices(report: simulation.SimulationReport) -> table.Table:
    """Every price with its source, date and grade (assumptions with their basis)."""
    grid = table.Table(title=f"Prices: {report.prices.get('name', '')}", box=box.SIMPLE, show_header=True)
    for column in ("figure", "value", "grade", "source (date)"):
        grid.add_column(column)
    for key, value in report.prices.items():
        if isinstance(value, dict) and "value" in value:
            source = f"{value['source']} ({value['date']})" if value.get("date") else value["source"]
            if value.get("basis"):
                source += f"; basis: {value['basis']}"
            grid.add_row(key, f"{value['value']:g}", value["grade"], source)
    return grid


def render_settings(report: simulation.SimulationReport) -> table.Table:
    """The settings the results depend on, two columns, so they are never separated from them."""
    grid = table.Table(title="Settings", box=box.SIMPLE, show_header=False)
    grid.add_column("setting", style="dim")
    grid.add_column("value")
    for key, value in report.settings.items():
        if isinstance(value, dict | list):
            continue
        grid.add_row(key, str(value))
    return grid


def _cell(key: str, value: Any) -> str:
    if key == "unserved_fraction":
        return f"{value * 100:.3f}%"
    if key.endswith("cost"):
        return f"{value:,.2f}"
    if key == "burst_pod_seconds":
        return f"{value:,.0f}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}"
