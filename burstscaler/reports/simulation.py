"""The results of a simulation run, as plain data the renderers format.

These dataclasses live in ``reports`` (below ``sim`` in the layers) so that the simulator fills them
and the renderers read them without ``reports`` ever importing the simulator.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclasses.dataclass(frozen=True)
class StrategySummary:
    """One strategy's totals over the whole run. Costs are in the settings' currency."""

    cost: float
    ecs_cost: float
    eci_cost: float
    unserved_request_seconds: float
    unserved_fraction: float
    slo_violation_minutes: float
    demand_request_seconds: float
    peak_base_replicas: int
    mean_base_replicas: float
    peak_burst_replicas: int
    mean_burst_replicas: float
    peak_ecs_nodes: int
    mean_ecs_nodes: float
    burst_pod_seconds: float
    drain_back_moves: int
    placeholder_pod_seconds: float = 0.0  # the bridge's placeholder pods (Pending or bound) over time
    spot_reclaims: int = 0  # spot burst pods released by the provider (the cluster's total only)


@dataclasses.dataclass(frozen=True)
class StrategySeries:
    """One strategy's time series, one entry per simulation step (for charts).

    ``seconds`` is each step's start since the trace's start; ``demand`` is requests/s (NaN where the
    trace has no data); the capacities are requests/s that Ready replicas serve on each tier.
    """

    seconds: FloatArray
    demand: FloatArray
    base_capacity: FloatArray
    burst_capacity: FloatArray
    cumulative_cost: FloatArray
    cumulative_moves: FloatArray = dataclasses.field(default_factory=lambda: np.zeros(0))


@dataclasses.dataclass(frozen=True)
class SimulationReport:
    """A whole run: what was simulated (``settings``), per-strategy totals and time series.

    ``start`` is the epoch second of the trace's first step (0.0 when the trace has no dates).
    With several seeds the summaries are means over seeds; ``intervals[strategy][field]`` is that
    figure's 95% interval (``(low, high)``). ``workloads`` has the same per workload, in order.
    ``prices`` is the price profile with its sources; ``sweep`` one ``SweepPoint`` per value swept;
    ``drain_back_savings`` burstscaler's cumulative cost with drain-back disabled minus with it (seed 1).
    """

    title: str
    start: float
    settings: Mapping[str, Any]
    summaries: Mapping[str, StrategySummary]
    series: Mapping[str, StrategySeries]
    intervals: Mapping[str, Mapping[str, tuple[float, float]]] = dataclasses.field(default_factory=dict)
    workloads: tuple[WorkloadResult, ...] = ()
    prices: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    seeds: int = 1
    sweep: tuple[SweepPoint, ...] = ()
    #: Per step (seed 1): burstscaler's cumulative cost without drain-back minus with it.
    drain_back_savings: FloatArray = dataclasses.field(default_factory=lambda: np.zeros(0))

    @property
    def demand_request_seconds(self) -> float:
        """The whole cluster's demand (the same for every strategy: it is the trace's)."""
        return next(iter(self.summaries.values())).demand_request_seconds if self.summaries else 0.0


@dataclasses.dataclass(frozen=True)
class WorkloadResult:
    """One workload's per-strategy totals (means over seeds) and their 95% intervals."""

    name: str
    summaries: Mapping[str, StrategySummary]
    intervals: Mapping[str, Mapping[str, tuple[float, float]]] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class SweepPoint:
    """One value of a swept parameter and every strategy's cluster totals at it."""

    parameter: str
    value: float
    summaries: Mapping[str, StrategySummary]
    intervals: Mapping[str, Mapping[str, tuple[float, float]]] = dataclasses.field(default_factory=dict)
