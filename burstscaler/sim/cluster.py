"""A model cluster: ECS nodes, a virtual node, and the pods of one workload, stepped through time.

What it models, and why that much:
- ECS nodes of given shapes, each holding ``slots`` pods of the workload (the tightest of vCPU,
  memory and pod count). Optionally grown by a cluster-autoscaler-style model: when pods stay
  unschedulable it adds nodes that become schedulable after a boot delay (CA's reaction plus the
  node's boot), and removes a node after it has been empty for ``idle_seconds`` (CA's 10 minutes).
- Base pods (on ECS) and burst pods (on the virtual node), each with a start-up delay before they
  are Ready and serve traffic. The virtual node has no capacity limit.
- Its own first-fit scheduler: pending pods go to the first schedulable node (in node order) with
  room. It is deliberately *not* ``burstscaler.core``'s fit, so the simulator checks the core instead
  of agreeing with it by construction.
- Scale-in as a ReplicaSet does it: unscheduled pods first, then not-ready (newest first), then ready
  pods. Among ready ECS pods it removes from the node with the fewest pods first, which empties
  nodes the way cluster-autoscaler's consolidation would (without modelling evictions); burst pods go
  newest first.
- Cost as billed: an ECS node from its creation until removal at its hourly price; an ECI pod from
  its creation (image pull) until deletion, per second, on its requested vCPU and memory.

Everything is counts and small arrays, so a month of 30-second steps runs in seconds.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import numpy.typing as npt

from burstscaler.sim import errors

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclasses.dataclass(frozen=True)
class NodeShape:
    """An ECS node: allocatable vCPU, GiB and pod slots, and what it costs per hour."""

    cpu: float
    memory_gib: float
    price_per_hour: float
    pods: int = 110


@dataclasses.dataclass(frozen=True)
class PodShape:
    """What one replica requests (and, on the virtual node, is billed for)."""

    cpu: float
    memory_gib: float


@dataclasses.dataclass(frozen=True)
class NodeAutoscaling:
    """Cluster-autoscaler-style node provisioning: new nodes of ``shape`` after ``boot_seconds``."""

    shape: NodeShape
    boot_seconds: float = 180.0
    idle_seconds: float = 600.0
    min_nodes: int = 0
    max_nodes: int = 500


@dataclasses.dataclass(frozen=True)
class ClusterSpec:
    """The model cluster's fixed parameters."""

    nodes: tuple[NodeShape, ...]
    pod: PodShape
    pod_startup_seconds: float
    eci_startup_seconds: float
    eci_per_vcpu_second: float
    eci_per_gib_second: float
    autoscaling: NodeAutoscaling | None = None

    @property
    def eci_pod_per_second(self) -> float:
        """What one burst pod costs per second on the virtual node."""
        return self.pod.cpu * self.eci_per_vcpu_second + self.pod.memory_gib * self.eci_per_gib_second


def slots_of(shape: NodeShape, pod: PodShape) -> int:
    """How many pods of ``pod`` fit on an empty node of ``shape``: the tightest resource decides."""
    by_cpu = math.floor(shape.cpu / pod.cpu + 1e-9) if pod.cpu > 0 else shape.pods
    by_memory = math.floor(shape.memory_gib / pod.memory_gib + 1e-9) if pod.memory_gib > 0 else shape.pods
    return max(0, min(by_cpu, by_memory, shape.pods))


@dataclasses.dataclass
class _Cohort:
    """Pods created together: on ECS ``node`` is where they run; on the virtual node it is -1."""

    since: float
    node: int
    count: int


