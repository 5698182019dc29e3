"""The cluster actor's controller arithmetic, pure: the Deployment controller's rollout sizes and
the ReplicaSet controller's scale-in order, against upstream's documented behaviour."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from .harness import rollout
from .harness.ranking import Candidate, victims
from .harness.rollout import Set


@pytest.mark.parametrize(
    ("surge", "unavailable", "replicas", "expected"),
    [
        pytest.param(None, None, 4, (1, 1), id="defaults-25%-of-4"),
        pytest.param(None, None, 10, (3, 2), id="defaults-round-surge-up-unavailable-down"),
        pytest.param(None, None, 1, (1, 0), id="defaults-of-1"),
        pytest.param("0%", "0%", 4, (0, 1), id="both-zero-makes-unavailable-1"),
        pytest.param(0, 0, 4, (0, 1), id="both-zero-ints"),
        pytest.param(2, "50%", 5, (2, 2), id="int-and-percent"),
        pytest.param("100%", 0, 3, (3, 0), id="blue-green-like"),
    ],
)
def test_fenceposts_round_as_kubernetes(
    surge: int | str | None, unavailable: int | str | None, replicas: int, expected: tuple[int, int]
) -> None:
    assert rollout.fenceposts(max_surge=surge, max_unavailable=unavailable, replicas=replicas) == expected


@pytest.mark.parametrize(
    ("new", "old", "replicas", "surge", "unavailable", "expected"),
    [
        pytest.param(
            Set(name="new", order=1, replicas=0),
            [Set(name="old", order=0, replicas=4, available=4)],
            4,
            1,
            1,
            {"new": 1},
            id="new-grows-by-the-surge-first",
        ),
        pytest.param(
            Set(name="new", order=1, replicas=1),
            [Set(name="old", order=0, replicas=4, available=4)],
            4,
            1,
            1,
            {"old": 3},
            id="then-old-shrinks-to-the-availability-floor",
        ),
        pytest.param(
            Set(name="new", order=1, replicas=1),
            [Set(name="old", order=0, replicas=3, available=3)],
            4,
            1,
            1,
            {"new": 2},
            id="room-under-the-surge-goes-to-new",
        ),
        pytest.param(
            Set(name="new", order=1, replicas=2),
            [Set(name="old", order=0, replicas=3, available=3)],
            4,
            1,
            1,
            {},
            id="nothing-while-new-pods-are-not-available",
        ),
        pytest.param(
            Set(name="new", order=1, replicas=2, available=2),
            [Set(name="old", order=0, replicas=3, available=3)],
            4,
            1,
            1,
            {"old": 1},
            id="available-new-pods-release-old-ones",
        ),
        pytest.param(
            Set(name="new", order=2, replicas=2, available=2),
            [Set(name="a", order=0, replicas=1, available=0), Set(name="b", order=1, replicas=2, available=2)],
            4,
            1,
            1,
            {"a": 0, "b": 1},  # 2 may go: the unavailable one of "a", then one available of "b"
            id="unhealthy-old-replicas-go-first",
        ),
        pytest.param(
            Set(name="new", order=1, replicas=0),
            [Set(name="old", order=0, replicas=3, available=3)],
            3,
            0,
            1,
            {"old": 2},
            id="no-surge-shrinks-old-first",
        ),
        pytest.param(Set(name="new", order=1, replicas=5), [], 3, 1, 1, {"new": 3}, id="new-above-replicas-shrinks"),
    ],
)
def test_rolling_update_one_sync(
    new: Set, old: list[Set], replicas: int, surge: int, unavailable: int, expected: dict[str, int]
) -> None:
    assert rollout.roll(new=new, old=old, replicas=replicas, surge=surge, unavailable=unavailable) == expected


def test_proportional_scaling_matches_the_documented_example() -> None:
    # kubernetes.io "Proportional scaling": 10 replicas, maxSurge 3, a stuck rollout with 8 old and
    # 5 new; scaled to 15, the 5 extra go 3 to the old ReplicaSet and 2 to the new one.
    old = Set(name="old", order=0, replicas=8, available=8, desired=10, max_replicas=13)
    new = Set(name="new", order=1, replicas=5, available=0, desired=10, max_replicas=13)
    assert rollout.is_scaling_event([old, new], replicas=15)
    assert rollout.scale(new=new, old=[old], replicas=15, surge=3, new_saturated=False) == {"old": 11, "new": 7}


@pytest.mark.parametrize(
    ("new", "old", "replicas", "saturated", "expected"),
    [
        pytest.param(
            Set(name="new", order=1, replicas=4, desired=4),
            [Set(name="old", order=0, replicas=0)],
            7,
            False,
            {"new": 7},
            id="single-active-set-takes-the-size",
        ),
        pytest.param(
            Set(name="new", order=1, replicas=3, desired=3, available=3),
            [Set(name="old", order=0, replicas=1, desired=3)],
            3,
            True,
            {"old": 0},
            id="saturated-new-empties-old",
        ),
        pytest.param(None, [Set(name="old", order=0, replicas=0)], 2, False, {"old": 2}, id="latest-old-when-no-new"),
    ],
)
def test_scaling_events(
    new: Set | None, old: list[Set], replicas: int, saturated: bool, expected: dict[str, int]
) -> None:
    assert rollout.scale(new=new, old=old, replicas=replicas, surge=1, new_saturated=saturated) == expected


@pytest.mark.parametrize(
    ("new", "old_pods", "expected"),
    [
        pytest.param(None, 2, {"old": 0}, id="old-scaled-to-zero-first"),
    ],
)
def test_recreate_scales_old_to_zero_first(new: Set | None, old_pods: int, expected: dict[str, int]) -> None:
    assert (
        rollout.recreate(new=new, old=[Set(name="old", order=0, replicas=2)], old_pods=old_pods, replicas=3) == expected
    )


@pytest.mark.parametrize(
    ("new", "old_pods", "expected"),
    [
        pytest.param(None, 1, {}, id="waits-while-an-old-pod-is-left"),
        pytest.param(None, 0, {"": 3}, id="creates-new-once-old-pods-are-gone"),
        pytest.param(Set(name="new", order=1, replicas=0), 0, {"new": 3}, id="scales-existing-new"),
    ],
)
def test_recreate_waits_for_old_pods(new: Set | None, old_pods: int, expected: dict[str, int]) -> None:
    assert (
        rollout.recreate(new=new, old=[Set(name="old", order=0, replicas=0)], old_pods=old_pods, replicas=3) == expected
    )


# -- the ReplicaSet controller's victims ----------------------------------------------------------

NOW = 10_000.0
BASE = Candidate(name="pod", uid="m", assigned=True, phase="Running", ready=True, ready_since=NOW - 100, created=50.0)


def candidate(**changes: Any) -> Candidate:
    return attrs.evolve(BASE, **changes)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(candidate(assigned=False, phase="Pending", ready=False), candidate(), id="unassigned-first"),
        pytest.param(candidate(phase="Pending", ready=False), candidate(phase="Running", ready=False), id="pending"),
        pytest.param(candidate(phase="Unknown", ready=False), candidate(phase="Running", ready=False), id="unknown"),
        pytest.param(candidate(ready=False, ready_since=None), candidate(), id="not-ready-first"),
        pytest.param(candidate(cost=-5), candidate(cost=0), id="lower-deletion-cost-first"),
        pytest.param(candidate(cost=0, colocated=3), candidate(cost=0, colocated=1), id="doubled-up-first"),
        pytest.param(candidate(ready_since=NOW - 10), candidate(ready_since=NOW - 100), id="ready-for-less-time"),
        pytest.param(candidate(restarts=4), candidate(restarts=1), id="more-restarts-first"),
        pytest.param(candidate(created=60.0), candidate(created=50.0), id="newer-first"),
        pytest.param(candidate(order=2), candidate(order=1), id="then-the-actors-newer-creation"),
        # Priority of the criteria: a cheaper pod goes first even when it is older and restarts less.
        pytest.param(candidate(cost=-1, created=1.0), candidate(restarts=9, created=99.0), id="cost-before-age"),
    ],
)
def test_each_ranking_criterion_decides(first: Candidate, second: Candidate) -> None:
    for pods in ([first, second], [second, first]):
        assert victims(pods, 1, now=NOW) == [first]


def test_ready_times_in_one_log2_bucket_tie_break_by_uid_and_skip_the_rest() -> None:
    # 100 s and 101 s are both in bucket int(log2(1e11 ns)) = 36: upstream compares uids, not restarts.
    younger = candidate(uid="b", ready_since=NOW - 100, restarts=0)
    older = candidate(uid="a", ready_since=NOW - 101, restarts=9)
    assert victims([younger, older], 1, now=NOW) == [older]
    far = candidate(uid="a", ready_since=NOW - 1000, restarts=9)  # bucket 39: the younger goes first
    assert victims([far, younger], 1, now=NOW) == [younger]
