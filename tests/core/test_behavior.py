"""behavior: stabilization, rate policies and their memory, over explicit time."""

from __future__ import annotations

import datetime

import pytest

from burstscaler.api import spec
from burstscaler.core import behavior

T0 = datetime.datetime(2024, 6, 1, 12, 0, tzinfo=datetime.UTC)


def at(seconds: float) -> datetime.datetime:
    return T0 + datetime.timedelta(seconds=seconds)


def make_behavior(**directions: dict[str, object]) -> spec.Behavior:
    return spec.Behavior.model_validate({f"scale{key.title()}": value for key, value in directions.items()})


def tick(
    desired: int, *, current: int, history: behavior.History, now: datetime.datetime, policy: spec.Behavior
) -> tuple[int, behavior.History]:
    _, final, _, history = behavior.normalize(
        desired, current=current, min_replicas=1, max_replicas=1000, behavior=policy, history=history, now=now
    )
    return final, history


@pytest.mark.parametrize(
    ("current", "desired", "expected"),
    [
        pytest.param(10, 50, 20, id="default-up-doubles-per-15s"),
        pytest.param(1, 50, 5, id="default-up-adds-4-when-small"),
        pytest.param(10, 12, 12, id="default-up-within-limit"),
        pytest.param(10, 2, 10, id="default-down-waits-for-window"),
    ],
)
def test_defaults_match_the_hpa(current: int, desired: int, expected: int) -> None:
    final, _ = tick(desired, current=current, history=behavior.History(), now=T0, policy=spec.Behavior())
    assert final == expected


def test_scale_down_follows_the_highest_recommendation_of_the_window() -> None:
    policy, history, current = spec.Behavior(), behavior.History(), 10
    timeline = []
    for second, desired in [(0, 10), (60, 4), (120, 6), (300, 4), (421, 3)]:
        current, history = tick(desired, current=current, history=history, now=at(second), policy=policy)
        timeline.append(current)
    # 10 is in the 300 s window until t=300; 6 (t=120) until t=420; after that, 4 then 3 are allowed.
    assert timeline == [10, 10, 10, 6, 4]


def test_scale_up_policies_count_recent_events() -> None:
    policy = make_behavior(up={"policies": [{"type": "Pods", "value": 2, "periodSeconds": 60}]})
    history, current, seen = behavior.History(), 4, []
    for second in (0, 15, 30, 61):
        current, history = tick(100, current=current, history=history, now=at(second), policy=policy)
        seen.append(current)
    assert seen == [6, 6, 6, 8]


@pytest.mark.parametrize(
    ("select", "expected"),
    [
        pytest.param("Max", 20, id="max-takes-the-larger-change"),
        pytest.param("Min", 14, id="min-takes-the-smaller-change"),
        pytest.param("Disabled", 10, id="disabled-never-scales-up"),
    ],
)
def test_select_policy(select: str, expected: int) -> None:
    rules: dict[str, object] = {
        "selectPolicy": select,
        "policies": [
            {"type": "Pods", "value": 4, "periodSeconds": 60},
            {"type": "Percent", "value": 100, "periodSeconds": 60},
        ],
    }
    final, _ = tick(100, current=10, history=behavior.History(), now=T0, policy=make_behavior(up=rules))
    assert final == expected


def test_scale_up_stabilization_window_needs_agreement() -> None:
    policy = make_behavior(up={"stabilizationWindowSeconds": 60})
    history, current, seen = behavior.History(), 5, []
    for second, desired in [(0, 5), (20, 9), (40, 9), (61, 9), (81, 9)]:
        current, history = tick(desired, current=current, history=history, now=at(second), policy=policy)
        seen.append(current)
    # 5 at t=0 keeps the minimum of the window at 5 until it is older than 60 s.
    assert seen == [5, 5, 5, 9, 9]


def test_history_stays_bounded() -> None:
    policy, history, current = spec.Behavior(), behavior.History(), 10
    for step in range(500):
        current, history = tick(10 + step % 3, current=current, history=history, now=at(15 * step), policy=policy)
    # 300 s of recommendations at one per 15 s, plus the one replaced each tick.
    assert len(history.recommendations) <= 22
    assert len(history.scale_up_events) + len(history.scale_down_events) <= 10


@pytest.mark.parametrize(
    ("desired", "current", "expected"),
    [
        pytest.param(0, 5, behavior.Limited(1, "TooFewReplicas"), id="below-min"),
        pytest.param(5000, 600, behavior.Limited(1000, "TooManyReplicas"), id="above-max"),
        pytest.param(7, 5, behavior.Limited(7, "DesiredWithinRange"), id="within"),
    ],
)
def test_limit_clamps_to_min_and_max(desired: int, current: int, expected: behavior.Limited) -> None:
    limited = behavior.limit(
        desired,
        current=current,
        min_replicas=1,
        max_replicas=1000,
        behavior=spec.Behavior(),
        history=behavior.History(),
        now=T0,
    )
    assert limited == expected


@pytest.mark.parametrize(
    "given",
    [
        pytest.param({}, id="defaults"),
        pytest.param({"scaleUp": {"tolerance": "0"}, "scaleDown": {"stabilizationWindowSeconds": 600}}, id="partial"),
        pytest.param({"scaleUp": {"selectPolicy": "Disabled"}}, id="disabled"),
    ],
)
def test_effective_rules_are_the_specs_and_computed_once(given: dict[str, object]) -> None:
    rules = spec.Behavior.model_validate(given)
    first = behavior.effective_rules(rules)
    assert first == (rules.effective_scale_up, rules.effective_scale_down)
    assert all(a is b for a, b in zip(behavior.effective_rules(rules), first, strict=True))
    # An equal but distinct object gets its own entry, with equal rules.
    assert behavior.effective_rules(spec.Behavior.model_validate(given)) == first
