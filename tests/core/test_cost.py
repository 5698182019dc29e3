"""Cost ledger: per-second ECI spend on requests, and drain-back savings retired by scale-in."""

from __future__ import annotations

import decimal

import pytest

from burstscaler.api import spec
from burstscaler.core import cost, ecispec

PRICING = spec.Pricing()


def test_replica_price_from_requests_at_default_prices() -> None:
    price = cost.ReplicaPrice.of(vcpu=2, gib=4, pricing=PRICING)
    assert price.eci_per_second == pytest.approx(2 * 0.0000077 + 4 * 0.00000096)
    assert price.ecs_per_second == 0.0


def test_ecs_price_is_charged_by_requested_share_when_given() -> None:
    pricing = spec.Pricing(ecs_per_vcpu_hour=decimal.Decimal("0.036"), ecs_per_gib_hour=decimal.Decimal("0.0036"))
    price = cost.ReplicaPrice.of(vcpu=1, gib=2, pricing=pricing)
    assert price.ecs_per_second == pytest.approx((0.036 + 2 * 0.0036) / 3600)


def test_accrue_charges_burst_replica_seconds() -> None:
    price = cost.ReplicaPrice.of(vcpu=1, gib=2, pricing=PRICING)
    ledger = cost.accrue(cost.CostLedger.start(1000.0), now=1060.0, burst_replicas=10, price=price)
    assert ledger.eci_vcpu_seconds == pytest.approx(600)
    assert ledger.eci_gib_seconds == pytest.approx(1200)
    assert ledger.eci_cost == pytest.approx(600 * 0.0000077 + 1200 * 0.00000096)
    assert (ledger.since, ledger.last) == (1000.0, 1060.0)


def test_time_never_runs_backwards() -> None:
    price = cost.ReplicaPrice.of(vcpu=1, gib=1, pricing=PRICING)
    ledger = cost.accrue(cost.CostLedger.start(1000.0), now=900.0, burst_replicas=5, price=price)
    assert ledger.eci_cost == 0 and ledger.last == 1000.0


@pytest.mark.parametrize(
    ("outstanding", "moves", "scale_in", "expected"),
    [
        pytest.param(0, 3, 0, 3, id="moves-add"),
        pytest.param(3, 0, 2, 1, id="scale-in-retires-drained-first"),
        pytest.param(3, 0, 10, 0, id="never-negative"),
        pytest.param(2, 1, 1, 2, id="both"),
    ],
)
def test_drained_outstanding(outstanding: int, moves: int, scale_in: int, expected: int) -> None:
    ledger = cost.CostLedger(since=0, last=0, drained_outstanding=outstanding)
    assert cost.record_moves(ledger, completed_moves=moves, scale_in=scale_in).drained_outstanding == expected


def test_drain_back_savings_accrue_for_replicas_kept_on_ecs() -> None:
    price = cost.ReplicaPrice.of(vcpu=1, gib=2, pricing=PRICING)
    ledger = cost.record_moves(cost.CostLedger.start(0.0), completed_moves=4, scale_in=0)
    ledger = cost.accrue(ledger, now=100.0, burst_replicas=0, price=price)
    assert ledger.drain_back_savings == pytest.approx(4 * 100 * price.eci_per_second)
    assert ledger.eci_cost == 0


def template(*, annotations: dict[str, str] | None = None, **resources: dict[str, str]) -> dict[str, object]:
    """A pod template with one container whose resources are `resources` (requests=..., limits=...)."""
    return {
        "metadata": {"annotations": annotations or {}},
        "spec": {"containers": [{"name": "c", "resources": resources}]},
    }


