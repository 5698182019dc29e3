"""Fit and shared allocation on small, hand-checked tables."""

from __future__ import annotations

import numpy as np
import pytest

from burstscaler.core import placement, snapshot

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
