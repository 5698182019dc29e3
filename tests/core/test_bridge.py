"""The bridge (placeholders on a growable pool) and drain-back by cost, one scenario per row.

The prices are round so the thresholds can be read off: a burst replica costs e = 0.001 per second
on ECI, its share of an added node c = 0.0004; with the API's defaults (boot B = 180 s, scale-down
delay D = 600 s, churn m = e * 60 s = 0.06) the break-even is R* = (0.18 + 0.24 + 0.06) / 0.0006
= 800 s, and a move back pays on a fixed pool after 60 s of burst, on a growable pool after 100 s.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest

from burstscaler.core import bridge, plan, snapshot
from tests.core import factories

NOW = 10_000.0
ECI = 0.001
FULL = factories.make_node("n1", cpu=1000, memory=4096, used_cpu=1000, used_memory=1024, used_pods=2)
ROOM = factories.make_node("n1", cpu=2000, memory=4096, used_cpu=500, used_memory=512, used_pods=1)  # 3 more


def run(
    policy: dict[str, Any],
    economics: dict[str, Any] | None,
    *,
    nodes: tuple[factories.NodeSpec, ...] = (FULL,),
    burst_since: float = math.nan,
    history: snapshot.History | None = None,
    now: float = NOW,
) -> dict[str, Any]:
    if history is None:
        history = snapshot.History.empty((policy["name"],))
        history.burst_since[0] = burst_since
    snap = factories.make_snapshot(
        nodes=nodes, policies=[policy], history=history, economics=None if economics is None else [economics]
    )
    return plan.explain(plan.plan(snap, now=now), 0)


def bursting(**overrides: Any) -> dict[str, Any]:
    """2 base replicas on a full node, 8 on burst, steady."""
    fields: dict[str, Any] = {
        "recommended": 10,
        "base_replicas": 2,
        "burst_replicas": 8,
        "burst_cost_per_second": ECI,
        "burst_started": [NOW - 5000.0] * 8,
    }
    return factories.make_policy(**{**fields, **overrides})


@pytest.mark.parametrize(
    ("eci", "ecs", "boot", "delay", "churn"),
    [
        pytest.param(ECI, 0.0004, 180.0, 600.0, 0.06, id="defaults"),
        pytest.param(ECI, 0.0, 180.0, 600.0, 0.06, id="free-node"),
        pytest.param(0.002, 0.0019, 30.0, 0.0, 0.0, id="thin-margin"),
        pytest.param(ECI, 0.0004, 0.0, 0.0, 0.5, id="churn-only"),
    ],
)
def test_break_even_is_where_buying_a_node_costs_what_staying_on_eci_does(
    eci: float, ecs: float, boot: float, delay: float, churn: float
) -> None:
    # Derived from the bills, not from the formula: staying costs e*R; buying costs the ECI pod
    # through the boot, the node from its creation until D after the burst, and one move.
    def stay(rest: float) -> float:
        return eci * rest

    def buy(rest: float) -> float:
        return eci * boot + ecs * boot + ecs * (rest - boot) + churn + ecs * delay

    def one(value: float) -> Any:
        return np.array([value])

    horizon = float(
        bridge.break_even(eci=one(eci), ecs=one(ecs), boot=one(boot), scale_down_delay=one(delay), churn=one(churn))[0]
    )
    assert horizon >= boot
    assert stay(horizon) == pytest.approx(buy(horizon))
    assert stay(horizon * 0.99) < buy(horizon * 0.99)
    assert stay(horizon * 1.01) > buy(horizon * 1.01)


def test_no_break_even_where_ecs_is_not_cheaper() -> None:
    one = np.array([1.0])
    horizon = bridge.break_even(eci=one * ECI, ecs=one * ECI, boot=one, scale_down_delay=one, churn=one)
    assert np.isinf(horizon).all()


@pytest.mark.parametrize(
    ("policy", "economics", "burst_since", "expected"),
    [
        pytest.param(bursting(), {}, NOW - 790.0, (0, "placeholders-not-worth-it"), id="below-break-even"),
        pytest.param(bursting(), {}, NOW - 810.0, (8, "placeholders"), id="above-break-even"),
        pytest.param(
            bursting(), {"window_ends": NOW + 900.0}, NOW - 10.0, (8, "placeholders"), id="window-raises-expectation"
        ),
        pytest.param(
            bursting(), {"window_ends": NOW - 1.0}, NOW - 10.0, (0, "placeholders-not-worth-it"), id="window-over"
        ),
        pytest.param(
            bursting(), {"ecs_cost_per_second": ECI}, NOW - 5000.0, (0, "placeholders-not-worth-it"), id="ecs-as-dear"
        ),
        pytest.param(
            bursting(), {"ecs_cost_per_second": math.nan}, NOW - 5000.0, (0, "no-node-growth"), id="ecs-unpriced"
        ),
        pytest.param(bursting(), {"pool_growable": False}, NOW - 5000.0, (0, "no-node-growth"), id="fixed-pool"),
        pytest.param(bursting(), None, NOW - 5000.0, (0, "no-node-growth"), id="no-economics"),
        pytest.param(bursting(base_max=5), {}, NOW - 5000.0, (3, "base-cap"), id="base-cap"),
        pytest.param(bursting(), {"max_placeholders": 2}, NOW - 5000.0, (2, "placeholder-cap"), id="placeholder-cap"),
        pytest.param(
            # 8 burst replicas at 0.001 plus 3 placeholders at 0.0004 = 0.0092 <= 0.0095 < 0.0096.
            bursting(max_cost_per_second=0.0095),
            {},
            NOW - 5000.0,
            (3, "budget"),
            id="budget-counts-both",
        ),
        pytest.param(
            bursting(recommended=2, burst_replicas=0, burst_started=[]),
            {},
            NOW - 5000.0,
            (0, "steady"),
            id="no-burst-no-placeholders",
        ),
        pytest.param(
            bursting(recommended=2),
            {"placeholders": 8},
            NOW - 5000.0,
            (0, "steady"),
            id="burst-over-placeholders-go",
        ),
        pytest.param(
            bursting(recommended=6), {}, NOW - 5000.0, (4, "placeholders"), id="never-more-than-the-burst-target"
        ),
        pytest.param(bursting(), {"placeholders": 8}, NOW - 700.0, (8, "placeholders"), id="hysteresis-keeps-existing"),
        pytest.param(
            bursting(burst_started=[NOW - 900.0] * 8),
            {},
            math.nan,
            (8, "placeholders"),
            id="age-from-pods-after-restart",
        ),
    ],
)
def test_placeholders(
    policy: dict[str, Any], economics: dict[str, Any] | None, burst_since: float, expected: tuple[int, str]
) -> None:
    row = None if economics is None else factories.make_economics(**economics)
    result = run(policy, row, burst_since=burst_since)
    assert (result["placeholders"], result["placeholder_reason"]) == expected
    assert (result["base"], result["burst"]) == (2, policy["recommended"] - 2)  # the bridge changes no target


def test_burst_since_is_kept_while_the_burst_lasts() -> None:
    quiet = plan.plan(
        factories.make_snapshot(nodes=(FULL,), policies=[bursting(recommended=2, burst_replicas=0, burst_started=[])]),
        now=NOW - 100,
    )
    assert np.isnan(quiet.history.burst_since[0])
    snap = factories.make_snapshot(
        nodes=(FULL,),
        policies=[bursting(recommended=10, burst_replicas=0, burst_started=[])],
        history=quiet.history,
    )
    started = plan.plan(snap, now=NOW)
    assert int(started.burst[0]) == 8 and started.history.burst_since[0] == NOW
    later = plan.plan(
        factories.make_snapshot(nodes=(FULL,), policies=[bursting()], history=started.history), now=NOW + 300
    )
    assert later.history.burst_since[0] == NOW
    over = plan.plan(
        factories.make_snapshot(nodes=(FULL,), policies=[bursting(recommended=2)], history=later.history), now=NOW + 600
    )
    assert int(over.burst[0]) == 0 and np.isnan(over.history.burst_since[0])


def draining(**overrides: Any) -> dict[str, Any]:
    """1 base replica and 2 burst on a node with room for 3 more: a move of 2 is possible."""
    fields: dict[str, Any] = {
        "recommended": 3,
        "base_replicas": 1,
        "burst_replicas": 2,
        "burst_cost_per_second": ECI,
    }
    return factories.make_policy(**{**fields, **overrides})


@pytest.mark.parametrize(
    ("policy", "economics", "burst_since", "expected"),
    [
        pytest.param(draining(), None, NOW - 10.0, (2, "drain-back"), id="no-economics-moves-as-v0.1"),
        pytest.param(
            draining(), {"pool_growable": False}, NOW - 59.0, (0, "drain-back-not-worth-it"), id="fixed-young-burst"
        ),
        pytest.param(draining(), {"pool_growable": False}, NOW - 61.0, (2, "drain-back"), id="fixed-past-one-startup"),
        pytest.param(draining(), {}, NOW - 99.0, (0, "drain-back-not-worth-it"), id="growable-below-break-even"),
        pytest.param(draining(), {}, NOW - 101.0, (2, "drain-back"), id="growable-past-break-even"),
        pytest.param(
            draining(), {"min_savings": 0.5}, NOW - 800.0, (0, "drain-back-not-worth-it"), id="min-savings-not-met"
        ),
        pytest.param(draining(), {"min_savings": 0.5}, NOW - 900.0, (2, "drain-back"), id="min-savings-met"),
        pytest.param(
            draining(), {"window_ends": NOW + 3600.0}, NOW - 10.0, (2, "drain-back"), id="window-says-it-lasts"
        ),
        pytest.param(
            draining(), {"ecs_cost_per_second": 0.002}, NOW - 5000.0, (0, "drain-back-not-worth-it"), id="ecs-dearer"
        ),
        pytest.param(
            draining(burst_cost_per_second=0.0),
            {"pool_growable": False},
            NOW - 10.0,
            (2, "drain-back"),
            id="no-churn-cannot-lose",
        ),
    ],
)
def test_drain_back_by_cost(
    policy: dict[str, Any], economics: dict[str, Any] | None, burst_since: float, expected: tuple[int, str]
) -> None:
    row = None if economics is None else factories.make_economics(**economics)
    result = run(policy, row, nodes=(ROOM,), burst_since=burst_since)
    assert (result["moves_started"], result["drain_reason"]) == expected
    assert result["burst"] == 2  # make-before-break either way


def test_scale_in_takes_burst_first_when_a_move_is_not_worth_it() -> None:
    steady = run(draining(), factories.make_economics(), nodes=(ROOM,), burst_since=NOW - 10.0)
    assert (steady["base"], steady["burst"], steady["reason"]) == (1, 2, "drain-back-not-worth-it")
    shrunk = run(draining(recommended=2), factories.make_economics(), nodes=(ROOM,), burst_since=NOW - 10.0)
    assert (shrunk["base"], shrunk["burst"], shrunk["reason"]) == (1, 1, "scale-in-burst-first")


# A node the autoscaler added for 3 placeholders is Ready: its room is free (placeholders are not in
# `requested`), 3 of the 8 placeholders are bound, stabilization would ask for 60 s of room.
ADDED = (FULL, factories.make_node("added", cpu=1500, memory=4096))


@pytest.mark.parametrize(
    ("economics", "room_since", "expected"),
    [
        pytest.param(
            {"placeholders": 8, "placeholders_bound": 3},
            math.nan,
            {"moves_started": 3, "base": 5, "burst": 8, "placeholders": 5, "drain_reason": "drain-back"},
            id="bound-room-moves-at-once-and-placeholders-drop",
        ),
        pytest.param(
            {"placeholders": 8, "placeholders_bound": 0},
            math.nan,
            {"moves_started": 0, "placeholders": 8, "drain_reason": "stabilizing"},
            id="unbought-room-waits-to-persist",
        ),
        pytest.param(
            {"placeholders": 8, "placeholders_bound": 1},
            math.nan,
            {"moves_started": 1, "placeholders": 7},
            id="only-bound-room-skips-stabilization",
        ),
        pytest.param(
            {"placeholders": 8, "placeholders_bound": 0},
            NOW - 120.0,
            {"moves_started": 3, "placeholders": 5},
            id="persisted-room-moves",
        ),
    ],
)
def test_bound_placeholders_become_moves(
    economics: dict[str, Any], room_since: float, expected: dict[str, Any]
) -> None:
    policy = bursting(stabilization_seconds=60.0, max_moves_per_tick=10)
    history = snapshot.History.empty((policy["name"],))
    history.burst_since[0], history.room_since[0] = NOW - 5000.0, room_since
    result = run(policy, factories.make_economics(**economics), nodes=ADDED, history=history)
    assert {key: result[key] for key in expected} == expected


def test_moves_in_flight_are_not_given_placeholders() -> None:
    # A move of 3 is waiting for its base pods: base 5 (2 + 3 surge), burst still 8.
    policy = bursting(base_replicas=5, base_ready=2, burst_started=[NOW - 5000.0] * 8)
    history = snapshot.History.empty((policy["name"],))
    history.burst_since[0] = NOW - 5000.0
    history.drain_moves[0], history.drain_since[0], history.drain_ready_goal[0] = 3, NOW - 10.0, 5
    node = factories.make_node("n1", cpu=2500, memory=4096, used_cpu=2500, used_memory=1024, used_pods=5)
    result = run(policy, factories.make_economics(placeholders=8, placeholders_bound=3), nodes=(node,), history=history)
    assert (result["reason"], result["burst"], result["placeholders"]) == ("drain-back-waiting-ready", 8, 5)


@pytest.mark.parametrize(
    ("policy", "economics", "expected"),
    [
        pytest.param(
            factories.make_policy(recommended=6, burst_enabled=False),
            None,
            {"base": 4, "unplaceable": 2, "base_reason": "ecs-full"},
            id="fixed-pool-unplaceable",
        ),
        pytest.param(
            factories.make_policy(recommended=6, burst_enabled=False),
            {},
            {"base": 6, "burst": 0, "unplaceable": 0, "base_reason": "waiting-for-node"},
            id="growable-asks-ecs-anyway",
        ),
        pytest.param(
            factories.make_policy(recommended=6, burst_enabled=False, base_max=5),
            {},
            {"base": 5, "unplaceable": 1, "reason": "unplaceable"},
            id="growable-within-base-cap",
        ),
        pytest.param(
            factories.make_policy(recommended=9, burst_max=3),
            {},
            {"base": 6, "burst": 3, "unplaceable": 0, "burst_reason": "burst-cap"},
            id="growable-beyond-burst-cap",
        ),
        pytest.param(
            factories.make_policy(recommended=6),
            {},
            {"base": 4, "burst": 2, "base_reason": "ecs-full"},
            id="growable-with-burst-bursts-first",
        ),
        pytest.param(
            factories.make_policy(recommended=6, base_replicas=6, base_unschedulable=2, burst_enabled=False),
            {},
            {"base": 6, "unplaceable": 0, "base_reason": "waiting-for-node"},
            id="unschedulable-wait-for-a-node",
        ),
        pytest.param(
            factories.make_policy(recommended=6, base_replicas=6, base_unschedulable=2, burst_enabled=False),
            None,
            {"base": 4, "unplaceable": 2, "base_reason": "ecs-full"},
            id="unschedulable-on-a-fixed-pool-leave",
        ),
        pytest.param(
            factories.make_policy(recommended=6, base_replicas=6, base_unschedulable=2),
            {},
            {"base": 4, "burst": 2, "base_reason": "ecs-full"},
            id="unschedulable-burst-when-burst-can",
        ),
    ],
)
def test_growable_pool_without_burst(
    policy: dict[str, Any], economics: dict[str, Any] | None, expected: dict[str, Any]
) -> None:
    node = factories.make_node("n1", cpu=2000, memory=4096)  # room for 4 replicas of 500m
    row = None if economics is None else factories.make_economics(**economics)
    result = run(policy, row, nodes=(node,))
    assert {key: result[key] for key in expected} == expected


ONE_MORE = factories.make_node("n0", cpu=1000, memory=4096, used_cpu=500, used_memory=512, used_pods=1)


@pytest.mark.parametrize(
    ("paid", "economics", "expected"),
    [
        pytest.param(None, {"ecs_cost_per_second": 0.002}, (0, "drain-back-not-worth-it"), id="nothing-known-paid"),
        pytest.param([True, False], {"ecs_cost_per_second": 0.002}, (1, "drain-back"), id="onto-paid-room-only"),
        pytest.param([True, True], {"ecs_cost_per_second": 0.002}, (2, "drain-back"), id="every-node-paid"),
        pytest.param([False, False], {"ecs_cost_per_second": 0.002}, (0, "drain-back-not-worth-it"), id="none-paid"),
        pytest.param([True, False], {"ecs_cost_per_second": 0.0004}, (2, "drain-back"), id="removable-room-pays-too"),
        pytest.param(
            [True, False], {"ecs_cost_per_second": 0.002, "pool_growable": False}, (2, "drain-back"), id="fixed-pool"
        ),
    ],
)
def test_room_on_paid_nodes_costs_a_move_nothing_on_a_growable_pool(
    paid: list[bool] | None, economics: dict[str, Any], expected: tuple[int, str]
) -> None:
    # A growable pool's subscription nodes are paid whether used or not: a move onto their room saves the
    # whole ECI price even where an added node's share is dearer than ECI (the sourced prices).
    snap = factories.make_snapshot(
        nodes=(ONE_MORE, ROOM), policies=[draining()], economics=[factories.make_economics(**economics)]
    )
    snap.history.burst_since[0] = NOW - 5000.0
    if paid is not None:
        snap = dataclasses.replace(snap, nodes=dataclasses.replace(snap.nodes, paid=np.array(paid)))
    result = plan.explain(plan.plan(snap, now=NOW), 0)
    assert (result["moves_started"], result["drain_reason"]) == expected
