"""``hpa-ca``: an HPA on ECS with cluster-autoscaler-style nodes (the standard elastic setup).

Replicas follow the load with the HPA's default behaviour; pods that do not fit stay Pending until
the node autoscaler's new node has booted (minutes), and empty nodes go after 10 minutes idle. What
it shows: the node boot delay is unserved demand in every sudden rise.
"""

from __future__ import annotations

import dataclasses
import math

from burstscaler.sim import cluster, hpa, settings, traces
from burstscaler.sim.strategies import protocol

NAME = "hpa-ca"
SUMMARY = "HPA on ECS; nodes added cluster-autoscaler style after a boot delay, removed when idle"


@dataclasses.dataclass
class HpaOnEcs:
    """The HPA's replicas, all on ECS."""

    autoscaler: hpa.Hpa

    def decide(self, *, state: cluster.ModelCluster, load: float, now: float) -> protocol.Targets:
        """Scale the base with the HPA."""
        return protocol.Targets(base=self.autoscaler.recommend(load=load, current=state.base_total, now=now), burst=0)


def build(config: settings.Settings, *, load: traces.StepLoad, initial_load: float) -> protocol.Setup:
    """Start with the replicas the initial load needs, on just enough nodes, all Ready."""
    replicas = config.replicas_for(initial_load)
    autoscaling = cluster.NodeAutoscaling(
        shape=config.node, boot_seconds=config.node_boot_seconds, idle_seconds=config.node_idle_seconds
    )
    nodes = math.ceil(replicas / config.slots_per_node)
    state = cluster.ModelCluster(config.cluster_spec(nodes=nodes, autoscaling=autoscaling), base=replicas)
    autoscaler = hpa.Hpa(
        capacity_per_replica=config.capacity_per_replica,
        min_replicas=config.min_replicas,
        max_replicas=config.max_replicas,
    )
    return protocol.Setup(strategy=HpaOnEcs(autoscaler=autoscaler), state=state)
