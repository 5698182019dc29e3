"""What a run measured, step by step, and the totals reported for it.

Definitions (they are what the numbers mean, so they are spelled out):
- *cost*: ECS node-hours at each node's price (subscription for the fixed pool, pay-as-you-go for
  autoscaled nodes) for every node that exists (booting included), plus ECI per second on the
  effective spec of every burst pod from the start of its successful creation. Per workload, ECS cost
  is attributed by the workload's share of the vCPU requested on ECS in that step (a step with no pod
  on ECS leaves its node cost unattributed: it appears only in the cluster's total).
- *unserved demand*: request-seconds above the serving capacity of Ready replicas, judged at the
  trace's own resolution (a per-second trace per second, whatever the decision step): the sum over
  trace slots of max(0, demand - ready replicas x capacity per replica) x slot. Slots without trace
  data count neither as demand nor as unserved.
- *SLO-violating minutes*: minutes in which more than ``slo_unserved_fraction`` of the minute's demand
  went unserved (for the cluster: of all workloads' demand together).
- *replicas per tier*: replicas that exist (Pending and starting included) on ECS (base) and on the
  virtual node (burst). *Burst pod-seconds*: the integral of burst replicas over time.
  *Drain-back moves*: burst replicas moved back to ECS. *Placeholder pod-seconds*: the integral of
  placeholder pods (Pending or bound) over time; they cost nothing, the nodes they bring are billed.
  *Spot reclaims*: spot burst pods the provider released (each replaced by a new pod).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt

from burstscaler.reports import simulation
from burstscaler.sim import traces

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclasses.dataclass(frozen=True)
class Recording:
    """Per-step measurements of one strategy's run: [K] or [K, W] arrays (K steps, W workloads)."""

    step: float
    base_ready: IntArray
    burst_ready: IntArray
    base_total: IntArray
    burst_total: IntArray
    nodes: IntArray
    ecs_cost: FloatArray  # [K] the whole cluster's
    ecs_share: FloatArray  # [K, W] each workload's share of the vCPU requested on ECS
    eci_cost: FloatArray  # [K, W]
    moves: IntArray
    placeholders: IntArray | None = None  # [K, W]; None: none recorded
    spot_reclaims: int = 0


@dataclasses.dataclass(frozen=True)
class Judged:
    """One workload's demand and unserved demand, per minute (for totals and SLO minutes)."""

    demand: FloatArray  # request-seconds per minute
    unserved: FloatArray


def judge(recording: Recording, *, workload: int, trace: traces.Trace, capacity: float) -> Judged:
    """Unserved demand of ``workload`` at the trace's own resolution (see the module docstring)."""
    step, k = recording.step, recording.base_ready.shape[0]
    ready = (recording.base_ready[:, workload] + recording.burst_ready[:, workload]) * capacity
    interval = trace.interval
    if interval <= step and _divides(interval, step):
        rates, width = trace.rates, interval
        slot_step = np.floor(np.arange(rates.size) * interval / step + 1e-9).astype(np.int64)
    elif interval > step and _divides(step, interval):
        slot_step, width = np.arange(k), step
        source = np.floor(slot_step * step / interval + 1e-9).astype(np.int64)
        rates = np.where(source < trace.rates.size, trace.rates[np.minimum(source, trace.rates.size - 1)], np.nan)
    else:  # incommensurate: judged at the step, on the step's mean rate
        load = traces.resample(trace, step=step)
        rates, slot_step, width = load.rates, np.arange(load.rates.size), step
    starts = np.arange(rates.size) * width
    inside = slot_step < k
    rates, slot_step, starts = rates[inside], slot_step[inside], starts[inside]
    observed = ~np.isnan(rates)
    demand = np.where(observed, rates, 0.0) * width
    unserved = np.where(observed, np.maximum(demand - ready[slot_step] * width, 0.0), 0.0)
    minute = np.floor(starts / 60.0 + 1e-9).astype(np.int64)
    minutes = int(np.ceil(k * step / 60.0 - 1e-9))
    return Judged(
        demand=np.asarray(np.bincount(minute, weights=demand, minlength=minutes)[:minutes], dtype=np.float64),
        unserved=np.asarray(np.bincount(minute, weights=unserved, minlength=minutes)[:minutes], dtype=np.float64),
    )


def _divides(small: float, large: float) -> bool:
    ratio = large / small
    return abs(ratio - round(ratio)) < 1e-9


def summarize(
    recording: Recording, *, judged: list[Judged], workload: int | None, slo_unserved_fraction: float
) -> simulation.StrategySummary:
    """Totals of one workload (``workload``) or of the whole cluster (None)."""
    step = recording.step
    if workload is None:
        demand = np.sum([j.demand for j in judged], axis=0)
        unserved = np.sum([j.unserved for j in judged], axis=0)
        base_total, burst_total = recording.base_total.sum(axis=1), recording.burst_total.sum(axis=1)
        moves = int(recording.moves.sum())
        placeholders = float(recording.placeholders.sum()) if recording.placeholders is not None else 0.0
        ecs = float(recording.ecs_cost.sum())
        eci = float(recording.eci_cost.sum())
    else:
        demand, unserved = judged[workload].demand, judged[workload].unserved
        base_total, burst_total = recording.base_total[:, workload], recording.burst_total[:, workload]
        moves = int(recording.moves[:, workload].sum())
        placeholders = float(recording.placeholders[:, workload].sum()) if recording.placeholders is not None else 0.0
        ecs = float((recording.ecs_cost * recording.ecs_share[:, workload]).sum())
        eci = float(recording.eci_cost[:, workload].sum())
    total_demand, total_unserved = float(demand.sum()), float(unserved.sum())
    bad = unserved > slo_unserved_fraction * demand + 1e-9
    return simulation.StrategySummary(
        cost=ecs + eci,
        ecs_cost=ecs,
        eci_cost=eci,
        unserved_request_seconds=total_unserved,
        unserved_fraction=total_unserved / total_demand if total_demand else 0.0,
        slo_violation_minutes=float(np.count_nonzero(bad)),
        demand_request_seconds=total_demand,
        peak_base_replicas=int(base_total.max(initial=0)),
        mean_base_replicas=float(base_total.mean()) if base_total.size else 0.0,
        peak_burst_replicas=int(burst_total.max(initial=0)),
        mean_burst_replicas=float(burst_total.mean()) if burst_total.size else 0.0,
        peak_ecs_nodes=int(recording.nodes.max(initial=0)),
        mean_ecs_nodes=float(recording.nodes.mean()) if recording.nodes.size else 0.0,
        burst_pod_seconds=float(burst_total.sum() * step),
        drain_back_moves=moves,
        placeholder_pod_seconds=placeholders * step,
        spot_reclaims=recording.spot_reclaims if workload is None else 0,
    )


def series(recording: Recording, *, demand_replicas: FloatArray) -> simulation.StrategySeries:
    """The cluster's time series for charts, in replicas' worth of serving capacity.

    ``demand_replicas`` is, per step, the sum over workloads of demand / capacity per replica.
    """
    return simulation.StrategySeries(
        seconds=np.arange(recording.base_ready.shape[0], dtype=np.float64) * recording.step,
        demand=demand_replicas,
        base_capacity=recording.base_ready.sum(axis=1).astype(np.float64),
        burst_capacity=recording.burst_ready.sum(axis=1).astype(np.float64),
        cumulative_cost=np.cumsum(recording.ecs_cost + recording.eci_cost.sum(axis=1)),
        cumulative_moves=np.cumsum(recording.moves.sum(axis=1)).astype(np.float64),
    )
