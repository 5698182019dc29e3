"""Cost ledger: per-second ECI spend on requests, and drain-back savings retired by scale-in."""

from __future__ import annotations

import decimal

import pytest

from burstscaler.api import spec
from burstscaler.core import cost

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
