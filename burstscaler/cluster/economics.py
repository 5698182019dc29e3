"""Build the core's ``snapshot.Economics`` from the policies, their placeholder pods and the operator's flags.

What the bridge (DESIGN §2 step 4b) and the cost-based drain-back decide with, one row per policy:
- ``pool_growable``: ``spec.bridge.enabled`` where the policy says, else the operator's ``--node-growth``
  (off by default: without a growable pool nothing changes); a policy whose placeholder name is taken
  by someone else's object is not growable (it can have no placeholders);
- ``ecs_cost_per_second``: one replica's requests priced at the ECS prices (``pricing.ecsPerVCPUHour`` /
  ``ecsPerGiBHour``), nan when no price is known, and then the core plans no placeholders. Whose prices:
  the operator's (``--ecs-price-per-vcpu-hour`` / ``--ecs-price-per-gib-hour``) when it gives them and does
  not allow policy prices, since buying nodes is spend that tenants must not be able to make look cheap
  (DESIGN §3); else the policy's; else the operator's. One of the two prices alone is the whole price
  (an instance priced per vCPU with its memory included);
- delays from ``spec.bridge`` (node boot, the autoscaler's scale-down delay) and
  ``spec.drainBack.podStartupSeconds``; ``min_savings`` from ``drainBack.minSavings`` (nan when unset: the
  core then counts one pod start-up at the burst price); ``max_placeholders`` from ``bridge.maxPlaceholders``;
- ``placeholders`` / ``placeholders_bound``: the policy's placeholder pods that exist now, and of those
  the ones bound to a node (Pending ones are still asking for a node);
- ``window_ends``: when the schedule window raising the floor now closes (nan when none is active).
Pure: records and specs in, arrays out; ``now`` is an argument.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import math
from collections.abc import Mapping, Sequence

import numpy as np

from burstscaler.api import spec as api
from burstscaler.cluster import objects
from burstscaler.core import schedules, snapshot

_GIB = float(2**30)


@dataclasses.dataclass(frozen=True)
class Defaults:
    """The operator-wide side of the bridge (``burstscaler run`` flags)."""

    node_growth: bool = False  # --node-growth: a node autoscaler serves the ECS pool of every policy
    ecs_per_vcpu_hour: decimal.Decimal | None = None  # --ecs-price-per-vcpu-hour
    ecs_per_gib_hour: decimal.Decimal | None = None  # --ecs-price-per-gib-hour
    allow_policy_prices: bool = False  # --allow-policy-prices: a policy's own prices win over the operator's
    # --paid-node-label key=value: nodes paid whether used or not (a subscription node pool, one that never
    # scales down); a drain-back move onto their room costs nothing more. None given: no node is known paid.
    paid_node_labels: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        for name in ("ecs_per_vcpu_hour", "ecs_per_gib_hour"):
            value = getattr(self, name)
            if value is not None and (not value.is_finite() or value < 0):
                raise ValueError(f"{name}: an ECS price must be a non-negative decimal, got {value}")


@dataclasses.dataclass(frozen=True)
class PolicyInputs:
    """One policy's part: its spec, one replica's request (snapshot units) and its placeholder pods."""

    spec: api.BurstPolicySpec
    requests: Mapping[str, float]
    placeholder_pods: Sequence[objects.PodRecord] = ()
    placeholders_allowed: bool = True  # False: its placeholder's name is taken (or invalid)


def ecs_prices(pricing: api.Pricing, *, defaults: Defaults) -> tuple[decimal.Decimal | None, decimal.Decimal | None]:
    """The (per vCPU-hour, per GiB-hour) ECS prices a policy's bridge is decided with (see the module docstring)."""
    operator = (defaults.ecs_per_vcpu_hour, defaults.ecs_per_gib_hour)
    policy = (pricing.ecs_per_vcpu_hour, pricing.ecs_per_gib_hour)
    operator_known = any(price is not None for price in operator)
    policy_known = any(price is not None for price in policy)
    if operator_known and not defaults.allow_policy_prices:
        return operator
    return policy if policy_known else operator


