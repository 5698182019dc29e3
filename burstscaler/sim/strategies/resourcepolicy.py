"""``resourcepolicy``: ACK's own overflow, what an ACK user gets today without burstscaler.

Semantics, from Alibaba Cloud's "Configure priority-based scheduling for elastic resources"
(https://www.alibabacloud.com/help/en/document_detail/398680.html, stored copy last updated
2026-06-23; the Chinese page https://help.aliyun.com/document_detail/398680.htm says the same):
- A ResourcePolicy selects a workload's pods and lists ordered ``units`` (here: the ECS pool, then
  ECI, the documented example's shape). On scale-out each new pod is scheduled to the first unit
  that can take it; on scale-in pods are removed in the *reverse* order (ECI first), best effort.
- ``max`` caps the pods of one unit (here ``base.maxReplicas`` of the policy, unlimited when unset).
- ``whenTryNextUnits`` decides when a pod may go to the next unit; the default policy,
  ``LackResourceOrExceedMax``, moves it on when the unit lacks resources or its ``max`` is reached.
  Modelled as such: a new pod goes to ECS while the scheduler model has room there (and the unit's
  max allows), else to ECI; a base pod the scheduler could not place after all (another workload took
  the room in the same step) moves to ECI at the next step.
- ``ignoreTerminatingPod`` is true by default since scheduler v6.4: terminating pods do not count
  towards a unit's max. Pods here are gone when deleted, so that is what happens.
- No drain-back: a pod stays in its unit until scale-in removes it; no cross-workload planning
  (each workload's policy acts alone, in the order pods arrive, highest priority first).
It runs on the same fixed ECS pool as burstscaler, with the same recommender and policy as every
autoscaled strategy, and no node growth. May ACK's ECS unit be an auto-scaling node pool? Yes: the
Chinese page (https://help.aliyun.com/document_detail/212216.htm, "注意事项") warns that combined with
an elastic node pool the pool may scale out nodes to no purpose, and advises putting the elastic pool
in a unit of its own without ``max``; ``whenTryNextUnits`` with a timeout policy lets a pod wait in a
unit before it tries the next. Under the default ``LackResourceOrExceedMax`` modelled here a pod that
finds no ECS room goes to ECI at once, so it never stays Pending and a node autoscaler is never asked
for a node: growth would change nothing but the (wasted) scale-outs ACK warns about, which are not
modelled. The wait-for-nodes variant (a timeout unit) is what hpa-ca shows, without the ECI fallback.
No placeholders, no drain-back: ResourcePolicy has neither.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from burstscaler.sim import cluster, placement, recommender
from burstscaler.sim.strategies import protocol

NAME = "resourcepolicy"
SUMMARY = "ACK ResourcePolicy: the fixed ECS pool first, then ECI; scale-in in reverse order; no drain-back"


@dataclasses.dataclass
class ResourcePolicy:
    """Ordered units per workload: ECS (up to ``unit_max``), then ECI."""

    recommenders: list[recommender.CoreRecommender]
    unit_max: tuple[int | None, ...]
    priorities: tuple[int, ...]
    #: Workloads highest priority first (ties: workload order); the priorities never change, so sorted once.
    _order: tuple[int, ...] | None = dataclasses.field(default=None, init=False, repr=False)

    def decide(
        self, *, state: cluster.ModelCluster, loads: protocol.FloatArray, now: float
    ) -> Sequence[protocol.Targets]:
        """Recommend each total; add to ECS where room is, else ECI; remove ECI first."""
        free: protocol.FloatArray | None = None  # ECS room, computed when a workload scales out
        targets: list[protocol.Targets | None] = [None] * state.workloads
        if self._order is None:
            self._order = tuple(int(i) for i in np.argsort([-p for p in self.priorities], kind="stable"))
        for w in self._order:
            # A pod the scheduler left Pending on ECS goes on to ECI (LackResource).
            base_total, burst_total, pending = state.base_total(w), state.burst_total(w), state.pending.item(w)
            base = base_total - pending
            burst = burst_total + pending
            ready = state.base_ready(w) + state.burst_ready(w, now)
            total = self.recommenders[w].recommend(
                load=float(loads[w]), current=base_total + burst_total, ready=ready, now=now
            )
            if total > base + burst:
                free = state.free(now) if free is None else free
                fits = int(placement.fit_counts(free, state.requests[w]).sum())
                cap = self.unit_max[w]
                room = fits if cap is None else max(0, min(fits, cap - base))
                to_ecs = min(total - base - burst, room)
                base += to_ecs
                burst = total - base
                free = _take(free, state.requests[w], to_ecs)
            else:
                gone = base + burst - total
                from_eci = min(gone, burst)
                burst -= from_eci
                base -= gone - from_eci
            targets[w] = protocol.Targets(base=base, burst=burst)
        return [target for target in targets if target is not None]


def _take(free: protocol.FloatArray, request: protocol.FloatArray, count: int) -> protocol.FloatArray:
    # What ``count`` pods will use, first fit, so the next workload of this step sees the room left.
    if count <= 0:
        return free
    room = placement.fit_counts(free, request)
    take = np.minimum(room, np.maximum(0, count - (np.cumsum(room) - room)))
    return free - take[:, None] * request[None, :]


def build(run: protocol.Run) -> protocol.Setup:
    """The shared pool with the initial replicas: on ECS what fits (priority order), the rest on ECI."""
    state = run.cluster(pool=run.pool)
    order = np.argsort([-w.priority for w in run.scenario.workloads], kind="stable")
    for index in order:
        w = int(index)
        replicas = run.initial_replicas(w)
        cap = run.policies[w].base.max_replicas
        base = min(replicas, state.room_for(w, now=0.0), replicas if cap is None else cap)
        state.prewarm(w, base=base, burst=replicas - base)
    recommenders = run.recommenders()
    return protocol.Setup(
        strategy=ResourcePolicy(
            recommenders=recommenders,
            unit_max=tuple(p.base.max_replicas for p in run.policies),
            priorities=tuple(w.priority for w in run.scenario.workloads),
        ),
        state=state,
    )
