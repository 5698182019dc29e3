"""Build the core's Snapshot from indexed records: nodes, pods and the policies' views.

This is where the conventions of ``core.snapshot`` are met for a real cluster:
- a node's `requested` sums the requests of every pod bound to it that has not finished, terminating
  ones included: kube-scheduler frees their room only once they are gone;
- a cordoned node is left to the eligibility mask (pods tolerating the unschedulable taint may still
  land there); only a node that is not Ready takes no new pod at all;
- a policy's base pods that exist but are unbound, and base replicas its controller has not created
  yet, hold room as reservations (they count as placed for the core, so their room must be kept);
- base pods the scheduler reported unschedulable for longer than the grace go to
  `base_unschedulable` (the pending-pod signal), and hold no room;
- other unbound pods (not a policy's) are reservations, grouped by request and constraints.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np

from burstscaler.api import spec as api
from burstscaler.cluster import objects
from burstscaler.core import eligibility, snapshot

BASE_RESOURCES = ("cpu", "memory", "pods", "ephemeral-storage")


@dataclasses.dataclass(frozen=True)
class PolicyView:
    """One policy as the planner sees it: its spec, its base workload and its twin, and the recommendation."""

    namespace: str
    name: str
    spec: api.BurstPolicySpec
    base_replicas: int  # the base workload's spec.replicas
    twin_replicas: int  # the twin's spec.replicas (0 when there is no twin)
    requests: Mapping[str, float]  # one replica's effective request, snapshot units
    placement: eligibility.PodPlacement  # the base template's node constraints
    recommended: int
    eci_compatible: bool
    burst_cost_per_second: float
    base_unschedulable: int = 0  # the pending-pod signal (core.pending), computed with the recommendation
    max_cost_per_second: float | None = None  # the spend budget the operator applies; None: the spec's own

    @property
    def key(self) -> str:
        """``namespace/name``: the stable tie-break and the history's row key."""
        return f"{self.namespace}/{self.name}"

    @property
    def base_workload(self) -> tuple[str, str, str]:
        """(namespace, kind, name) of the base."""
        return (self.namespace, self.spec.target_ref.kind, self.spec.target_ref.name)

    @property
    def twin_workload(self) -> tuple[str, str, str]:
        """(namespace, kind, name) of the burst twin."""
        return (self.namespace, self.spec.target_ref.kind, f"{self.spec.target_ref.name}-burst")


@dataclasses.dataclass(frozen=True)
class PolicyPods:
    """What the pods of one policy's base and twin say, for status and for the snapshot."""

    base_ready: int = 0
    base_unschedulable: int = 0
    base_unplaced: int = 0  # existing or not-yet-created base replicas without a node that hold room
    burst_ready: int = 0
    burst_started: tuple[float, ...] = ()


def build(
    *,
    nodes: Sequence[objects.NodeRecord],
    pods: Sequence[objects.PodRecord],
    policies: Sequence[PolicyView],
    history: snapshot.History | None,
    now: float,
) -> tuple[snapshot.Snapshot, list[PolicyPods]]:
    """Return the snapshot for one tick and, per policy, what its pods say."""
    resources = _resources(nodes, policies)
    node_index = {node.name: row for row, node in enumerate(nodes)}
    # The shape is explicit: with no nodes at all (an empty index at start-up) -1 cannot be inferred.
    allocatable = np.array([podrequest_row(node.allocatable, resources) for node in nodes], dtype=np.float64).reshape(
        len(nodes), len(resources)
    )
    requested = np.zeros_like(allocatable)
    owned = {view.base_workload: row for row, view in enumerate(policies)}
    owned.update({view.twin_workload: row for row, view in enumerate(policies)})
    by_policy: dict[int, list[objects.PodRecord]] = defaultdict(list)
    strangers: list[objects.PodRecord] = []
    bound: list[objects.PodRecord] = []
    rows: list[int] = []
    for pod in pods:
        if pod.phase in ("Succeeded", "Failed"):
            continue
        row = node_index.get(pod.node_name)
        if row is not None:
            bound.append(pod)
            rows.append(row)
        if pod.deleting:
            continue  # holds room until gone, but serves nothing and will not be placed again
        workload = pod.workload
        if workload in owned:
            by_policy[owned[workload]].append(pod)
        elif not pod.node_name:
            strangers.append(pod)
    # One column at a time over all bound pods, then one scatter-add: a per-pod loop of vector adds
    # costs seconds at 50,000 pods.
    if bound:
        columns = [np.fromiter((pod.requests.get(name, 0.0) for pod in bound), float, len(bound)) for name in resources]
        np.add.at(requested, np.array(rows), np.stack(columns, axis=1))
    node_views = [
        eligibility.NodeView(labels=node.labels, taints=node.taints, unschedulable=node.unschedulable, name=node.name)
        for node in nodes
    ]
    views = [_policy_pods(view, by_policy[row], now=now) for row, view in enumerate(policies)]
    nodes_arrays = snapshot.Nodes(
        names=tuple(node.name for node in nodes),
        resources=resources,
        allocatable=allocatable,
        requested=requested,
        unschedulable=np.array([not node.ready for node in nodes], dtype=bool),
        virtual=np.array([node.virtual for node in nodes], dtype=bool),
    )
    policy_arrays = _policies(policies, views, nodes=node_views, resources=resources, now=now)
    reservations = _reservations(strangers, policies, views, nodes=node_views, resources=resources)
    names = tuple(view.key for view in policies)
    return (
        snapshot.Snapshot(
            nodes=nodes_arrays,
            policies=policy_arrays,
            reservations=reservations,
            history=(history or snapshot.History.empty(names)).align(names),
        ),
        views,
    )


