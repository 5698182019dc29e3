"""The baselines' HPA model: tolerance, scale-up limits, scale-down stabilisation, missing metrics."""

from __future__ import annotations

import math

import pytest

from burstscaler.sim import hpa


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        # (load, current, now) per sync -> the last recommendation.
        pytest.param([(100.0, 10, 0.0)], 10, id="steady"),
        pytest.param([(105.0, 10, 0.0)], 10, id="within-tolerance"),
        pytest.param([(150.0, 10, 0.0)], 15, id="scale-up"),
        pytest.param([(1000.0, 2, 0.0)], 6, id="scale-up-limited-by-4-pods"),
        pytest.param([(1000.0, 20, 0.0)], 40, id="scale-up-limited-by-100-percent"),
        pytest.param([(100.0, 10, 0.0), (30.0, 10, 100.0)], 10, id="scale-down-stabilised"),
        pytest.param([(100.0, 10, 0.0), (30.0, 10, 301.0)], 3, id="scale-down-after-window"),
        # The controller keeps recommendations strictly After(now - window): one exactly 300 s old is out.
        pytest.param([(100.0, 10, 0.0), (30.0, 10, 300.0)], 3, id="window-boundary-excluded"),
        pytest.param([(100.0, 10, 0.0), (30.0, 10, 270.0)], 10, id="inside-window"),
        pytest.param([(math.nan, 7, 0.0)], 7, id="missing-metric-holds"),
        pytest.param([(0.0, 7, 0.0)], 2, id="min-replicas"),
        pytest.param([(10_000.0, 45, 0.0)], 50, id="max-replicas"),
    ],
)
def test_recommend(steps: list[tuple[float, int, float]], expected: int) -> None:
    model = hpa.Hpa(capacity_per_replica=10.0, min_replicas=2, max_replicas=50)
    result = None
    for load, current, now in steps:
        result = model.recommend(load=load, current=current, now=now)
    assert result == expected
