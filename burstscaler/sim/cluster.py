"""A model cluster: ECS nodes shared by several workloads, a virtual node, stepped through time.

What it models, and why that much:
- ECS nodes (allocatable vCPU, memory, pod count): a fixed pool, bought as subscription, and
  optionally nodes a cluster-autoscaler-style model adds when pods stay unschedulable (pay-as-you-go,
  schedulable after a drawn boot delay, removed after ``idle_seconds`` empty). Pool nodes never go.
- Per workload: base pods on ECS (unschedulable, starting, Ready) and burst pods on the virtual node
  (a drawn ECI start-up, stock-outs retried: ``realism.Draws``). The virtual node has no capacity limit.
- Where base pods land is decided by a ``placement.Placer`` (the kube-scheduler model), never by the
  planning core, so the simulator checks the core instead of agreeing with it by construction.
  Unschedulable pods are tried in priority order (kube-scheduler's queue sorts by priority).
- Scale-in as a ReplicaSet does it: unscheduled pods first, then not-ready ones (newest first), then
  Ready ones, from the node with the fewest pods (which empties nodes the way cluster-autoscaler's
  consolidation would, without modelling evictions); burst pods go newest first.
- Placeholder pods (the bridge, issue 16): per workload, pods with the workload's requests at the
  lowest priority (``placement.PLACEHOLDER_PRIORITY``). They are placed by the same ``Placer`` after
  every workload pod (kube-scheduler's queue: lowest priority last), stay Pending when no node fits
  (and then drive the same node growth as Pending workload pods: one model for both), and are
  preempted by any workload pod that needs their room (evicted, then Pending again: their owner
  recreates them). They cost nothing; a node holding only placeholders is not empty, so it stays.
- Spot burst pods (``spot[w]``): billed at ``eci_per_second`` (the caller discounts it); after the
  protection period each may be reclaimed (a per-hour probability, drawn per step). With
  ``spot_make_before_break`` (the operator) the replacement is created when the pod reports its
  release and the old pod serves until the replacement is Ready (at most ``spot_notice_seconds``),
  both billed; without it (a ReplicaSet) the pod goes at the release and its replacement starts then.
- Cost as billed: an ECS node from its creation until removal at its hourly price; an ECI pod per
  second from the start of its successful creation (image pull) until deletion, on its effective spec.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from burstscaler.sim import errors, placement, realism, scenario

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
_GIB = float(2**30)


@dataclasses.dataclass(frozen=True)
class NodeShape:
    """An ECS node's allocatable vCPU, GiB and pod count."""

    cpu: float
    memory_gib: float
    pods: int = 110

    @property
    def allocatable(self) -> FloatArray:
        """cpu (millicores), memory (bytes), pods: the resource axes of the model."""
        return np.array([self.cpu * 1000.0, self.memory_gib * _GIB, float(self.pods)])


@dataclasses.dataclass(frozen=True)
class NodeAutoscaling:
    """Cluster-autoscaler-style nodes of ``shape`` at ``price_per_hour`` (pay-as-you-go)."""

    shape: NodeShape
    price_per_hour: float
    idle_seconds: float = 600.0
    max_nodes: int = 500


@dataclasses.dataclass(frozen=True)
class Spot:
    """Spot burst pods: which workloads, when reclamation may start, how often, and who replaces them."""

    workloads: tuple[bool, ...]
    protection_seconds: float = 3600.0
    reclaim_per_hour: float = 0.0
    make_before_break: bool = True
    notice_seconds: float = 300.0


def requests_of(pod: scenario.PodShape) -> FloatArray:
    """A pod's requests on the model's resource axes."""
    return np.array([pod.cpu * 1000.0, pod.memory_gib * _GIB, 1.0])


def slots_of(shape: NodeShape, pod: scenario.PodShape) -> int:
    """How many pods of ``pod`` fit on an empty node of ``shape``: the tightest resource decides."""
    return int(placement.fit_counts(shape.allocatable[None, :], requests_of(pod))[0])


