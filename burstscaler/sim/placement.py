"""Where the model cluster's base pods land: a ``Placer`` behind one small interface.

The simulator's judge of placement must not be the planning core (``core.placement``), or every run
agrees with the planner by construction. ``SchedulerPlacer`` asks the kube-scheduler model
(``burstscaler.scheduler``: filters, LeastAllocated and BalancedAllocation scoring, deterministic
ties) for every pod; ``FirstFit`` (first node in row order with room) remains for when that package
is not importable, and says so in the printed settings.

The model sees the virtual node too (a Node with huge allocatable and the provider's NoSchedule
taint); base pods carry no toleration, so the model's TaintToleration filter keeps them on ECS. Burst
pods are not placed through the model: their only feasible node is the virtual node by construction
(nodeSelector and toleration of the twin), and the virtual node never runs out of room.

Placeholder pods (the bridge, issue 16) are placed through the same ``Placer``: the workload's
requests at ``PLACEHOLDER_PRIORITY``, below every workload pod. A workload pod that fits nowhere may
preempt them (kube-scheduler's DefaultPreemption: the scheduler model finds the victims; first fit
evicts the fewest placeholders on the first node where evicting them makes room); the victims are
handed back by ``take_victims`` so the model cluster can make them Pending again (their owner
recreates them, as a Deployment of placeholders does).

Speed: pods of one workload are identical, so when a workload's next pod was unschedulable and the
cluster has not changed since, the answer is reused (``SchedulerPlacer`` keeps that per-step cache);
a pod that was placed changed the cluster, so the next one is asked again.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
VIRTUAL_NODE = "virtual-kubelet"
#: Placeholder pods' priority: the shipped PriorityClass ``burstscaler-placeholder`` (-10), below every
#: workload pod (0 in the model) and not below cluster-autoscaler's default
#: ``--expendable-pods-priority-cutoff`` (-10), so the node autoscaler still adds nodes for them.
PLACEHOLDER_PRIORITY = -10


def fit_counts(free: FloatArray, request: FloatArray) -> IntArray:
    """How many pods of ``request`` fit on each row of ``free``: the tightest resource decides."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(request > 0, np.floor(free / np.where(request > 0, request, 1.0) + 1e-9), np.inf)
    counts = np.min(ratio, axis=1)
    return np.maximum(np.where(np.isfinite(counts), counts, 0), 0).astype(np.int64)


class Placer(Protocol):
    """Keeps its own view of the nodes in step with the model cluster and places pods."""

    name: str

    def add_node(self, row: int, allocatable: FloatArray, *, schedulable: bool) -> None:
        """A node appeared in ``row`` (booting unless ``schedulable``)."""

    def node_ready(self, row: int) -> None:
        """The node in ``row`` finished booting."""

    def remove_node(self, row: int) -> None:
        """The node in ``row`` is gone (it was empty)."""

    def place(
        self,
        workload: int,
        count: int,
        *,
        free: FloatArray,
        placeholders: IntArray | None = None,
        placeholder: bool = False,
    ) -> IntArray:
        """Bind up to ``count`` pods of ``workload``; return the row of each bound pod, in order.

        ``placeholder``: they are placeholder pods (lowest priority, never preempt). Otherwise a pod that
        does not fit in ``free`` may preempt placeholders (``placeholders[row, w]``: bound ones).
        """
        ...

    def remove(self, workload: int, row: int, count: int, *, placeholder: bool = False) -> None:
        """``count`` pods (placeholders when ``placeholder``) of ``workload`` on ``row`` were deleted."""

    def take_victims(self) -> list[tuple[int, int]]:
        """The placeholders (workload, row) that preemption evicted since the last call."""
        ...


