"""recommend: metrics -> fallback -> floor (min + schedules) -> behavior, with reasons and state."""

from __future__ import annotations

import datetime
import json
from typing import Any

import numpy as np
import pytest

from burstscaler.api import spec
from burstscaler.core import fallback, forecast, pending, recommend, replicas, schedules

T0 = datetime.datetime(2024, 6, 3, 12, 0, tzinfo=datetime.UTC)  # a Monday
DOWN = fallback.MetricsFailure("PrometheusTimeout", "no answer within 5.0s")


def make_spec(**fields: Any) -> spec.BurstPolicySpec:
    document: dict[str, Any] = {
        "targetRef": {"name": "web"},
        "minReplicas": 2,
        "maxReplicas": 100,
        "metrics": [
            {
                "prometheus": {
                    "query": "sum(rate(http_requests_total[1m]))",
                    "target": {"type": "AverageValue", "averageValue": "50"},
                }
            }
        ],
    }
    return spec.BurstPolicySpec.model_validate(document | fields)


def reading(value: float) -> recommend.Reading:
    return recommend.Reading(value=value)


def make_request(policy: spec.BurstPolicySpec, *readings: recommend.Reading, current: int = 10, **fields: Any):
    return recommend.Request(
        spec=policy, current=current, ready=fields.pop("ready", current), readings=readings, **fields
    )


@pytest.mark.parametrize(
    ("target", "value", "current", "ready", "expected"),
    [
        pytest.param({"type": "AverageValue", "averageValue": "50"}, 1000, 10, 10, 20, id="average-value-up"),
        pytest.param({"type": "AverageValue", "averageValue": "50"}, 520, 10, 10, 10, id="average-value-tolerance"),
        pytest.param({"type": "AverageValue", "averageValue": "50"}, 120, 0, 0, 3, id="average-value-from-zero"),
        pytest.param({"type": "Value", "value": "100"}, 300, 4, 4, 12, id="value-scales-ready-pods"),
        pytest.param({"type": "Value", "value": "100"}, 300, 4, 2, 6, id="value-ignores-unready"),
        pytest.param({"type": "Value", "value": "500m"}, 0.2, 10, 10, 4, id="value-milli-target"),
        pytest.param({"type": "Utilization", "averageUtilization": 50}, 75, 4, 4, 6, id="utilization-up"),
        pytest.param({"type": "Utilization", "averageUtilization": 50}, 25, 4, 4, 2, id="utilization-down"),
    ],
)
def test_propose_per_target_type(target: dict[str, Any], value: float, current: int, ready: int, expected: int) -> None:
    metric = spec.MetricSpec.model_validate({"prometheus": {"query": "q", "target": target}})
    proposal = recommend.propose(metric, reading(value), current=current, ready=ready, tolerances=replicas.Tolerances())
    assert proposal.replicas == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [pytest.param(float("nan"), "InvalidValue", id="nan"), pytest.param(float("inf"), "InvalidValue", id="inf")],
)
def test_propose_refuses_non_finite(value: float, reason: str) -> None:
    metric = spec.MetricSpec.model_validate({"cpu": {"targetAverageUtilization": 60}})
    proposal = recommend.propose(metric, reading(value), current=3, ready=3, tolerances=replicas.Tolerances())
    assert proposal.failure is not None and proposal.failure.reason == reason


def test_utilization_without_ready_pods_is_a_failure() -> None:
    metric = spec.MetricSpec.model_validate({"cpu": {"targetAverageUtilization": 60}})
    proposal = recommend.propose(metric, reading(90), current=3, ready=0, tolerances=replicas.Tolerances())
    assert proposal.failure is not None and proposal.failure.reason == "CalculationError"


def test_several_metrics_the_largest_wins() -> None:
    policy = make_spec(
        metrics=[
            {"prometheus": {"query": "a", "target": {"type": "AverageValue", "averageValue": "10"}}},
            {"cpu": {"targetAverageUtilization": 50}},
        ]
    )
    result = recommend.recommend(make_request(policy, reading(120), reading(60)), now=T0)
    assert (result.replicas, result.reason) == (12, "metrics")
    assert [entry["replicas"] for entry in result.inputs["metrics"]] == [12, 12]


@pytest.mark.parametrize(
    ("tolerance", "expected"),
    [pytest.param(None, 10, id="default-10pct"), pytest.param("0.01", 11, id="scale-up-tolerance-1pct")],
)
def test_tolerance_per_direction_from_behavior(tolerance: str | None, expected: int) -> None:
    behavior = {"scaleUp": {"tolerance": tolerance}} if tolerance else {}
    policy = make_spec(behavior=behavior)
    result = recommend.recommend(make_request(policy, reading(525)), now=T0)
    assert result.replicas == expected


