"""The vectorized core agrees with the plain-Python reference on random clusters (hypothesis).

Random clusters include the corners that break vectorized code: no nodes, no ECS nodes (ASK), no
eligible node, zero and huge requests, cordoned and virtual nodes, pending pods, drain-back moves in
flight, lowered caps and budgets, inter-pod terms (one per policy: anti-affinity, affinity or a
hard spread, over hostname-like, zone-like or partly missing domains, matching the policy's own
replicas or not) and a learned cap from an earlier failed prediction.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from burstscaler.core import plan, snapshot
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
                burst_cost_per_second=draw(st.sampled_from([0.0, 0.3])),
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
        if draw(st.booleans()):
            history.drain_moves[row] = draw(st.integers(1, 3))
            history.drain_since[row] = draw(st.sampled_from([800.0, 990.0]))
            history.drain_ready_goal[row] = draw(st.integers(0, 6))
        history.ecs_full_until[row] = draw(st.sampled_from([-math.inf, 1100.0]))
        history.learned_cap[row] = draw(st.sampled_from([snapshot.UNLIMITED, snapshot.UNLIMITED, 0, 2, 5]))
        history.learned_fit[row] = draw(st.sampled_from([0, 3, 10**6]))
    pending = draw(st.lists(st.tuples(st.fixed_dictionaries({"cpu": request}), st.integers(0, 4)), max_size=2))
    snap = factories.make_snapshot(nodes=cluster, policies=pols, history=history, pending=pending)
    # Learned caps keyed to the policy's request row, or to another one (then forgotten).
    for row in range(len(names)):
        same = draw(st.booleans())
        history.learned_key[row] = hash(tuple(snap.policies.requests[row].tolist())) if same else 7
    terms = [draw(term_of(row, len(cluster))) for row in range(len(names)) if draw(st.booleans())]
    return dataclasses.replace(snap, topology=snapshot.Topology(terms=tuple(terms)))


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


@settings(max_examples=150, deadline=None)
@given(snapshots())
def test_core_agrees_with_reference(snap: snapshot.Snapshot) -> None:
    fast = plan.plan(snap, now=NOW)
    slow = reference_plan.plan(snap, now=NOW)
    for field in ("desired", "base", "burst", "moves_started", "moves_completed", "unplaceable"):
        assert getattr(fast, field).tolist() == slow[field], field
    assert fast.history.drain_moves.tolist() == slow["drain_moves"]
    assert fast.history.drain_ready_goal.tolist() == slow["drain_ready_goal"]
    assert fast.history.learned_cap.tolist() == slow["learned_cap"]
    np.testing.assert_array_equal(fast.history.room_since, np.array(slow["room_since"], dtype=float))


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