class ModelCluster:
    """The mutable state of the model cluster. Strategies read it; the engine changes it.

    Call order each step: ``advance(now)`` (time passes: nodes boot, pods become Ready, idle nodes
    go), then the strategy decides, then ``scale(base=, burst=, now=)`` and ``schedule(now)``, then
    ``cost_of(seconds)`` for the step.
    """

    def __init__(self, spec: ClusterSpec, *, base: int = 0, burst: int = 0) -> None:
        self.spec = spec
        shapes = list(spec.nodes)
        if spec.autoscaling is not None:
            shapes.append(spec.autoscaling.shape)
        if shapes and max(slots_of(shape, spec.pod) for shape in shapes) == 0:
            raise errors.SettingsError(
                f"a pod of {spec.pod.cpu} vCPU / {spec.pod.memory_gib} GiB fits on no ECS node shape"
            )
        count = len(spec.nodes)
        self.slots: IntArray = np.array([slots_of(shape, spec.pod) for shape in spec.nodes], dtype=np.int64)
        self.price: FloatArray = np.array([shape.price_per_hour for shape in spec.nodes], dtype=np.float64)
        self.ready_at: FloatArray = np.zeros(count)
        self.active = np.ones(count, dtype=np.bool_)
        self.empty_since: FloatArray = np.zeros(count)
        self.placed: IntArray = np.zeros(count, dtype=np.int64)
        self.ready_on: IntArray = np.zeros(count, dtype=np.int64)
        self.pending = 0
        self._starting: list[_Cohort] = []  # scheduled base pods, not yet Ready, oldest first
        self._burst: list[_Cohort] = []  # burst pods, oldest first
        self.burst_total = 0
        self.prewarm(base=base, burst=burst)

    # --- what strategies read ---------------------------------------------------------------------

    @property
    def base_total(self) -> int:
        """Base replicas that exist (unscheduled, starting or Ready)."""
        return self.pending + int(self.placed.sum())

    @property
    def base_ready(self) -> int:
        """Base replicas that are Ready and serve traffic."""
        return int(self.ready_on.sum())

    def burst_ready(self, now: float) -> int:
        """Burst replicas that are Ready at ``now``."""
        ready_since = now - self.spec.eci_startup_seconds
        return sum(cohort.count for cohort in self._burst if cohort.since <= ready_since)

    def burst_ages(self, now: float) -> FloatArray:
        """Seconds each burst replica has existed at ``now``, oldest first (one entry per pod)."""
        if not self._burst:
            return np.zeros(0)
        since = np.array([cohort.since for cohort in self._burst])
        counts = np.array([cohort.count for cohort in self._burst])
        return np.repeat(now - since, counts)

    @property
    def node_count(self) -> int:
        """ECS nodes that exist (booting or schedulable)."""
        return int(self.active.sum())

    def schedulable(self, now: float) -> npt.NDArray[np.bool_]:
        """Which node rows accept pods at ``now`` (existing and booted)."""
        return self.active & (self.ready_at <= now)

    # --- what the engine does -----------------------------------------------------------------------

    def prewarm(self, *, base: int, burst: int) -> None:
        """Start with ``base`` and ``burst`` replicas already Ready (a steady state before the trace)."""
        if base:
            self.pending += base
            self.schedule(0.0, ready=True)
            if self.pending:
                raise errors.SettingsError(
                    f"{base} base replicas do not fit on the {self.node_count} initial ECS nodes"
                )
        if burst:
            self._burst.append(_Cohort(since=-math.inf, node=-1, count=burst))
            self.burst_total += burst

    def advance(self, now: float) -> None:
        """Let time pass up to ``now``: starting pods become Ready, empty nodes are removed."""
        ready_since = now - self.spec.pod_startup_seconds
        while self._starting and self._starting[0].since <= ready_since:
            cohort = self._starting.pop(0)
            self.ready_on[cohort.node] += cohort.count
        autoscaling = self.spec.autoscaling
        if autoscaling is not None:
            idle = self.active & (self.placed == 0) & (self.empty_since <= now - autoscaling.idle_seconds)
            removable = self.node_count - autoscaling.min_nodes
            for node in np.flatnonzero(idle)[: max(0, removable)]:
                self.active[node] = False

    def scale(self, *, base: int, burst: int, now: float) -> None:
        """Set the replica counts of the base workload and of the burst twin."""
        self._scale_base(max(0, base), now=now)
        self._scale_burst(max(0, burst), now=now)

    def schedule(self, now: float, *, ready: bool = False) -> None:
        """Place unscheduled base pods first-fit; with autoscaling, ask for nodes for the rest."""
        if self.pending:
            free = np.where(self.schedulable(now), self.slots - self.placed, 0)
            before = np.cumsum(free) - free
            take = np.minimum(free, np.maximum(0, self.pending - before))
            for node in np.flatnonzero(take):
                count = int(take[node])
                self.placed[node] += count
                if ready:
                    self.ready_on[node] += count
                else:
                    self._starting.append(_Cohort(since=now, node=int(node), count=count))
            self.pending -= int(take.sum())
        if self.pending and self.spec.autoscaling is not None:
            self._provision(now)

    def cost_of(self, seconds: float) -> tuple[float, float]:
        """The (ECS, ECI) cost of running the current state for ``seconds``."""
        ecs = float(self.price[self.active].sum()) * seconds / 3600.0
        eci = self.burst_total * self.spec.eci_pod_per_second * seconds
        return ecs, eci

    # --- internals -------------------------------------------------------------------------------

    def _scale_base(self, target: int, *, now: float) -> None:
        remove = self.base_total - target
        if remove <= 0:
            self.pending -= remove
            return
        # A ReplicaSet deletes unscheduled pods first, then not-ready ones (newest first), then Ready.
        unscheduled = min(remove, self.pending)
        self.pending -= unscheduled
        remove -= unscheduled
        while remove and self._starting:
            cohort = self._starting[-1]
            gone = min(remove, cohort.count)
            cohort.count -= gone
            self._leave(cohort.node, gone, now=now)
            remove -= gone
            if not cohort.count:
                self._starting.pop()
        while remove:
            occupied = np.flatnonzero(self.ready_on)
            node = int(occupied[np.argmin(self.placed[occupied])])
            gone = min(remove, int(self.ready_on[node]))
            self.ready_on[node] -= gone
            self._leave(node, gone, now=now)
            remove -= gone

    def _leave(self, node: int, count: int, *, now: float) -> None:
        self.placed[node] -= count
        if not self.placed[node]:
            self.empty_since[node] = max(now, self.ready_at[node])

    def _scale_burst(self, target: int, *, now: float) -> None:
        change = target - self.burst_total
        if change > 0:
            self._burst.append(_Cohort(since=now, node=-1, count=change))
        remove = -change
        while remove > 0:
            cohort = self._burst[-1]
            gone = min(remove, cohort.count)
            cohort.count -= gone
            remove -= gone
            if not cohort.count:
                self._burst.pop()
        self.burst_total = target

    def _provision(self, now: float) -> None:
        autoscaling = self.spec.autoscaling
        assert autoscaling is not None
        booting = self.active & (self.ready_at > now)
        uncovered = self.pending - int((self.slots[booting] - self.placed[booting]).sum())
        per_node = slots_of(autoscaling.shape, self.spec.pod)
        wanted = min(math.ceil(uncovered / per_node), autoscaling.max_nodes - self.node_count) if per_node else 0
        for _ in range(max(0, wanted)):
            self._add_node(autoscaling.shape, ready_at=now + autoscaling.boot_seconds, slots=per_node)

    def _add_node(self, shape: NodeShape, *, ready_at: float, slots: int) -> None:
        free_rows = np.flatnonzero(~self.active)
        if free_rows.size:
            row = int(free_rows[0])
        else:
            row = self.active.size
            self.slots = np.append(self.slots, 0)
            self.price = np.append(self.price, 0.0)
            self.ready_at = np.append(self.ready_at, 0.0)
            self.active = np.append(self.active, False)
            self.empty_since = np.append(self.empty_since, 0.0)
            self.placed = np.append(self.placed, 0)
            self.ready_on = np.append(self.ready_on, 0)
        self.slots[row] = slots
        self.price[row] = shape.price_per_hour
        self.ready_at[row] = ready_at
        self.active[row] = True
        self.empty_since[row] = ready_at
        self.placed[row] = 0
        self.ready_on[row] = 0
