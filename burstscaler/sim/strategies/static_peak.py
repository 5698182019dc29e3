"""``static-peak``: ECS provisioned for every workload's peak, all the time (what many teams do today).

It knows the peaks in advance (hindsight no real team has), so its unserved demand is the floor the
others are measured against, and its cost (subscription nodes) is what that safety costs. Replicas are
sized at what a replica can serve (no headroom: the peak is known), nodes for those replicas as the
scheduler model places them.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence

import numpy as np

from burstscaler.sim import cluster, errors
from burstscaler.sim.strategies import protocol

NAME = "static-peak"
SUMMARY = "ECS subscription nodes and replicas fixed at what each workload's peak needs"


@dataclasses.dataclass(frozen=True)
class StaticPeak:
    """Always the same replicas, all on ECS."""

    replicas: tuple[int, ...]

    def decide(
        self, *, state: cluster.ModelCluster, loads: protocol.FloatArray, now: float
    ) -> Sequence[protocol.Targets]:
        """Hold the peaks' replicas."""
        return self._targets

    @functools.cached_property
    def _targets(self) -> tuple[protocol.Targets, ...]:
        # The same every step: built once (targets are frozen, and the engine only reads them).
        return tuple(protocol.Targets(base=replicas, burst=0) for replicas in self.replicas)


def peak_replicas(run: protocol.Run) -> tuple[int, ...]:
    """Each workload's replicas at its peak step rate (at capacity, within the policy's bounds)."""
    counts = []
    for workload, load, policy in zip(run.scenario.workloads, run.loads, run.policies, strict=True):
        peak = float(np.nanmax(load.rates)) if load.observed.any() else 0.0
        needed = math.ceil(peak / workload.capacity_per_replica - 1e-9) if peak > 0 else 0
        counts.append(max(policy.min_replicas, min(policy.max_replicas, needed)))
    return tuple(counts)


def build(run: protocol.Run) -> protocol.Setup:
    """Size nodes for the peak replicas: the least that the scheduler model fits them on."""
    replicas = peak_replicas(run)
    node = run.settings.node.allocatable
    need = sum(count * cluster.requests_of(w.pod) for count, w in zip(replicas, run.scenario.workloads, strict=True))
    nodes = math.ceil(float(np.max(need / node)) - 1e-9) if np.any(need) else 0
    for extra in range(64):
        state = run.cluster(pool=nodes + extra)
        try:
            for index in np.argsort([-w.priority for w in run.scenario.workloads], kind="stable"):
                state.prewarm(int(index), base=replicas[index], burst=0)
        except errors.SettingsError:
            continue
        return protocol.Setup(strategy=StaticPeak(replicas=replicas), state=state)
    raise errors.SettingsError(f"the peak replicas {replicas} fit on no pool of up to {nodes + 63} nodes")