class FirstFit:
    """Pods go to the first schedulable node (in row order) with room; ``free`` is the truth."""

    name = "first-fit"

    def __init__(self, requests: FloatArray) -> None:
        self.requests = requests
        self._victims: list[tuple[int, int]] = []

    def add_node(self, row: int, allocatable: FloatArray, *, schedulable: bool) -> None:
        """Nothing to keep: ``free`` is handed to ``place``."""

    def node_ready(self, row: int) -> None:
        """Nothing to keep."""

    def remove_node(self, row: int) -> None:
        """Nothing to keep."""

    def place(
        self,
        workload: int,
        count: int,
        *,
        free: FloatArray,
        placeholders: IntArray | None = None,
        placeholder: bool = False,
    ) -> IntArray:
        """First fit, vectorised: cumulative room in row order; then preemption of placeholders."""
        request = self.requests[workload]
        room = fit_counts(free, request)
        before = np.cumsum(room) - room
        take = np.minimum(room, np.maximum(0, count - before))
        rows = np.repeat(np.arange(room.size), take)
        left = count - rows.size
        if placeholder or not left or placeholders is None or not placeholders.any():
            return rows
        extra: list[int] = []
        free = free - take[:, None] * request[None, :]
        held = placeholders.copy()
        for node in np.flatnonzero(held.sum(axis=1)).tolist():
            while left:
                if bool(np.all(free[node] + 1e-9 >= request)):
                    free[node] -= request
                    extra.append(node)
                    left -= 1
                    continue
                # Evict only if evicting every placeholder here would make room (else no victim here).
                if not np.all(free[node] + held[node] @ self.requests + 1e-9 >= request):
                    break
                victim = int(np.argmax(held[node]))
                held[node, victim] -= 1
                free[node] += self.requests[victim]
                self._victims.append((victim, node))
            if not left:
                break
        return np.concatenate([rows, np.array(extra, dtype=np.int64)]).astype(np.int64)

    def remove(self, workload: int, row: int, count: int, *, placeholder: bool = False) -> None:
        """Nothing to keep."""

    def take_victims(self) -> list[tuple[int, int]]:
        """The placeholders evicted since the last call."""
        victims, self._victims = self._victims, []
        return victims


#: The ``placement`` choices: the scheduler model where importable, either one by name.
CHOICES = ("auto", "scheduler", "first-fit")


def make_placer(requests: FloatArray, *, choice: str = "auto") -> Placer:
    """The kube-scheduler model (``auto``: when it is importable, else first fit)."""
    if choice == "first-fit":
        return FirstFit(requests)
    try:
        return SchedulerPlacer(requests)
    except (ImportError, AttributeError):
        if choice == "scheduler":
            raise
        return FirstFit(requests)


