"""A small simulation report built by hand, so renderer tests need no simulator."""

from __future__ import annotations

import numpy as np

from burstscaler.reports import simulation


def summary(**overrides: float) -> simulation.StrategySummary:
    """A strategy summary with plausible numbers; any field overridable."""
    values: dict[str, float] = {
        "cost": 12.5,
        "ecs_cost": 10.0,
        "eci_cost": 2.5,
        "unserved_request_seconds": 30.0,
        "unserved_fraction": 0.0003,
        "slo_violation_minutes": 2.0,
        "demand_request_seconds": 100000.0,
        "peak_base_replicas": 8,
        "mean_base_replicas": 6.5,
        "peak_burst_replicas": 5,
        "mean_burst_replicas": 0.75,
        "peak_ecs_nodes": 2,
        "mean_ecs_nodes": 2.0,
        "burst_pod_seconds": 1234.0,
        "drain_back_moves": 3,
    }
    values.update(overrides)
    return simulation.StrategySummary(**values)  # type: ignore[arg-type]


def series(size: int = 10) -> simulation.StrategySeries:
    """A short time series at 30-second steps with one missing demand value."""
    demand = np.linspace(10.0, 40.0, size)
    demand[3] = np.nan
    return simulation.StrategySeries(
        seconds=np.arange(size) * 30.0,
        demand=demand,
        base_capacity=np.full(size, 20.0),
        burst_capacity=np.linspace(0.0, 20.0, size),
        cumulative_cost=np.cumsum(np.full(size, 0.01)),
    )


def report(names: tuple[str, ...] = ("static-peak", "burstscaler")) -> simulation.SimulationReport:
    """A report of ``names`` with the same numbers each (costs differ so one is cheapest)."""
    return simulation.SimulationReport(
        title="test <trace>",
        start=1_700_000_000.0,
        settings={"currency": "USD", "step_seconds": 30.0, "strategies": {name: "a strategy" for name in names}},
        summaries={name: summary(cost=10.0 + index) for index, name in enumerate(names)},
        series={name: series() for name in names},
    )
