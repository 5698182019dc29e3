"""``recommend.replicas_for`` is ``recommend.recommend`` without the explanation: same count, same state.

Each case replays ticks through both, each carrying its own state, and compares them at every tick, so
a difference in the state shows up in the ticks after it as well.
"""

from __future__ import annotations

import datetime
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from burstscaler.core import fallback, recommend

from .test_recommend import FORECAST_ON, T0, make_spec, rising_history

DOWN = fallback.MetricsFailure("PrometheusTimeout", "no answer within 5.0s")
UTILIZATION = {"prometheus": {"query": "u", "target": {"type": "Utilization", "averageUtilization": 50}}}
VALUE = {"prometheus": {"query": "v", "target": {"type": "Value", "value": "100"}}}
AVERAGE = {"prometheus": {"query": "a", "target": {"type": "AverageValue", "averageValue": "50"}}}

POLICIES: dict[str, dict[str, Any]] = {
    "default": {},
    "fallback-fixed": {"fallback": {"onMetricsFailure": "fixed", "failureThreshold": 2, "replicas": 30}},
    "fallback-hold": {"fallback": {"onMetricsFailure": "hold", "failureThreshold": 1}},
    "two-metrics": {"metrics": [AVERAGE, VALUE]},
    "utilization": {"metrics": [UTILIZATION]},
    "no-metrics": {"metrics": []},
    "schedule": {"schedules": [{"cron": "0 12 * * *", "duration": "1h", "minReplicas": 25}]},
    "rate-limited": {"behavior": {"scaleUp": {"policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}}},
    "no-windows": {"behavior": {"scaleDown": {"stabilizationWindowSeconds": 0}}},
    "forecast": FORECAST_ON,
    "min-zero": {"minReplicas": 0},
}


def _reading(value: float | None) -> recommend.Reading:
    if value is None:
        return recommend.Reading(failure=DOWN)
    return recommend.Reading(value=value)


def _replay(policy_name: str, ticks: list[tuple[float | None, int, int]], *, readings_per_tick: int = 1) -> None:
    policy = make_spec(**POLICIES[policy_name])
    full_state = lean_state = recommend.State()
    for step, (value, current, ready) in enumerate(ticks):
        now = T0 + datetime.timedelta(seconds=30 * step)
        history = (rising_history(per_second=1.0, end=now.timestamp()),) if policy.forecast.enabled else ()
        readings = (_reading(value),) * readings_per_tick
        ask = {"spec": policy, "current": current, "ready": ready, "readings": readings, "history": history}
        full = recommend.recommend(recommend.Request(**ask, state=full_state), now=now)
        lean = recommend.replicas_for(recommend.Request(**ask, state=lean_state), now=now)
        assert lean == (full.replicas, full.state), f"tick {step}"
        full_state, lean_state = full.state, lean[1]


TICKS: list[tuple[float | None, int, int]] = [
    (500.0, 10, 10),
    (2000.0, 10, 10),  # up, rate-limited or not
    (None, 20, 18),  # a failed read
    (None, 20, 20),
    (math.nan, 20, 20),  # an invalid value
    (math.inf, 20, 20),
    (50.0, 20, 20),  # down: the scale-down window holds
    (50.0, 150, 150),  # above max
    (50.0, 1, 1),  # below min
    (800.0, 12, 0),  # no ready pods (Utilization cannot measure)
    (800.0, 0, 0),  # scaled to zero by hand
    (300.0, 16, 16),
]


@pytest.mark.parametrize("policy_name", sorted(POLICIES))
def test_same_count_and_state_tick_by_tick(policy_name: str) -> None:
    _replay(policy_name, TICKS)


@pytest.mark.parametrize("readings_per_tick", [0, 1, 2])
def test_fewer_or_more_readings_than_metrics(readings_per_tick: int) -> None:
    _replay("two-metrics", TICKS, readings_per_tick=readings_per_tick)


@settings(max_examples=60, deadline=None)
@given(
    policy_name=st.sampled_from(sorted(POLICIES)),
    ticks=st.lists(
        st.tuples(
            st.one_of(st.none(), st.floats(min_value=0.0, max_value=5000.0)),
            st.integers(min_value=0, max_value=120),
            st.integers(min_value=0, max_value=120),
        ),
        min_size=1,
        max_size=30,
    ),
)
def test_random_ticks(policy_name: str, ticks: list[tuple[float | None, int, int]]) -> None:
    _replay(policy_name, [(value, current, min(ready, current)) for value, current, ready in ticks])
