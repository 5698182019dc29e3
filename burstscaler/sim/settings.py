"""Simulation settings: every number that shapes a result, with its default and where it comes from.

They are printed with every result (``as_dict``) because a cost comparison is only as honest as its
assumptions. Prices of ECI are DESIGN §3's defaults (Alibaba Cloud international list prices). The
ECS node price has no list price in the design: the default is an *assumption*, a pay-as-you-go
4 vCPU / 16 GiB general-purpose node at USD 0.12 per hour, and it is an option.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from burstscaler.sim import cluster, errors, traces

#: DESIGN §3: Alibaba Cloud ECI pay-as-you-go, international list prices (USD).
ECI_PER_VCPU_SECOND = 0.0000077
ECI_PER_GIB_SECOND = 0.00000096
#: An assumption, not a list price: see the module docstring.
ECS_NODE_PER_HOUR = 0.12
#: The default replica: 1 vCPU / 2 GiB (a valid ECI spec; 4 fit on the default node, CPU-bound).
DEFAULT_POD = cluster.PodShape(cpu=1.0, memory_gib=2.0)
#: The default ECS node: 4 vCPU / 16 GiB allocatable at the assumed price.
DEFAULT_NODE = cluster.NodeShape(cpu=4.0, memory_gib=16.0, price_per_hour=ECS_NODE_PER_HOUR)
#: Replicas the trace's peak needs when --capacity-per-replica is not given (sizes arbitrary traces).
AUTO_PEAK_REPLICAS = 40
#: The simulated BurstPolicy's defaults (burstscaler and eci-only): see ``Settings``.
TARGET_UTILIZATION = 0.7
SCALE_UP_TOLERANCE = 0.0
SCALE_DOWN_WINDOW_SECONDS = 600


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything a simulation run depends on besides the trace and the strategy."""

    capacity_per_replica: float
    step_seconds: float = 30.0
    pod: cluster.PodShape = DEFAULT_POD
    node: cluster.NodeShape = DEFAULT_NODE
    base_nodes: int | None = None  # burstscaler's fixed ECS pool; None: sized by price (see base_pool)
    min_replicas: int = 2
    max_replicas: int = 1000
    pod_startup_seconds: float = 20.0
    eci_startup_seconds: float = 45.0
    node_boot_seconds: float = 180.0
    node_idle_seconds: float = 600.0
    metric_window_seconds: float = 60.0
    slo_unserved_fraction: float = 0.01
    eci_per_vcpu_second: float = ECI_PER_VCPU_SECOND
    eci_per_gib_second: float = ECI_PER_GIB_SECOND
    currency: str = "USD"
    capacity_source: str = "given"
    # How the simulated BurstPolicy is written (burstscaler and eci-only: ASK runs the same
    # autoscaler, DESIGN §1); hpa-ca keeps the HPA's defaults, what users run today. An SRE sets the
    # AverageValue target below what a replica can serve (headroom for the noise of one minute and
    # for the start-up delay), scales up on any rise (KEP-4951 per-direction tolerance) and waits
    # longer before scaling down. All of it is printed with the results (``as_dict``).
    target_utilization: float = TARGET_UTILIZATION
    scale_up_tolerance: float = SCALE_UP_TOLERANCE
    scale_down_window_seconds: int = SCALE_DOWN_WINDOW_SECONDS

    def __post_init__(self) -> None:
        positive = {
            "capacity per replica": self.capacity_per_replica,
            "step": self.step_seconds,
            "pod vCPU": self.pod.cpu,
            "node vCPU": self.node.cpu,
            "node memory": self.node.memory_gib,
        }
        for label, value in positive.items():
            if not value > 0:
                raise errors.SettingsError(f"{label} must be greater than zero, not {value}")
        delays = [self.pod_startup_seconds, self.eci_startup_seconds, self.node_boot_seconds, self.node_idle_seconds]
        prices = [self.node.price_per_hour, self.eci_per_vcpu_second, self.eci_per_gib_second]
        if min(*delays, *prices, self.pod.memory_gib) < 0:
            raise errors.SettingsError("delays, prices and pod memory must not be negative")
        if not 0 < self.target_utilization <= 1:
            raise errors.SettingsError(f"target utilization must lie in (0, 1], not {self.target_utilization}")
        if self.scale_up_tolerance < 0 or self.scale_down_window_seconds < 0:
            raise errors.SettingsError("the scale-up tolerance and the scale-down window must not be negative")
        if self.policy_target <= 0:
            raise errors.SettingsError(
                f"capacity per replica x target utilization ({self.capacity_per_replica * self.target_utilization}) "
                "is below one milli-request per second; give the capacity in larger units"
            )
        if not 0 <= self.min_replicas <= self.max_replicas:
            raise errors.SettingsError(
                f"min replicas ({self.min_replicas}) must lie between 0 and max replicas ({self.max_replicas})"
            )
        if cluster.slots_of(self.node, self.pod) == 0:
            raise errors.SettingsError(
                f"a pod of {self.pod.cpu} vCPU / {self.pod.memory_gib} GiB does not fit on a node of "
                f"{self.node.cpu} vCPU / {self.node.memory_gib} GiB"
            )

    @property
    def slots_per_node(self) -> int:
        """Replicas one ECS node holds."""
        return cluster.slots_of(self.node, self.pod)

    def cluster_spec(self, *, nodes: int, autoscaling: cluster.NodeAutoscaling | None = None) -> cluster.ClusterSpec:
        """The model cluster for ``nodes`` initial ECS nodes of the configured shape."""
        return cluster.ClusterSpec(
            nodes=(self.node,) * nodes,
            pod=self.pod,
            pod_startup_seconds=self.pod_startup_seconds,
            eci_startup_seconds=self.eci_startup_seconds,
            eci_per_vcpu_second=self.eci_per_vcpu_second,
            eci_per_gib_second=self.eci_per_gib_second,
            autoscaling=autoscaling,
        )

    @property
    def policy_target(self) -> float:
        """The simulated policy's AverageValue target per replica, requests/s.

        ``capacity_per_replica x target_utilization`` in whole milli-units, rounded *down*: the
        recommender works in milli-units as the HPA does, and rounding the target up would ask for
        fewer replicas than the capacity needs (0.16875 would become 0.169).
        """
        return math.floor(self.capacity_per_replica * self.target_utilization * 1000 + 1e-6) / 1000

    def replicas_for(self, rate: float) -> int:
        """Replicas that serve ``rate`` requests/s, within min and max replicas."""
        return self._bounded(rate / self.capacity_per_replica if rate > 0 else 0.0)

    def policy_replicas_for(self, rate: float) -> int:
        """Replicas the simulated policy asks for at a steady ``rate`` requests/s (its target)."""
        return self._bounded(rate / self.policy_target if rate > 0 else 0.0)

    def _bounded(self, needed: float) -> int:
        return max(self.min_replicas, min(self.max_replicas, math.ceil(needed - 1e-9)))

    def as_dict(self) -> dict[str, Any]:
        """The settings as plain JSON-friendly values, for printing next to results."""
        return {
            "capacity_per_replica_rps": self.capacity_per_replica,
            "capacity_per_replica_source": self.capacity_source,
            "step_seconds": self.step_seconds,
            "pod_vcpu": self.pod.cpu,
            "pod_memory_gib": self.pod.memory_gib,
            "node_vcpu": self.node.cpu,
            "node_memory_gib": self.node.memory_gib,
            "node_price_per_hour": self.node.price_per_hour,
            "replicas_per_node": self.slots_per_node,
            "base_nodes": self.base_nodes,
            "min_replicas": self.min_replicas,
            "max_replicas": self.max_replicas,
            "pod_startup_seconds": self.pod_startup_seconds,
            "eci_startup_seconds": self.eci_startup_seconds,
            "node_boot_seconds": self.node_boot_seconds,
            "node_idle_seconds": self.node_idle_seconds,
            "metric_window_seconds": self.metric_window_seconds,
            "slo_unserved_fraction": self.slo_unserved_fraction,
            "eci_per_vcpu_second": self.eci_per_vcpu_second,
            "eci_per_gib_second": self.eci_per_gib_second,
            "currency": self.currency,
            "policy_target_utilization": self.target_utilization,
            "policy_target_rps": self.policy_target,
            "policy_scale_up_tolerance": self.scale_up_tolerance,
            "policy_scale_down_window_seconds": self.scale_down_window_seconds,
        }


