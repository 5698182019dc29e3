"""Fit and shared allocation on small, hand-checked tables."""

from __future__ import annotations

from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from burstscaler.core import placement, snapshot
from tests.core import reference_plan

# Columns: cpu (milli), memory (MiB), pods.
FREE = np.array([[1000.0, 2048.0, 110.0], [250.0, 4096.0, 110.0], [4000.0, 8192.0, 2.0]])


@pytest.mark.parametrize(
    ("request_row", "expected"),
    [
        pytest.param([250, 512, 1], [4, 1, 2], id="cpu-memory-and-pods-bound"),
        pytest.param([0, 0, 1], [110, 110, 2], id="zero-requests-pods-only"),
        pytest.param([1000, 0, 1], [1, 0, 2], id="exact-fit-passes"),
        pytest.param([10**12, 1, 1], [0, 0, 0], id="huge-request"),
        pytest.param([0, 0, 0], [snapshot.UNLIMITED] * 3, id="requests-nothing"),
    ],
)
def test_fit(request_row: list[float], expected: list[int]) -> None:
    counts = placement.fit(free=FREE, requests=np.array([request_row], dtype=float), eligible=np.ones((1, 3), bool))
    assert counts[0].tolist() == expected


def test_fit_respects_eligibility() -> None:
    eligible = np.array([[True, False, True]])
    counts = placement.fit(free=FREE, requests=np.array([[250.0, 512.0, 1.0]]), eligible=eligible)
    assert counts.tolist() == [[4, 0, 2]]


def test_allocate_deducts_in_order_first_fit() -> None:
    requests = np.array([[500.0, 0.0, 1.0], [500.0, 0.0, 1.0]])
    result = placement.allocate(
        free=FREE,
        requests=requests,
        eligible=np.ones((2, 3), bool),
        asks=np.array([3, 10]),
        order=np.array([1, 0]),
    )
    # Policy 1 first: 2 on node 0, 0 on node 1 (250m), 8 would fit node 2 by cpu but pods cap it at 2.
    assert result.room.tolist() == [0, 4]
    assert result.granted.tolist() == [0, 4]
    assert result.free_after[:, 0].tolist() == [0.0, 250.0, 3000.0]
    assert result.free_after[:, 2].tolist() == [108.0, 110.0, 0.0]


def test_allocate_room_without_taking() -> None:
    result = placement.allocate(
        free=FREE,
        requests=np.array([[500.0, 0.0, 1.0]]),
        eligible=np.ones((1, 3), bool),
        asks=np.array([3]),
        limits=np.array([0]),
        order=np.array([0]),
    )
    assert (result.room.tolist(), result.granted.tolist()) == ([3], [0])
    assert np.array_equal(result.free_after, FREE)


def test_priority_order_breaks_ties_by_name() -> None:
    order = placement.priority_order(priority=np.array([0, 5, 0]), names=("b/x", "z/z", "a/y"))
    assert order.tolist() == [1, 2, 0]


def test_insufficient_flags_every_failing_resource() -> None:
    flags = placement.insufficient(free=np.array([0.0, 5.0, 0.0]), request=np.array([1.0, 6.0, 1.0]))
    assert flags.tolist() == [True, True, True]


# The batched first fit (``placement._FirstFit``) against the plain-Python reference, on clusters large
# enough to cross batches, windows and further windows; tiny window sizes make every path run.
quantity = st.sampled_from([0.0, 1.0, 2.0, 3.0, 5.0, 8.0, 100.0])
need = st.sampled_from([0.0, 0.0, 1.0, 2.0, 3.0, 7.0])


