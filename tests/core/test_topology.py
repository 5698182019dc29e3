"""Allocation within inter-pod terms: anti-affinity, affinity and hard topology spread, per domain."""

from __future__ import annotations

import numpy as np
import pytest

from burstscaler.core import placement, podterms, snapshot, topology

REQUEST = np.array([[1000.0, 1.0]])  # one policy: cpu, pods


def _free(cpus: list[float]) -> snapshot.FloatArray:
    return np.array([[cpu, 110.0] for cpu in cpus])


def _term(kind: str, domain: list[int], existing: list[int], *, own: bool = True, **extra: int) -> snapshot.Term:
    return snapshot.Term(
        policy=0,
        kind=kind,
        domain=np.array(domain, dtype=np.int64),
        existing=np.array(existing, dtype=np.int64),
        self_match=own,
        **extra,
    )


def _room(cpus: list[float], terms: tuple[snapshot.Term, ...], *, ask: int = 20) -> tuple[int, list[int]]:
    free = _free(cpus)
    groups = placement.eligibility_groups(np.ones((1, len(cpus)), dtype=bool))
    result, taken = topology.allocate(
        free=free,
        requests=REQUEST,
        groups=groups,
        asks=np.array([ask]),
        order=np.array([0]),
        terms=terms,
    )
    return int(result.room[0]), taken[0].tolist()


@pytest.mark.parametrize(
    ("cpus", "terms", "room", "taken"),
    [
        pytest.param(
            [3000, 3000, 3000, 3000],
            (_term(podterms.ANTI, [0, 1, 2, 3], [0, 1, 0, 0]),),
            3,
            [1, 0, 1, 1],
            id="hostname-anti-one-per-node-none-beside-an-existing-one",
        ),
        pytest.param(
            [3000, 3000, 3000, 0],
            (_term(podterms.ANTI, [0, 0, 1, 2], [0, 0, 0]),),
            2,
            [1, 0, 1, 0],
            id="zone-anti-one-per-zone-first-node-with-room",
        ),
        pytest.param(
            [3000, 3000, 3000],
            (_term(podterms.ANTI, [-1, 0, 0], [0]),),
            4,
            [3, 1, 0],
            id="anti-node-without-the-key-is-not-limited",
        ),
        pytest.param(
            [3000, 3000],
            (_term(podterms.ANTI, [0, 1], [1, 0], own=False),),
            3,
            [0, 3],
            id="anti-against-other-pods-blocks-their-domain-only",
        ),
        pytest.param(
            [9000, 5000, 1000],
            (_term(podterms.SPREAD, [0, 1, 2], [2, 0, 0]),),
            3,
            [0, 2, 1],
            id="spread-smallest-ceiling-sets-the-minimum",
        ),
        pytest.param(
            [9000, 9000],
            (_term(podterms.SPREAD, [0, 1], [0, 0], min_domains=3),),
            2,
            [1, 1],
            id="spread-fewer-domains-than-min-domains-minimum-is-zero",
        ),
        pytest.param(
            [9000, 9000, 9000],
            (_term(podterms.SPREAD, [0, 1, -1], [0, 0], max_skew=2),),
            18,
            [9, 9, 0],
            id="spread-node-without-key-excluded-skew-two",
        ),
        pytest.param(
            [2000, 3000, 3000],
            (_term(podterms.AFFINITY, [0, 1, 1], [0, 0]),),
            2,
            [2, 0, 0],
            id="affinity-first-replica-anywhere-rest-follow-it",
        ),
        pytest.param(
            [2000, 3000, 3000],
            (_term(podterms.AFFINITY, [0, 1, 1], [0, 1]),),
            6,
            [0, 3, 3],
            id="affinity-to-domains-with-a-matching-pod",
        ),
        pytest.param(
            [2000, 3000],
            (_term(podterms.AFFINITY, [0, 1], [0, 0], own=False),),
            0,
            [0, 0],
            id="affinity-to-pods-that-do-not-exist",
        ),
    ],
)
def test_terms_limit_the_room(cpus: list[float], terms: tuple[snapshot.Term, ...], room: int, taken: list[int]) -> None:
    assert _room(cpus, terms) == (room, taken)


def test_fewer_replicas_than_room_spread_lowest_domain_first() -> None:
    room, taken = _room([9000, 9000, 9000], (_term(podterms.SPREAD, [0, 1, 2], [3, 0, 1], max_skew=5),), ask=4)
    assert (room, taken) == (4, [0, 3, 1])


def test_unconstrained_policies_around_a_constrained_one_share_the_room() -> None:
    free = _free([2000, 2000])
    requests = np.array([[1000.0, 1.0]] * 3)
    groups = placement.eligibility_groups(np.ones((3, 2), dtype=bool))
    term = snapshot.Term(
        policy=1, kind=podterms.ANTI, domain=np.array([0, 1]), existing=np.array([0, 0]), self_match=True
    )
    result, taken = topology.allocate(
        free=free, requests=requests, groups=groups, asks=np.array([1, 5, 5]), order=np.array([0, 1, 2]), terms=(term,)
    )
    # First fit puts policy 0 on node 0; policy 1 gets one per node; policy 2 the last core.
    assert result.granted.tolist() == [1, 2, 1]
    assert taken[1].tolist() == [1, 1]
    assert result.free_after[:, 0].tolist() == [0.0, 0.0]