@pytest.mark.parametrize(
    ("pod_template", "vcpu", "gib"),
    [
        pytest.param(template(), 2, 4, id="nothing-set-is-2-4"),
        pytest.param(template(requests={"cpu": "250m", "memory": "512Mi"}), 0.25, 0.5, id="requests"),
        pytest.param(
            template(requests={"cpu": "500m", "memory": "1Gi"}, limits={"cpu": "4", "memory": "8Gi"}),
            4,
            8,
            id="limits-win",
        ),
        pytest.param(
            template(annotations={"k8s.aliyun.com/eci-use-specs": "8-16Gi"}, requests={"cpu": "1", "memory": "2Gi"}),
            8,
            16,
            id="eci-use-specs-wins",
        ),
        pytest.param(template(requests={"cpu": "3", "memory": "5Gi"}), 4, 8, id="rounded-up"),
        pytest.param(template(requests={"cpu": "100", "memory": "1Gi"}), 64, 512, id="too-large-priced-at-most"),
        pytest.param(template(requests={"cpu": "lots"}), 64, 512, id="unreadable-priced-at-most"),
    ],
)
def test_a_burst_replica_is_billed_on_its_effective_spec(
    pod_template: dict[str, object], vcpu: float, gib: float
) -> None:
    assert cost.burst_spec(pod_template) == ecispec.EciSpec(vcpu=vcpu, memory_gib=gib)


def test_price_is_eci_on_the_effective_spec_and_ecs_on_requests() -> None:
    pricing = spec.Pricing(ecs_per_vcpu_hour=decimal.Decimal("0.036"))
    price = cost.price_replica(
        eci=ecispec.EciSpec(vcpu=2, memory_gib=4), requested_vcpu=0.5, requested_gib=1, pricing=pricing
    )
    assert price.eci_per_second == pytest.approx(2 * 0.0000077 + 4 * 0.00000096)
    assert price.ecs_per_second == pytest.approx(0.5 * 0.036 / 3600)
    assert (price.vcpu, price.gib) == (2, 4)


TENANT_PRICES = spec.Pricing(
    currency="CNY",
    eci_per_vcpu_second=decimal.Decimal("0.000000001"),
    eci_per_gib_second=decimal.Decimal("0"),
    ecs_per_vcpu_hour=decimal.Decimal("0.1"),
)


def test_policy_prices_are_ignored_unless_the_operator_allows_them() -> None:
    operator = spec.Pricing(currency="USD", eci_per_vcpu_second=decimal.Decimal("0.00001"))
    used = cost.SpendLimits(pricing=operator).pricing_for(TENANT_PRICES)
    assert (used.currency, used.eci_per_vcpu_second, used.eci_per_gib_second) == (
        "USD",
        operator.eci_per_vcpu_second,
        operator.eci_per_gib_second,
    )
    assert used.ecs_per_vcpu_hour == decimal.Decimal("0.1"), "ECS prices only shape the savings report"
    assert cost.SpendLimits(pricing=operator, allow_policy_prices=True).pricing_for(TENANT_PRICES) == TENANT_PRICES


def test_operator_prices_of_zero_are_refused() -> None:
    with pytest.raises(ValueError, match="unbounded"):
        cost.SpendLimits(
            pricing=spec.Pricing(eci_per_vcpu_second=decimal.Decimal(0), eci_per_gib_second=decimal.Decimal(0))
        )


@pytest.mark.parametrize(
    ("budget", "default", "expected"),
    [
        pytest.param(spec.Budget(max_cost_per_hour=decimal.Decimal(36)), None, 0.01, id="own"),
        pytest.param(None, decimal.Decimal(72), 0.02, id="default"),
        pytest.param(spec.Budget(max_cost_per_hour=decimal.Decimal(36)), decimal.Decimal(72), 0.01, id="own-wins"),
        pytest.param(None, None, float("inf"), id="none"),
    ],
)
def test_budget_per_second(budget: spec.Budget | None, default: decimal.Decimal | None, expected: float) -> None:
    assert cost.SpendLimits(default_budget_per_hour=default).budget_per_second(budget) == pytest.approx(expected)


def test_the_namespace_cap_is_split_among_its_bursting_policies() -> None:
    budgets = cost.namespace_budgets(
        namespaces=["a", "a", "a", "b"],
        budgets=[float("inf"), 0.001, float("inf"), float("inf")],
        bursting=[True, True, False, True],
        cap_per_hour=decimal.Decimal(36),  # 0.01 per second
    )
    assert budgets == pytest.approx([0.005, 0.001, float("inf"), 0.01])
    assert (
        sum(b for b, ns, burst in zip(budgets, "aaab", [True, True, False, True], strict=True) if ns == "a" and burst)
        <= 0.01
    )


