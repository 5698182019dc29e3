"""Cost accounting per policy: what burst replicas cost on the virtual node and what drain-back saved.

ECI bills per second on the pod's *effective spec* (``core.ecispec``: eci-use-specs, else limits where
set, else requests, rounded up to a supported spec; 2 vCPU / 4 GiB when nothing is set), so a burst
replica is priced on the rendered twin's template, never on the base's requests (issue 12: a patch or a
pod without requests must not make burst look cheap). ECS nodes are paid whether used or not, so a
replica on a node that is already there costs nothing extra, unless an ECS price is given, in which
case the replica's share of the node (by requests) is charged for comparison.

Who sets the prices that bound spend (``SpendLimits``): the operator. A policy's own ``pricing`` is used
for ECI only where the operator allows policy prices; ECS prices (which only shape the drain-back
savings report) always come from the policy. The operator may also cap each namespace's burst spend
per hour (split equally among the namespace's bursting policies) and give policies without a budget a
default one.

Spot (issue 16): a burst pod on a spot instance is charged at the price profile's expectation, the ECI price
less ``pricing.eciSpotDiscount`` (the operator's, like every ECI price, unless it allows policy prices); the
market moves within the protection period's fixed price and afterwards, so the discount is an expectation,
not a bill. The budget bounds the worst case instead (``budget_price_per_second``): under ``SpotAsPriceGo``
ECI bids at most the pay-as-you-go price, so a spot replica is bounded like an on-demand one; under
``SpotWithPriceLimit`` it never pays more than the limit, per instance and hour. Whatever the market does,
the replicas the budget allows cannot cost more than the budget.

Drain-back savings: a replica moved back to ECS would otherwise have stayed on ECI until the load fell
enough for scale-in (burst first) to remove it. The ledger keeps how many such replicas are still
running on ECS (`drained_outstanding`) and credits, each second, the ECI cost they avoid minus their ECS
cost. Scale-in reduces that count first, as it would have removed burst replicas first.
"""

from __future__ import annotations

import dataclasses
import decimal
from collections.abc import Mapping
from typing import Any

from burstscaler.api import spec
from burstscaler.core import ecispec


@dataclasses.dataclass(frozen=True)
class ReplicaPrice:
    """Per-second cost of one replica on each tier, from its requests and the policy's pricing."""

    vcpu: float
    gib: float
    eci_per_second: float
    ecs_per_second: float

    @classmethod
    def of(cls, *, vcpu: float, gib: float, pricing: spec.Pricing) -> ReplicaPrice:
        """Price a replica requesting `vcpu` cores and `gib` GiB of memory."""
        eci = vcpu * float(pricing.eci_per_vcpu_second) + gib * float(pricing.eci_per_gib_second)
        ecs_hour = vcpu * float(pricing.ecs_per_vcpu_hour or 0) + gib * float(pricing.ecs_per_gib_hour or 0)
        return cls(vcpu=vcpu, gib=gib, eci_per_second=eci, ecs_per_second=ecs_hour / 3600.0)


def burst_spec(template: Mapping[str, Any]) -> ecispec.EciSpec:
    """The ECI spec a pod of `template` (a pod template: metadata and spec) is billed for.

    A template ECI cannot size (a quantity that does not parse, larger than every spec) is priced at
    the largest spec: such a template is refused by the ECI lint, and an overestimate never lets a
    budget overspend.
    """
    metadata = template.get("metadata") or {}
    try:
        return ecispec.effective_spec(pod_spec=template.get("spec") or {}, annotations=metadata.get("annotations"))
    except ValueError:  # SpecTooLarge included
        return ecispec.EciSpec(vcpu=64.0, memory_gib=512.0)


def price_replica(
    *, eci: ecispec.EciSpec, requested_vcpu: float, requested_gib: float, pricing: spec.Pricing
) -> ReplicaPrice:
    """One replica's price: ECI on its effective spec, ECS (for comparison) on its requests."""
    eci_second = eci.vcpu * float(pricing.eci_per_vcpu_second) + eci.memory_gib * float(pricing.eci_per_gib_second)
    ecs_hour = requested_vcpu * float(pricing.ecs_per_vcpu_hour or 0) + requested_gib * float(
        pricing.ecs_per_gib_hour or 0
    )
    return ReplicaPrice(vcpu=eci.vcpu, gib=eci.memory_gib, eci_per_second=eci_second, ecs_per_second=ecs_hour / 3600)


def spot_price_per_second(price: ReplicaPrice, *, discount: float) -> float:
    """The expected per-second price of one replica on a spot instance: ``(1 - discount)`` of ECI's."""
    if not 0 <= discount < 1:
        raise ValueError(f"pricing.eciSpotDiscount must be at least 0 and below 1, got {discount}")
    return price.eci_per_second * (1.0 - discount)


