"""Judging: unserved demand at the trace's own resolution, SLO minutes, per-workload cost attribution."""

from __future__ import annotations

import numpy as np
import pytest

from burstscaler.sim import metrics, traces


def _recording(ready: list[int], *, step: float = 30.0) -> metrics.Recording:
    k = len(ready)
    zeros = np.zeros((k, 1), dtype=np.int64)
    return metrics.Recording(
        step=step,
        base_ready=np.array(ready, dtype=np.int64)[:, None],
        burst_ready=zeros,
        base_total=np.array(ready, dtype=np.int64)[:, None],
        burst_total=zeros,
        nodes=np.ones(k, dtype=np.int64),
        ecs_cost=np.full(k, 0.01),
        ecs_share=np.ones((k, 1)),
        eci_cost=np.zeros((k, 1)),
        moves=zeros,
    )


def test_a_one_second_burst_is_judged_per_second() -> None:
    # 30 seconds at 5 req/s with one second at 40: the 30-s mean (6.2) fits 1 replica of 10/s, the
    # second does not: 30 request-seconds go unserved.
    rates = np.full(60, 5.0)
    rates[7] = 40.0
    trace = traces.Trace(name="s", interval=1.0, start=0.0, rates=rates)
    judged = metrics.judge(_recording([1, 1]), workload=0, trace=trace, capacity=10.0)
    assert judged.unserved.sum() == pytest.approx(30.0)
    assert judged.demand.sum() == pytest.approx(rates.sum())


def test_a_per_minute_trace_is_judged_at_each_step() -> None:
    trace = traces.Trace(name="m", interval=60.0, start=0.0, rates=np.array([20.0, np.nan]))
    judged = metrics.judge(_recording([1, 2, 0, 0]), workload=0, trace=trace, capacity=10.0)
    assert judged.unserved.tolist() == pytest.approx([300.0, 0.0])  # first step short by 10/s; second minute missing
    assert judged.demand.tolist() == pytest.approx([1200.0, 0.0])


def test_slo_minutes_and_totals() -> None:
    trace = traces.Trace(name="m", interval=60.0, start=0.0, rates=np.array([20.0, 20.0]))
    recording = _recording([1, 1, 2, 2])
    judged = [metrics.judge(recording, workload=0, trace=trace, capacity=10.0)]
    summary = metrics.summarize(recording, judged=judged, workload=None, slo_unserved_fraction=0.01)
    assert summary.slo_violation_minutes == 1.0
    assert summary.unserved_fraction == pytest.approx(600.0 / 2400.0)
    assert summary.cost == pytest.approx(0.04)
    per_workload = metrics.summarize(recording, judged=judged, workload=0, slo_unserved_fraction=0.01)
    assert per_workload.ecs_cost == pytest.approx(0.04)
