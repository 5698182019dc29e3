"""fallback: consecutive failures, hold or fixed, the MetricsAvailable data, automatic recovery."""

from __future__ import annotations

import pytest

from burstscaler.api import spec
from burstscaler.core import fallback

DOWN = fallback.MetricsFailure("PrometheusUnreachable", "Connection refused")


def run(steps: list[int | None], *, settings: spec.Fallback, current: int = 5) -> list[fallback.Outcome]:
    """Feed a sequence of ticks: an int is a good recommendation, None a failure."""
    state, outcomes = fallback.FallbackState(), []
    for step in steps:
        outcome = fallback.apply(
            recommendation=step,
            failure=None if step is not None else DOWN,
            current=current,
            settings=settings,
            state=state,
        )
        outcomes.append(outcome)
        state = outcome.state
    return outcomes


HOLD = spec.Fallback(on_metrics_failure="hold", failure_threshold=3)
FIXED = spec.Fallback(on_metrics_failure="fixed", failure_threshold=2, replicas=12)


@pytest.mark.parametrize(
    ("settings", "steps", "replicas", "statuses", "reasons"),
    [
        pytest.param(
            HOLD,
            [8, None, None, None, None],
            [8, 8, 8, 8, 8],
            ["True", "True", "True", "False", "False"],
            ["MetricsReceived", "MetricsFlapping", "MetricsFlapping", "PrometheusUnreachable", "PrometheusUnreachable"],
            id="hold-last-good-after-threshold",
        ),
        pytest.param(
            FIXED,
            [8, None, None, None],
            [8, 8, 12, 12],
            ["True", "True", "False", "False"],
            ["MetricsReceived", "MetricsFlapping", "PrometheusUnreachable", "PrometheusUnreachable"],
            id="fixed-after-threshold",
        ),
        pytest.param(
            HOLD,
            [None, None, None],
            [5, 5, 5],
            ["True", "True", "False"],
            ["MetricsFlapping", "MetricsFlapping", "PrometheusUnreachable"],
            id="no-good-value-yet-holds-current",
        ),
        pytest.param(
            FIXED,
            [8, None, None, 9, None],
            [8, 8, 12, 9, 9],
            ["True", "True", "False", "True", "True"],
            ["MetricsReceived", "MetricsFlapping", "PrometheusUnreachable", "MetricsReceived", "MetricsFlapping"],
            id="recovers-and-counts-again-from-zero",
        ),
    ],
)
def test_sequences(
    settings: spec.Fallback, steps: list[int | None], replicas: list[int], statuses: list[str], reasons: list[str]
) -> None:
    outcomes = run(steps, settings=settings)
    assert [outcome.replicas for outcome in outcomes] == replicas
    assert [outcome.condition.status for outcome in outcomes] == statuses
    assert [outcome.condition.reason for outcome in outcomes] == reasons


def test_message_says_what_and_why() -> None:
    last = run([8, None, None, None], settings=HOLD)[-1]
    assert "fallback hold: 8 replicas" in last.condition.message
    assert "3 consecutive failures, threshold 3" in last.condition.message
    assert "Connection refused" in last.condition.message


def test_recovery_message_counts_the_failures() -> None:
    last = run([8, None, None, None, 7], settings=HOLD)[-1]
    assert (last.mode, last.replicas, last.condition.status) == ("metrics", 7, "True")
    assert "recovered after 3 failed attempts" in last.condition.message
    assert last.state == fallback.FallbackState(0, 7)


@pytest.mark.parametrize(
    ("settings", "partial", "expected"),
    [
        pytest.param(HOLD, 20, 20, id="hold-partial-may-raise"),
        pytest.param(HOLD, 3, 8, id="hold-partial-never-lowers"),
        pytest.param(FIXED, 30, 30, id="fixed-partial-may-raise"),
        pytest.param(FIXED, 3, 12, id="fixed-partial-never-lowers"),
    ],
)
def test_partial_failure_only_raises(settings: spec.Fallback, partial: int, expected: int) -> None:
    state = fallback.FallbackState(failures=5, last_good=8)
    outcome = fallback.apply(recommendation=partial, failure=DOWN, current=8, settings=settings, state=state)
    assert outcome.replicas == expected
    assert outcome.condition.status == "False"
