"""Spot ECI: the annotations rendered, what pods report (refused, to be released, running), the fallback."""

from __future__ import annotations

import decimal
from typing import Any

import pytest

from burstscaler.api import spec
from burstscaler.cluster import objects, spot

NOW = 1_800_000_000.0


def make_pod(
    *,
    strategy: str | None = "SpotAsPriceGo",
    phase: str = "Running",
    reason: str | None = None,
    message: str | None = None,
    expired: bool = False,
    created: str = "2027-01-15T08:00:00Z",
    deleting: bool = False,
) -> objects.PodRecord:
    """A twin pod as the API returns it, through the operator's record."""
    annotations = {spot.STRATEGY_ANNOTATION: strategy} if strategy else {}
    status: dict[str, Any] = {"phase": phase, "conditions": []}
    if reason:
        status.update(reason=reason, message=message or "")
    if phase == "Running":
        status["startTime"] = created
    if expired:
        status["conditions"].append({"type": "ContainerInstanceExpired", "status": "True"})
    metadata: dict[str, Any] = {
        "name": "web-burst-x",
        "namespace": "shop",
        "labels": {"burstscaler.io/tier": "burst"},
        "annotations": annotations,
        "creationTimestamp": created,
    }
    if deleting:
        metadata["deletionTimestamp"] = created
    return objects.pod_record({"metadata": metadata, "spec": {"containers": []}, "status": status})


STOCK_OUT = "Create ECI failed because the specified instance is out of stock."


@pytest.mark.parametrize(
    ("pod", "expected"),
    [
        pytest.param(make_pod(phase="Pending", reason="ProviderFailed", message=STOCK_OUT), True, id="vk-stock-out"),
        pytest.param(
            make_pod(phase="Pending", reason="ProviderFailed", message="SpotPriceLimit is lower than the market"),
            True,
            id="vk-price-too-low",
        ),
        pytest.param(make_pod(phase="Failed", reason="NoStock"), True, id="eci-no-stock"),
        pytest.param(make_pod(phase="Failed", reason="ScheduleFailed", message=STOCK_OUT), True, id="eci-failed"),
        pytest.param(
            make_pod(phase="Pending", reason="ProviderFailed", message="volume nfs-1 not found"),
            False,
            id="other-provider-error",
        ),
        pytest.param(
            make_pod(strategy=None, phase="Pending", reason="ProviderFailed", message=STOCK_OUT),
            False,
            id="on-demand-pod",
        ),
        pytest.param(make_pod(phase="Failed", reason="BidFailed"), False, id="released-not-refused"),
        pytest.param(make_pod(), False, id="running"),
    ],
)
def test_refused(pod: objects.PodRecord, expected: bool) -> None:
    assert spot.refused(pod) is expected


def test_observe_counts_each_state() -> None:
    pods = [
        make_pod(),
        make_pod(expired=True),
        make_pod(phase="Pending", reason="ProviderFailed", message=STOCK_OUT),
        make_pod(strategy=None),  # on-demand: not a spot pod
        make_pod(phase="Failed", reason="BidFailed"),  # gone
        make_pod(expired=True, deleting=True),  # already leaving: its replacement is the ReplicaSet's
    ]
    assert spot.observe(pods) == spot.SpotState(refused=1, to_be_released=1, running=2)


def test_refusals_of_pods_older_than_the_retry_are_ignored() -> None:
    old = make_pod(phase="Pending", reason="ProviderFailed", message=STOCK_OUT, created="2027-01-15T08:00:00Z")
    created = objects.timestamp("2027-01-15T08:00:00Z")
    assert created is not None
    assert spot.observe([old], since=created + 60).refused == 0
    assert spot.observe([old], since=created).refused == 1


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        pytest.param(spec.Spot(), {}, id="off"),
        pytest.param(
            spec.Spot(enabled=True),
            {spot.STRATEGY_ANNOTATION: "SpotAsPriceGo", spot.DURATION_ANNOTATION: "1"},
            id="price-go",
        ),
        pytest.param(
            spec.Spot(
                enabled=True,
                strategy="SpotWithPriceLimit",
                price_limit_per_hour=decimal.Decimal("0.2509"),
                protection_hours=0,
            ),
            {
                spot.STRATEGY_ANNOTATION: "SpotWithPriceLimit",
                spot.PRICE_LIMIT_ANNOTATION: "0.250",
                spot.DURATION_ANNOTATION: "0",
            },
            id="limit-rounded-down-to-three-places",
        ),
    ],
)
def test_annotations(policy: spec.Spot, expected: dict[str, str]) -> None:
    assert spot.pod_annotations(policy) == expected


def test_a_limit_below_ecis_step_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="priceLimitPerHour"):
        spot.price_limit_text(decimal.Decimal("0.0004"))


ON = spec.Spot(enabled=True)
REFUSED = spot.SpotState(refused=2)


@pytest.mark.parametrize(
    ("policy", "provider", "state", "until", "expected"),
    [
        pytest.param(spec.Spot(), "alibaba-eci", REFUSED, None, spot.Decision(spot=False, state=REFUSED), id="off"),
        pytest.param(ON, "azure-aci", REFUSED, None, spot.Decision(spot=False, state=REFUSED), id="no-spot-provider"),
        pytest.param(ON, "alibaba-vnode", spot.SpotState(), None, spot.Decision(spot=True), id="spot"),
        pytest.param(
            ON,
            "alibaba-eci",
            REFUSED,
            None,
            spot.Decision(spot=False, until=NOW + spot.RETRY_SECONDS, started=True, state=REFUSED),
            id="refusal-falls-back",
        ),
        pytest.param(
            ON,
            "alibaba-eci",
            REFUSED,
            NOW + 10,
            spot.Decision(spot=False, until=NOW + 10, state=REFUSED),
            id="cooling-down",
        ),
        pytest.param(ON, "alibaba-eci", REFUSED, NOW, spot.Decision(spot=True, since=NOW), id="retry-after-cool-down"),
    ],
)
def test_decide(
    policy: spec.Spot, provider: str, state: spot.SpotState, until: float | None, expected: spot.Decision
) -> None:
    assert spot.decide(policy, provider=provider, state=state, until=until, since=None, now=NOW) == expected


def test_the_fallbacks_reason() -> None:
    assert spot.Decision(spot=False, until=NOW).reason == "spot-fallback"
    assert spot.Decision(spot=True).reason is None


@pytest.mark.parametrize(
    ("releasing", "target", "room", "expected"),
    [
        pytest.param(2, 5, 10, 2, id="one-per-pod-to-be-released"),
        pytest.param(3, 5, 1, 1, id="within-the-room"),
        pytest.param(3, 1, 10, 1, id="only-pods-the-target-keeps"),
        pytest.param(0, 5, 10, 0, id="none-announced"),
        pytest.param(2, 5, -3, 0, id="over-the-cap-already"),
    ],
)
def test_replacements(releasing: int, target: int, room: int, expected: int) -> None:
    state = spot.SpotState(to_be_released=releasing, running=releasing)
    assert spot.replacements(state=state, burst_target=target, room=room) == expected


def test_cool_down_round_trips_through_the_twins_annotation() -> None:
    text = spot.until_text(NOW)
    assert spot.until_from({spot.FALLBACK_UNTIL_ANNOTATION: text}) == NOW
    assert spot.until_from({spot.FALLBACK_UNTIL_ANNOTATION: "soon"}) is None
    assert spot.until_from({}) is None
