"""``hpa-ca``: the shared recommender on ECS with cluster-autoscaler-style nodes (the standard setup).

It starts from the same fixed pool (subscription) as burstscaler and resourcepolicy and grows it with
pay-as-you-go nodes: pods that do not fit stay Pending until a new node has booted (a drawn delay),
and empty added nodes go after ``node_idle_seconds``. Its replicas come from the same recommender and
policy as every autoscaled strategy (``sim.recommender``), so what it shows is the node boot delay, not
a different target.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from burstscaler.sim import cluster, recommender
from burstscaler.sim.strategies import protocol

NAME = "hpa-ca"
SUMMARY = "the shared recommender on ECS; the fixed pool plus pay-as-you-go nodes added after a boot delay"


@dataclasses.dataclass
class OnEcs:
    """The recommender's replicas, all on ECS."""

    recommenders: list[recommender.CoreRecommender]

    def decide(
        self, *, state: cluster.ModelCluster, loads: protocol.FloatArray, now: float
    ) -> Sequence[protocol.Targets]:
        """Scale each workload's base to its recommendation."""
        return [
            protocol.Targets(
                base=rec.recommend(
                    load=float(loads[w]), current=state.base_total(w), ready=state.base_ready(w), now=now
                ),
                burst=0,
            )
            for w, rec in enumerate(self.recommenders)
        ]


def start_on_ecs(state: cluster.ModelCluster, replicas: Sequence[int], *, priorities: Sequence[int]) -> None:
    """Prewarm ``replicas`` on ECS, adding Ready autoscaled nodes until they fit (the steady state)."""
    for index in np.argsort([-p for p in priorities], kind="stable"):
        w = int(index)
        while True:
            room = state.room_for(w, now=0.0)
            if room >= replicas[w]:
                state.prewarm(w, base=replicas[w], burst=0)
                break
            state.add_ready_nodes(1, autoscaled=True)


def build(run: protocol.Run) -> protocol.Setup:
    """The pool plus Ready autoscaled nodes for the initial replicas; the recommender per workload."""
    state = run.cluster(pool=run.pool, autoscaling=True)
    replicas = [run.initial_replicas(w) for w in range(state.workloads)]
    start_on_ecs(state, replicas, priorities=[w.priority for w in run.scenario.workloads])
    recommenders = run.recommenders()
    return protocol.Setup(strategy=OnEcs(recommenders=recommenders), state=state)