@pytest.mark.parametrize(
    ("fields", "current", "value", "expected", "reason"),
    [
        pytest.param({}, 10, 500, 10, "steady", id="steady"),
        pytest.param({}, 10, 2000, 20, "scale-up-limit", id="rate-limited"),
        pytest.param({}, 10, 50, 10, "stabilized", id="scale-down-stabilized"),
        pytest.param({}, 150, 500, 100, "max-replicas", id="above-max"),
        pytest.param({}, 1, 50, 2, "min-replicas", id="below-min"),
        pytest.param({"maxReplicas": 15}, 10, 2000, 15, "max-replicas", id="max-binds-before-rate"),
        pytest.param(
            {"schedules": [{"cron": "0 12 * * 1-5", "duration": "1h", "minReplicas": 40}]},
            10,
            500,
            40,
            "schedule",
            id="window-raises-floor-at-once",
        ),
        pytest.param(
            {"schedules": [{"cron": "0 9 * * 6", "duration": "1h", "minReplicas": 40}]},
            10,
            500,
            10,
            "steady",
            id="inactive-window",
        ),
    ],
)
def test_reasons(fields: dict[str, Any], current: int, value: float, expected: int, reason: str) -> None:
    result = recommend.recommend(make_request(make_spec(**fields), reading(value), current=current), now=T0)
    assert (result.replicas, result.reason) == (expected, reason)


def test_scaled_to_zero_by_hand_is_left_alone() -> None:
    result = recommend.recommend(make_request(make_spec(), reading(5000), current=0), now=T0)
    assert (result.replicas, result.reason) == (0, "autoscaling-disabled")


def test_no_metrics_follows_floor_only() -> None:
    policy = make_spec(metrics=[], schedules=[{"cron": "0 12 * * *", "duration": "1h", "minReplicas": 30}])
    result = recommend.recommend(make_request(policy, current=10), now=T0)
    assert (result.replicas, result.reason, result.metrics_condition) == (30, "schedule", None)


def test_state_carries_fallback_and_history_across_ticks() -> None:
    policy = make_spec(fallback={"onMetricsFailure": "fixed", "failureThreshold": 2, "replicas": 30})
    state, current, seen = recommend.State(), 10, []
    ticks = [reading(1000), recommend.Reading(failure=DOWN), recommend.Reading(failure=DOWN), reading(1000)]
    for step, value in enumerate(ticks):
        result = recommend.recommend(
            make_request(policy, value, current=current, state=state), now=T0 + datetime.timedelta(seconds=15 * step)
        )
        assert result.metrics_condition is not None
        seen.append((result.replicas, result.reason, result.metrics_condition.status, result.metrics_condition.reason))
        state, current = result.state, result.replicas
    assert seen == [
        (20, "metrics", "True", "MetricsReceived"),
        (20, "steady", "True", "MetricsFlapping"),
        (30, "fallback-fixed", "False", "PrometheusTimeout"),
        # Back on metrics; the scale-down window remembers 30, so no cliff right after recovery.
        (30, "stabilized", "True", "MetricsReceived"),
    ]


def test_pending_signal_is_reported_independently() -> None:
    stuck = pending.PendingPod(
        "web-1", scheduled=False, scheduled_reason="Unschedulable", scheduled_since=T0 - datetime.timedelta(minutes=1)
    )
    result = recommend.recommend(
        make_request(make_spec(), recommend.Reading(failure=DOWN), pending_pods=(stuck,)), now=T0
    )
    assert result.pending.unplaceable == 1
    assert result.inputs["unplaceableOnEcs"] == 1


def test_inputs_are_json_for_last_decision() -> None:
    result = recommend.recommend(make_request(make_spec(), recommend.Reading(failure=DOWN)), now=T0)
    decoded = json.loads(json.dumps(result.inputs))
    assert decoded["metrics"][0] == {
        "source": "prometheus",
        "targetType": "AverageValue",
        "target": 50.0,
        "failure": "PrometheusTimeout",
        "message": "no answer within 5.0s",
    }
    assert decoded["fallback"] == {"mode": "blip", "failures": 1}


def test_now_in_any_zone_gives_the_same_decision() -> None:
    policy = make_spec(
        schedules=[{"cron": "0 20 * * 1-5", "duration": "1h", "minReplicas": 40, "timezone": "Asia/Shanghai"}]
    )
    shanghai = T0.astimezone(datetime.timezone(datetime.timedelta(hours=8)))
    first = recommend.recommend(make_request(policy, reading(500)), now=T0)
    second = recommend.recommend(make_request(policy, reading(500)), now=shanghai)
    assert first == second
    assert first.replicas == 40


# -- the forecast lead (spec.forecast) --------------------------------------------------------------