def auto_capacity(load: traces.StepLoad) -> float:
    """A per-replica capacity that makes the trace's peak need ``AUTO_PEAK_REPLICAS`` replicas."""
    peak = float(np.nanmax(load.rates)) if load.observed.any() else 0.0
    if peak <= 0:
        raise errors.TraceError("the trace has no load above zero; give --capacity-per-replica to size it")
    return peak / AUTO_PEAK_REPLICAS


def base_pool(settings: Settings, *, load: traces.StepLoad) -> int:
    """burstscaler's fixed ECS pool: ``settings.base_nodes``, or sized by the price ratio.

    An ECS node is worth paying for when it would be busy enough: its expected utilisation (the
    time-average of the replicas it would hold, over its slots) must reach ``r``, an ECS slot's hourly
    cost over an ECI replica's; below that, ECI per second is cheaper for that load. Nodes are added
    in order (the k-th node holds the demand between (k-1) and k nodes' worth of replicas) while the
    next one clears ``r`` (the newsvendor rule, in whole nodes). The replicas are those the simulated
    policy asks for (its target, headroom included), since those are what the pool would hold. Like
    static-peak's sizing it looks at the whole trace, so both get the same hindsight.
    """
    if settings.base_nodes is not None:
        return settings.base_nodes
    eci_replica_hour = settings.pod.cpu * settings.eci_per_vcpu_second * 3600
    eci_replica_hour += settings.pod.memory_gib * settings.eci_per_gib_second * 3600
    slots = settings.slots_per_node
    ratio = settings.node.price_per_hour / slots / eci_replica_hour if eci_replica_hour > 0 else math.inf
    if ratio >= 1 or not load.observed.any():
        return 0
    needed = np.ceil(load.rates[load.observed] / settings.policy_target - 1e-9)
    needed = np.clip(needed, settings.min_replicas, settings.max_replicas)
    nodes = 0
    while np.mean(np.clip(needed - nodes * slots, 0, slots)) / slots >= ratio:
        nodes += 1
    return nodes