# -- spot (issue 16) ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("replicas", "spot", "discount", "expected_share"),
    [
        pytest.param(4, 0, 0.3, 4.0, id="all-on-demand"),
        pytest.param(4, 4, 0.3, 4 * 0.7, id="all-spot-at-the-discount"),
        pytest.param(4, 1, 0.5, 3 + 0.5, id="mixed"),
        pytest.param(2, 5, 0.3, 2 * 0.7, id="spot-never-more-than-burst"),
        pytest.param(3, 3, 0.0, 3.0, id="no-discount-is-on-demand"),
    ],
)
def test_accrue_prices_spot_replicas_at_the_expected_discount(
    replicas: int, spot: int, discount: float, expected_share: float
) -> None:
    price = cost.ReplicaPrice.of(vcpu=2, gib=4, pricing=PRICING)
    ledger = cost.accrue(
        cost.CostLedger.start(0.0),
        now=100.0,
        burst_replicas=replicas,
        price=price,
        spot_replicas=spot,
        spot_discount=discount,
    )
    assert ledger.eci_cost == pytest.approx(100 * expected_share * price.eci_per_second)
    # Resources used do not depend on how they are paid for.
    assert ledger.eci_vcpu_seconds == pytest.approx(100 * replicas * 2)


@pytest.mark.parametrize(
    ("spot", "rendered", "expected_per_hour"),
    [
        pytest.param(spec.Spot(), False, None, id="spot-off-on-demand"),
        pytest.param(spec.Spot(enabled=True), True, None, id="price-go-bounded-by-on-demand"),
        pytest.param(
            spec.Spot(enabled=True, strategy="SpotWithPriceLimit", price_limit_per_hour=decimal.Decimal("0.01")),
            True,
            0.01,
            id="limit-below-on-demand",
        ),
        pytest.param(
            spec.Spot(enabled=True, strategy="SpotWithPriceLimit", price_limit_per_hour=decimal.Decimal("9")),
            True,
            9.0,
            id="limit-above-on-demand-is-still-the-bound",
        ),
        pytest.param(
            spec.Spot(enabled=True, strategy="SpotWithPriceLimit", price_limit_per_hour=decimal.Decimal("0.01")),
            False,
            None,
            id="limit-while-falling-back-is-on-demand",
        ),
    ],
)
def test_budget_price_is_the_worst_case(spot: spec.Spot, rendered: bool, expected_per_hour: float | None) -> None:
    price = cost.ReplicaPrice.of(vcpu=2, gib=4, pricing=PRICING)
    bound = cost.budget_price_per_second(price, spot=spot, spot_rendered=rendered)
    expected = price.eci_per_second if expected_per_hour is None else expected_per_hour / 3600
    assert bound == pytest.approx(expected)
    # The expectation is never above what the budget is bounded with.
    if expected_per_hour is None:
        assert cost.spot_price_per_second(price, discount=PRICING.eci_spot_discount) < bound


def test_operator_spot_discount_wins_unless_policy_prices_allowed() -> None:
    operator = cost.SpendLimits(pricing=spec.Pricing(eci_spot_discount=0.5))
    policy = spec.Pricing(eci_spot_discount=0.9)
    assert operator.pricing_for(policy).eci_spot_discount == 0.5
    allowing = cost.SpendLimits(pricing=spec.Pricing(eci_spot_discount=0.5), allow_policy_prices=True)
    assert allowing.pricing_for(policy).eci_spot_discount == 0.9


def test_spot_discount_out_of_range_is_refused() -> None:
    price = cost.ReplicaPrice.of(vcpu=1, gib=1, pricing=PRICING)
    with pytest.raises(ValueError, match="eciSpotDiscount"):
        cost.spot_price_per_second(price, discount=1.0)
