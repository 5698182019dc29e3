"""The resourcepolicy baseline: ECS first up to the unit's max, then ECI; scale-in in reverse; no drain-back."""

from __future__ import annotations

import numpy as np
import pytest

from burstscaler.sim import cluster
from burstscaler.sim.strategies import protocol, resourcepolicy
from tests.sim import factories


def _step(strategy: protocol.Strategy, state: cluster.ModelCluster, *, load: float, now: float) -> protocol.Targets:
    state.advance(now)
    target = strategy.decide(state=state, loads=np.array([load]), now=now)[0]
    state.scale(0, base=target.base, burst=target.burst, now=now)
    state.schedule(now)
    return target


def _setup(*, pool: int, rate: float, unit_max: int | None = None) -> tuple[protocol.Strategy, cluster.ModelCluster]:
    # A target of 7 req/s per replica (10 at 70%): a rate of 7 x k asks for k replicas.
    run = factories.run(factories.one([rate] * 10, pool=pool), step_seconds=15.0)
    setup = resourcepolicy.build(run)
    strategy = setup.strategy
    assert isinstance(strategy, resourcepolicy.ResourcePolicy)
    strategy.unit_max = (unit_max,)
    return strategy, setup.state


@pytest.mark.parametrize(
    ("pool", "unit_max", "replicas", "expected"),
    [
        pytest.param(2, None, 6, (6, 0), id="all-fit-on-ecs"),
        pytest.param(1, None, 6, (4, 2), id="ecs-full-then-eci"),
        pytest.param(2, 3, 6, (3, 3), id="unit-max-then-eci"),
    ],
)
def test_scale_out_fills_ecs_first(pool: int, unit_max: int | None, replicas: int, expected: tuple[int, int]) -> None:
    strategy, state = _setup(pool=pool, rate=14.0, unit_max=unit_max)  # starts at 2 replicas
    for now in np.arange(0.0, 600.0, 15.0):
        target = _step(strategy, state, load=7.0 * replicas, now=float(now))
    assert (target.base, target.burst) == expected


def test_scale_in_removes_eci_first_and_never_drains_back() -> None:
    strategy, state = _setup(pool=1, rate=14.0)
    for now in np.arange(0.0, 600.0, 15.0):
        _step(strategy, state, load=7.0 * 8, now=float(now))
    assert (state.base_total(0), state.burst_total(0)) == (4, 4)
    moves = 0
    for now in np.arange(600.0, 2400.0, 15.0):  # the load halves: four replicas go
        moves += _step(strategy, state, load=7.0 * 4, now=float(now)).moves
    assert (state.base_total(0), state.burst_total(0)) == (4, 0)
    assert moves == 0


def test_a_pod_the_scheduler_could_not_place_moves_to_eci() -> None:
    strategy, state = _setup(pool=1, rate=14.0)
    state.scale(0, base=6, burst=0, now=0.0)
    state.schedule(0.0)  # 4 placed, 2 Pending on ECS
    target = _step(strategy, state, load=7.0 * 6, now=15.0)
    assert (target.base, target.burst) == (4, 2)