def podrequest_row(values: Mapping[str, float], resources: Sequence[str]) -> list[float]:
    """Values over `resources` (a missing resource is 0); resources outside `resources` are dropped."""
    return [float(values.get(name, 0.0)) for name in resources]


def _resources(nodes: Sequence[objects.NodeRecord], policies: Sequence[PolicyView]) -> tuple[str, ...]:
    # Columns: the usual four plus any extended resource a policy requests (a GPU, say): a node
    # without it has 0 and fits no such replica, as the scheduler decides.
    extra = sorted({name for view in policies for name in view.requests} - set(BASE_RESOURCES))
    return (*BASE_RESOURCES, *extra)


def _policy_pods(view: PolicyView, pods: list[objects.PodRecord], *, now: float) -> PolicyPods:
    base_key, twin_key = view.base_workload, view.twin_workload
    base = [pod for pod in pods if pod.workload == base_key and not pod.burst]
    burst = [pod for pod in pods if pod.workload == twin_key]
    unbound = sum(1 for pod in base if not pod.node_name)
    missing = max(0, view.base_replicas - len(base))
    return PolicyPods(
        base_ready=sum(1 for pod in base if pod.ready),
        base_unschedulable=view.base_unschedulable,
        base_unplaced=max(0, unbound - view.base_unschedulable) + missing,
        burst_ready=sum(1 for pod in burst if pod.ready),
        burst_started=tuple(pod.started if pod.started is not None else now for pod in burst),
    )


def _policies(
    policies: Sequence[PolicyView],
    views: Sequence[PolicyPods],
    *,
    nodes: Sequence[eligibility.NodeView],
    resources: tuple[str, ...],
    now: float,
) -> snapshot.Policies:
    def ints(values: Sequence[float | int]) -> snapshot.IntArray:
        return np.array(values, dtype=np.int64).reshape(len(policies))

    def floats(values: Sequence[float]) -> snapshot.FloatArray:
        return np.array(values, dtype=np.float64).reshape(len(policies))

    unlimited = snapshot.UNLIMITED
    specs = [view.spec for view in policies]
    budgets = [
        view.max_cost_per_second
        if view.max_cost_per_second is not None
        else (float(s.burst.budget.max_cost_per_hour) / 3600.0 if s.burst.budget is not None else math.inf)
        for view, s in zip(policies, specs, strict=True)
    ]
    owners = [row for row, pods in enumerate(views) for _ in pods.burst_started]
    return snapshot.Policies(
        names=tuple(view.key for view in policies),
        requests=np.array([podrequest_row(view.requests, resources) for view in policies]).reshape(
            len(policies), len(resources)
        ),
        eligible=eligibility.mask(nodes=nodes, policies=[view.placement for view in policies]).reshape(
            len(policies), len(nodes)
        ),
        recommended=ints([view.recommended for view in policies]),
        min_replicas=ints([s.min_replicas for s in specs]),
        max_replicas=ints([s.max_replicas for s in specs]),
        base_replicas=ints([view.base_replicas for view in policies]),
        base_ready=ints([pods.base_ready for pods in views]),
        base_unschedulable=ints([pods.base_unschedulable for pods in views]),
        burst_replicas=ints([view.twin_replicas for view in policies]),
        burst_ready=ints([pods.burst_ready for pods in views]),
        base_max=ints([unlimited if s.base.max_replicas is None else s.base.max_replicas for s in specs]),
        burst_max=ints([unlimited if s.burst.max_replicas is None else s.burst.max_replicas for s in specs]),
        burst_enabled=np.array([s.burst.enabled for s in specs], dtype=bool).reshape(len(policies)),
        eci_compatible=np.array([view.eci_compatible for view in policies], dtype=bool).reshape(len(policies)),
        max_cost_per_second=floats(budgets),
        burst_cost_per_second=floats([view.burst_cost_per_second for view in policies]),
        priority=ints([s.priority for s in specs]),
        drain_enabled=np.array([s.drain_back.enabled for s in specs], dtype=bool).reshape(len(policies)),
        min_burst_seconds=floats([s.drain_back.min_burst_seconds for s in specs]),
        stabilization_seconds=floats([s.drain_back.stabilization_seconds for s in specs]),
        max_moves_per_tick=ints([s.drain_back.max_moves_per_tick for s in specs]),
        drain_timeout_seconds=floats([s.drain_back.ready_timeout_seconds for s in specs]),
        burst_pod_policy=np.array(owners, dtype=np.int64),
        burst_pod_started=np.array([t for pods in views for t in pods.burst_started], dtype=np.float64),
    )


def _reservations(
    strangers: Sequence[objects.PodRecord],
    policies: Sequence[PolicyView],
    views: Sequence[PolicyPods],
    *,
    nodes: Sequence[eligibility.NodeView],
    resources: tuple[str, ...],
) -> snapshot.Reservations:
    groups: dict[tuple[tuple[float, ...], eligibility.PodPlacement], int] = defaultdict(int)
    for pod in strangers:
        placement = pod.placement or eligibility.PodPlacement()
        groups[(tuple(podrequest_row(pod.requests, resources)), eligibility.hashable(placement))] += 1
    for view, pods in zip(policies, views, strict=True):
        if pods.base_unplaced:
            groups[(tuple(podrequest_row(view.requests, resources)), eligibility.hashable(view.placement))] += (
                pods.base_unplaced
            )
    if not groups:
        return snapshot.Reservations.empty(nodes=len(nodes), resources=len(resources))
    keys = list(groups)
    return snapshot.Reservations(
        requests=np.array([request for request, _ in keys], dtype=np.float64).reshape(len(keys), len(resources)),
        eligible=eligibility.mask(nodes=nodes, policies=[placement for _, placement in keys]).reshape(
            len(keys), len(nodes)
        ),
        counts=np.array([groups[key] for key in keys], dtype=np.int64),
    )
