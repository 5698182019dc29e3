"""Cost accounting per policy: what burst replicas cost on the virtual node and what drain-back saved.

ECI bills per second on the pod's *requested* vCPU and memory (DESIGN §1). ECS nodes are paid whether
used or not, so a replica on a node that is already there costs nothing extra, unless an ECS price is
given, in which case the replica's share of the node (by requests) is charged for comparison.

Drain-back savings: a replica moved back to ECS would otherwise have stayed on ECI until the load fell
enough for scale-in (burst first) to remove it. The ledger keeps how many such replicas are still
running on ECS (`drained_outstanding`) and credits, each second, the ECI cost they avoid minus their ECS
cost. Scale-in reduces that count first, as it would have removed burst replicas first.
"""

from __future__ import annotations

import dataclasses

from burstscaler.api import spec


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


def accrue(ledger: CostLedger, *, now: float, burst_replicas: int, price: ReplicaPrice) -> CostLedger:
    """Charge `burst_replicas` running since the ledger's last entry, and credit drain-back savings.

    Time never runs backwards: a `now` earlier than the last entry charges nothing.
    """
    seconds = max(0.0, now - ledger.last)
    replica_seconds = max(0, burst_replicas) * seconds
    saved = ledger.drained_outstanding * seconds * (price.eci_per_second - price.ecs_per_second)
    return dataclasses.replace(
        ledger,
        last=max(now, ledger.last),
        eci_vcpu_seconds=ledger.eci_vcpu_seconds + replica_seconds * price.vcpu,
        eci_gib_seconds=ledger.eci_gib_seconds + replica_seconds * price.gib,
        eci_cost=ledger.eci_cost + replica_seconds * price.eci_per_second,
        drain_back_savings=ledger.drain_back_savings + max(0.0, saved),
    )


def record_moves(ledger: CostLedger, *, completed_moves: int, scale_in: int) -> CostLedger:
    """Note drain-back moves completed this tick and replicas removed by scale-in.

    Scale-in first retires drained replicas: without drain-back they would have been burst replicas,
    which go first.
    """
    outstanding = max(0, ledger.drained_outstanding - max(0, scale_in)) + max(0, completed_moves)
    return dataclasses.replace(ledger, drained_outstanding=outstanding)
