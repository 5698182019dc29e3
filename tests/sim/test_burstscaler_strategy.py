"""The burstscaler strategy on the model cluster: overflow to burst, make-before-break drain-back."""

from __future__ import annotations

import numpy as np
import pytest

from burstscaler.sim import cluster, traces
from burstscaler.sim.strategies import burstscaler
from tests.sim import factories


def _run(state: cluster.ModelCluster, *, load: float, seconds: float, step: float = 15.0) -> list[dict[str, int]]:
    config = factories.config(base_nodes=state.node_count)
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
    assert state.base_total + state.burst_total == config.replicas_for(float(rates[0]))
