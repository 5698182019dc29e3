"""``eci-only``: ASK, a serverless cluster; every replica runs on the virtual node.

In ASK "the autoscaler still decides how many replicas" (DESIGN §1): here it is the shared recommender
and policy (``sim.recommender``). No node boot delay and no idle nodes, but every replica-second is paid
at ECI's per-second price on the effective spec, including the steady load a subscription node would
carry cheaper.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from burstscaler.sim import cluster, recommender
from burstscaler.sim.strategies import protocol

NAME = "eci-only"
SUMMARY = "the shared recommender with every replica on the virtual node (ASK); no ECS nodes"


@dataclasses.dataclass
class AllOnEci:
    """The recommender's replicas, all on the virtual node."""

    recommenders: list[recommender.CoreRecommender]

    def decide(
        self, *, state: cluster.ModelCluster, loads: protocol.FloatArray, now: float
    ) -> Sequence[protocol.Targets]:
        """Scale each workload's burst twin (the only tier here) to its recommendation."""
        return [
            protocol.Targets(
                base=0,
                burst=rec.recommend(
                    load=float(loads[w]), current=state.burst_total(w), ready=state.burst_ready(w, now), now=now
                ),
            )
            for w, rec in enumerate(self.recommenders)
        ]


def build(run: protocol.Run) -> protocol.Setup:
    """Start with the replicas each policy asks for at the initial load, Ready on the virtual node."""
    state = run.cluster(pool=0)
    for w in range(state.workloads):
        state.prewarm(w, base=0, burst=run.initial_replicas(w))
    recommenders = run.recommenders()
    return protocol.Setup(strategy=AllOnEci(recommenders=recommenders), state=state)