class SchedulerPlacer:
    """Every pod placed by ``burstscaler.scheduler.Cluster`` (the kube-scheduler model)."""

    name = "kube-scheduler model (burstscaler.scheduler)"

    def __init__(self, requests: FloatArray) -> None:
        from burstscaler import scheduler

        self._scheduler: Any = scheduler
        self._cluster: Any = scheduler.Cluster()
        self.requests = requests
        self._nodes: dict[int, Any] = {}
        self._pods: dict[tuple[int, int], list[str]] = {}
        self._placeholders: dict[tuple[int, int], list[str]] = {}
        self._placeholder_of: dict[str, tuple[int, int]] = {}
        self._victims: list[tuple[int, int]] = []
        self._serial = 0
        self._version = 0
        self._unschedulable_at: dict[tuple[int, bool], int] = {}  # (workload, placeholder) -> version of its last miss
        self.calls = 0
        # The virtual node is just a Node to the model: huge allocatable, the provider's taint. Base
        # pods do not tolerate it, so the model (not this code) keeps them off it.
        self._cluster.add_node(
            scheduler.Node(
                name=VIRTUAL_NODE,
                labels={"kubernetes.io/hostname": VIRTUAL_NODE, "type": "virtual-kubelet"},
                taints=(scheduler.Taint(key="virtual-kubelet.io/provider", value="alibabacloud"),),
                allocatable={"cpu": 10**9, "memory": 2**60, "pods": 10**9},
            )
        )

    def _node(self, row: int, allocatable: FloatArray, *, schedulable: bool) -> Any:
        cpu, memory, pods = allocatable
        return self._scheduler.Node(
            name=f"ecs-{row:05d}",
            labels={"kubernetes.io/hostname": f"ecs-{row:05d}", "type": "ecs"},
            allocatable={"cpu": int(cpu), "memory": int(memory), "pods": int(pods)},
            unschedulable=not schedulable,
        )

    def add_node(self, row: int, allocatable: FloatArray, *, schedulable: bool) -> None:
        """Add the node (``unschedulable`` while it boots, as cluster-autoscaler's nodes are NotReady)."""
        node = self._node(row, allocatable, schedulable=schedulable)
        self._nodes[row] = (node, allocatable)
        self._cluster.add_node(node)
        self._version += 1

    def node_ready(self, row: int) -> None:
        """The node becomes schedulable."""
        node, allocatable = self._nodes[row]
        node = self._node(row, allocatable, schedulable=True)
        self._nodes[row] = (node, allocatable)
        self._cluster.update_node(node)
        self._version += 1

    def remove_node(self, row: int) -> None:
        """The (empty) node is gone."""
        self._nodes.pop(row, None)
        self._cluster.remove_node(f"ecs-{row:05d}")
        self._version += 1

    def place(
        self,
        workload: int,
        count: int,
        *,
        free: FloatArray,
        placeholders: IntArray | None = None,
        placeholder: bool = False,
    ) -> IntArray:
        """Ask the model for each pod in turn (evicting its preemption victims); stop at the first misfit."""
        kind = (workload, placeholder)
        if self._unschedulable_at.get(kind) == self._version:
            return np.zeros(0, dtype=np.int64)  # identical pod, unchanged cluster: same answer
        cpu, memory, _ = self.requests[workload]
        container = self._scheduler.Container(name="app", requests={"cpu": int(cpu), "memory": int(memory)})
        prefix = "p" if placeholder else "w"
        priority = PLACEHOLDER_PRIORITY if placeholder else 0
        rows: list[int] = []
        for _ in range(count):
            self._serial += 1
            pod = self._scheduler.Pod(
                name=f"{prefix}{workload}-{self._serial}",
                labels={"placeholder-of" if placeholder else "workload": str(workload)},
                containers=(container,),
                priority=priority,
            )
            self.calls += 1
            decision = self._cluster.schedule(pod)
            if decision.node is None:
                self._unschedulable_at[kind] = self._version
                break
            if decision.node == VIRTUAL_NODE:  # pragma: no cover - the taint forbids it; kept loud
                raise AssertionError(f"the scheduler model put base pod {pod.key} on the virtual node")
            for key in decision.victims:
                self._evict(key)
            self._cluster.bind(pod, decision.node)
            row = int(decision.node.removeprefix("ecs-"))
            self._keys(placeholder).setdefault((workload, row), []).append(pod.key)
            if placeholder:
                self._placeholder_of[pod.key] = (workload, row)
            rows.append(row)
            self._version += 1
        return np.array(rows, dtype=np.int64)

    def _keys(self, placeholder: bool) -> dict[tuple[int, int], list[str]]:
        return self._placeholders if placeholder else self._pods

    def _evict(self, key: str) -> None:
        where = self._placeholder_of.pop(key, None)
        if where is None:  # pragma: no cover - workload pods share one priority: only placeholders are victims
            raise AssertionError(f"the scheduler model preempted workload pod {key}")
        self._placeholders[where].remove(key)
        self._cluster.delete_pod(key)
        self._victims.append(where)

    def remove(self, workload: int, row: int, count: int, *, placeholder: bool = False) -> None:
        """Delete the newest ``count`` pods (or placeholders) of ``workload`` on ``row``."""
        keys = self._keys(placeholder).get((workload, row), [])
        for _ in range(count):
            key = keys.pop()
            self._placeholder_of.pop(key, None)
            self._cluster.delete_pod(key)
        self._version += 1

    def take_victims(self) -> list[tuple[int, int]]:
        """The placeholders evicted since the last call."""
        victims, self._victims = self._victims, []
        return victims