def rising_history(*, per_second: float, end: float, seconds: float = 600.0) -> forecast.Series:
    """A metric rising ``per_second`` until ``end`` (epoch seconds), sampled every 15 s."""
    times = np.arange(end - seconds, end - 14, 15.0)
    return forecast.Series.of(times, end * 0 + 500.0 - per_second * (end - times))


FORECAST_ON = {"forecast": {"enabled": True}}


@pytest.mark.parametrize(
    ("fields", "per_second", "history", "expected", "reason", "why"),
    [
        # 500 now, +2/s: 590 expected 45 s ahead -> 12 replicas of 50, reactive asks 10.
        pytest.param(FORECAST_ON, 2.0, True, 12, "forecast", "forecast", id="ramp-raises"),
        pytest.param({}, 2.0, True, 10, "steady", None, id="off-by-default"),
        pytest.param(FORECAST_ON, -2.0, True, 10, "steady", "forecast-not-above-reactive", id="falling-never-lowers"),
        pytest.param(FORECAST_ON, 2.0, False, 10, "steady", "forecast-no-history", id="no-history"),
        pytest.param(
            FORECAST_ON | {"maxReplicas": 10}, 2.0, True, 10, "steady", "forecast-not-above-reactive", id="max-caps"
        ),
    ],
)
def test_forecast_raises_the_total_never_lowers_it(
    fields: dict[str, Any], per_second: float, history: bool, expected: int, reason: str, why: str | None
) -> None:
    policy = make_spec(**fields)
    series = (rising_history(per_second=per_second, end=T0.timestamp()),) if history else ()
    result = recommend.recommend(make_request(policy, reading(500), history=series), now=T0)
    assert (result.replicas, result.reason) == (expected, reason)
    assert result.inputs.get("forecast", {}).get("reason") == why
    json.dumps(result.inputs)


def test_forecast_inputs_name_the_lead_and_the_prediction() -> None:
    policy = make_spec(**FORECAST_ON)
    series = (rising_history(per_second=2.0, end=T0.timestamp()),)
    result = recommend.recommend(make_request(policy, reading(500), history=series, ecs_full=False), now=T0)
    ahead = result.inputs["forecast"]
    # ECS has room: the lead is a base pod's start-up (60 s): 500 + 2 x 60 = 620 -> 13 replicas.
    assert (ahead["leadSeconds"], ahead["tier"], ahead["reactiveReplicas"]) == (60.0, "ecs", 10)
    assert ahead["metrics"][0]["predicted"] == pytest.approx(620.0)
    assert result.replicas == 13
    assert "forecast asked 13 60s ahead" in result.message


def test_forecast_short_history_falls_back_with_the_reason() -> None:
    policy = make_spec(**FORECAST_ON)
    series = (rising_history(per_second=2.0, end=T0.timestamp(), seconds=45.0),)
    result = recommend.recommend(make_request(policy, reading(500), history=series), now=T0)
    assert result.replicas == 10
    assert result.inputs["forecast"]["reason"] == "forecast-short-history"


def test_forecast_stays_out_of_fallback() -> None:
    policy = make_spec(**FORECAST_ON)
    series = (rising_history(per_second=2.0, end=T0.timestamp()),)
    failed = recommend.Reading(failure=DOWN)
    result = recommend.recommend(make_request(policy, failed, history=series), now=T0)
    assert result.replicas == 10  # held: a metric blip, not a forecast from stale history
    assert result.inputs["forecast"]["reason"] == "forecast-metrics-unavailable"


def test_forecast_goes_through_behavior() -> None:
    # A scale-up limit of 1 pod per minute caps the forecast as it caps the reactive total.
    limit = {"behavior": {"scaleUp": {"policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}}}
    policy = make_spec(**FORECAST_ON, **limit)
    series = (rising_history(per_second=2.0, end=T0.timestamp()),)
    result = recommend.recommend(make_request(policy, reading(560), history=series), now=T0)
    assert result.replicas == 11
    assert result.inputs["limit"] == "ScaleUpLimit"


@pytest.mark.parametrize(
    "pending_pods",
    [pytest.param({"enabled": True}, id="pending-pods-on"), pytest.param({"enabled": False}, id="pending-pods-off")],
)
def test_no_pods_and_no_schedules_are_what_the_full_calls_give(pending_pods: dict[str, Any]) -> None:
    # recommend skips pending.signal for no pods and schedules.floor for no schedules (the simulator's
    # every call): the constants it uses instead must stay what those calls answer.
    policy = make_spec(pendingPods=pending_pods)
    assert pending.signal((), settings=policy.pending_pods, now=T0) == recommend._NO_PENDING
    assert schedules.floor((), now=T0) == recommend._NO_WINDOWS
    result = recommend.recommend(make_request(policy, reading(1000)), now=T0)
    assert result.pending == pending.signal((), settings=policy.pending_pods, now=T0)
    assert result.inputs["scheduleFloor"] == 0 and result.inputs["activeSchedules"] == []