@dataclasses.dataclass
class _Starting:
    ready_at: float
    node: int
    workload: int
    count: int


class ModelCluster:
    """The mutable state of the model cluster. Strategies read it; the engine changes it.

    Call order each step: ``advance(now)`` (nodes boot, pods become Ready, idle nodes go), the strategy
    decides, ``scale(workload, base=, burst=, now=)`` per workload, ``schedule(now)``, ``cost_of``.
    """

    def __init__(
        self,
        *,
        pods: Sequence[scenario.PodShape],
        eci_per_second: Sequence[float],
        draws: realism.Draws,
        pool: int,
        pool_shape: NodeShape,
        pool_price_per_hour: float,
        autoscaling: NodeAutoscaling | None = None,
        placer: placement.Placer | None = None,
        spot: Spot | None = None,
    ) -> None:
        self.pods = tuple(pods)
        self.requests = np.array([requests_of(pod) for pod in pods])
        self.eci_per_second = np.array(eci_per_second, dtype=np.float64)
        self.draws = draws
        self.autoscaling = autoscaling
        self.placer = placer if placer is not None else placement.make_placer(self.requests)
        workloads = len(self.pods)
        self.allocatable = np.zeros((0, 3))
        self.price: FloatArray = np.zeros(0)
        self.ready_at: FloatArray = np.zeros(0)
        self.active: BoolArray = np.zeros(0, dtype=np.bool_)
        self.autoscaled: BoolArray = np.zeros(0, dtype=np.bool_)
        self.empty_since: FloatArray = np.zeros(0)
        self.placed: IntArray = np.zeros((0, workloads), dtype=np.int64)
        self.ready_on: IntArray = np.zeros((0, workloads), dtype=np.int64)
        self.pending: IntArray = np.zeros(workloads, dtype=np.int64)
        # Placeholder pods: bound per node (like ``placed``) and Pending per workload.
        self.ph_placed: IntArray = np.zeros((0, workloads), dtype=np.int64)
        self.ph_pending: IntArray = np.zeros(workloads, dtype=np.int64)
        self.spot = spot
        self.spot_reclaimed = 0  # spot burst pods reclaimed so far
        # Spot pods being replaced: until when each still serves (and is billed), per workload.
        self._outgoing: list[FloatArray] = [np.zeros(0) for _ in range(workloads)]
        self._outgoing_billed: list[FloatArray] = [np.zeros(0) for _ in range(workloads)]
        # Kept in step with ``placed`` and ``active`` (read every step, so not summed every step).
        self.placed_total: IntArray = np.zeros(workloads, dtype=np.int64)
        self._ready_total = [0] * workloads  # ``ready_on``'s column sums, likewise
        self._booting = 0  # active nodes not yet booted: ``advance`` looks for boots only while some are
        self._ph_used = False  # whether any placeholder was ever asked for: until then there are none
        # ``burst_ready`` of each workload at one instant (read several times a step); dropped on every change.
        self._burst_ready_memo: list[tuple[float, int] | None] = [None] * workloads
        self._nodes = 0
        self._ecs_per_hour = 0.0
        self._starting: list[_Starting] = []
        self._burst_ready_at: list[FloatArray] = [np.zeros(0) for _ in range(workloads)]
        self._burst_billed_from: list[FloatArray] = [np.zeros(0) for _ in range(workloads)]
        # The latest billing start of each workload's burst pods, with the array it was taken from
        # (a new array on every change), and the sums of whole steps by pod count (``_burst_paid``).
        self._burst_billed_latest: list[tuple[FloatArray, float] | None] = [None] * workloads
        self._whole_steps: dict[tuple[int, float], float] = {}
        self._burst_created: list[FloatArray] = [np.zeros(0) for _ in range(workloads)]
        self._booted: BoolArray = np.zeros(0, dtype=np.bool_)
        self._last_advance = 0.0
        self.pool_shape, self.pool_price_per_hour = pool_shape, pool_price_per_hour
        self.add_ready_nodes(pool)
        self._order = np.arange(workloads)  # the queue's order; set_priorities sorts it

    # --- what strategies read ---------------------------------------------------------------------

    @property
    def workloads(self) -> int:
        """How many workloads share the cluster."""
        return len(self.pods)

    def base_total(self, workload: int) -> int:
        """Base replicas that exist (unscheduled, starting or Ready)."""
        # .item(): Python ints at once, cheaper than numpy scalars added and converted (called a lot).
        return self.pending.item(workload) + self.placed_total.item(workload)

    def base_ready(self, workload: int) -> int:
        """Base replicas that are Ready and serve traffic."""
        return self._ready_total[workload]

    @property
    def ready_totals(self) -> list[int]:
        """Base replicas Ready per workload (``base_ready`` of each, in workload order)."""
        return list(self._ready_total)

    @property
    def has_placeholders(self) -> bool:
        """Whether placeholders were ever asked for (until then every placeholder count is zero)."""
        return self._ph_used

    def burst_total(self, workload: int) -> int:
        """Burst replicas that exist."""
        return self._burst_ready_at[workload].size

    def burst_ready(self, workload: int, now: float) -> int:
        """Burst replicas Ready at ``now`` (a spot pod being replaced counts until it goes)."""
        memo = self._burst_ready_memo[workload]
        if memo is not None and memo[0] == now:
            return memo[1]
        ready_at, outgoing = self._burst_ready_at[workload], self._outgoing[workload]
        ready = int(np.count_nonzero(ready_at <= now)) if ready_at.size else 0
        ready += int(np.count_nonzero(outgoing > now)) if outgoing.size else 0
        self._burst_ready_memo[workload] = (now, ready)
        return ready

    def placeholders(self, workload: int) -> int:
        """Placeholder pods of ``workload`` that exist (Pending or bound)."""
        if not self._ph_used:
            return 0
        return int(self.ph_pending[workload] + self.ph_placed[:, workload].sum())

    def placeholders_bound(self, workload: int) -> int:
        """Placeholder pods of ``workload`` bound to a node (room its base pods can take by preemption)."""
        return int(self.ph_placed[:, workload].sum())

    def burst_started(self, workload: int) -> FloatArray:
        """When each burst replica was created, oldest first."""
        return self._burst_created[workload]

    @property
    def node_count(self) -> int:
        """ECS nodes that exist (booting or schedulable)."""
        return self._nodes

    def schedulable(self, now: float) -> BoolArray:
        """Which node rows accept pods at ``now`` (existing and booted)."""
        return self.active & (self.ready_at <= now)

    def free(self, now: float) -> FloatArray:
        """Unrequested allocatable per schedulable node (zero rows for the others)."""
        room = self.allocatable - (self.placed + self.ph_placed) @ self.requests
        return np.where(self.schedulable(now)[:, None], room, 0.0)

    def room_for(self, workload: int, *, now: float) -> int:
        """How many more pods of ``workload`` fit on schedulable ECS nodes now (resources only)."""
        return int(placement.fit_counts(self.free(now), self.requests[workload]).sum())

    # --- what the engine does ---------------------------------------------------------------------

    def set_priorities(self, priorities: Sequence[int]) -> None:
        """Unschedulable pods are tried highest priority first (ties: workload order)."""
        self._order = np.argsort([-p for p in priorities], kind="stable")

    def add_ready_nodes(self, count: int, *, autoscaled: bool = False) -> None:
        """Add ``count`` schedulable nodes at t=0: pool nodes (subscription) or autoscaled ones."""
        shape, price = self.pool_shape, self.pool_price_per_hour
        if autoscaled:
            assert self.autoscaling is not None
            shape, price = self.autoscaling.shape, self.autoscaling.price_per_hour
        for _ in range(count):
            self._add_node(shape, price=price, ready_at=0.0, autoscaled=autoscaled)

    def prewarm(self, workload: int, *, base: int, burst: int) -> None:
        """Start with ``base`` and ``burst`` replicas already Ready (a steady state before the trace)."""
        if base:
            rows = self.placer.place(workload, base, free=self.free(0.0))
            if rows.size < base:
                raise errors.SettingsError(
                    f"{base} base replicas of workload {workload} do not fit on the {self.node_count} ECS nodes"
                )
            np.add.at(self.placed[:, workload], rows, 1)
            self.placed_total[workload] += rows.size
            np.add.at(self.ready_on[:, workload], rows, 1)
            self._ready_total[workload] += int(rows.size)
        if burst:
            self._burst_ready_memo[workload] = None
            self._burst_ready_at[workload] = np.concatenate([self._burst_ready_at[workload], np.full(burst, -1.0)])
            self._burst_billed_from[workload] = np.concatenate(
                [self._burst_billed_from[workload], np.full(burst, -math.inf)]
            )
            self._burst_created[workload] = np.concatenate([self._burst_created[workload], np.full(burst, -math.inf)])

    def advance(self, now: float) -> None:
        """Let time pass up to ``now``: nodes boot, starting pods become Ready, idle nodes go."""
        if self._booting:
            for row in np.flatnonzero(self.active & ~self._booted & (self.ready_at <= now)):
                self._booted[row] = True
                self._booting -= 1
                self.placer.node_ready(int(row))
        if self._starting:
            keep = []
            for cohort in self._starting:
                if cohort.ready_at <= now:
                    self.ready_on[cohort.node, cohort.workload] += cohort.count
                    self._ready_total[cohort.workload] += cohort.count
                else:
                    keep.append(cohort)
            self._starting = keep
        if self.autoscaling is not None:
            # Only nodes idle long enough are checked for pods (the same rows as testing all, cheaper).
            candidates = np.flatnonzero(
                self.active & self.autoscaled & (self.empty_since <= now - self.autoscaling.idle_seconds)
            )
            if candidates.size:
                empty = ~self.placed[candidates].any(axis=1) & ~self.ph_placed[candidates].any(axis=1)
                candidates = candidates[empty]
            for row in candidates:
                self.active[row] = False
                self._nodes -= 1
                self._ecs_per_hour -= float(self.price[row])
                if not self._booted[row]:
                    self._booting -= 1
                self._booted[row] = False
                self.placer.remove_node(int(row))
        if self.spot is not None:
            self._reclaim(now, seconds=now - self._last_advance)
        self._last_advance = now

    def _reclaim(self, now: float, *, seconds: float) -> None:
        # Each spot pod past its protection period is released with the per-hour probability, scaled to
        # the time since the last step: p(dt) = 1 - (1 - p_hour)^(dt / 1 h).
        spot = self.spot
        assert spot is not None
        for workload in range(self.workloads):
            outgoing = self._outgoing[workload]
            if outgoing.size:
                self._burst_ready_memo[workload] = None
                keep = outgoing > now
                self._outgoing[workload] = outgoing[keep]
                self._outgoing_billed[workload] = self._outgoing_billed[workload][keep]
            if not spot.workloads[workload] or seconds <= 0 or spot.reclaim_per_hour <= 0:
                continue
            billed = self._burst_billed_from[workload]
            exposed = np.flatnonzero(
                (billed + spot.protection_seconds <= now) & (self._burst_ready_at[workload] <= now)
            )
            if not exposed.size:
                continue
            chance = 1.0 - (1.0 - spot.reclaim_per_hour) ** (seconds / 3600.0)
            hit = exposed[self.draws.rng.random(exposed.size) < chance]
            if hit.size:
                self._replace_spot(workload, hit, now=now)

    def _replace_spot(self, workload: int, hit: IntArray, *, now: float) -> None:
        spot = self.spot
        assert spot is not None
        count = int(hit.size)
        self._burst_ready_memo[workload] = None
        self.spot_reclaimed += count
        delay, waited = self.draws.eci_ready_after(count)
        # The operator starts the replacement at the release event and lets the old pod go once the
        # replacement is Ready (at the latest at the release); a ReplicaSet starts it after the release.
        starts = now if spot.make_before_break else now + spot.notice_seconds
        ends = np.minimum(now + delay, now + spot.notice_seconds) if spot.make_before_break else np.full(count, starts)
        self._outgoing[workload] = np.concatenate([self._outgoing[workload], ends])
        self._outgoing_billed[workload] = np.concatenate([self._outgoing_billed[workload], np.full(count, now)])
        keep = np.ones(self._burst_ready_at[workload].size, dtype=np.bool_)
        keep[hit] = False
        # The replacements are the newest burst pods: appended, so scale-in (newest first) sees them so.
        self._burst_ready_at[workload] = np.concatenate([self._burst_ready_at[workload][keep], starts + delay])
        self._burst_billed_from[workload] = np.concatenate([self._burst_billed_from[workload][keep], starts + waited])
        self._burst_created[workload] = np.concatenate([self._burst_created[workload][keep], np.full(count, starts)])

    def scale(self, workload: int, *, base: int, burst: int, now: float, placeholders: int = 0) -> None:
        """Set one workload's replica counts of the base and of the burst twin, and its placeholders."""
        self._scale_base(workload, max(0, base), now=now)
        self._scale_burst(workload, max(0, burst), now=now)
        if placeholders > 0:
            self._ph_used = True
        if self._ph_used:
            self._scale_placeholders(workload, max(0, placeholders), now=now)

    def schedule(self, now: float) -> None:
        """Place unscheduled pods: base pods highest priority first (preempting placeholders where
        they must), then placeholders; with autoscaling, ask for nodes for what is still Pending."""
        # count_nonzero rather than .any(): a C call, where .any() costs a Python-level dispatch per step.
        if not np.count_nonzero(self.pending) and not np.count_nonzero(self.ph_pending):
            return
        for workload in self._order:
            count = int(self.pending[workload])
            if not count:
                continue
            held = self.ph_placed if self.ph_placed.any() else None
            rows = self.placer.place(int(workload), count, free=self.free(now), placeholders=held)
            for victim, row in self.placer.take_victims():
                self.ph_placed[row, victim] -= 1
                self.ph_pending[victim] += 1  # recreated by its owner: Pending again
            if not rows.size:
                continue
            nodes, counts = np.unique(rows, return_counts=True)
            for node, placed in zip(nodes.tolist(), counts.tolist(), strict=True):
                self.placed[node, workload] += placed
                self.placed_total[workload] += placed
                self._starting.append(
                    _Starting(now + self.draws.realism.pod_startup_seconds, node, int(workload), placed)
                )
            self.pending[workload] -= rows.size
        for workload in self._order:
            count = int(self.ph_pending[workload])
            if not count:
                continue
            rows = self.placer.place(int(workload), count, free=self.free(now), placeholder=True)
            if rows.size:
                np.add.at(self.ph_placed[:, workload], rows, 1)
                self.ph_pending[workload] -= rows.size
        if (self.pending.any() or self.ph_pending.any()) and self.autoscaling is not None:
            self._provision(now)

    def cost_of(self, *, now: float, seconds: float) -> tuple[float, FloatArray]:
        """The ECS cost and the per-workload ECI cost of the step ``[now, now + seconds)``."""
        ecs = self._ecs_per_hour * seconds / 3600.0
        eci = np.zeros(self.workloads)
        for workload in range(self.workloads):
            billed = self._burst_billed_from[workload]
            outgoing = self._outgoing[workload]
            if not billed.size and not outgoing.size:
                continue
            paid = self._burst_paid(workload, now=now, seconds=seconds) if billed.size else 0.0
            if outgoing.size:  # spot pods being replaced, billed until they go
                since = np.maximum(self._outgoing_billed[workload], now)
                paid += float(np.minimum(np.maximum(np.minimum(outgoing, now + seconds) - since, 0.0), seconds).sum())
            eci[workload] = paid * self.eci_per_second[workload]
        return ecs, eci

    # --- internals -------------------------------------------------------------------------------

    def _burst_paid(self, workload: int, *, now: float, seconds: float) -> float:
        """Billed seconds of ``workload``'s burst pods in ``[now, now + seconds)``.

        Each pod pays ``min(max(now + seconds - billed_from, 0), seconds)``. Where even the pod billed
        last pays the whole step (the usual case: every pod was billed before the step), every term
        is exactly ``seconds`` (the rounding of ``now + seconds - b`` is monotone in ``b``), and the
        sum is that of ``n`` equal terms, taken once per ``n`` from the same numpy sum: identical to
        summing the terms, without building them each step.
        """
        billed = self._burst_billed_from[workload]
        latest = self._burst_billed_latest[workload]
        if latest is None or latest[0] is not billed:
            latest = (billed, float(billed.max()))
            self._burst_billed_latest[workload] = latest
        if now + seconds - latest[1] >= seconds:
            key = (int(billed.size), seconds)
            whole = self._whole_steps.get(key)
            if whole is None:
                whole = float(np.full(billed.size, seconds).sum())
                self._whole_steps[key] = whole
            return whole
        # np.minimum(np.maximum(..)) is np.clip without its Python-level dispatch.
        return float(np.minimum(np.maximum(now + seconds - billed, 0.0), seconds).sum())

    def _scale_base(self, workload: int, target: int, *, now: float) -> None:
        remove = self.base_total(workload) - target
        if remove <= 0:
            if remove:
                self.pending[workload] -= remove
            return
        unscheduled = min(remove, int(self.pending[workload]))
        self.pending[workload] -= unscheduled
        remove -= unscheduled
        for cohort in reversed(self._starting):
            if not remove:
                break
            if cohort.workload != workload or not cohort.count:
                continue
            gone = min(remove, cohort.count)
            cohort.count -= gone
            self._leave(workload, cohort.node, gone, now=now)
            remove -= gone
        self._starting = [cohort for cohort in self._starting if cohort.count]
        while remove:
            occupied = np.flatnonzero(self.ready_on[:, workload])
            node = int(occupied[np.argmin(self.placed[occupied].sum(axis=1))])
            gone = min(remove, int(self.ready_on[node, workload]))
            self.ready_on[node, workload] -= gone
            self._ready_total[workload] -= gone
            self._leave(workload, node, gone, now=now)
            remove -= gone

    def _leave(self, workload: int, node: int, count: int, *, now: float) -> None:
        self.placed[node, workload] -= count
        self.placed_total[workload] -= count
        self.placer.remove(workload, node, count)
        self._maybe_empty(node, now=now)

    def _maybe_empty(self, node: int, *, now: float) -> None:
        if not self.placed[node].any() and not self.ph_placed[node].any():
            self.empty_since[node] = max(now, self.ready_at[node])

    def _scale_placeholders(self, workload: int, target: int, *, now: float) -> None:
        # As a ReplicaSet scales in: Pending ones first, then bound ones from the node with the fewest pods.
        remove = self.placeholders(workload) - target
        if remove <= 0:
            self.ph_pending[workload] -= remove
            return
        pending = min(remove, int(self.ph_pending[workload]))
        self.ph_pending[workload] -= pending
        remove -= pending
        while remove:
            occupied = np.flatnonzero(self.ph_placed[:, workload])
            pods = (self.placed[occupied] + self.ph_placed[occupied]).sum(axis=1)
            node = int(occupied[np.argmin(pods)])
            gone = min(remove, int(self.ph_placed[node, workload]))
            self.ph_placed[node, workload] -= gone
            self.placer.remove(workload, node, gone, placeholder=True)
            self._maybe_empty(node, now=now)
            remove -= gone

    def _scale_burst(self, workload: int, target: int, *, now: float) -> None:
        change = target - self._burst_ready_at[workload].size
        if change:
            self._burst_ready_memo[workload] = None
        if change > 0:
            delay, waited = self.draws.eci_ready_after(change)
            self._burst_ready_at[workload] = np.concatenate([self._burst_ready_at[workload], now + delay])
            self._burst_billed_from[workload] = np.concatenate([self._burst_billed_from[workload], now + waited])
            self._burst_created[workload] = np.concatenate([self._burst_created[workload], np.full(change, now)])
        elif change < 0:
            self._burst_ready_at[workload] = self._burst_ready_at[workload][:target]
            self._burst_billed_from[workload] = self._burst_billed_from[workload][:target]
            self._burst_created[workload] = self._burst_created[workload][:target]
            outgoing = self._outgoing[workload]
            if outgoing.size:
                # Each outgoing spot pod stands beside one replacement not yet Ready; fewer of those, fewer of it.
                waiting = int(np.count_nonzero(self._burst_ready_at[workload] > now))
                self._outgoing[workload] = outgoing[:waiting]
                self._outgoing_billed[workload] = self._outgoing_billed[workload][:waiting]

    def _provision(self, now: float) -> None:
        autoscaling = self.autoscaling
        assert autoscaling is not None
        booting = self.active & (self.ready_at > now)
        # What the unschedulable pods need beyond what booting nodes will offer, on every axis.
        need = (self.pending + self.ph_pending) @ self.requests - (
            self.allocatable[booting] - (self.placed[booting] + self.ph_placed[booting]) @ self.requests
        ).sum(0)
        per_node = autoscaling.shape.allocatable
        wanted = math.ceil(float(np.max(need / per_node)) - 1e-9) if (need > 0).any() else 0
        wanted = min(wanted, autoscaling.max_nodes - self.node_count)
        for _ in range(max(0, wanted)):
            ready_at = now + self.draws.node_ready_after()
            self._add_node(autoscaling.shape, price=autoscaling.price_per_hour, ready_at=ready_at, autoscaled=True)

    def _add_node(self, shape: NodeShape, *, price: float, ready_at: float, autoscaled: bool) -> None:
        free_rows = np.flatnonzero(~self.active)
        if free_rows.size:
            row = int(free_rows[0])
        else:
            row = self.active.size
            self.allocatable = np.vstack([self.allocatable, np.zeros((1, 3))])
            self.price = np.append(self.price, 0.0)
            self.ready_at = np.append(self.ready_at, 0.0)
            self.active = np.append(self.active, False)
            self._booted = np.append(self._booted, False)
            self.autoscaled = np.append(self.autoscaled, False)
            self.empty_since = np.append(self.empty_since, 0.0)
            self.placed = np.vstack([self.placed, np.zeros((1, self.workloads), dtype=np.int64)])
            self.ph_placed = np.vstack([self.ph_placed, np.zeros((1, self.workloads), dtype=np.int64)])
            self.ready_on = np.vstack([self.ready_on, np.zeros((1, self.workloads), dtype=np.int64)])
        self.allocatable[row] = shape.allocatable
        self.price[row] = price
        self.ready_at[row] = ready_at
        self.active[row] = True
        self._nodes += 1
        self._ecs_per_hour += price
        self.autoscaled[row] = autoscaled
        self.empty_since[row] = ready_at
        self.placed[row] = 0
        self.ph_placed[row] = 0
        self.ready_on[row] = 0
        self.placer.add_node(row, shape.allocatable, schedulable=ready_at <= 0.0)
        self._booted[row] = ready_at <= 0.0
        if ready_at > 0.0:
            self._booting += 1
