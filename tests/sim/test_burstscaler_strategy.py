"""The burstscaler strategy on the model cluster: overflow to burst, make-before-break drain-back, plan reuse."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from burstscaler.sim import cluster, engine, metrics, scenario, settings, strategies, traces
from burstscaler.sim.strategies import burstscaler, protocol
from tests.sim import factories


def _run(state: cluster.ModelCluster, *, load: float, seconds: float, step: float = 15.0) -> list[dict[str, int]]:
    # A target of the whole capacity, so a load of 10 x k requests/s asks for exactly k replicas.
    config = factories.config(base_nodes=state.node_count, target_utilization=1.0)
    policy = burstscaler.default_policy(config)
    strategy = burstscaler.Burstscaler(
        config=config, recommender=burstscaler.CoreRecommender(policy=policy), policy=policy
    )
    timeline = []
    for now in np.arange(0.0, seconds, step):
        state.advance(now)
        targets = strategy.decide(state=state, load=load, now=float(now))
        state.scale(base=targets.base, burst=targets.burst, now=float(now))
        state.schedule(float(now))
        timeline.append(
            {
                "base": state.base_total,
                "burst": state.burst_total,
                "ready": state.base_ready + state.burst_ready(float(now)),
                "moves": targets.moves,
            }
        )
    return timeline


def test_drain_back_moves_burst_to_ecs_without_a_capacity_dip() -> None:
    # Six replicas Ready on burst, two empty ECS nodes (8 slots): all six should come home.
    state = factories.small_cluster(nodes=2, burst=6)
    timeline = _run(state, load=60.0, seconds=900.0)
    assert (timeline[-1]["base"], timeline[-1]["burst"]) == (6, 0)
    assert sum(entry["moves"] for entry in timeline) == 6
    assert min(entry["ready"] for entry in timeline) >= 6  # make-before-break: never below the load


def test_overflow_goes_to_burst_when_ecs_is_full() -> None:
    state = factories.small_cluster(nodes=1, base=4)  # 4 slots, all taken
    timeline = _run(state, load=80.0, seconds=300.0)
    assert timeline[-1]["base"] == 4
    assert timeline[-1]["burst"] == 4


@pytest.mark.parametrize(
    ("rates", "pool"),
    [
        pytest.param(np.full(100, 40.0), 1, id="steady-load-on-ecs"),
        pytest.param(np.full(100, 0.0), 0, id="no-load-no-pool"),
    ],
)
def test_initial_state_puts_what_fits_on_ecs(rates: np.ndarray, pool: int) -> None:
    config = factories.config()
    load = traces.StepLoad(step=30.0, rates=rates, observed=np.ones(rates.size, dtype=bool))
    state = burstscaler.initial_state(config, load=load, initial_load=float(rates[0]))
    assert state.node_count == pool
    assert state.base_total + state.burst_total == config.policy_replicas_for(float(rates[0]))


def _replay(*, skip: bool, base_nodes: int, drain_back: dict[str, int], on_burst: bool) -> metrics.Recording:
    config = factories.config(capacity_per_replica=scenario.CAPACITY_PER_REPLICA, base_nodes=base_nodes)

    def build(config: settings.Settings, *, load: traces.StepLoad, initial_load: float) -> protocol.Setup:
        setup = burstscaler.build(config, load=load, initial_load=initial_load)
        strategy = setup.strategy
        assert isinstance(strategy, burstscaler.Burstscaler)
        policy = strategy.policy.model_copy(
            update={"drain_back": strategy.policy.drain_back.model_copy(update=drain_back)}
        )
        replaced = dataclasses.replace(strategy, policy=policy, skip_unchanged=skip)
        state = setup.state
        if on_burst:  # every replica starts on burst with the ECS pool empty: drain-back has work to do
            replicas = state.base_total + state.burst_total
            state = cluster.ModelCluster(config.cluster_spec(nodes=base_nodes), burst=replicas)
        return protocol.Setup(strategy=replaced, state=state)

    load = traces.resample(scenario.builtin_trace(seed=3), step=config.step_seconds)
    metric = engine.observed_metric(load, window=config.metric_window_seconds)
    entry = strategies.Entry(name="burstscaler", summary="", build=build)
    return engine.run_strategy(entry, config=config, load=load, metric=metric)


@pytest.mark.parametrize(
    ("base_nodes", "drain_back", "on_burst", "moves"),
    [
        pytest.param(2, {}, False, False, id="defaults"),
        pytest.param(0, {}, False, False, id="all-burst"),
        pytest.param(12, {}, False, False, id="all-ecs"),
        pytest.param(6, {}, True, True, id="drain-back"),
        pytest.param(
            6, {"stabilization_seconds": 0, "max_moves_per_tick": 1}, True, True, id="drain-back-unstabilized"
        ),
    ],
)
def test_reusing_an_unchanged_plan_changes_nothing(
    base_nodes: int, drain_back: dict[str, int], on_burst: bool, moves: bool
) -> None:
    # A day with a flash crowd: bursts, drain-backs and long quiet stretches where the plan is reused.
    with_skip = _replay(skip=True, base_nodes=base_nodes, drain_back=drain_back, on_burst=on_burst)
    without = _replay(skip=False, base_nodes=base_nodes, drain_back=drain_back, on_burst=on_burst)
    for field in dataclasses.fields(metrics.Recording):
        np.testing.assert_array_equal(getattr(with_skip, field.name), getattr(without, field.name), field.name)
    assert (without.moves.sum() > 0) == moves  # the case exercises what its name says
