"""What a run measured, step by step, and the totals reported for it.

Definitions (they are what the numbers mean, so they are spelled out):
- *cost*: ECS node-hours at the node price for every node that exists (booting included), plus ECI
  per second on the requested vCPU and GiB of every burst pod that exists (from creation).
- *unserved demand*: request-seconds above the serving capacity of Ready replicas, i.e. the sum
  over steps of max(0, demand - ready replicas x capacity per replica) x step. Steps without trace
  data count neither as demand nor as unserved.
- *SLO-violating minutes*: minutes of the trace in which more than ``slo_unserved_fraction`` of
  the minute's demand went unserved.
- *replicas per tier*: replicas that exist (Pending and starting included) on ECS (base) and on the
  virtual node (burst); peak and mean over the run. *Burst pod-seconds*: the integral of burst
  replicas over time. *Drain-back moves*: burst replicas moved back to ECS.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt

from burstscaler.reports import simulation

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclasses.dataclass(frozen=True)
class Recording:
    """Per-step measurements of one strategy's run (arrays of one length, one entry per step)."""

    step: float
    demand: FloatArray
    observed: npt.NDArray[np.bool_]
    base_ready: IntArray
    burst_ready: IntArray
    base_total: IntArray
    burst_total: IntArray
    nodes: IntArray
    ecs_cost: FloatArray
    eci_cost: FloatArray
    moves: IntArray


def summarize(
    recording: Recording, *, capacity_per_replica: float, slo_unserved_fraction: float
) -> simulation.StrategySummary:
    """Return the run's totals by the definitions in this module's docstring."""
    step = recording.step
    demand = np.where(recording.observed, recording.demand, 0.0)
    capacity = (recording.base_ready + recording.burst_ready) * capacity_per_replica
    unserved = np.maximum(demand - capacity, 0.0) * step
    demanded = demand * step
    total_demand = float(demanded.sum())
    ecs, eci = float(recording.ecs_cost.sum()), float(recording.eci_cost.sum())
    return simulation.StrategySummary(
        cost=ecs + eci,
        ecs_cost=ecs,
        eci_cost=eci,
        unserved_request_seconds=float(unserved.sum()),
        unserved_fraction=float(unserved.sum()) / total_demand if total_demand else 0.0,
        slo_violation_minutes=_violating_minutes(
            unserved=unserved, demanded=demanded, step=step, fraction=slo_unserved_fraction
        ),
        demand_request_seconds=total_demand,
        peak_base_replicas=int(recording.base_total.max(initial=0)),
        mean_base_replicas=float(recording.base_total.mean()) if recording.base_total.size else 0.0,
        peak_burst_replicas=int(recording.burst_total.max(initial=0)),
        mean_burst_replicas=float(recording.burst_total.mean()) if recording.burst_total.size else 0.0,
        peak_ecs_nodes=int(recording.nodes.max(initial=0)),
        mean_ecs_nodes=float(recording.nodes.mean()) if recording.nodes.size else 0.0,
        burst_pod_seconds=float(recording.burst_total.sum() * step),
        drain_back_moves=int(recording.moves.sum()),
    )


def series(recording: Recording, *, capacity_per_replica: float) -> simulation.StrategySeries:
    """Return the run's time series for charts."""
    return simulation.StrategySeries(
        seconds=np.arange(recording.demand.size, dtype=np.float64) * recording.step,
        demand=np.where(recording.observed, recording.demand, np.nan),
        base_capacity=recording.base_ready.astype(np.float64) * capacity_per_replica,
        burst_capacity=recording.burst_ready.astype(np.float64) * capacity_per_replica,
        cumulative_cost=np.cumsum(recording.ecs_cost + recording.eci_cost),
    )


def _violating_minutes(*, unserved: FloatArray, demanded: FloatArray, step: float, fraction: float) -> float:
    if step >= 60.0:
        # A step spans whole minutes: each of them had the step's share unserved.
        bad = unserved > fraction * demanded + 1e-9
        return float(bad.sum() * step / 60.0)
    minute = np.floor(np.arange(unserved.size) * step / 60.0).astype(np.int64)
    lost = np.bincount(minute, weights=unserved)
    asked = np.bincount(minute, weights=demanded)
    return float(np.count_nonzero(lost > fraction * asked + 1e-9))
