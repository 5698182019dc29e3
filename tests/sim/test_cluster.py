"""The model cluster: first-fit, start-up delays, scale-in order, node autoscaling, cost."""

from __future__ import annotations

import pytest

from burstscaler.sim import cluster, errors
from tests.sim import factories


@pytest.mark.parametrize(
    ("shape", "pod", "slots"),
    [
        pytest.param(cluster.NodeShape(4, 16, 0.1), cluster.PodShape(1, 2), 4, id="cpu-bound"),
        pytest.param(cluster.NodeShape(8, 8, 0.1), cluster.PodShape(1, 2), 4, id="memory-bound"),
        pytest.param(cluster.NodeShape(64, 256, 0.1, pods=10), cluster.PodShape(1, 2), 10, id="pod-limit"),
        pytest.param(cluster.NodeShape(0.5, 16, 0.1), cluster.PodShape(1, 2), 0, id="does-not-fit"),
        pytest.param(cluster.NodeShape(3, 16, 0.1), cluster.PodShape(0.1, 0.2), 30, id="float-exact"),
    ],
)
def test_slots_of(shape: cluster.NodeShape, pod: cluster.PodShape, slots: int) -> None:
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
    state = factories.small_cluster(nodes=2)
    state.scale(base=replicas, burst=0, now=0.0)
    state.schedule(0.0)
    assert state.placed.tolist() == placed
    assert state.pending == replicas - sum(placed)


@pytest.mark.parametrize(
    ("now", "base_ready", "burst_ready"),
    [
        pytest.param(10.0, 0, 0, id="both-starting"),
        pytest.param(20.0, 3, 0, id="ecs-ready-after-20s"),
        pytest.param(45.0, 3, 2, id="eci-ready-after-45s"),
    ],
)
def test_startup_delays(now: float, base_ready: int, burst_ready: int) -> None:
    state = factories.small_cluster()
    state.scale(base=3, burst=2, now=0.0)
    state.schedule(0.0)
    state.advance(now)
    assert (state.base_ready, state.burst_ready(now)) == (base_ready, burst_ready)


def test_scale_in_takes_not_ready_first_then_emptiest_node() -> None:
    state = factories.small_cluster(nodes=2, base=5)  # Ready: 4 on node 0, 1 on node 1
    state.scale(base=7, burst=0, now=0.0)
    state.schedule(0.0)  # 2 starting on node 1
    state.scale(base=4, burst=0, now=5.0)
    assert state.base_ready == 4 + 1 - 1  # the two starting went first, then node 1's Ready pod
    assert state.placed.tolist() == [4, 0]


def test_burst_scale_in_removes_newest() -> None:
    state = factories.small_cluster(burst=2)
    state.scale(base=0, burst=5, now=100.0)
    state.scale(base=0, burst=3, now=110.0)
    assert state.burst_ready(110.0) == 2
    assert sorted(state.burst_ages(110.0).tolist()) == [10.0, float("inf"), float("inf")]


def test_autoscaler_boots_nodes_then_removes_idle_ones() -> None:
    state = factories.small_cluster(nodes=1, autoscaling=True, base=4)
    state.scale(base=10, burst=0, now=0.0)
    state.schedule(0.0)
    assert (state.node_count, state.pending) == (3, 6)  # two nodes asked for, booting
    state.advance(180.0)
    state.schedule(180.0)
    assert state.pending == 0
    state.scale(base=4, burst=0, now=200.0)
    state.advance(799.0)
    assert state.node_count == 3
    state.advance(800.0)
    assert state.node_count == 1


def test_cost_counts_nodes_and_burst_pods() -> None:
    state = factories.small_cluster(nodes=2, burst=3)
    ecs, eci = state.cost_of(3600.0)
    assert ecs == pytest.approx(0.24)
    assert eci == pytest.approx(3 * (0.0000077 + 2 * 0.00000096) * 3600)


def test_prewarm_beyond_the_nodes_is_an_error() -> None:
    with pytest.raises(errors.SettingsError, match="do not fit"):
        factories.small_cluster(nodes=1, base=5)