def test_replicas_placed_earlier_in_the_tick_count_for_their_own_terms() -> None:
    free = _free([3000, 3000])
    groups = placement.eligibility_groups(np.ones((1, 2), dtype=bool))
    term = _term(podterms.ANTI, [0, 1], [0, 0])
    result, _ = topology.allocate(
        free=free,
        requests=REQUEST,
        groups=groups,
        asks=np.array([5]),
        order=np.array([0]),
        terms=(term,),
        placed={0: np.array([1, 0])},
    )
    assert int(result.room[0]) == 1


@pytest.mark.parametrize(
    ("cpus", "want", "default_spread", "taken"),
    [
        # cpu only (capacity 8000m, 1000m a replica): BalancedAllocation is 100 everywhere, so the total is
        # LeastAllocated + 2 x the system default spread. First: LA 37 / 87 / 12, spread 100 each -> node 1.
        # Then node 1 holds one: raw spread 1 * log(3 + 2) + 2 -> 4 against 2, normalised 50 vs 100, and
        # node 0 (37 + 200) beats node 1 (75 + 100); then node 2 (12 + 200) beats both (25 + 100, 75 + 100).
        pytest.param([4000, 8000, 2000], 3, True, [1, 1, 1], id="the-default-spread-goes-one-per-node"),
        # Without the default spread LeastAllocated alone decides: node 1 scores 87, 75, 62 against 37 and 12.
        pytest.param([4000, 8000, 2000], 3, False, [0, 3, 0], id="least-allocated-alone-most-room-first"),
        # Equal nodes: the first in node order; then the other (37 + 200 against 25 + 132); then a tie again.
        pytest.param([4000, 4000], 3, True, [2, 1], id="tie-goes-in-node-order"),
        pytest.param([1000, 8000], 9, True, [1, 8], id="everything-when-asked-for-all"),
        # Node 0 has no room. Node 2 (87), then node 1 (12 + 200 against 75 + 132), then node 2 (75 + 200
        # against 0 + 200: node 1 is then full by LeastAllocated, yet still fits exactly).
        pytest.param([0, 2000, 8000], 3, True, [0, 1, 2], id="full-node-skipped"),
    ],
)
def test_the_walk_puts_replicas_where_the_default_profile_scores_best(
    cpus: list[float], want: int, default_spread: bool, taken: list[int]
) -> None:
    free = np.array([[cpu, 110.0] for cpu in cpus])
    scoring = snapshot.Scoring(
        zone=np.full(len(cpus), -1, dtype=np.int64),
        default_spread=np.array([default_spread]),
        own_policy=np.zeros(0, dtype=np.int64),
        own_node=np.zeros(0, dtype=np.int64),
        own_count=np.zeros(0, dtype=np.int64),
    )
    spreading = topology.Spreading(capacity=np.array([[8000.0, 110.0]] * len(cpus)), columns=(0,), scoring=scoring)
    groups = placement.eligibility_groups(np.ones((1, len(cpus)), dtype=bool))
    result, placed = topology.allocate(
        free=free, requests=REQUEST, groups=groups, asks=np.array([want]), order=np.array([0]), spread=spreading
    )
    assert int(result.granted[0]) == want
    assert placed[0].tolist() == taken


def test_the_walk_counts_the_policys_own_pods_and_zones() -> None:
    # Two zones, two equal nodes each; the policy already runs 2 pods on node 0 (zone 0). The default
    # spread then sends the first new replica to zone 1, not to node 1 beside them.
    free = np.array([[4000.0, 110.0]] * 4)
    scoring = snapshot.Scoring(
        zone=np.array([0, 0, 1, 1]),
        default_spread=np.array([True]),
        own_policy=np.array([0]),
        own_node=np.array([0]),
        own_count=np.array([2]),
    )
    spreading = topology.Spreading.of(
        snapshot.Nodes(
            names=("a", "b", "c", "d"),
            resources=("cpu", "pods"),
            allocatable=np.array([[8000.0, 110.0]] * 4),
            requested=np.zeros((4, 2)),
            unschedulable=np.zeros(4, dtype=bool),
            virtual=np.zeros(4, dtype=bool),
        ),
        scoring,
    )
    groups = placement.eligibility_groups(np.ones((1, 4), dtype=bool))
    _, placed = topology.allocate(
        free=free, requests=REQUEST, groups=groups, asks=np.array([1]), order=np.array([0]), spread=spreading
    )
    assert placed[0].tolist() == [0, 0, 1, 0]
