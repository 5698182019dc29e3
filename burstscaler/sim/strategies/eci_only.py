"""``eci-only``: ASK, a serverless cluster; every replica runs on the virtual node.

The HPA's replicas all go to ECI: no node boot delay and no idle nodes, but every replica-second is
paid at ECI's per-second price, including the steady load that an ECS node would carry cheaper.
"""

from __future__ import annotations

import dataclasses

from burstscaler.sim import cluster, hpa, settings, traces
from burstscaler.sim.strategies import protocol

NAME = "eci-only"
SUMMARY = "HPA with every replica on the virtual node (ASK); no ECS nodes"


@dataclasses.dataclass
class HpaOnEci:
    """The HPA's replicas, all on the virtual node."""

    autoscaler: hpa.Hpa

    def decide(self, *, state: cluster.ModelCluster, load: float, now: float) -> protocol.Targets:
        """Scale the burst twin (the only workload here) with the HPA."""
        return protocol.Targets(base=0, burst=self.autoscaler.recommend(load=load, current=state.burst_total, now=now))


def build(config: settings.Settings, *, load: traces.StepLoad, initial_load: float) -> protocol.Setup:
    """Start with the replicas the initial load needs, Ready on the virtual node."""
    replicas = config.replicas_for(initial_load)
    state = cluster.ModelCluster(config.cluster_spec(nodes=0), burst=replicas)
    autoscaler = hpa.Hpa(
        capacity_per_replica=config.capacity_per_replica,
        min_replicas=config.min_replicas,
        max_replicas=config.max_replicas,
    )
    return protocol.Setup(strategy=HpaOnEci(autoscaler=autoscaler), state=state)
