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
    """One CSV row per strategy; the columns are the summary's field names."""
    table = rows.summary_rows(report)
    stream = io.StringIO()
    writer = csv.DictWriter(stream, fieldnames=["strategy", *(key for key, _ in rows.COLUMNS)], lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    return stream.getvalue()
