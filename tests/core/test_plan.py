"""Plan decisions, one scenario per row: overflow, caps, scale-in order, drain-back, history."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest

from burstscaler.core import plan, snapshot
from tests.core import factories

NODE = factories.make_node("n1", cpu=2000, memory=4096)  # room for 4 replicas of 500m/512Mi


def run(
    *policies: dict[str, Any],
    nodes: tuple[factories.NodeSpec, ...] = (NODE,),
    now: float = 1000.0,
    history: snapshot.History | None = None,
    pending: tuple[tuple[dict[str, float], int], ...] = (),
) -> plan.Plan:
    snap = factories.make_snapshot(nodes=nodes, policies=policies, history=history, pending=pending)
    return plan.plan(snap, now=now)


@pytest.mark.parametrize(
    ("policy", "nodes", "expected"),
    [
        pytest.param(
            factories.make_policy(recommended=3),
            (NODE,),
            {"base": 3, "burst": 0, "unplaceable": 0, "reason": "within-capacity"},
            id="fits-on-ecs",
        ),
        pytest.param(
            factories.make_policy(recommended=6),
            (NODE,),
            {"base": 4, "burst": 2, "unplaceable": 0, "reason": "ecs-full", "burst_reason": "ecs-full"},
            id="overflow-to-burst",
        ),
        pytest.param(
            factories.make_policy(recommended=6, base_replicas=4),
            (factories.make_node("n1", cpu=2000, memory=4096, used_cpu=2000, used_memory=2048, used_pods=4),),
            {"base": 4, "burst": 2, "reason": "ecs-full"},
            id="existing-base-keeps-its-place",
        ),
        pytest.param(
            factories.make_policy(recommended=6, base_max=2),
            (NODE,),
            {"base": 2, "burst": 4, "base_reason": "base-cap", "burst_reason": "base-cap"},
            id="base-cap",
        ),
        pytest.param(
            factories.make_policy(recommended=9, burst_max=3),
            (NODE,),
            {"base": 4, "burst": 3, "unplaceable": 2, "reason": "unplaceable", "burst_reason": "burst-cap"},
            id="burst-cap-unplaceable",
        ),
        pytest.param(
            factories.make_policy(recommended=9, max_cost_per_second=1.0, burst_cost_per_second=0.4),
            (NODE,),
            {"base": 4, "burst": 2, "unplaceable": 3, "burst_reason": "budget"},
            id="budget",
        ),
        pytest.param(
            factories.make_policy(recommended=6, burst_enabled=False),
            (NODE,),
            {"base": 4, "burst": 0, "unplaceable": 2, "burst_reason": "burst-disabled"},
            id="burst-disabled",
        ),
        pytest.param(
            factories.make_policy(recommended=6, eci_compatible=False),
            (NODE,),
            {"base": 4, "burst": 0, "unplaceable": 2, "burst_reason": "eci-incompatible"},
            id="eci-incompatible",
        ),
        pytest.param(
            factories.make_policy(recommended=3),
            (),
            {"base": 0, "burst": 3, "reason": "ecs-full"},
            id="ask-no-ecs-nodes",
        ),
        pytest.param(
            factories.make_policy(recommended=3),
            (factories.make_node("vk", cpu=10**9, memory=10**9, pods=10**6, virtual=True),),
            {"base": 0, "burst": 3},
            id="virtual-node-is-not-ecs-room",
        ),
        pytest.param(
            factories.make_policy(recommended=3),
            (factories.make_node("n1", cpu=2000, memory=4096, unschedulable=True),),
            {"base": 0, "burst": 3},
            id="cordoned-node-is-not-room",
        ),
        pytest.param(
            factories.make_policy(recommended=3, eligible=()),
            (NODE,),
            {"base": 0, "burst": 3},
            id="no-eligible-node",
        ),
        pytest.param(
            factories.make_policy(recommended=0, min_replicas=2),
            (NODE,),
            {"desired": 2, "base": 2, "desired_reason": "min-replicas"},
            id="min-replicas",
        ),
        pytest.param(
            factories.make_policy(recommended=50, max_replicas=5),
            (NODE,),
            {"desired": 5, "base": 4, "burst": 1, "desired_reason": "max-replicas"},
            id="max-replicas",
        ),
        pytest.param(
            factories.make_policy(recommended=4, base_replicas=3, burst_replicas=3),
            (NODE,),
            {"base": 3, "burst": 1, "reason": "scale-in-burst-first"},
            id="scale-in-burst-first",
        ),
        pytest.param(
            factories.make_policy(recommended=1, base_replicas=3, burst_replicas=3),
            (NODE,),
            {"base": 1, "burst": 0, "base_reason": "scale-in", "burst_reason": "scale-in-burst-first"},
            id="scale-in-then-base",
        ),
        pytest.param(
            factories.make_policy(recommended=4, base_replicas=4, base_unschedulable=2),
            (NODE,),
            {"base": 2, "burst": 2, "base_reason": "ecs-full"},
            id="scheduler-says-unschedulable",
        ),
        pytest.param(
            factories.make_policy(recommended=4, cpu=0, memory=0),
            (factories.make_node("n1", pods=2),),
            {"base": 2, "burst": 2},
            id="zero-requests-bounded-by-pods",
        ),
        pytest.param(
            factories.make_policy(recommended=2, cpu=10**12),
            (NODE,),
            {"base": 0, "burst": 2},
            id="huge-request",
        ),
        pytest.param(
            factories.make_policy(recommended=5, burst_replicas=3, base_max=5, burst_max=1),
            (NODE,),
            {"base": 4, "burst": 1, "burst_reason": "burst-cap"},
            id="lowered-burst-cap-moves-excess",
        ),
    ],
)
def test_single_policy(policy: dict[str, Any], nodes: tuple[factories.NodeSpec, ...], expected: dict[str, Any]) -> None:
    result = plan.explain(run(policy, nodes=nodes), 0)
    assert {key: result[key] for key in expected} == expected


def test_shared_capacity_goes_by_priority_then_name() -> None:
    result = run(
        factories.make_policy("b/low", recommended=4),
        factories.make_policy("a/high", recommended=3, priority=10),
        factories.make_policy("a/low", recommended=4),
    )
    assert result.base.tolist() == [0, 3, 1]
    assert result.burst.tolist() == [4, 0, 3]


def test_pending_pods_keep_their_room() -> None:
    result = run(factories.make_policy(recommended=4), pending=(({"cpu": 500, "memory": 512}, 3),))
    assert (result.base[0], result.burst[0]) == (1, 3)


@pytest.mark.parametrize(
    ("overrides", "history_room_since", "now", "expected"),
    [
        pytest.param(
            {},
            math.nan,
            1000.0,
            {"moves_started": 2, "base": 3, "burst": 2, "reason": "drain-back"},
            id="moves-when-stable",
        ),
        pytest.param(
            {"stabilization_seconds": 60.0},
            math.nan,
            1000.0,
            {"moves_started": 0, "drain_reason": "stabilizing"},
            id="room-just-appeared",
        ),
        pytest.param({"stabilization_seconds": 60.0}, 900.0, 1000.0, {"moves_started": 2}, id="room-persisted"),
        pytest.param(
            {"min_burst_seconds": 120.0, "burst_started": [950.0, 990.0]},
            math.nan,
            1000.0,
            {"moves_started": 0, "drain_reason": "min-burst-seconds"},
            id="burst-pods-too-young",
        ),
        pytest.param(
            {"min_burst_seconds": 120.0, "burst_started": [800.0, 990.0]},
            math.nan,
            1000.0,
            {"moves_started": 1},
            id="only-old-pods-move",
        ),
        pytest.param({"max_moves_per_tick": 1}, math.nan, 1000.0, {"moves_started": 1}, id="max-moves-per-tick"),
        pytest.param(
            {"drain_enabled": False},
            math.nan,
            1000.0,
            {"moves_started": 0, "drain_reason": "drain-back-disabled"},
            id="disabled",
        ),
    ],
)
def test_drain_back_start(
    overrides: dict[str, Any], history_room_since: float, now: float, expected: dict[str, Any]
) -> None:
    policy = factories.make_policy(recommended=3, base_replicas=1, burst_replicas=2, **overrides)
    node = factories.make_node("n1", cpu=2000, memory=4096, used_cpu=500, used_memory=512, used_pods=1)
    history = snapshot.History.empty((policy["name"],))
    history.room_since[0] = history_room_since
    result = plan.explain(run(policy, nodes=(node,), now=now, history=history), 0)
    assert {key: result[key] for key in expected} == expected
    assert result["burst"] == 2  # make-before-break: burst waits for the new base pods


def _in_flight(*, base_ready: int, now: float, recommended: int = 3) -> plan.Plan:
    # A move of 2 started at t=1000: base raised 1 -> 3, burst still 2, goal: 3 base pods Ready.
    policy = factories.make_policy(
        recommended=recommended, base_replicas=3, base_ready=base_ready, burst_replicas=2, drain_timeout_seconds=300.0
    )
    node = factories.make_node("n1", cpu=2000, memory=4096, used_cpu=1500, used_memory=1536, used_pods=3)
    history = snapshot.History.empty((policy["name"],))
    history.drain_moves[0], history.drain_since[0], history.drain_ready_goal[0] = 2, 1000.0, 3
    return run(policy, nodes=(node,), now=now, history=history)


@pytest.mark.parametrize(
    ("base_ready", "now", "recommended", "expected"),
    [
        pytest.param(
            1,
            1010.0,
            3,
            {"base": 3, "burst": 2, "reason": "drain-back-waiting-ready", "drain_in_flight": 2},
            id="waiting-ready",
        ),
        pytest.param(
            3,
            1010.0,
            3,
            {"base": 3, "burst": 0, "moves_completed": 2, "reason": "drain-back", "drain_in_flight": 0},
            id="ready-then-burst-lowered",
        ),
        pytest.param(
            1,
            1400.0,
            3,
            {
                "base": 1,
                "burst": 2,
                "drain_reason": "drain-back-timeout",
                "base_reason": "ecs-full",
                "drain_in_flight": 0,
            },
            id="timeout-undoes",
        ),
        pytest.param(
            1, 1010.0, 2, {"base": 1, "burst": 1, "drain_reason": "drain-back-cancelled"}, id="scale-in-cancels"
        ),
    ],
)
def test_drain_back_in_flight(base_ready: int, now: float, recommended: int, expected: dict[str, Any]) -> None:
    result = plan.explain(_in_flight(base_ready=base_ready, now=now, recommended=recommended), 0)
    assert {key: result[key] for key in expected} == expected


def test_after_timeout_ecs_counts_as_full_for_a_while() -> None:
    first = _in_flight(base_ready=1, now=1400.0)
    policy = factories.make_policy(recommended=3, base_replicas=1, burst_replicas=2, drain_timeout_seconds=300.0)
    node = factories.make_node("n1", cpu=2000, memory=4096, used_cpu=500, used_memory=512, used_pods=1)
    again = plan.explain(run(policy, nodes=(node,), now=1410.0, history=first.history), 0)
    assert (again["moves_started"], again["drain_reason"]) == (0, "ecs-full")
    later = plan.explain(run(policy, nodes=(node,), now=1800.0, history=first.history), 0)
    assert later["moves_started"] == 2


def test_history_follows_policies_by_name() -> None:
    history = snapshot.History.empty(("x/gone", "default/web"))
    history.room_since[1] = 5.0
    aligned = history.align(("default/new", "default/web"))
    assert np.isnan(aligned.room_since[0]) and aligned.room_since[1] == 5.0


def test_invariants_hold() -> None:
    result = run(
        factories.make_policy("a/x", recommended=7, burst_max=1),
        factories.make_policy("a/y", recommended=2, min_replicas=3, max_replicas=5),
    )
    assert np.all(result.base + result.burst + result.unplaceable == result.desired)


FULL = factories.make_node("n1", cpu=2000, memory=4096, used_cpu=2000, used_memory=2048, used_pods=4)
HALF = factories.make_node("n1", cpu=2000, memory=4096, used_cpu=1000, used_memory=1024, used_pods=2)


def _degraded(
    policy: dict[str, Any],
    *,
    failed: int,
    node: factories.NodeSpec,
    held_until: float = -math.inf,
    growable: bool = False,
) -> plan.Plan:
    # One policy whose twin reports `failed` pods failed with a provider reason (cluster.burst_health).
    history = snapshot.History.empty((policy["name"],))
    history.burst_failed_until[0] = held_until
    economics = [factories.make_economics(pool_growable=growable)] if growable else None
    snap = factories.make_snapshot(nodes=(node,), policies=(policy,), history=history, economics=economics)
    pols = dataclasses.replace(snap.policies, burst_failed=np.array([failed], dtype=np.int64))
    return plan.plan(dataclasses.replace(snap, policies=pols), now=1000.0)


@pytest.mark.parametrize(
    ("overrides", "failed", "node", "held_until", "growable", "expected"),
    [
        pytest.param(
            {"recommended": 6, "base_replicas": 2, "burst_replicas": 4, "burst_ready": 2},
            2,
            HALF,
            -math.inf,
            False,
            {"base": 4, "burst": 2, "unplaceable": 0, "burst_reason": "burst-degraded", "hold": 1300.0},
            id="ecs-takes-the-failed-pods",
        ),
        pytest.param(
            {"recommended": 8, "base_replicas": 4, "burst_replicas": 4, "burst_ready": 1},
            3,
            FULL,
            -math.inf,
            False,
            {"base": 4, "burst": 1, "unplaceable": 3, "reason": "unplaceable", "burst_reason": "burst-degraded"},
            id="no-home-is-unplaceable",
        ),
        pytest.param(
            {"recommended": 8, "base_replicas": 4, "burst_replicas": 4, "burst_ready": 0},
            4,
            FULL,
            -math.inf,
            True,
            {"base": 8, "burst": 0, "unplaceable": 0, "base_reason": "waiting-for-node", "hold": 1300.0},
            id="growable-pool-waits-for-a-node",
        ),
        pytest.param(
            {"recommended": 8, "base_replicas": 4, "burst_replicas": 1},
            0,
            FULL,
            1100.0,
            False,
            {"burst": 1, "unplaceable": 3, "burst_reason": "burst-degraded", "hold": 1100.0},
            id="held-not-grown-into-the-refusing-node",
        ),
        pytest.param(
            {"recommended": 8, "base_replicas": 4, "burst_replicas": 1},
            0,
            FULL,
            900.0,
            False,
            {"burst": 4, "unplaceable": 0, "burst_reason": "ecs-full", "hold": -math.inf},
            id="hold-over-burst-grows-again",
        ),
        pytest.param(
            {"recommended": 8, "base_replicas": 4, "burst_replicas": 4, "burst_ready": 1},
            0,
            FULL,
            -math.inf,
            False,
            {"burst": 4, "unplaceable": 0, "hold": -math.inf},
            id="starting-pods-are-not-failed",
        ),
        pytest.param(
            {"recommended": 8, "base_replicas": 4, "burst_replicas": 4, "burst_ready": 3},
            3,
            FULL,
            -math.inf,
            False,
            {"burst": 3, "unplaceable": 1, "burst_reason": "burst-degraded"},
            id="lingering-failed-pods-count-once",
        ),
        pytest.param(
            {"recommended": 3, "base_replicas": 4, "burst_replicas": 4, "burst_ready": 2},
            2,
            FULL,
            -math.inf,
            False,
            {"base": 3, "burst": 0, "unplaceable": 0, "burst_reason": "scale-in-burst-first"},
            id="scale-in-drops-the-rest",
        ),
    ],
)
def test_failed_burst_pods(
    overrides: dict[str, Any],
    failed: int,
    node: factories.NodeSpec,
    held_until: float,
    growable: bool,
    expected: dict[str, Any],
) -> None:
    policy = factories.make_policy(drain_enabled=False, burst_cost_per_second=0.001, **overrides)
    result = _degraded(policy, failed=failed, node=node, held_until=held_until, growable=growable)
    got = {**plan.explain(result, 0), "hold": float(result.history.burst_failed_until[0])}
    assert {key: got[key] for key in expected} == expected
    assert result.base[0] + result.burst[0] + result.unplaceable[0] == result.desired[0]
