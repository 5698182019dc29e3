"""Rows of a simulation report: pure functions from results to plain values, shared by all renderers.

The renderers (table, CSV, JSON, HTML) only format what is computed here, so every output shows the
same numbers with the same names.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from burstscaler.reports import simulation

#: Summary fields in display order, with a short label for tables and charts.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("cost", "cost"),
    ("ecs_cost", "ECS cost"),
    ("eci_cost", "ECI cost"),
    ("unserved_request_seconds", "unserved req·s"),
    ("unserved_fraction", "unserved %"),
    ("slo_violation_minutes", "SLO-violating min"),
    ("peak_base_replicas", "base peak"),
    ("mean_base_replicas", "base mean"),
    ("peak_burst_replicas", "burst peak"),
    ("mean_burst_replicas", "burst mean"),
    ("peak_ecs_nodes", "nodes peak"),
    ("mean_ecs_nodes", "nodes mean"),
    ("burst_pod_seconds", "burst pod·s"),
    ("drain_back_moves", "drain-back moves"),
    ("placeholder_pod_seconds", "placeholder pod·s"),
    ("spot_reclaims", "spot reclaims"),
    ("demand_request_seconds", "demand req·s"),
)


def summary_rows(report: simulation.SimulationReport) -> list[dict[str, Any]]:
    """One row per strategy, in run order: ``{"strategy": name, <summary fields>...}``, rounded."""
    return [{"strategy": name, **_rounded(summary)} for name, summary in report.summaries.items()]


#: The headline figures, each shown with its 95% interval when several seeds ran.
HEADLINE: tuple[tuple[str, str], ...] = (
    ("cost", "cost"),
    ("unserved_fraction", "unserved %"),
    ("slo_violation_minutes", "SLO-violating min"),
    ("drain_back_moves", "drain-back moves"),
)


def document(report: simulation.SimulationReport) -> dict[str, Any]:
    """The JSON document.

    ``strategies.<name>.<field>`` are the cluster's totals (means over seeds), ``intervals`` their 95%
    intervals; ``demand_request_seconds`` the cluster's demand; ``workloads`` one entry per workload
    with the same per-strategy figures; ``prices`` the profile with its sources; ``settings``
    everything else the run depended on; ``sweep`` (when swept) one entry per value;
    ``drain_back_savings`` (when burstscaler ran) its cost without drain-back minus with (seed 1).
    """
    result: dict[str, Any] = {
        "strategies": {name: _rounded(summary) for name, summary in report.summaries.items()},
        "intervals": _intervals(report.intervals),
        "seeds": report.seeds,
        "demand_request_seconds": round(report.demand_request_seconds, 6),
        "workloads": [
            {
                "name": workload.name,
                "strategies": {name: _rounded(summary) for name, summary in workload.summaries.items()},
                "intervals": _intervals(workload.intervals),
            }
            for workload in report.workloads
        ],
        "prices": dict(report.prices),
        "settings": dict(report.settings),
    }
    if report.drain_back_savings.size:
        result["drain_back_savings"] = round(float(report.drain_back_savings[-1]), 6)
    if report.sweep:
        result["sweep"] = [
            {
                "parameter": point.parameter,
                "value": point.value,
                "strategies": {name: _rounded(summary) for name, summary in point.summaries.items()},
                "intervals": _intervals(point.intervals),
            }
            for point in report.sweep
        ]
    return result


def with_interval(
    key: str, value: float, interval: tuple[float, float] | None, *, fmt: Callable[[str, Any], str]
) -> str:
    """``value`` formatted, followed by ``[low, high]`` when an interval is known and not a point."""
    text = fmt(key, value)
    if interval is None or math.isclose(interval[0], interval[1], rel_tol=1e-12, abs_tol=1e-12):
        return text
    return f"{text} [{fmt(key, interval[0])}, {fmt(key, interval[1])}]"


def _intervals(intervals: Mapping[str, Mapping[str, tuple[float, float]]]) -> dict[str, Any]:
    return {
        name: {key: [round(low, 6), round(high, 6)] for key, (low, high) in fields.items()}
        for name, fields in intervals.items()
    }


def downsample(series: simulation.StrategySeries, *, points: int) -> simulation.StrategySeries:
    """Average ``series`` into at most ``points`` buckets (cumulative cost: each bucket's last value).

    Charts of a month at 30-second steps would otherwise carry 86,400 points per line.
    """
    size = series.seconds.size
    if size <= points:
        return series
    bucket = math.ceil(size / points)
    starts = np.arange(0, size, bucket)

    def mean(values: np.ndarray[Any, np.dtype[np.float64]]) -> np.ndarray[Any, np.dtype[np.float64]]:
        finite = ~np.isnan(values)
        sums = np.add.reduceat(np.where(finite, values, 0.0), starts)
        counts = np.add.reduceat(finite.astype(np.float64), starts)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(counts > 0, sums / np.maximum(counts, 1.0), np.nan)

    ends = np.minimum(starts + bucket, size) - 1
    return simulation.StrategySeries(
        seconds=series.seconds[starts],
        demand=mean(series.demand),
        base_capacity=mean(series.base_capacity),
        burst_capacity=mean(series.burst_capacity),
        cumulative_cost=series.cumulative_cost[ends],
        cumulative_moves=series.cumulative_moves[ends] if series.cumulative_moves.size else series.cumulative_moves,
    )


def time_label(*, start: float, seconds: float, span: float) -> str:
    """A tick label: a UTC date/time when the trace has dates (``start`` > 0), else hours since start."""
    if start <= 0:
        return f"+{seconds / 3600:.0f}h" if span >= 3 * 3600 else f"+{seconds / 60:.0f}m"
    moment = datetime.datetime.fromtimestamp(start + seconds, tz=datetime.UTC)
    return moment.strftime("%m-%d %H:%M" if span > 2 * 86400 else "%H:%M")


def time_ticks(seconds: np.ndarray[Any, Any], *, start: float, count: int = 7) -> list[tuple[float, str]]:
    """`count` evenly spaced x-axis ticks over `seconds` (seconds since `start`), labelled by ``time_label``."""
    if seconds.size < 2:
        return []
    span = float(seconds[-1] - seconds[0])
    return [
        (float(at), time_label(start=start, seconds=float(at), span=span))
        for at in np.linspace(seconds[0], seconds[-1], count)
    ]


def _rounded(summary: simulation.StrategySummary) -> dict[str, Any]:
    values = dataclasses.asdict(summary)
    return {key: round(value, 6) if isinstance(value, float) else value for key, value in values.items()}
