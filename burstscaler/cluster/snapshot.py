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
Twin pods count as burst capacity only when Ready; those that do not serve for a cause their status
gives are each policy's ``burst_health`` (``cluster.burst_health``), for its ``BurstDegraded`` condition.
Pods are read through a ``podtable.PodTable`` kept between ticks: a tick pays for the pods that
changed, not for the 50,000 that did not.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np

from burstscaler.api import spec as api
from burstscaler.cluster import burst_health, nodetable, objects, podtable
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
    burst_health: burst_health.BurstHealth | None = None  # the twin's pods that do not serve, and why


@dataclasses.dataclass
class Cache:
    """What ``build`` keeps between ticks (the planner holds one): the pods and the nodes as last seen."""

    pods: podtable.PodTable = dataclasses.field(default_factory=podtable.PodTable)
    nodes: nodetable.NodeTable = dataclasses.field(default_factory=nodetable.NodeTable)


def build(
    *,
    nodes: Sequence[objects.NodeRecord],
    pods: Sequence[objects.PodRecord],
    policies: Sequence[PolicyView],
    history: snapshot.History | None,
    now: float,
    cache: Cache | None = None,
) -> tuple[snapshot.Snapshot, list[PolicyPods]]:
    """Return the snapshot for one tick and, per policy, what its pods say.

    `cache` is the pods and nodes as the previous tick left them: brought up to `pods` and `nodes`,
    then read, so a tick costs what changed. Without one, a fresh one is filled (same result).
    """
    cache = cache if cache is not None else Cache()
    table, node_table = cache.pods, cache.nodes
    table.sync(pods)
    node_table.update(nodes)
    node_index = node_table.index
    node_views = node_table.views
    workloads = [(view.base_workload, view.twin_workload) for view in policies]
    bases = [table.base(base) for base, _ in workloads]
    twins = [table.twin(twin_) for _, twin_ in workloads]
    # A replica's request is what admission gave the pods of the current revision (injected sidecars,
    # LimitRange defaults, RuntimeClass overhead), when there are any; else the template's.
    requests = [
        view.requests if base.admitted is None else base.admitted for view, base in zip(policies, bases, strict=True)
    ]
    resources = _resources(requests)
    allocatable = node_table.allocatable(resources).copy()
    requested = table.requested(node_index=node_index, resources=resources)
    views = [
        _policy_pods(
            view,
            base=base,
            twin=twin_facts,
            now=now,
            terminating=_terminating(table, workload, node_index),
            requests_source="template" if base.admitted is None else "pods",
            health=burst_health.assess(
                live=twin_facts.pods,
                failed=table.failed(twin_workload),
                replicas=view.twin_replicas,
                ready=twin_facts.ready,
            )
            if twin_facts.ready < view.twin_replicas
            else None,
        )
        for view, (workload, twin_workload), base, twin_facts in zip(policies, workloads, bases, twins, strict=True)
    ]
    nodes_arrays = snapshot.Nodes(
        names=tuple(node.name for node in nodes),
        resources=resources,
        allocatable=allocatable,
        requested=requested,
        unschedulable=node_table.unschedulable.copy(),
        virtual=node_table.virtual.copy(),
    )
    policy_arrays = _policies(policies, views, requests, nodes=node_table, resources=resources)
    owned = {workload for pair in workloads for workload in pair}
    strangers = [pod for pod in table.unbound() if pod.workload not in owned]
    reservations = _reservations(strangers, policies, views, requests, nodes=node_table, resources=resources)
    names = tuple(view.key for view in policies)
    topology = _topology(nodes, table, node_index, policies, nodes=node_views)
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


def _terminating(table: podtable.PodTable, workload: podtable.Workload, node_index: Mapping[str, int]) -> int:
    # The base's pods still terminating on a node: the room a rolling update's new pods wait for.
    return sum(1 for pod in table.deleting(workload) if not pod.burst and pod.node_name in node_index)


