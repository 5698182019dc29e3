"""Build the core's Snapshot from indexed records: nodes, pods and the policies' views.

This is where the conventions of ``core.snapshot`` are met for a real cluster:
- a node's `requested` sums the requests of every pod bound to it that has not finished, terminating
  ones included: kube-scheduler frees their room only once they are gone;
- a cordoned node is left to the eligibility mask (pods tolerating the unschedulable taint may still
  land there); only a node that is not Ready takes no new pod at all;
- a policy's base pods that exist but are unbound, and base replicas its controller has not created
  yet, hold room as reservations (they count as placed for the core, so their room must be kept);
- base pods the scheduler reported unschedulable for longer than the grace go to
  `base_unschedulable` (the pending-pod signal), and hold no room; as many of them as the base has
  pods still terminating on a node wait for that room instead (a rolling update is not ECS full);
- other unbound pods (not a policy's) are reservations, grouped by request and constraints;
- a policy's inter-pod terms become ``snapshot.Term`` rows: node domains per topology key and the
  bound pods matching each term per domain (grouped by namespace and labels, so a selector is
  matched once per group); bound pods' own required anti-affinity blocks the domains it covers for
  every policy whose template it selects (kube's symmetry check).
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np

from burstscaler.api import spec as api
from burstscaler.cluster import objects
from burstscaler.core import eligibility, podterms, snapshot

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
    constraints: podterms.PodConstraints | None = None  # the template's labels and inter-pod terms

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
    requests_source: str = "template"  # "pods": a replica's request is its admitted pods', else the template's


def build(
    *,
    nodes: Sequence[objects.NodeRecord],
    pods: Sequence[objects.PodRecord],
    policies: Sequence[PolicyView],
    history: snapshot.History | None,
    now: float,
) -> tuple[snapshot.Snapshot, list[PolicyPods]]:
    """Return the snapshot for one tick and, per policy, what its pods say."""
    node_index = {node.name: row for row, node in enumerate(nodes)}
    owned = {view.base_workload: row for row, view in enumerate(policies)}
    owned.update({view.twin_workload: row for row, view in enumerate(policies)})
    by_policy: dict[int, list[objects.PodRecord]] = defaultdict(list)
    terminating: dict[int, int] = defaultdict(int)  # per policy: its base pods still terminating on a node
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
            if row is not None and pod.workload in owned and not pod.burst:
                terminating[owned[pod.workload]] += 1
            continue  # holds room until gone, but serves nothing and will not be placed again
        workload = pod.workload
        if workload in owned:
            by_policy[owned[workload]].append(pod)
        elif not pod.node_name:
            strangers.append(pod)
    # A replica's request is what admission gave the pods of the current revision (injected sidecars,
    # LimitRange defaults, RuntimeClass overhead), when there are any; else the template's.
    # Each policy's base pods, picked out once: both the admitted requests and the pod counts need them.
    base_pods = [_base_pods(view, by_policy[row]) for row, view in enumerate(policies)]
    admitted = [_admitted_requests(base) for base in base_pods]
    policies = [
        view if request is None else dataclasses.replace(view, requests=request)
        for view, request in zip(policies, admitted, strict=True)
    ]
    resources = _resources(nodes, policies)
    # The shape is explicit: with no nodes at all (an empty index at start-up) -1 cannot be inferred.
    allocatable = np.array([podrequest_row(node.allocatable, resources) for node in nodes], dtype=np.float64).reshape(
        len(nodes), len(resources)
    )
    requested = np.zeros_like(allocatable)
    # One column at a time over all bound pods, then one scatter-add: a per-pod loop of vector adds
    # costs seconds at 50,000 pods.
    if bound:
        columns = [np.fromiter((pod.requests.get(name, 0.0) for pod in bound), float, len(bound)) for name in resources]
        np.add.at(requested, np.array(rows), np.stack(columns, axis=1))
    node_views = [
        eligibility.NodeView(labels=node.labels, taints=node.taints, unschedulable=node.unschedulable, name=node.name)
        for node in nodes
    ]
    views = [
        dataclasses.replace(
            _policy_pods(view, by_policy[row], base=base_pods[row], now=now, terminating=terminating[row]),
            requests_source="template" if request is None else "pods",
        )
        for row, (view, request) in enumerate(zip(policies, admitted, strict=True))
    ]
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
    topology = _topology(nodes, bound, rows, policies, nodes=node_views)
    return (
        snapshot.Snapshot(
            nodes=nodes_arrays,
            policies=policy_arrays,
            reservations=reservations,
            history=(history or snapshot.History.empty(names)).align(names),
            topology=topology,
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


def _base_pods(view: PolicyView, pods: list[objects.PodRecord]) -> list[objects.PodRecord]:
    return [pod for pod in pods if pod.workload == view.base_workload and not pod.burst]


def _admitted_requests(base: list[objects.PodRecord]) -> dict[str, float] | None:
    # The newest base pod's revision (pod-template-hash / controller-revision-hash) is the current one;
    # its pods' requests, the largest per resource, are what a new replica will get.
    if not base:
        return None

    def revision(pod: objects.PodRecord) -> str:
        return pod.labels.get("pod-template-hash") or pod.labels.get("controller-revision-hash") or ""

    newest = max(base, key=lambda pod: (pod.started or 0.0, pod.name))
    current = [pod.requests for pod in base if revision(pod) == revision(newest)]
    first = current[0]
    if all(request == first for request in current):  # the usual case, one dict comparison per pod
        return dict(first)
    names = {name for request in current for name in request}
    return {name: max(request.get(name, 0.0) for request in current) for name in sorted(names)}


def _policy_pods(
    view: PolicyView,
    pods: list[objects.PodRecord],
    *,
    base: list[objects.PodRecord],
    now: float,
    terminating: int = 0,
) -> PolicyPods:
    burst = [pod for pod in pods if pod.workload == view.twin_workload]
    unbound = sum(1 for pod in base if not pod.node_name)
    missing = max(0, view.base_replicas - len(base))
    # A rolling update: new pods Pending while old ones of the same base terminate get their room when
    # those are gone, so they are not evidence that ECS is full (and do not go to burst).
    waiting = min(view.base_unschedulable, terminating)
    return PolicyPods(
        base_ready=sum(1 for pod in base if pod.ready),
        base_unschedulable=view.base_unschedulable - waiting,
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


def _topology(
    node_records: Sequence[objects.NodeRecord],
    bound: Sequence[objects.PodRecord],
    rows: Sequence[int],
    policies: Sequence[PolicyView],
    *,
    nodes: Sequence[eligibility.NodeView],
) -> snapshot.Topology | None:
    constrained = [p for p, view in enumerate(policies) if view.constraints is not None]
    anti_pods = [(pod, row) for pod, row in zip(bound, rows, strict=True) if pod.anti_terms]
    if not constrained or not (anti_pods or any(policies[p].constraints.terms for p in constrained)):  # type: ignore[union-attr]
        return None
    count = len(node_records)
    # Bound pods by (namespace, labels): a selector is matched once per group.
    groups: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[list[int], list[bool]]] = {}
    for pod, row in zip(bound, rows, strict=True):
        entry = groups.setdefault((pod.namespace, tuple(sorted(pod.labels.items()))), ([], []))
        entry[0].append(row)
        entry[1].append(pod.deleting)
    group_rows = [(key, np.array(r, dtype=np.int64), np.array(d, dtype=bool)) for key, (r, d) in groups.items()]
    domains: dict[str, tuple[snapshot.IntArray, int]] = {}

    def domain_of(key: str) -> tuple[snapshot.IntArray, int]:
        if key not in domains:
            values: dict[str, int] = {}
            ids = [values.setdefault(n.labels[key], len(values)) if key in n.labels else -1 for n in node_records]
            domains[key] = (np.array(ids, dtype=np.int64).reshape(count), len(values))
        return domains[key]

    def per_node(term: podterms.PodTerm, namespace: str, *, live_only: bool) -> snapshot.IntArray:
        counts = np.zeros(count, dtype=np.int64)
        for (pod_namespace, labels), node_rows, deleting in group_rows:
            if term.selects(namespace=pod_namespace, labels=dict(labels), own_namespace=namespace):
                np.add.at(counts, node_rows[~deleting] if live_only else node_rows, 1)
        return counts

    terms: list[snapshot.Term] = []
    burst_cap = np.full(len(policies), snapshot.UNLIMITED, dtype=np.int64)
    virtual = np.array([n.virtual for n in node_records], dtype=bool).reshape(count)
    for p in constrained:
        view = policies[p]
        constraints = view.constraints
        assert constraints is not None
        for term in constraints.terms:
            domain, size = domain_of(term.topology_key)
            own = term.selects(namespace=view.namespace, labels=constraints.labels, own_namespace=view.namespace)
            if term.kind == podterms.SPREAD:
                domain = np.where(_counted(term, view.placement, nodes), domain, -1)
                matched = per_node(term, view.namespace, live_only=True)
            else:
                matched = per_node(term, view.namespace, live_only=False)
            inside = domain >= 0
            existing = np.bincount(domain[inside], weights=matched[inside], minlength=size).astype(np.int64)
            if term.kind == podterms.SPREAD:
                # Only domains some counted node carries exist for the spread (the global minimum is theirs).
                present = np.unique(domain[inside])
                remap = np.full(size, -1, dtype=np.int64)
                remap[present] = np.arange(len(present))
                domain = np.where(inside, remap[np.maximum(domain, 0)], -1)
                existing = existing[present]
            terms.append(
                snapshot.Term(
                    policy=p,
                    kind=term.kind,
                    domain=domain,
                    existing=existing,
                    self_match=own,
                    max_skew=term.max_skew,
                    min_domains=term.min_domains,
                )
            )
            if term.kind == podterms.ANTI and own:
                # The twin keeps the template's pod anti-affinity: one pod per virtual domain at most,
                # none where a matching pod other than the twin's own already runs.
                twin = per_node_of_workload(bound, rows, view.twin_workload, count)
                others = np.bincount(domain[inside], weights=(matched - twin)[inside], minlength=size)
                virtual_domains = np.unique(domain[virtual & inside])
                if len(virtual_domains):  # a virtual node without the key is not limited
                    open_domains = int((others[virtual_domains] <= 0).sum())
                    burst_cap[p] = min(int(burst_cap[p]), open_domains)
        # Symmetry: bound pods whose anti-affinity selects this template block their domains.
        for key, blocked in _symmetry(anti_pods, view, constraints.labels, count).items():
            domain, size = domain_of(key)
            inside = domain >= 0
            existing = np.bincount(domain[inside], weights=blocked[inside], minlength=size).astype(np.int64)
            symmetric = snapshot.Term(policy=p, kind=podterms.ANTI, domain=domain, existing=existing, self_match=False)
            terms.append(symmetric)
    capped = bool((burst_cap < snapshot.UNLIMITED).any())
    return snapshot.Topology(terms=tuple(terms), burst_cap=burst_cap if capped else None)


def per_node_of_workload(
    bound: Sequence[objects.PodRecord], rows: Sequence[int], workload: tuple[str, str, str], count: int
) -> snapshot.IntArray:
    """Bound pods of one workload per node row."""
    counts = np.zeros(count, dtype=np.int64)
    for pod, row in zip(bound, rows, strict=True):
        if pod.workload == workload:
            counts[row] += 1
    return counts


def _counted(
    term: podterms.PodTerm, placement: eligibility.PodPlacement, nodes: Sequence[eligibility.NodeView]
) -> snapshot.BoolArray:
    # PodTopologySpread's inclusion policies: which nodes' domains (and pods) count for the constraint.
    if not term.honor_affinity and not term.honor_taints:
        return np.ones(len(nodes), dtype=bool)
    everything = (eligibility.Toleration(operator="Exists"),)
    scoped = eligibility.PodPlacement(
        node_selector=placement.node_selector if term.honor_affinity else {},
        affinity_terms=placement.affinity_terms if term.honor_affinity else (),
        tolerations=placement.tolerations if term.honor_taints else everything,
    )
    plain = [dataclasses.replace(node, unschedulable=False) for node in nodes]
    return eligibility.mask(nodes=plain, policies=[scoped]).reshape(len(nodes))


def _symmetry(
    anti_pods: Sequence[tuple[objects.PodRecord, int]],
    view: PolicyView,
    labels: Mapping[str, str],
    count: int,
) -> dict[str, snapshot.IntArray]:
    blocked: dict[str, snapshot.IntArray] = {}
    for pod, row in anti_pods:
        if pod.workload in (view.base_workload, view.twin_workload):
            continue  # the policy's own pods carry its own terms, already applied
        for term in pod.anti_terms:
            if term.selects(namespace=view.namespace, labels=labels, own_namespace=pod.namespace):
                blocked.setdefault(term.topology_key, np.zeros(count, dtype=np.int64))[row] += 1
    return blocked
