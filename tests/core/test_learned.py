"""The memory of failed predictions: base pods Pending where the plan saw room cap ECS until the cluster changes."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from burstscaler.core import plan, reasons, snapshot
from tests.core import factories

NOW = 1000.0


def _failed_tick() -> plan.Plan:
    # The plan placed 6 replicas of 500m on a 4-core node that looked empty; the scheduler left 2
    # Pending (something the model does not see holds the room).
    snap = factories.make_snapshot(
        nodes=[factories.make_node("n1", cpu=4000, used_cpu=2000, used_pods=4)],
        policies=[factories.make_policy(recommended=6, base_replicas=6, base_unschedulable=2)],
    )
    return plan.plan(snap, now=NOW)


def test_a_failed_prediction_is_learned() -> None:
    first = _failed_tick()
    assert (int(first.base[0]), int(first.burst[0])) == (4, 2)
    assert int(first.history.learned_cap[0]) == 4


@pytest.mark.parametrize(
    ("nodes", "policy", "base", "reason"),
    [
        pytest.param(
            [factories.make_node("n1", cpu=4000, used_cpu=2000, used_pods=4)],
            {},
            4,
            reasons.Reason.ECS_LEARNED_FULL,
            id="same-cluster-keeps-the-cap",
        ),
        pytest.param(
            [factories.make_node("n1", cpu=4000, used_cpu=2500, used_pods=5)],
            {},
            4,
            reasons.Reason.ECS_LEARNED_FULL,
            id="less-room-keeps-the-cap",
        ),
        pytest.param(
            [
                factories.make_node("n1", cpu=4000, used_cpu=2000, used_pods=4),
                factories.make_node("n2", cpu=4000),
            ],
            {},
            6,
            reasons.Reason.DRAIN_BACK,
            id="node-added-forgets",
        ),
        pytest.param(
            [factories.make_node("n1", cpu=4000, used_cpu=1000, used_pods=2)],
            {},
            6,
            reasons.Reason.DRAIN_BACK,
            id="pods-deleted-forgets",
        ),
        pytest.param(
            [factories.make_node("n1", cpu=4000, used_cpu=2000, used_pods=4)],
            {"cpu": 250.0},
            6,
            reasons.Reason.DRAIN_BACK,
            id="template-changed-forgets",
        ),
    ],
)
def test_drain_back_waits_until_the_cluster_changes(
    nodes: list[factories.NodeSpec], policy: dict[str, Any], base: int, reason: reasons.Reason
) -> None:
    first = _failed_tick()
    # Next tick: 4 base pods run, 2 on burst, nothing Pending; the model alone would move 2 back.
    snap = factories.make_snapshot(
        nodes=nodes,
        policies=[factories.make_policy(recommended=6, base_replicas=4, burst_replicas=2, **policy)],
        history=first.history,
    )
    second = plan.plan(snap, now=NOW + 600)
    assert int(second.base[0]) == base
    assert reasons.Reason.from_code(second.drain_reason[0]) == reason


def test_growth_beyond_the_learned_base_goes_to_burst() -> None:
    first = _failed_tick()
    snap = factories.make_snapshot(
        nodes=[factories.make_node("n1", cpu=4000, used_cpu=2000, used_pods=4)],
        policies=[factories.make_policy(recommended=8, base_replicas=4, burst_replicas=2)],
        history=first.history,
    )
    second = plan.plan(snap, now=NOW + 15)
    assert (int(second.base[0]), int(second.burst[0])) == (4, 4)
    assert reasons.Reason.from_code(second.base_reason[0]) == reasons.Reason.ECS_LEARNED_FULL
    # Steady: the cap is carried on, so the next tick says the same.
    third = plan.plan(dataclasses.replace(snap, history=second.history), now=NOW + 30)
    assert int(third.history.learned_cap[0]) == 4


@pytest.mark.parametrize(
    ("economics", "learned_cap"),
    [
        pytest.param(None, 4, id="fixed-pool-keeps-the-cap"),
        pytest.param([factories.make_economics()], snapshot.UNLIMITED, id="growable-pool-forgets"),
    ],
)
def test_a_node_added_on_a_growable_pool_forgets(economics: list[dict[str, Any]] | None, learned_cap: int) -> None:
    # The 2 Pending pods got a node the autoscaler added (full now, so the free room fits no more than
    # when learned): 6 base pods are Ready, more than the cap of 4 allows. On a growable pool that is
    # the cluster changing; on a fixed pool v0.1 waits for free room.
    first = _failed_tick()
    snap = factories.make_snapshot(
        nodes=[
            factories.make_node("n1", cpu=4000, used_cpu=2000, used_pods=4),
            factories.make_node("added", cpu=1000, used_cpu=1000, used_pods=2),
        ],
        policies=[factories.make_policy(recommended=6, base_replicas=6)],
        history=first.history,
        economics=economics,
    )
    second = plan.plan(snap, now=NOW + 300)
    assert int(second.history.learned_cap[0]) == learned_cap