@st.composite
def shared_room(draw: st.DrawFn) -> dict[str, Any]:
    nodes = draw(st.integers(0, 40))
    resources = draw(st.integers(1, 3))
    policies = draw(st.integers(0, 30))
    free = draw(st.lists(st.lists(quantity, min_size=resources, max_size=resources), min_size=nodes, max_size=nodes))
    negative = draw(st.booleans()) and draw(st.booleans())
    request = need | st.just(-1.0) if negative else need
    requests = draw(
        st.lists(st.lists(request, min_size=resources, max_size=resources), min_size=policies, max_size=policies)
    )
    pools = draw(st.integers(1, 4))
    pool_of = draw(st.lists(st.integers(0, pools), min_size=policies, max_size=policies))
    holes = draw(st.sets(st.integers(0, max(nodes - 1, 0)), max_size=5))
    # Pools of nodes (pool `pools` means every node), with a few holes, as node pools and selectors make.
    eligible = [[(pool == pools or n % pools == pool) and n not in holes for n in range(nodes)] for pool in pool_of]
    asks = draw(st.lists(st.integers(-1, 25), min_size=policies, max_size=policies))
    limits = draw(st.lists(st.integers(-1, 25), min_size=policies, max_size=policies))
    if draw(st.integers(0, 3)) == 0:  # only observing room (drain-back before stabilization): nobody takes
        limits = [min(limit, 0) for limit in limits]
    order = draw(st.permutations(range(policies)))
    served = draw(st.integers(0, policies))
    return {
        "free": free,
        "requests": requests,
        "eligible": eligible,
        "asks": asks,
        "limits": limits,
        "order": list(order)[:served] if draw(st.booleans()) else list(order),
        "resources": resources,
    }


# Small batches and windows exercise every path of ``_FirstFit`` on small cases: recounts within a
# batch, further windows walked (``few`` replicas to go) or stepped through with numpy (more).
@pytest.mark.parametrize(
    ("batch", "window", "extension", "few"),
    [(1, 1, 1, 0), (2, 3, 2, 1), (5, 2, 4, 5), (3, 2, 2, 100), (16, 32, 256, 64)],
)
@settings(max_examples=80, deadline=None)
@given(case=shared_room())
def test_allocate_agrees_with_reference(
    batch: int, window: int, extension: int, few: int, case: dict[str, Any]
) -> None:
    resources = case["resources"]
    arrays = {
        "free": np.array(case["free"], dtype=float).reshape(-1, resources),
        "requests": np.array(case["requests"], dtype=float).reshape(-1, resources),
        "eligible": np.array(case["eligible"], dtype=bool).reshape(len(case["requests"]), len(case["free"])),
        "asks": np.array(case["asks"], dtype=np.int64),
        "limits": np.array(case["limits"], dtype=np.int64),
        "order": np.array(case["order"], dtype=np.int64),
    }
    with mock.patch.multiple(placement, _BATCH=batch, _WINDOW=window, _EXTENSION=extension, _FEW=few):
        result = placement.allocate(**arrays)
    room, granted, free_after = reference_plan.allocate(
        free=case["free"],
        requests=case["requests"],
        eligible=case["eligible"],
        asks=case["asks"],
        limits=case["limits"],
        order=case["order"],
    )
    assert result.room.tolist() == room
    assert result.granted.tolist() == granted
    np.testing.assert_array_equal(result.free_after, np.array(free_after, dtype=float).reshape(-1, resources))


def test_eligibility_groups_share_rows_and_drop_unusable_nodes() -> None:
    eligible = np.array([[True, True, False], [False, True, True], [True, True, False]])
    groups = placement.eligibility_groups(eligible, usable=np.array([True, False, True]))
    assert groups.of_policy.tolist() == [0, 1, 0]
    assert [nodes.tolist() for nodes in groups.nodes] == [[0], [2]]


def test_allocate_grouped_is_allocate_on_usable_nodes() -> None:
    requests = np.array([[500.0, 0.0, 1.0], [250.0, 512.0, 1.0], [0.0, 0.0, 0.0]])
    eligible = np.array([[True, True, True], [True, False, True], [False, False, False]])
    usable = np.array([True, True, False])
    common = {"free": FREE, "requests": requests, "asks": np.array([4, 9, 2]), "order": np.array([2, 1, 0])}
    grouped = placement.allocate_grouped(groups=placement.eligibility_groups(eligible, usable=usable), **common)
    masked = placement.allocate(eligible=eligible & usable, **common)
    assert grouped.room.tolist() == masked.room.tolist() == [0, 4, 2]
    assert grouped.granted.tolist() == masked.granted.tolist()
    np.testing.assert_array_equal(grouped.free_after, masked.free_after)
