"""The burstscaler strategy on the model cluster: overflow, drain-back, priorities, plan reuse."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from burstscaler.sim import cluster, engine, metrics, scenario, strategies
from burstscaler.sim.strategies import burstscaler, protocol
from tests.sim import factories


def _timeline(run: protocol.Run, state: cluster.ModelCluster, *, seconds: float) -> list[dict[str, list[int]]]:
    strategy = burstscaler.build(run).strategy
    step = run.settings.step_seconds
    timeline = []
    for now in np.arange(0.0, seconds, step):
        state.advance(float(now))
        loads = np.array([float(load.rates[0]) for load in run.loads])
        targets = strategy.decide(state=state, loads=loads, now=float(now))
        for w, target in enumerate(targets):
            state.scale(w, base=target.base, burst=target.burst, now=float(now))
        state.schedule(float(now))
        timeline.append(
            {
                "base": [state.base_total(w) for w in range(state.workloads)],
                "burst": [state.burst_total(w) for w in range(state.workloads)],
                "ready": [state.base_ready(w) + state.burst_ready(w, float(now)) for w in range(state.workloads)],
                "moves": [target.moves for target in targets],
            }
        )
    return timeline


def test_drain_back_moves_burst_to_ecs_without_a_capacity_dip() -> None:
    # Six replicas Ready on burst, two empty ECS nodes (8 slots): all six should come home.
    run = factories.run(factories.one([42.0] * 60, pool=2), step_seconds=15.0)
    state = run.cluster(pool=2)
    state.prewarm(0, base=0, burst=6)
    timeline = _timeline(run, state, seconds=900.0)
    assert (timeline[-1]["base"], timeline[-1]["burst"]) == ([6], [0])
    assert sum(entry["moves"][0] for entry in timeline) == 6
    assert min(entry["ready"][0] for entry in timeline) >= 6  # make-before-break: never below the load


def test_overflow_goes_to_burst_when_ecs_is_full() -> None:
    run = factories.run(factories.one([56.0] * 60, pool=1), step_seconds=15.0)
    state = run.cluster(pool=1)
    state.prewarm(0, base=4, burst=0)  # 4 slots, all taken
    timeline = _timeline(run, state, seconds=300.0)
    assert (timeline[-1]["base"], timeline[-1]["burst"]) == ([4], [4])


def test_the_higher_priority_workload_drains_back_first() -> None:
    # Two workloads of 8 replicas each, all on burst, and a 4-slot pool: priority decides who moves.
    low = factories.workload([56.0] * 60, name="low", priority=0)
    high = factories.workload([56.0] * 60, name="high", priority=10)
    run = factories.run(scenario.Scenario(name="two", workloads=(low, high), pool_nodes=1), step_seconds=15.0)
    state = run.cluster(pool=1)
    for w in range(2):
        state.prewarm(w, base=0, burst=8)
    timeline = _timeline(run, state, seconds=900.0)
    assert (timeline[-1]["base"], timeline[-1]["burst"]) == ([0, 4], [8, 4])


def _replay(*, skip: bool, pool: int, drain_back: dict[str, int], on_burst: bool) -> metrics.Recording:
    # The built-in day's first 12 hours (the night, the morning ramp and the flash crowd).
    day = scenario.builtin(seed=3)
    halves = tuple(
        dataclasses.replace(w, trace=dataclasses.replace(w.trace, rates=w.trace.rates[: 12 * 60]))
        for w in day.workloads
    )
    run = factories.run(dataclasses.replace(day, workloads=halves, pool_nodes=pool))

    def build(run: protocol.Run) -> protocol.Setup:
        setup = burstscaler.build(run)
        strategy = setup.strategy
        assert isinstance(strategy, burstscaler.Burstscaler)
        policies = tuple(
            p.model_copy(update={"drain_back": p.drain_back.model_copy(update=drain_back)}) for p in strategy.policies
        )
        replaced = dataclasses.replace(strategy, policies=policies, skip_unchanged=skip)
        state = setup.state
        if on_burst:  # every replica starts on burst with the ECS pool empty: drain-back has work to do
            replicas = [state.base_total(w) + state.burst_total(w) for w in range(state.workloads)]
            state = run.cluster(pool=pool)
            for w, count in enumerate(replicas):
                state.prewarm(w, base=0, burst=count)
        return protocol.Setup(strategy=replaced, state=state)

    return engine.run_strategy(strategies.Entry(name="burstscaler", summary="", build=build), run=run)


@pytest.mark.parametrize(
    ("pool", "drain_back", "on_burst", "moves"),
    [
        pytest.param(0, {}, False, False, id="all-burst"),
        # The growable pool at the sourced prices: an added node's share is dearer than ECI (c > e), but the
        # subscription pool's room is paid whether used or not (``Nodes.paid``), so moves onto it pay.
        pytest.param(9, {}, False, True, id="growable-pool-paid-room"),
        pytest.param(9, {}, True, True, id="drain-back"),
        pytest.param(
            9, {"stabilization_seconds": 0, "max_moves_per_tick": 1}, True, True, id="drain-back-unstabilized"
        ),
    ],
)
def test_reusing_an_unchanged_plan_changes_nothing(
    pool: int, drain_back: dict[str, int], on_burst: bool, moves: bool
) -> None:
    # A day of three workloads: bursts, drain-backs and long quiet stretches where the plan is reused.
    with_skip = _replay(skip=True, pool=pool, drain_back=drain_back, on_burst=on_burst)
    without = _replay(skip=False, pool=pool, drain_back=drain_back, on_burst=on_burst)
    for field in dataclasses.fields(metrics.Recording):
        np.testing.assert_array_equal(getattr(with_skip, field.name), getattr(without, field.name), field.name)
    assert (without.moves.sum() > 0) == moves  # the case exercises what its name says
