"""Simulation settings: every number that shapes a result besides the workloads, with its default.

They are printed with every result (``as_dict``) because a cost comparison is only as honest as its
assumptions. Prices come from a sourced profile (``sim.prices``); delays from ``sim.realism``.

One policy for all: every autoscaled strategy (hpa-ca, eci-only, resourcepolicy, burstscaler) runs
the same recommender (``core.recommend``) with the same BurstPolicy per workload: a workload's own
policy, else ``--policy FILE``, else the default written here (an AverageValue target of
``target_utilization`` x what a replica serves, scale-up tolerance 0, a 600 s scale-down window).
Strategies then differ only in where replicas run and how capacity is bought.

Spot (``spec.burst.spot.enabled`` in the policy, or ``spot=True``: ``--spot``): every replica a
strategy runs on the virtual node is a spot ECI, billed at ``1 - eci_spot_discount_min`` of the
on-demand price (the conservative end of Alibaba's published 30-90%), and may be reclaimed after the
protection period (``eci_spot_reclaim_per_hour``, an assumption of the profile). The policy is one
for all, so eci-only and resourcepolicy get the same discount; only burstscaler's operator replaces a
pod make-before-break at the release event (``SPOT_NOTICE_SECONDS`` ahead); the others' ReplicaSet
starts the replacement after the release.

burstscaler runs on a growable pool by default (``node_autoscaling_for_burstscaler``): the fixed
subscription pool plus the same pay-as-you-go node growth as hpa-ca (issue 16: "the same node-growth
model serves burstscaler's pool as hpa-ca's").
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from burstscaler.api import spec
from burstscaler.sim import cluster, errors, prices, realism, scenario, traces

#: The simulated BurstPolicy's defaults when no policy is given: see the module docstring.
TARGET_UTILIZATION = 0.7
SCALE_UP_TOLERANCE = 0.0
SCALE_DOWN_WINDOW_SECONDS = 600
MIN_REPLICAS = 2
MAX_REPLICAS = 1000
#: How long before a spot ECI's release its "to be released" event comes: about 3 minutes (official:
#: https://www.alibabacloud.com/help/doc-detail/186545.htm, "A Kubernetes event occurs 3 minutes
#: before a preemptible instance is released").
SPOT_NOTICE_SECONDS = 180.0


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything a run depends on besides the scenario and the strategy."""

    prices: prices.Profile
    step_seconds: float = 30.0
    realism: realism.Realism = dataclasses.field(default_factory=realism.Realism)
    node_idle_seconds: float = 600.0
    slo_unserved_fraction: float = 0.01
    policy: spec.BurstPolicySpec | None = None  # --policy FILE; None: the default below per workload
    policy_source: str = "default"
    target_utilization: float = TARGET_UTILIZATION
    scale_up_tolerance: float = SCALE_UP_TOLERANCE
    scale_down_window_seconds: int = SCALE_DOWN_WINDOW_SECONDS
    min_replicas: int = MIN_REPLICAS
    max_replicas: int = MAX_REPLICAS
    node_autoscaling_for_burstscaler: bool = True  # burstscaler's pool grows as hpa-ca's (issue 16)
    placement: str = "auto"  # placement.CHOICES: who decides where base pods land
    burst_enabled: bool = True  # the default policy's burst.enabled (off: the like-for-like check)
    spot: bool = False  # --spot: burst.spot.enabled on whatever policy is in force

    def __post_init__(self) -> None:
        if not self.step_seconds > 0:
            raise errors.SettingsError(f"step must be greater than zero, not {self.step_seconds}")
        if not 0 < self.target_utilization <= 1:
            raise errors.SettingsError(f"target utilization must lie in (0, 1], not {self.target_utilization}")
        if self.scale_up_tolerance < 0 or self.scale_down_window_seconds < 0:
            raise errors.SettingsError("the scale-up tolerance and the scale-down window must not be negative")
        if not 0 <= self.min_replicas <= self.max_replicas:
            raise errors.SettingsError(
                f"min replicas ({self.min_replicas}) must lie between 0 and max replicas ({self.max_replicas})"
            )

    @property
    def node(self) -> cluster.NodeShape:
        """The ECS node shape the price profile prices."""
        return cluster.NodeShape(cpu=self.prices.node_vcpu, memory_gib=self.prices.node_memory_gib)

    def policy_for(self, workload: scenario.Workload) -> spec.BurstPolicySpec:
        """The BurstPolicy every autoscaled strategy runs for ``workload`` (see the module docstring)."""
        policy = self._policy_for(workload)
        if self.spot and not policy.burst.spot.enabled:
            spot = policy.burst.spot.model_copy(update={"enabled": True})
            policy = policy.model_copy(update={"burst": policy.burst.model_copy(update={"spot": spot})})
        return policy

    def _policy_for(self, workload: scenario.Workload) -> spec.BurstPolicySpec:
        if workload.policy is not None:
            return workload.policy
        if self.policy is not None:
            return self.policy
        target = math.floor(workload.capacity_per_replica * self.target_utilization * 1000 + 1e-6)
        if target <= 0:
            raise errors.SettingsError(
                f"{workload.name}: capacity per replica x target utilization is below one milli-request per "
                "second; give the capacity in larger units"
            )
        metric = {
            "query": f'sum(rate(http_requests_total{{app="{workload.name}"}}[1m]))',
            "target": {"type": "AverageValue", "averageValue": f"{target}m"},
        }
        return spec.BurstPolicySpec.model_validate(
            {
                "targetRef": {"name": workload.name},
                "minReplicas": self.min_replicas,
                "maxReplicas": self.max_replicas,
                "metrics": [{"prometheus": metric}],
                "behavior": {
                    "scaleUp": {"tolerance": repr(self.scale_up_tolerance)},
                    "scaleDown": {"stabilizationWindowSeconds": self.scale_down_window_seconds},
                },
                "priority": workload.priority,
                **({} if self.burst_enabled else {"burst": {"enabled": False}}),
            }
        )

    def eci_per_second(self, workload: scenario.Workload) -> float:
        """What one burst replica of ``workload`` costs per second (its effective ECI spec; spot if asked)."""
        price = self.prices.eci_per_second(vcpu=workload.pod.eci.vcpu, memory_gib=workload.pod.eci.memory_gib)
        if self.policy_for(workload).burst.spot.enabled:
            price *= 1.0 - self.prices.eci_spot_discount_min.value
        return price

    def as_dict(self) -> dict[str, Any]:
        """The settings as plain JSON-friendly values, for printing next to results."""
        return {
            "step_seconds": self.step_seconds,
            "node_vcpu": self.node.cpu,
            "node_memory_gib": self.node.memory_gib,
            "node_idle_seconds": self.node_idle_seconds,
            "slo_unserved_fraction": self.slo_unserved_fraction,
            "currency": self.prices.currency,
            "price_profile": self.prices.name,
            "ecs_subscription_per_node_hour": self.prices.ecs_node_subscription_per_hour.value,
            "ecs_payg_per_node_hour": self.prices.ecs_node_payg_per_hour.value,
            "eci_discount": self.prices.eci_discount,
            "spot": self.spot or (self.policy is not None and self.policy.burst.spot.enabled),
            "spot_discount": self.prices.eci_spot_discount_min.value,
            "spot_reclaim_per_hour": self.prices.eci_spot_reclaim_per_hour.value,
            "spot_notice_seconds": SPOT_NOTICE_SECONDS,
            "burstscaler_pool": "growable (fixed pool + pay-as-you-go nodes)"
            if self.node_autoscaling_for_burstscaler
            else "fixed pool only",
            "policy_source": self.policy_source,
            **({"policy_target_utilization": self.target_utilization} if self.policy is None else {}),
            **{f"realism_{key}": value for key, value in self.realism.as_dict().items()},
        }