def budget_price_per_second(price: ReplicaPrice, *, spot: spec.Spot, spot_rendered: bool) -> float:
    """The most one burst replica can cost per second: what a budget is divided by.

    On-demand and ``SpotAsPriceGo``: the pay-as-you-go price (ECI's bid never exceeds it). A twin rendered
    with ``SpotWithPriceLimit``: the limit per hour, whether above or below the on-demand price.
    """
    if spot_rendered and spot.strategy == "SpotWithPriceLimit" and spot.price_limit_per_hour is not None:
        return float(spot.price_limit_per_hour) / 3600.0
    return price.eci_per_second


@dataclasses.dataclass(frozen=True)
class SpendLimits:
    """The operator's rules for what bounds burst spend (see the module docstring)."""

    pricing: spec.Pricing = dataclasses.field(default_factory=spec.Pricing)
    allow_policy_prices: bool = False
    namespace_cap_per_hour: decimal.Decimal | None = None
    default_budget_per_hour: decimal.Decimal | None = None

    def __post_init__(self) -> None:
        if self.pricing.eci_per_vcpu_second == 0 and self.pricing.eci_per_gib_second == 0:
            # A free replica would make every budget and the namespace cap no cap at all.
            raise ValueError("the operator's ECI prices are both 0: burst spend would be unbounded")

    def pricing_for(self, policy: spec.Pricing) -> spec.Pricing:
        """The prices a policy's spend is counted and bounded with."""
        if self.allow_policy_prices:
            return policy
        return self.pricing.model_copy(
            update={"ecs_per_vcpu_hour": policy.ecs_per_vcpu_hour, "ecs_per_gib_hour": policy.ecs_per_gib_hour}
        )

    def budget_per_second(self, budget: spec.Budget | None) -> float:
        """The policy's own budget (else the operator's default), per second; inf when there is none."""
        if budget is not None:
            return float(budget.max_cost_per_hour) / 3600.0
        if self.default_budget_per_hour is not None:
            return float(self.default_budget_per_hour) / 3600.0
        return float("inf")


def namespace_budgets(
    *, namespaces: list[str], budgets: list[float], bursting: list[bool], cap_per_hour: decimal.Decimal | None
) -> list[float]:
    """Each policy's budget per second under an operator-wide cap per namespace.

    The namespace's cap is split equally among its policies that may burst (their rows in `bursting`);
    a policy keeps its own budget where that is smaller. The sum over a namespace never exceeds the cap.
    """
    if cap_per_hour is None:
        return list(budgets)
    counts: dict[str, int] = {}
    for namespace, may in zip(namespaces, bursting, strict=True):
        counts[namespace] = counts.get(namespace, 0) + (1 if may else 0)
    cap = float(cap_per_hour) / 3600.0
    return [
        min(budget, cap / counts[namespace]) if may else budget
        for namespace, budget, may in zip(namespaces, budgets, bursting, strict=True)
    ]


@dataclasses.dataclass(frozen=True)
class CostLedger:
    """Accumulated spend of one policy since `since` (seconds since the epoch)."""

    since: float
    last: float
    eci_vcpu_seconds: float = 0.0
    eci_gib_seconds: float = 0.0
    eci_cost: float = 0.0
    drain_back_savings: float = 0.0
    drained_outstanding: int = 0

    @classmethod
    def start(cls, now: float) -> CostLedger:
        """An empty ledger opened at `now`."""
        return cls(since=now, last=now)


def accrue(
    ledger: CostLedger,
    *,
    now: float,
    burst_replicas: int,
    price: ReplicaPrice,
    spot_replicas: int = 0,
    spot_discount: float = 0.0,
) -> CostLedger:
    """Charge `burst_replicas` running since the ledger's last entry, and credit drain-back savings.

    `spot_replicas` of them (at most all) run on spot instances and are charged ``(1 - spot_discount)``
    of the ECI price (the expectation, see the module docstring). Time never runs backwards: a `now`
    earlier than the last entry charges nothing.
    """
    seconds = max(0.0, now - ledger.last)
    replica_seconds = max(0, burst_replicas) * seconds
    spot_seconds = min(max(0, spot_replicas), max(0, burst_replicas)) * seconds
    spot_saving = spot_seconds * (price.eci_per_second - spot_price_per_second(price, discount=spot_discount))
    saved = ledger.drained_outstanding * seconds * (price.eci_per_second - price.ecs_per_second)
    return dataclasses.replace(
        ledger,
        last=max(now, ledger.last),
        eci_vcpu_seconds=ledger.eci_vcpu_seconds + replica_seconds * price.vcpu,
        eci_gib_seconds=ledger.eci_gib_seconds + replica_seconds * price.gib,
        eci_cost=ledger.eci_cost + replica_seconds * price.eci_per_second - spot_saving,
        drain_back_savings=ledger.drain_back_savings + max(0.0, saved),
    )


def record_moves(ledger: CostLedger, *, completed_moves: int, scale_in: int) -> CostLedger:
    """Note drain-back moves completed this tick and replicas removed by scale-in.

    Scale-in first retires drained replicas: without drain-back they would have been burst replicas,
    which go first.
    """
    outstanding = max(0, ledger.drained_outstanding - max(0, scale_in)) + max(0, completed_moves)
    return dataclasses.replace(ledger, drained_outstanding=outstanding)
