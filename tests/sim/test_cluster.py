"""The model cluster: fit, placement, start-up delays, scale-in order, node autoscaling and billing."""

from __future__ import annotations

import numpy as np
import pytest

from burstscaler.sim import cluster, placement, realism, scenario
from tests.sim import factories


@pytest.mark.parametrize(
    ("shape", "pod", "slots"),
    [
        pytest.param(cluster.NodeShape(4, 16), scenario.PodShape.of(cpu=1, memory_gib=2), 4, id="cpu-bound"),
        pytest.param(cluster.NodeShape(8, 8), scenario.PodShape.of(cpu=1, memory_gib=2), 4, id="memory-bound"),
        pytest.param(
            cluster.NodeShape(64, 256, pods=10), scenario.PodShape.of(cpu=1, memory_gib=2), 10, id="pod-limit"
        ),
        pytest.param(cluster.NodeShape(0.5, 16), scenario.PodShape.of(cpu=1, memory_gib=2), 0, id="does-not-fit"),
        pytest.param(cluster.NodeShape(3, 16), scenario.PodShape.of(cpu=0.1, memory_gib=0.25), 30, id="float-exact"),
    ],
)
def test_slots_of(shape: cluster.NodeShape, pod: scenario.PodShape, slots: int) -> None:
    assert cluster.slots_of(shape, pod) == slots


@pytest.mark.parametrize(
    ("replicas", "placed"),
    [
        pytest.param(3, [3, 0], id="first-node-first"),
        pytest.param(6, [4, 2], id="then-the-next"),
        pytest.param(9, [4, 4], id="rest-unschedulable"),
    ],
)
def test_first_fit(replicas: int, placed: list[int]) -> None:
    fit = placement.FirstFit(np.array([cluster.requests_of(factories.POD)]))
    free = np.tile(factories.NODE.allocatable, (2, 1))
    rows = fit.place(0, replicas, free=free)
    assert np.bincount(rows, minlength=2).tolist() == placed


def test_the_scheduler_model_spreads_where_first_fit_packs() -> None:
    # LeastAllocated scoring: the second pod goes to the emptier node (kube-scheduler's default).
    state = factories.small_cluster(nodes=2)
    assert state.placer.name.startswith("kube-scheduler")
    state.scale(0, base=2, burst=0, now=0.0)
    state.schedule(0.0)
    assert state.placed[:, 0].tolist() == [1, 1]


def test_base_pods_beyond_ecs_stay_unschedulable() -> None:
    state = factories.small_cluster(nodes=2)
    state.scale(0, base=9, burst=0, now=0.0)
    state.schedule(0.0)
    assert int(state.placed.sum()) == 8 and int(state.pending[0]) == 1


@pytest.mark.parametrize(
    ("now", "base_ready", "burst_ready"),
    [
        pytest.param(10.0, 0, 0, id="both-starting"),
        pytest.param(20.0, 3, 0, id="ecs-ready-after-20s"),
        pytest.param(45.0, 3, 2, id="eci-ready-after-45s"),
    ],
)
def test_startup_delays(now: float, base_ready: int, burst_ready: int) -> None:
    state = factories.small_cluster(nodes=1)
    state.scale(0, base=3, burst=2, now=0.0)
    state.schedule(0.0)
    state.advance(now)
    assert (state.base_ready(0), state.burst_ready(0, now)) == (base_ready, burst_ready)


def test_scale_in_takes_not_ready_first_then_the_emptiest_node() -> None:
    state = factories.small_cluster(nodes=2)
    state.prewarm(0, base=5, burst=0)  # Ready: spread 3 + 2 by the scheduler model
    state.scale(0, base=7, burst=0, now=0.0)
    state.schedule(0.0)  # two more, starting
    state.scale(0, base=4, burst=0, now=1.0)
    assert state.base_ready(0) == 4  # both starting pods went first, then one Ready pod
    assert sorted(state.placed[:, 0].tolist()) == [1, 3]


def test_burst_scale_in_removes_newest() -> None:
    state = factories.small_cluster(nodes=0)
    state.scale(0, base=0, burst=2, now=0.0)
    state.scale(0, base=0, burst=3, now=100.0)
    state.scale(0, base=0, burst=2, now=101.0)
    assert state.burst_started(0).tolist() == [0.0, 0.0]


def test_autoscaler_boots_nodes_then_removes_idle_ones() -> None:
    state = factories.small_cluster(nodes=0, autoscaling=True)
    state.scale(0, base=6, burst=0, now=0.0)
    state.schedule(0.0)
    assert state.node_count == 2 and int(state.pending[0]) == 6  # booting, not yet schedulable
    state.advance(180.0)
    state.schedule(180.0)
    assert int(state.placed.sum()) == 6
    state.scale(0, base=0, burst=0, now=200.0)
    state.advance(700.0)
    assert state.node_count == 2  # empty for 500 s only
    state.advance(800.0)
    assert state.node_count == 0


def test_pool_nodes_are_never_removed() -> None:
    state = factories.small_cluster(nodes=2, autoscaling=True)
    state.advance(10_000.0)
    assert state.node_count == 2


def test_cost_counts_nodes_and_burst_pods() -> None:
    state = factories.small_cluster(nodes=2)
    state.scale(0, base=0, burst=3, now=0.0)
    ecs, eci = state.cost_of(now=0.0, seconds=3600.0)
    assert ecs == pytest.approx(0.2)
    assert eci.tolist() == pytest.approx([3 * 0.001 * 3600.0])


def test_a_stock_out_delays_readiness_and_billing() -> None:
    failing = realism.Realism(eci_startup_sigma=0.0, eci_failure_fraction=0.5, eci_retry_seconds=30.0)
    draws = realism.Draws.seeded(failing, seed=3)
    delay, billed_from = draws.eci_ready_after(2000)
    assert set(np.unique(billed_from % 30.0)) == {0.0}
    assert np.allclose(delay - billed_from, 45.0)
    assert 0.9 < billed_from.mean() / 30.0 < 1.1  # geometric: one failure per creation on average at 50%


def test_prewarm_beyond_the_nodes_is_an_error() -> None:
    state = factories.small_cluster(nodes=1)
    with pytest.raises(Exception, match="do not fit"):
        state.prewarm(0, base=5, burst=0)
