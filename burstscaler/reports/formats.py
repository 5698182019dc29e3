"""Machine-readable renderers of a simulation report: JSON and CSV (formatting only)."""

from __future__ import annotations

import csv
import io
import json

from burstscaler.reports import rows, simulation


def render_json(report: simulation.SimulationReport) -> str:
    """The report as one JSON object: ``{"strategies": {...}, "settings": {...}}``, indented."""
    return json.dumps(rows.document(report), indent=2) + "\n"


def render_csv(report: simulation.SimulationReport) -> str:
    """One CSV row per strategy for the cluster (``workload`` empty), then one per workload and strategy.

    The columns are the summary's field names (means over seeds).
    """
    table = [{**row, "workload": ""} for row in rows.summary_rows(report)]
    for workload in report.workloads:
        part = simulation.SimulationReport(title="", start=0.0, settings={}, summaries=workload.summaries, series={})
        table += [{**row, "workload": workload.name} for row in rows.summary_rows(part)]
    stream = io.StringIO()
    fields = ["strategy", *(key for key, _ in rows.COLUMNS), "workload"]
    writer = csv.DictWriter(stream, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    return stream.getvalue()