def ecs_cost_per_second(requests: Mapping[str, float], *, pricing: api.Pricing, defaults: Defaults) -> float:
    """One replica's share of an added node's price per second; nan when no ECS price is known."""
    per_vcpu, per_gib = ecs_prices(pricing, defaults=defaults)
    if per_vcpu is None and per_gib is None:
        return math.nan
    vcpu = float(requests.get("cpu", 0.0)) / 1000.0
    gib = float(requests.get("memory", 0.0)) / _GIB
    hourly = vcpu * float(per_vcpu or 0) + gib * float(per_gib or 0)
    return hourly / 3600.0


def window_end(policy: api.BurstPolicySpec, *, now: float) -> float:
    """When the schedule window raising the floor now closes (seconds since the epoch); nan when none does.

    Of overlapping windows, those at the floor's value raise it; the latest of them to close is the end.
    """
    floor = schedules.floor(policy.schedules, now=datetime.datetime.fromtimestamp(now, tz=datetime.UTC))
    ends = [window.end.timestamp() for window in floor.windows if window.min_replicas == floor.replicas]
    return max(ends) if ends and floor.replicas > 0 else math.nan


def paid_nodes(
    names: Sequence[str], records: Sequence[objects.NodeRecord], *, defaults: Defaults
) -> snapshot.BoolArray | None:
    """Which of the snapshot's nodes (``names``, in its order) are paid whether used or not (``Nodes.paid``).

    A node is paid when it carries any ``--paid-node-label``; None when no label is configured (then the core
    prices every node's room on a growable pool at an added node's share, the cautious reading). Virtual nodes
    count as paid: they have no room, so it changes nothing.
    """
    if not defaults.paid_node_labels:
        return None
    by_name = {record.name: record for record in records}

    def paid(name: str) -> bool:
        record = by_name.get(name)
        if record is None or record.virtual:
            return True
        return any(record.labels.get(key) == value for key, value in defaults.paid_node_labels)

    return np.array([paid(name) for name in names], dtype=np.bool_).reshape(len(names))


def build(policies: Sequence[PolicyInputs], *, defaults: Defaults, now: float) -> snapshot.Economics:
    """The economics of `policies`, in their order (the snapshot's policy rows)."""
    count = len(policies)

    def floats(values: Sequence[float]) -> snapshot.FloatArray:
        return np.array(values, dtype=np.float64).reshape(count)

    def ints(values: Sequence[int]) -> snapshot.IntArray:
        return np.array(values, dtype=np.int64).reshape(count)

    growable, ecs, boot, down, startup, savings, cap, existing, bound, ends = ([] for _ in range(10))
    for row in policies:
        bridge, drain = row.spec.bridge, row.spec.drain_back
        wanted = defaults.node_growth if bridge.enabled is None else bridge.enabled
        growable.append(bool(wanted) and row.placeholders_allowed)
        ecs.append(ecs_cost_per_second(row.requests, pricing=row.spec.pricing, defaults=defaults))
        boot.append(float(bridge.node_boot_seconds))
        down.append(float(bridge.scale_down_delay_seconds))
        startup.append(float(drain.pod_startup_seconds))
        savings.append(math.nan if drain.min_savings is None else float(drain.min_savings))
        cap.append(snapshot.UNLIMITED if bridge.max_placeholders is None else int(bridge.max_placeholders))
        live = [pod for pod in row.placeholder_pods if not pod.terminal]
        existing.append(len(live))
        bound.append(sum(1 for pod in live if pod.node_name))
        ends.append(window_end(row.spec, now=now))
    return snapshot.Economics(
        pool_growable=np.array(growable, dtype=np.bool_).reshape(count),
        ecs_cost_per_second=floats(ecs),
        node_boot_seconds=floats(boot),
        scale_down_delay_seconds=floats(down),
        pod_startup_seconds=floats(startup),
        min_savings=floats(savings),
        max_placeholders=ints(cap),
        placeholders=ints(existing),
        placeholders_bound=ints(bound),
        window_ends=floats(ends),
    )