def podrequest_row(values: Mapping[str, float], resources: Sequence[str]) -> list[float]:
    """Values over `resources` (a missing resource is 0); resources outside `resources` are dropped."""
    return [float(values.get(name, 0.0)) for name in resources]


def _resources(requests: Sequence[Mapping[str, float]]) -> tuple[str, ...]:
    # Columns: the usual four plus any extended resource a policy requests (a GPU, say): a node
    # without it has 0 and fits no such replica, as the scheduler decides.
    extra = sorted({name for request in requests for name in request} - set(BASE_RESOURCES))
    return (*BASE_RESOURCES, *extra)


def _policy_pods(
    view: PolicyView,
    *,
    base: podtable.BaseFacts,
    twin: podtable.TwinFacts,
    now: float,
    terminating: int,
    requests_source: str,
    health: burst_health.BurstHealth | None,
) -> PolicyPods:
    missing = max(0, view.base_replicas - len(base.pods))
    # A rolling update: new pods Pending while old ones of the same base terminate get their room when
    # those are gone, so they are not evidence that ECS is full (and do not go to burst).
    waiting = min(view.base_unschedulable, terminating)
    return PolicyPods(
        base_ready=base.ready,
        base_unschedulable=view.base_unschedulable - waiting,
        base_unplaced=max(0, base.unbound - view.base_unschedulable) + missing,
        burst_ready=twin.ready,
        burst_started=tuple(now if started is None else started for started in twin.started),
        requests_source=requests_source,
        burst_health=health,
    )


def _policies(
    policies: Sequence[PolicyView],
    views: Sequence[PolicyPods],
    requests: Sequence[Mapping[str, float]],
    *,
    nodes: nodetable.NodeTable,
    resources: tuple[str, ...],
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
        requests=np.array([podrequest_row(request, resources) for request in requests]).reshape(
            len(policies), len(resources)
        ),
        eligible=nodes.mask([view.placement for view in policies]),
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
    requests: Sequence[Mapping[str, float]],
    *,
    nodes: nodetable.NodeTable,
    resources: tuple[str, ...],
) -> snapshot.Reservations:
    groups: dict[tuple[tuple[float, ...], eligibility.PodPlacement], int] = defaultdict(int)
    for pod in strangers:
        placement = pod.placement or eligibility.PodPlacement()
        groups[(tuple(podrequest_row(pod.requests, resources)), eligibility.hashable(placement))] += 1
    for view, pods, request in zip(policies, views, requests, strict=True):
        if pods.base_unplaced:
            groups[(tuple(podrequest_row(request, resources)), eligibility.hashable(view.placement))] += (
                pods.base_unplaced
            )
    if not groups:
        return snapshot.Reservations.empty(nodes=len(nodes.views), resources=len(resources))
    keys = list(groups)
    return snapshot.Reservations(
        requests=np.array([request for request, _ in keys], dtype=np.float64).reshape(len(keys), len(resources)),
        eligible=nodes.mask([placement for _, placement in keys]),
        counts=np.array([groups[key] for key in keys], dtype=np.int64),
    )


def _topology(
    node_records: Sequence[objects.NodeRecord],
    table: podtable.PodTable,
    node_index: Mapping[str, int],
    policies: Sequence[PolicyView],
    *,
    nodes: Sequence[eligibility.NodeView],
) -> snapshot.Topology | None:
    constrained = [p for p, view in enumerate(policies) if view.constraints is not None]
    if not constrained:
        return None
    anti_pods = [(pod, node_index[pod.node_name]) for pod in table.anti() if pod.node_name in node_index]
    if not (anti_pods or any(policies[p].constraints.terms for p in constrained)):  # type: ignore[union-attr]
        return None
    # Inter-pod terms read every bound pod's labels: one pass over the table, only when some term exists.
    bound: list[objects.PodRecord] = []
    rows: list[int] = []
    for pod in table.records():
        row = node_index.get(pod.node_name)
        if row is not None and pod.phase not in ("Succeeded", "Failed"):
            bound.append(pod)
            rows.append(row)
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
