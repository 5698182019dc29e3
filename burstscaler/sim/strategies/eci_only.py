"""``eci-only``: ASK, a serverless cluster; every replica runs on the virtual node.

In ASK "the autoscaler still decides how many replicas" (DESIGN §1): here it is the same recommender
with the same policy as the ``burstscaler`` strategy (``core.recommend``, ``burstscaler.default_policy``),
so the two differ only in where replicas run. No node boot delay and no idle nodes, but every
replica-second is paid at ECI's per-second price, including the steady load that an ECS node would
carry cheaper.
"""

from __future__ import annotations

import dataclasses

from burstscaler.sim import cluster, settings, traces
from burstscaler.sim.strategies import burstscaler, protocol

NAME = "eci-only"
SUMMARY = "burstscaler's recommender and policy with every replica on the virtual node (ASK); no ECS nodes"


@dataclasses.dataclass
class AllOnEci:
    """The recommender's replicas, all on the virtual node."""

    recommender: burstscaler.Recommender

    def decide(self, *, state: cluster.ModelCluster, load: float, now: float) -> protocol.Targets:
        """Scale the burst twin (the only workload here) to the recommendation."""
        current, ready = state.burst_total, state.burst_ready(now)
        return protocol.Targets(
            base=0, burst=self.recommender.recommend(load=load, current=current, ready=ready, now=now)
        )


def build(config: settings.Settings, *, load: traces.StepLoad, initial_load: float) -> protocol.Setup:
    """Start with the replicas the policy asks for at the initial load, Ready on the virtual node."""
    state = cluster.ModelCluster(config.cluster_spec(nodes=0), burst=config.policy_replicas_for(initial_load))
    recommender = burstscaler.CoreRecommender(policy=burstscaler.default_policy(config), start=load.start)
    return protocol.Setup(strategy=AllOnEci(recommender=recommender), state=state)
