"""The terminal renderer of a cluster report: rich tables per policy, per namespace and in total."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich import box, table

from burstscaler.reports import cluster_report


def render_tables(report: cluster_report.ClusterReport) -> list[table.Table]:
    """The policy table, the namespace table and the totals, in that order."""
    policies = _table(
        f"Burst spend per policy: {report.title}",
        first=("policy", "currency"),
        columns=(*cluster_report.SUMS, *cluster_report.REPLICAS),
        rows=[(f"{row['namespace']}/{row['policy']}", row["currency"] or "-", row) for row in report.policies],
    )
    namespaces = _table(
        "Per namespace",
        first=("namespace", "currency"),
        columns=(("policies", "policies"), *cluster_report.SUMS),
        rows=[(row["namespace"], row["currency"] or "-", row) for row in report.namespaces],
    )
    totals = _table(
        "Total",
        first=("currency", "namespaces"),
        columns=(("policies", "policies"), *cluster_report.SUMS),
        rows=[(row["currency"] or "-", str(row["namespaces"]), row) for row in report.totals],
    )
    return [policies, namespaces, totals]


def _table(
    title: str,
    *,
    first: tuple[str, str],
    columns: Sequence[tuple[str, str]],
    rows: Sequence[tuple[str, str, dict[str, Any]]],
) -> table.Table:
    grid = table.Table(title=title, box=box.SIMPLE_HEAVY)
    grid.add_column(first[0], style="bold")
    grid.add_column(first[1])
    for _, heading in columns:
        grid.add_column(heading, justify="right")
    for name, second, row in rows:
        grid.add_row(name, second, *(_cell(key, row[key]) for key, _ in columns))
    return grid


def _cell(key: str, value: Any) -> str:
    if value is None:
        return "-"  # never sampled in the range
    if key in cluster_report.MONEY:
        return f"{value:,.2f}"
    if key.endswith("_seconds") or key in ("drain_back_moves", "policies") or key.startswith("peak_"):
        return f"{value:,.0f}"
    return f"{value:,.2f}"  # means: a policy that bursts rarely still shows a non-zero burst mean
