"""``static-peak``: ECS provisioned for the trace's peak, all the time (what many teams do today).

It knows the peak in advance (hindsight no real team has), so its unserved demand is the floor the
others are measured against, and its cost is what that safety costs.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from burstscaler.sim import cluster, settings, traces
from burstscaler.sim.strategies import protocol

NAME = "static-peak"
SUMMARY = "ECS nodes and replicas fixed at what the trace's peak needs"


@dataclasses.dataclass(frozen=True)
class StaticPeak:
    """Always the same replicas, all on ECS."""

    replicas: int

    def decide(self, *, state: cluster.ModelCluster, load: float, now: float) -> protocol.Targets:
        """Hold the peak's replicas."""
        return protocol.Targets(base=self.replicas, burst=0)


def build(config: settings.Settings, *, load: traces.StepLoad, initial_load: float) -> protocol.Setup:
    """Size replicas for the peak step rate and nodes for those replicas; start them Ready."""
    peak = float(np.nanmax(load.rates)) if load.observed.any() else 0.0
    replicas = config.replicas_for(peak)
    nodes = math.ceil(replicas / config.slots_per_node)
    state = cluster.ModelCluster(config.cluster_spec(nodes=nodes), base=replicas)
    return protocol.Setup(strategy=StaticPeak(replicas=replicas), state=state)
