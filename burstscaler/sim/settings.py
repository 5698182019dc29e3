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

    def replicas_for(self, rate: float) -> int:
        """Replicas that serve ``rate`` requests/s, within min and max replicas."""
        needed = math.ceil(rate / self.capacity_per_replica - 1e-9) if rate > 0 else 0
        return max(self.min_replicas, min(self.max_replicas, needed))

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
    next one clears ``r`` (the newsvendor rule, in whole nodes). Like static-peak's sizing it looks at
    the whole trace, so both get the same hindsight.
    """
    if settings.base_nodes is not None:
        return settings.base_nodes
    eci_replica_hour = settings.pod.cpu * settings.eci_per_vcpu_second * 3600
    eci_replica_hour += settings.pod.memory_gib * settings.eci_per_gib_second * 3600
    slots = settings.slots_per_node
    ratio = settings.node.price_per_hour / slots / eci_replica_hour if eci_replica_hour > 0 else math.inf
    if ratio >= 1 or not load.observed.any():
        return 0
    needed = np.ceil(load.rates[load.observed] / settings.capacity_per_replica - 1e-9)
    needed = np.clip(needed, settings.min_replicas, settings.max_replicas)
    nodes = 0
    while np.mean(np.clip(needed - nodes * slots, 0, slots)) / slots >= ratio:
        nodes += 1
    return nodes
