"""The vectorized core agrees with the plain-Python reference on random clusters (hypothesis).

Random clusters include the corners that break vectorized code: no nodes, no ECS nodes (ASK), no
eligible node, zero and huge requests, cordoned and virtual nodes, pending pods, drain-back moves in
flight, lowered caps and budgets, inter-pod terms (one per policy: anti-affinity, affinity or a
hard spread, over hostname-like, zone-like or partly missing domains, matching the policy's own
replicas or not), a learned cap from an earlier failed prediction, and economics (none, the fixed
pool, or growable pools with ECS dearer or cheaper than ECI or unpriced, bursts young and old,
schedule windows, existing and bound placeholders, caps on them). The same clusters with zones and
the policies' own pods are planned with the default-profile walk too (``plan(spread=True)``).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from burstscaler.core import placement, plan, reasons, snapshot, topology
from tests.core import factories, reference_plan

NOW = 1000.0
request = st.sampled_from([0.0, 100.0, 250.0, 500.0, 1000.0, 10.0**12])


@st.composite
def nodes(draw: st.DrawFn) -> list[factories.NodeSpec]:
    count = draw(st.integers(0, 6))
    result = []
    for i in range(count):
        cpu = draw(st.sampled_from([0.0, 1000.0, 2000.0, 4000.0]))
        result.append(
            factories.make_node(
                f"n{i}",
                cpu=cpu,
                memory=draw(st.sampled_from([0.0, 1024.0, 4096.0])),
                pods=draw(st.integers(0, 8)),
                used_cpu=draw(st.sampled_from([0.0, 500.0, cpu + 100])),
                used_pods=draw(st.integers(0, 3)),
                virtual=draw(st.booleans()) and draw(st.booleans()),
                unschedulable=draw(st.booleans()) and draw(st.booleans()),
            )
        )
    return result


@st.composite
def policies(draw: st.DrawFn, node_names: list[str]) -> list[dict[str, Any]]:
    count = draw(st.integers(0, 5))
    result = []
    for i in range(count):
        burst = draw(st.integers(0, 6))
        base = draw(st.integers(0, 6))
        result.append(
            factories.make_policy(
                f"ns/p{draw(st.integers(0, 3))}{i}",
                cpu=draw(request),
                memory=draw(st.sampled_from([0.0, 256.0, 1024.0])),
                recommended=draw(st.integers(0, 15)),
                min_replicas=draw(st.integers(0, 3)),
                max_replicas=draw(st.sampled_from([snapshot.UNLIMITED, 4, 10])),
                base_replicas=base,
                base_ready=draw(st.integers(0, base)),
                base_unschedulable=draw(st.sampled_from([0, 0, 1, 2])),
                burst_replicas=burst,
                base_max=draw(st.sampled_from([snapshot.UNLIMITED, 0, 3])),
                burst_max=draw(st.sampled_from([snapshot.UNLIMITED, 0, 2, 5])),
                burst_enabled=draw(st.booleans()) or draw(st.booleans()),
                eci_compatible=draw(st.booleans()) or draw(st.booleans()),
                max_cost_per_second=draw(st.sampled_from([math.inf, 0.0, 1.0])),
                burst_cost_per_second=draw(st.sampled_from([0.3, 0.0])),
                priority=draw(st.integers(0, 2)),
                drain_enabled=draw(st.booleans()) or draw(st.booleans()),
                min_burst_seconds=draw(st.sampled_from([0.0, 100.0])),
                stabilization_seconds=draw(st.sampled_from([0.0, 60.0])),
                max_moves_per_tick=draw(st.integers(0, 3)),
                drain_timeout_seconds=draw(st.sampled_from([30.0, 300.0])),
                eligible=draw(st.none() | st.lists(st.sampled_from(node_names), max_size=3)) if node_names else None,
                burst_started=draw(st.lists(st.sampled_from([0.0, 950.0, 1000.0]), min_size=burst, max_size=burst)),
            )
        )
    # Names are unique in a cluster: keep the first of duplicates.
    seen: set[str] = set()
    return [p for p in result if not (p["name"] in seen or seen.add(p["name"]))]  # type: ignore[func-returns-value]


@st.composite
def snapshots(draw: st.DrawFn) -> snapshot.Snapshot:
    cluster = draw(nodes())
    pols = draw(policies([n.name for n in cluster]))
    names = tuple(p["name"] for p in pols)
    history = snapshot.History.empty(names)
    for row in range(len(names)):
        history.room_since[row] = draw(st.sampled_from([math.nan, 900.0, 990.0]))
        if draw(st.booleans()) and draw(st.booleans()):
            history.drain_moves[row] = draw(st.integers(1, 3))
            history.drain_since[row] = draw(st.sampled_from([800.0, 990.0]))
            history.drain_ready_goal[row] = draw(st.integers(0, 6))
        history.ecs_full_until[row] = draw(st.sampled_from([-math.inf, 1100.0]))
        history.burst_failed_until[row] = draw(st.sampled_from([-math.inf, 900.0, 1100.0]))
        history.learned_cap[row] = draw(st.sampled_from([snapshot.UNLIMITED, snapshot.UNLIMITED, 0, 2, 5]))
        history.learned_fit[row] = draw(st.sampled_from([0, 3, 10**6]))
    pending = draw(st.lists(st.tuples(st.fixed_dictionaries({"cpu": request}), st.integers(0, 4)), max_size=2))
    snap = factories.make_snapshot(nodes=cluster, policies=pols, history=history, pending=pending)
    # Learned caps keyed to the policy's request row, or to another one (then forgotten).
    for row in range(len(names)):
        same = draw(st.booleans())
        history.learned_key[row] = hash(tuple(snap.policies.requests[row].tolist())) if same else 7
        history.burst_since[row] = draw(st.sampled_from([990.0, math.nan, 0.0, 400.0, math.nan]))
    terms = [draw(term_of(row, len(cluster))) for row in range(len(names)) if draw(st.booleans())]
    snap = dataclasses.replace(snap, policies=draw(burst_failures_of(snap.policies)))
    return dataclasses.replace(
        snap,
        nodes=draw(paid_of(snap.nodes)),
        topology=snapshot.Topology(terms=tuple(terms)),
        economics=draw(economics_of(len(names))),
    )


@st.composite
def burst_failures_of(draw: st.DrawFn, pols: snapshot.Policies) -> snapshot.Policies:
    # Twin pods not Ready, some of them failed with a provider reason (more than not Ready at times:
    # Failed pods linger); or no failures known at all (None).
    if draw(st.booleans()):
        return pols
    ready = np.array([draw(st.integers(0, int(r))) for r in pols.burst_replicas], dtype=np.int64)
    failed = np.array([draw(st.integers(0, int(r) + 1)) for r in pols.burst_replicas], dtype=np.int64)
    return dataclasses.replace(pols, burst_ready=ready.reshape(len(pols)), burst_failed=failed.reshape(len(pols)))


@st.composite
def paid_of(draw: st.DrawFn, nodes_: snapshot.Nodes) -> snapshot.Nodes:
    # Which nodes are paid whether used or not: unknown (None), or drawn per node (some, all, none).
    n = len(nodes_.names)
    if draw(st.booleans()):
        return nodes_
    flags = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    return dataclasses.replace(nodes_, paid=np.array(flags, dtype=np.bool_))


@st.composite
def economics_of(draw: st.DrawFn, count: int) -> snapshot.Economics | None:
    # Hypothesis favours the first of a list: the drawn economics come first, so they are not rare.
    kind = draw(st.sampled_from(["drawn", "none", "drawn", "fixed"]))
    if kind == "none":
        return None
    if kind == "fixed":
        return snapshot.Economics.fixed_pool(count)

    def floats(values: list[float]) -> Any:
        return np.array([draw(st.sampled_from(values)) for _ in range(count)], dtype=np.float64)

    def ints(values: list[int]) -> Any:
        return np.array([draw(st.sampled_from(values)) for _ in range(count)], dtype=np.int64)

    return snapshot.Economics(
        pool_growable=np.array([not (draw(st.booleans()) and draw(st.booleans())) for _ in range(count)], dtype=bool),
        # Against a burst price of 0 or 0.3 per second: cheaper (most), equal, dearer, unpriced.
        ecs_cost_per_second=floats([0.1, 0.0, 0.1, 0.3, 0.5, math.nan]),
        node_boot_seconds=floats([180.0, 0.0]),
        scale_down_delay_seconds=floats([600.0, 0.0]),
        pod_startup_seconds=floats([60.0, 0.0]),
        min_savings=floats([math.nan, math.nan, 0.0, 50.0]),
        max_placeholders=ints([snapshot.UNLIMITED, 2, 0]),
        placeholders=ints([0, 0, 1, 3]),
        placeholders_bound=ints([0, 0, 1, 2]),
        window_ends=floats([math.nan, math.nan, 900.0, 5000.0]),
    )


@st.composite
def term_of(draw: st.DrawFn, policy: int, node_count: int) -> snapshot.Term:
    layout = draw(st.sampled_from(["hostname", "zone", "partial"]))
    if layout == "hostname":
        domain = list(range(node_count))
    elif layout == "zone":
        domain = [n % 2 for n in range(node_count)]
    else:
        domain = [draw(st.sampled_from([-1, 0, 1])) for _ in range(node_count)]
    size = max(domain, default=-1) + 1
    if layout == "partial":
        size = max(size, 1)
    return snapshot.Term(
        policy=policy,
        kind=draw(st.sampled_from(["anti", "affinity", "spread"])),
        domain=np.array(domain, dtype=np.int64).reshape(node_count),
        existing=np.array([draw(st.integers(0, 2)) for _ in range(size)], dtype=np.int64),
        self_match=draw(st.booleans()) or draw(st.booleans()),
        max_skew=draw(st.integers(1, 2)),
        min_domains=draw(st.integers(1, 3)),
    )


@st.composite
def scoring_of(draw: st.DrawFn, nodes_: int, count: int) -> snapshot.Scoring | None:
    # Zones (some nodes without the label), templates with and without the default spread, own pods.
    if draw(st.booleans()) and draw(st.booleans()):
        return None
    own = []
    if nodes_ and count:
        own = draw(
            st.lists(st.tuples(st.integers(0, count - 1), st.integers(0, nodes_ - 1), st.integers(1, 3)), max_size=6)
        )
    return snapshot.Scoring(
        zone=np.array([draw(st.sampled_from([-1, 0, 1, 2])) for _ in range(nodes_)], dtype=np.int64).reshape(nodes_),
        default_spread=np.array([draw(st.booleans()) or draw(st.booleans()) for _ in range(count)], dtype=bool).reshape(
            count
        ),
        own_policy=np.array([p for p, _, _ in own], dtype=np.int64),
        own_node=np.array([n for _, n, _ in own], dtype=np.int64),
        own_count=np.array([k for _, _, k in own], dtype=np.int64),
    )


@settings(max_examples=150, deadline=None)
@given(snapshots())
def test_core_agrees_with_reference(snap: snapshot.Snapshot) -> None:
    assert_agree(snap)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_the_default_profile_walk_agrees_with_reference(data: st.DataObject) -> None:
    snap = data.draw(snapshots())
    scoring = data.draw(scoring_of(len(snap.nodes.names), len(snap.policies)))
    assert_agree(dataclasses.replace(snap, scoring=scoring), spread=True)


def assert_agree(snap: snapshot.Snapshot, *, spread: bool = False) -> None:
    """The core's plan and the reference's are the same, field by field."""
    fast = plan.plan(snap, now=NOW, spread=spread)
    slow = reference_plan.plan(snap, now=NOW, spread=spread)
    for field in ("desired", "base", "burst", "moves_started", "moves_completed", "unplaceable"):
        assert getattr(fast, field).tolist() == slow[field], field
    assert fast.history.drain_moves.tolist() == slow["drain_moves"]
    assert fast.history.drain_ready_goal.tolist() == slow["drain_ready_goal"]
    assert fast.history.learned_cap.tolist() == slow["learned_cap"]
    np.testing.assert_array_equal(fast.history.room_since, np.array(slow["room_since"], dtype=float))
    np.testing.assert_array_equal(fast.history.burst_since, np.array(slow["burst_since"], dtype=float))
    np.testing.assert_array_equal(fast.history.burst_failed_until, np.array(slow["burst_failed_until"], dtype=float))
    assert fast.placeholders.tolist() == slow["placeholders"]
    assert [str(reasons.Reason.from_code(code)) for code in fast.placeholder_reason] == slow["placeholder_reason"]


@st.composite
def bursting(draw: st.DrawFn) -> snapshot.Snapshot:
    # Policies already bursting beside ECS room, every one with drawn economics: the paths of the
    # bridge and of the cost-based drain-back that random clusters rarely reach.
    cluster = [
        factories.make_node(f"n{i}", cpu=4000, used_cpu=draw(st.sampled_from([0.0, 2000.0, 4000.0])))
        for i in range(draw(st.integers(0, 3)))
    ]
    pols = []
    for i in range(draw(st.integers(1, 4))):
        burst, base = draw(st.integers(1, 6)), draw(st.integers(0, 4))
        pols.append(
            factories.make_policy(
                f"ns/b{i}",
                recommended=base + burst + draw(st.integers(0, 4) | st.integers(-2, -1)),
                base_replicas=base,
                burst_replicas=burst,
                base_max=draw(st.sampled_from([snapshot.UNLIMITED, base + burst, base + 1])),
                burst_max=draw(st.sampled_from([snapshot.UNLIMITED, 3])),
                burst_enabled=draw(st.booleans()) or draw(st.booleans()),
                max_cost_per_second=draw(st.sampled_from([math.inf, 2.0, 1.0])),
                burst_cost_per_second=draw(st.sampled_from([0.3, 0.0])),
                stabilization_seconds=draw(st.sampled_from([0.0, 60.0])),
                max_moves_per_tick=draw(st.integers(1, 3)),
                burst_started=draw(st.lists(st.sampled_from([0.0, 950.0]), min_size=burst, max_size=burst)),
            )
        )
    names = tuple(p["name"] for p in pols)
    history = snapshot.History.empty(names)
    for row in range(len(names)):
        history.room_since[row] = draw(st.sampled_from([math.nan, 900.0]))
        history.burst_since[row] = draw(st.integers(0, 1000).map(float) | st.just(math.nan))
    snap = factories.make_snapshot(nodes=cluster, policies=pols, history=history)
    return dataclasses.replace(snap, nodes=draw(paid_of(snap.nodes)), economics=draw(economics_of(len(names))))


@settings(max_examples=120, deadline=None)
@given(bursting())
def test_core_agrees_with_reference_while_bursting(snap: snapshot.Snapshot) -> None:
    assert_agree(snap)


@settings(max_examples=100, deadline=None)
@given(snapshots())
def test_plan_invariants(snap: snapshot.Snapshot) -> None:
    result = plan.plan(snap, now=NOW)
    pol = snap.policies
    surge = result.history.drain_moves * (result.moves_started == 0)
    in_flight = result.history.drain_moves
    assert np.all(result.base + result.burst + result.unplaceable - in_flight == result.desired)
    assert np.all(
        (result.desired >= np.minimum(pol.min_replicas, pol.max_replicas)) & (result.desired <= pol.max_replicas)
    )
    assert np.all(result.base - surge <= np.maximum(pol.base_max, pol.base_replicas))
    assert np.all((result.base >= 0) & (result.burst >= 0) & (result.unplaceable >= 0))
    assert np.all(result.burst <= np.maximum(np.where(pol.burst_enabled & pol.eci_compatible, pol.burst_max, 0), 0))
    # The bridge: never more placeholders than burst replicas not being moved, none without burst,
    # within base.maxReplicas and the budget (both paid while a node boots).
    assert np.all((result.placeholders >= 0) & (result.placeholders <= result.burst - in_flight))
    assert np.all((result.placeholders == 0) | (result.base + result.placeholders <= pol.base_max))
    if snap.economics is None:
        assert not result.placeholders.any()
    else:
        c = snap.economics.ecs_cost_per_second
        spent = result.burst * pol.burst_cost_per_second + result.placeholders * np.nan_to_num(c)
        assert np.all((result.placeholders == 0) | (spent <= pol.max_cost_per_second + 1e-9))
        assert np.all(result.placeholders <= np.maximum(snap.economics.max_placeholders, 0))


@settings(max_examples=30, deadline=None)
@given(snapshots())
def test_the_fixed_pool_is_no_economics(snap: snapshot.Snapshot) -> None:
    # Economics.fixed_pool (no growth, no prices) plans exactly as no economics at all: the v0.1 plan.
    count = len(snap.policies)
    none = plan.plan(dataclasses.replace(snap, economics=None), now=NOW)
    fixed = plan.plan(dataclasses.replace(snap, economics=snapshot.Economics.fixed_pool(count)), now=NOW)
    for field in dataclasses.fields(plan.Plan):
        if field.name in ("names", "history"):
            continue
        np.testing.assert_array_equal(getattr(none, field.name), getattr(fixed, field.name), err_msg=field.name)
    for field in dataclasses.fields(snapshot.History):
        if field.name != "names":
            np.testing.assert_array_equal(getattr(none.history, field.name), getattr(fixed.history, field.name))


@st.composite
def rooms(draw: st.DrawFn) -> tuple[snapshot.Nodes, snapshot.FloatArray]:
    # Nodes of a few shapes, partly used, so the scores differ from node to node.
    count = draw(st.integers(1, 6))
    allocatable = np.array(
        [
            [draw(st.sampled_from([2000.0, 4000.0, 8000.0])), draw(st.sampled_from([4096.0, 8192.0])), 110.0]
            for _ in range(count)
        ]
    )
    requested = np.array(
        [
            [draw(st.sampled_from([0.0, 500.0, 1500.0])), draw(st.sampled_from([0.0, 1024.0, 3072.0])), 1.0]
            for _ in range(count)
        ]
    )
    nodes_ = snapshot.Nodes(
        names=tuple(f"n{i}" for i in range(count)),
        resources=("cpu", "memory", "pods"),
        allocatable=allocatable,
        requested=requested,
        unschedulable=np.zeros(count, dtype=bool),
        virtual=np.zeros(count, dtype=bool),
    )
    return nodes_, nodes_.free()


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_the_walk_puts_each_replica_where_the_reference_does(data: st.DataObject) -> None:
    nodes_, free = data.draw(rooms())
    count = data.draw(st.integers(1, 3))
    requests = np.array(
        [
            [data.draw(st.sampled_from([250.0, 500.0, 1000.0])), data.draw(st.sampled_from([256.0, 1024.0])), 1.0]
            for _ in range(count)
        ]
    )
    scoring = data.draw(scoring_of(len(nodes_.names), count))
    asks = np.array([data.draw(st.integers(0, 8)) for _ in range(count)], dtype=np.int64)
    limits = np.array([data.draw(st.integers(0, int(a))) for a in asks], dtype=np.int64)
    terms = tuple(data.draw(term_of(p, len(nodes_.names))) for p in range(count) if data.draw(st.booleans()))
    order = np.array(data.draw(st.permutations(list(range(count)))), dtype=np.int64)
    eligible = np.ones((count, len(nodes_.names)), dtype=bool)
    result, taken = topology.allocate(
        free=free,
        requests=requests,
        groups=placement.eligibility_groups(eligible),
        asks=asks,
        limits=limits,
        order=order,
        terms=terms,
        spread=topology.Spreading.of(nodes_, scoring),
    )
    by_policy: dict[int, list[snapshot.Term]] = {}
    for term in terms:
        by_policy.setdefault(term.policy, []).append(term)
    placed: dict[int, list[int]] = {}
    room, granted, _ = reference_plan.allocate(
        free=free.tolist(),
        requests=requests.tolist(),
        eligible=eligible.tolist(),
        asks=asks.tolist(),
        limits=limits.tolist(),
        order=order.tolist(),
        terms=by_policy,
        placed=placed,
        scorer=reference_plan.Scorer(nodes_, scoring),
    )
    assert result.room.tolist() == room
    assert result.granted.tolist() == granted
    for p in range(count):
        expected = placed.get(p, [0] * len(nodes_.names))
        assert taken.get(p, np.zeros(len(nodes_.names), dtype=np.int64)).tolist() == expected, p