def policy_replicas(policy: spec.BurstPolicySpec, *, rate: float) -> int:
    """Replicas ``policy`` asks for at a steady ``rate`` (its first metric's AverageValue target)."""
    target = _average_value(policy)
    needed = math.ceil(rate / target - 1e-9) if rate > 0 and target else 0
    return max(policy.min_replicas, min(policy.max_replicas, needed))


def _average_value(policy: spec.BurstPolicySpec) -> float:
    for metric in policy.metrics:
        target = metric.prometheus.target if metric.prometheus is not None else None
        if target is not None and target.average_value is not None:
            return float(target.average_value)
    return 0.0


def node_equivalents(
    settings: Settings, workloads: Sequence[scenario.Workload], loads: Sequence[traces.StepLoad]
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Per step, the ECS nodes the policies' replicas of all workloads would fill (tightest resource)."""
    node = settings.node.allocatable
    total = np.zeros(max(load.rates.size for load in loads))
    for workload, load in zip(workloads, loads, strict=True):
        policy = settings.policy_for(workload)
        target = _average_value(policy) or workload.capacity_per_replica
        rates = np.where(load.observed, load.rates, 0.0)
        replicas = np.clip(np.ceil(rates / target - 1e-9), policy.min_replicas, policy.max_replicas)
        share = float(np.max(cluster.requests_of(workload.pod) / node))
        total[: replicas.size] += replicas * share
    return total


def base_pool(settings: Settings, workloads: Sequence[scenario.Workload], loads: Sequence[traces.StepLoad]) -> int:
    """The fixed ECS pool when a scenario says ``auto``: the newsvendor rule, in whole nodes.

    A subscription node is worth buying when it would be busy enough: the k-th node carries the
    demand between k-1 and k nodes' worth of replicas, and is added while its expected utilisation
    reaches ``r`` = its hourly price over what the same room costs on ECI (the mix of the workloads'
    effective-spec prices, weighted by their node-equivalents). Like static-peak's sizing it sees the
    whole trace (the same hindsight for both).
    """
    demand = node_equivalents(settings, workloads, loads)
    node = settings.node.allocatable
    eci_node_hour, weight = 0.0, 0.0
    for workload in workloads:
        share = float(np.max(cluster.requests_of(workload.pod) / node))
        eci_node_hour += settings.eci_per_second(workload) * 3600.0  # one replica-hour ...
        weight += share  # ... fills this much of a node
    eci_node_hour = eci_node_hour / weight if weight else math.inf
    ratio = settings.prices.ecs_node_subscription_per_hour.value / eci_node_hour if eci_node_hour > 0 else math.inf
    if ratio >= 1 or not demand.any():
        return 0
    nodes = 0
    while np.mean(np.clip(demand - nodes, 0.0, 1.0)) >= ratio:
        nodes += 1
    return nodes
