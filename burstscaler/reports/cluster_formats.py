"""Machine-readable renderers of a cluster report: JSON and CSV (formatting only)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from burstscaler.reports import cluster_report, timerange

#: CSV columns: a ``scope`` (policy, namespace, total) and the union of every level's fields.
CSV_COLUMNS: tuple[str, ...] = (
    "scope",
    "namespace",
    "policy",
    "currency",
    "namespaces",
    "policies",
    *(name for name, _ in cluster_report.SUMS),
    *(name for name, _ in cluster_report.REPLICAS),
)


def document(report: cluster_report.ClusterReport) -> dict[str, Any]:
    """The JSON document: ``{"range": {...}, "policies": [...], "namespaces": [...], "totals": [...]}``."""
    return {
        "range": {
            "start": timerange.iso(report.window.start),
            "end": timerange.iso(report.window.end),
            "step_seconds": report.window.step,
            "prometheus": report.source,
        },
        "policies": report.policies,
        "namespaces": report.namespaces,
        "totals": report.totals,
    }


def render_json(report: cluster_report.ClusterReport) -> str:
    """The report as one indented JSON object (replica fields are null where never sampled)."""
    return json.dumps(document(report), indent=2) + "\n"


def render_csv(report: cluster_report.ClusterReport) -> str:
    """One CSV with a row per policy, namespace and currency total, told apart by ``scope``."""
    stream = io.StringIO()
    writer = csv.DictWriter(stream, fieldnames=CSV_COLUMNS, restval="", lineterminator="\n")
    writer.writeheader()
    for scope, rows in (("policy", report.policies), ("namespace", report.namespaces), ("total", report.totals)):
        for row in rows:
            # None (never sampled) is an empty cell, like the fields a level does not have.
            writer.writerow({"scope": scope, **{key: value for key, value in row.items() if value is not None}})
    return stream.getvalue()
