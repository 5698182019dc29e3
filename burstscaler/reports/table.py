"""The terminal renderer of a simulation report: a rich table of the strategies and their settings."""

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
    """A table with one column per strategy and one row per measure (fits a terminal); cheapest is green."""
    labels = dict(rows.COLUMNS)
    currency = str(report.settings.get("currency", ""))
    entries = rows.summary_rows(report)
    cheapest = min((entry["cost"] for entry in entries), default=None)
    summary = table.Table(title=f"Simulation: {report.title}", box=box.SIMPLE_HEAVY)
    summary.add_column("measure", style="bold")
    for entry in entries:
        summary.add_column(entry["strategy"], justify="right")
    for key in _SHOWN:
        label = f"{labels[key]} ({currency})" if key.endswith("cost") and currency else labels[key]
        cells = [_cell(key, entry[key]) for entry in entries]
        if key == "cost":
            cells = [
                f"[bold green]{cell}[/]" if entry["cost"] == cheapest else cell
                for cell, entry in zip(cells, entries, strict=True)
            ]
        summary.add_row(label, *cells)
    return summary


def render_settings(report: simulation.SimulationReport) -> table.Table:
    """The settings the results depend on, two columns, so they are never separated from them."""
    grid = table.Table(title="Settings", box=box.SIMPLE, show_header=False)
    grid.add_column("setting", style="dim")
    grid.add_column("value")
    for key, value in report.settings.items():
        if isinstance(value, dict):
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
