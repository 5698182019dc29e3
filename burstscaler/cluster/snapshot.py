"""Build the core's Snapshot from indexed records: nodes, pods and the policies' views.

This is where the conventions of ``core.snapshot`` are met for a real cluster:
- a node's `requested` sums the requests of every pod bound to it that has not finished, terminating
  ones included: kube-scheduler frees their room only once they are gone;
- a cordoned node is left to the eligibility mask (pods tolerating the unschedulable taint may still
  land there); only a node that is not Ready takes no new pod at all;
- a policy's base pods that exist but are unbound, and base replicas its controller has not created
  yet, hold room (they count as placed for the core, so their room must be kept). When the policy has
  inter-pod terms they also hold topology domains: kube-scheduler will bind them before the replicas
  this tick adds, so where they will land is predicted (``core.topology.allocate`` with the policy's
  terms, walked as kube-scheduler's default profile places them) and they are counted as bound there,
  in `requested` and in every term whose selector matches them; otherwise the next tick would see their domains free
  and grant that room again. Those the terms leave no node for (kube will leave them Pending) hold
  room as reservations, as unbound pods of a policy without terms do;
- base pods the scheduler reported unschedulable for longer than the grace go to
  `base_unschedulable` (the pending-pod signal), and hold no room; as many of them as the base has
  pods still terminating on a node wait for that room instead (a rolling update is not ECS full);
- other unbound pods (not a policy's) are reservations, grouped by request and constraints;
- a policy's inter-pod terms become ``snapshot.Term`` rows: node domains per topology key and the
  bound pods matching each term per domain (grouped by namespace and labels, so a selector is
  matched once per group); bound pods' own required anti-affinity blocks the domains it covers for
  every policy whose template it selects (kube's symmetry check); a term caps burst when the rendered
  twin's own template (``PolicyView.twin_constraints``: the base's terms as ``burst.podTemplatePatch``
  left them) keeps hostname-like anti-affinity against its own pods on the virtual node.
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
from burstscaler.core import eligibility, placement, podterms, snapshot
from burstscaler.core import topology as interpod

BASE_RESOURCES = ("cpu", "memory", "pods", "ephemeral-storage")
ZONE = "topology.kubernetes.io/zone"


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
    #: The rendered twin template's labels and terms (base template + provider profile + patch); None:
    #: the twin carries `constraints` unchanged (no patch known).
    twin_constraints: podterms.PodConstraints | None = None

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
    #: per base workload: (its facts object, the node index it was read with, (rows, counts) of own pods)
    own_pods: dict[podtable.Workload, tuple[object, object, tuple[list[int], list[int]]]] = dataclasses.field(
        default_factory=dict
    )


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
                now=now,
                ready_timeout_seconds=view.spec.burst.ready_timeout_seconds,
            )
            if twin_facts.ready < view.twin_replicas
            else None,
        )
        for view, (workload, twin_workload), base, twin_facts in zip(policies, workloads, bases, twins, strict=True)
    ]
    policy_arrays = _policies(policies, views, requests, nodes=node_table, resources=resources)
    unplaced = np.array([pods.base_unplaced for pods in views], dtype=np.int64).reshape(len(policies))
    # Inter-pod terms read every bound pod's labels: that pass is paid only when some term exists.
    bound = _bound_groups(table, node_index) if _has_terms(table, node_index, policies) else None
    memo = _Memo()  # what the bound pods give the terms, kept for the second pass (with landing)
    topology = _topology(nodes, table, node_index, policies, nodes=node_views, bound=bound, memo=memo)
    scoring = _scoring(nodes, policies, bases, node_index=node_index, cache=cache, landing={})
    if topology is not None and topology.terms and unplaced.any():
        # The policies' own unbound base pods: counted where kube-scheduler will bind them (room and domains).
        landing = _landing(
            topology,
            allocatable=allocatable,
            requested=requested,
            resources=resources,
            usable=~node_table.virtual & ~node_table.unschedulable,
            policies=policy_arrays,
            unplaced=unplaced,
            scoring=scoring,
        )
        if landing:
            scoring = _scoring(nodes, policies, bases, node_index=node_index, cache=cache, landing=landing)
            for p, per_node in landing.items():
                requested += per_node[:, None] * policy_arrays.requests[p][None, :]
                unplaced[p] -= int(per_node.sum())
            topology = _topology(
                nodes, table, node_index, policies, nodes=node_views, bound=bound, landing=landing, memo=memo
            )
    nodes_arrays = snapshot.Nodes(
        names=tuple(node.name for node in nodes),
        resources=resources,
        allocatable=allocatable,
        requested=requested,
        unschedulable=node_table.unschedulable.copy(),
        virtual=node_table.virtual.copy(),
    )
    owned = {workload for pair in workloads for workload in pair}
    strangers = [pod for pod in table.unbound() if pod.workload not in owned]
    reservations = _reservations(strangers, policies, unplaced, requests, nodes=node_table, resources=resources)
    names = tuple(view.key for view in policies)
    return (
        snapshot.Snapshot(
            nodes=nodes_arrays,
            policies=policy_arrays,
            reservations=reservations,
            history=(history or snapshot.History.empty(names)).align(names),
            topology=topology,
            scoring=scoring,
        ),
        views,
    )


def _scoring(
    node_records: Sequence[objects.NodeRecord],
    policies: Sequence[PolicyView],
    bases: Sequence[podtable.BaseFacts],
    *,
    node_index: Mapping[str, int],
    cache: Cache,
    landing: Mapping[int, snapshot.IntArray],
) -> snapshot.Scoring:
    """What kube-scheduler's default scores read (``core.scoring``): zones, and each policy's own pods.

    A policy's own pods are its live base pods of the current revision (the newest pod's
    pod-template-hash or controller-revision-hash) bound to a node, and the unbound ones predicted to
    land (``landing``): the pods the system default spread of a new replica counts (kube takes that
    selector from the ReplicaSet, which selects exactly its revision's pods).
    """
    zones: dict[str, int] = {}
    zone = np.array(
        [zones.setdefault(n.labels[ZONE], len(zones)) if ZONE in n.labels else -1 for n in node_records],
        dtype=np.int64,
    ).reshape(len(node_records))
    default_spread = np.array(
        [
            view.constraints is None or (not view.constraints.sets_spread and bool(view.constraints.labels))
            for view in policies
        ],
        dtype=bool,
    ).reshape(len(policies))
    own_policy: list[int] = []
    own_node: list[int] = []
    own_count: list[int] = []
    for p, (view, base) in enumerate(zip(policies, bases, strict=True)):
        rows, counts = _own_pods(view, base, node_index=node_index, cache=cache)
        extra = landing.get(p)
        if extra is not None:
            more = np.flatnonzero(extra)
            rows, counts = rows + more.tolist(), counts + extra[more].tolist()
        own_policy.extend([p] * len(rows))
        own_node.extend(rows)
        own_count.extend(counts)
    if len(cache.own_pods) > 2 * len(policies):
        # Deleted policies' bases would stay in the cache for ever: keep only the bases planned now.
        current = {view.base_workload for view in policies}
        for workload in [w for w in cache.own_pods if w not in current]:
            del cache.own_pods[workload]
    return snapshot.Scoring(
        zone=zone,
        default_spread=default_spread,
        own_policy=np.array(own_policy, dtype=np.int64),
        own_node=np.array(own_node, dtype=np.int64),
        own_count=np.array(own_count, dtype=np.int64),
    )


def _own_pods(
    view: PolicyView, base: podtable.BaseFacts, *, node_index: Mapping[str, int], cache: Cache
) -> tuple[list[int], list[int]]:
    # (node rows, pods per row) of the base's bound live pods of its current revision; cached while
    # the base's facts (rebuilt when its pods change) and the node index are the same objects.
    kept = cache.own_pods.get(view.base_workload)
    if kept is not None and kept[0] is base and kept[1] is node_index:
        return kept[2]
    pods = base.pods
    result: tuple[list[int], list[int]] = ([], [])
    if pods:
        current = podtable.current_revision(pods)
        per_row: dict[int, int] = defaultdict(int)
        for pod in pods:
            row = node_index.get(pod.node_name)
            if row is not None and podtable.revision(pod) == current:
                per_row[row] += 1
        result = (list(per_row), list(per_row.values()))
    cache.own_pods[view.base_workload] = (base, node_index, result)
    return result


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
        # Pods with a stated cause only (burst_health); the core bounds it by the twin's pods not Ready.
        burst_failed=ints([0 if pods.burst_health is None else pods.burst_health.failed for pods in views]),
    )


def _reservations(
    strangers: Sequence[objects.PodRecord],
    policies: Sequence[PolicyView],
    unplaced: snapshot.IntArray,
    requests: Sequence[Mapping[str, float]],
    *,
    nodes: nodetable.NodeTable,
    resources: tuple[str, ...],
) -> snapshot.Reservations:
    groups: dict[tuple[tuple[float, ...], eligibility.PodPlacement], int] = defaultdict(int)
    for pod in strangers:
        placement = pod.placement or eligibility.PodPlacement()
        groups[(tuple(podrequest_row(pod.requests, resources)), eligibility.hashable(placement))] += 1
    for view, count, request in zip(policies, unplaced.tolist(), requests, strict=True):
        if count:
            groups[(tuple(podrequest_row(request, resources)), eligibility.hashable(view.placement))] += count
    if not groups:
        return snapshot.Reservations.empty(nodes=len(nodes.views), resources=len(resources))
    keys = list(groups)
    return snapshot.Reservations(
        requests=np.array([request for request, _ in keys], dtype=np.float64).reshape(len(keys), len(resources)),
        eligible=nodes.mask([placement for _, placement in keys]),
        counts=np.array([groups[key] for key in keys], dtype=np.int64),
    )


#: Pods counted at node rows for the terms, by (namespace, sorted labels): (rows, deleting, workloads).
BoundGroups = dict[tuple[str, tuple[tuple[str, str], ...]], tuple[list[int], list[bool], list[podtable.Workload]]]


@dataclasses.dataclass
class _Memo:
    """What ``_topology`` derives from the bound pods alone, reused when it runs again with ``landing``."""

    selected: dict[tuple[podterms.PodTerm, str], list[int]] = dataclasses.field(default_factory=dict)
    symmetry: dict[int, dict[str, snapshot.IntArray]] = dataclasses.field(default_factory=dict)


def _bound_groups(table: podtable.PodTable, node_index: Mapping[str, int]) -> BoundGroups:
    # Inter-pod terms read every bound pod's labels: one pass over the table, grouped by (namespace,
    # labels) so a selector is matched once per group.
    groups: BoundGroups = {}
    for pod in table.records():
        row = node_index.get(pod.node_name)
        if row is not None and pod.phase not in ("Succeeded", "Failed"):
            entry = groups.setdefault((pod.namespace, tuple(sorted(pod.labels.items()))), ([], [], []))
            entry[0].append(row)
            entry[1].append(pod.deleting)
            entry[2].append(pod.workload)
    return groups


def _landing(
    topology: snapshot.Topology,
    *,
    allocatable: snapshot.FloatArray,
    requested: snapshot.FloatArray,
    resources: tuple[str, ...],
    usable: snapshot.BoolArray,
    policies: snapshot.Policies,
    unplaced: snapshot.IntArray,
    scoring: snapshot.Scoring,
) -> dict[int, snapshot.IntArray]:
    """Where each policy with terms will have its unbound base pods bound: ``{policy: [N] pods per node}``.

    kube-scheduler binds them one at a time, by its filters (the terms, as the bound pods leave them)
    and its default scores; ``core.topology.allocate`` with a ``Spreading`` walks them as it does
    (``core.scoring``), in priority order, on the room bound pods leave. Policies without terms keep the
    plain room reservation (their domains matter to no term of theirs).
    """
    with_terms = np.zeros(len(policies), dtype=bool)
    with_terms[[term.policy for term in topology.terms]] = True
    asks = np.where(with_terms, unplaced, 0)
    if not asks.any():
        return {}
    order = placement.priority_order(priority=policies.priority, names=policies.names)
    _, taken = interpod.allocate(
        free=np.maximum(allocatable - requested, 0.0),
        requests=policies.requests,
        groups=placement.eligibility_groups(policies.eligible, usable=usable),
        asks=asks,
        order=order[asks[order] > 0],
        terms=topology.terms,
        spread=interpod.Spreading.of(
            snapshot.Nodes(
                names=("",) * len(allocatable),
                resources=resources,
                allocatable=allocatable,
                requested=requested,
                unschedulable=~usable,
                virtual=np.zeros(len(allocatable), dtype=bool),
            ),
            scoring,
        ),
    )
    return {p: per_node for p, per_node in taken.items() if per_node.any()}


def _topology(
    node_records: Sequence[objects.NodeRecord],
    table: podtable.PodTable,
    node_index: Mapping[str, int],
    policies: Sequence[PolicyView],
    *,
    nodes: Sequence[eligibility.NodeView],
    bound: BoundGroups | None,
    landing: Mapping[int, snapshot.IntArray] | None = None,
    memo: _Memo | None = None,
) -> snapshot.Topology | None:
    """The policies' terms over the pods bound now, and (``landing``) the unbound base pods where they will be."""
    constrained = [p for p, view in enumerate(policies) if view.constraints is not None]
    if not constrained or bound is None:
        return None
    # Bound pods with anti-affinity, grouped by (workload, namespace, terms): a workload's pods share
    # their terms, so the symmetry check matches each policy against a workload once, not per pod.
    anti_rows: dict[tuple[podtable.Workload, str, tuple[podterms.PodTerm, ...]], list[int]] = {}
    for pod in table.anti():
        row = node_index.get(pod.node_name)
        if row is not None:
            anti_rows.setdefault((pod.workload, pod.namespace, pod.anti_terms), []).append(row)
    anti = [(*key, np.array(rows, dtype=np.int64)) for key, rows in anti_rows.items()]
    anti_bound = len(anti)
    if not (anti or any(_terms_of(policies[p]) for p in constrained)):
        return None
    count = len(node_records)
    group_rows = [(key, np.array(r, dtype=np.int64), np.array(d, dtype=bool), w) for key, (r, d, w) in bound.items()]
    for p, landed in (landing or {}).items():
        # Predicted pods join the bound ones: one row per pod on the node it will be bound to.
        view = policies[p]
        constraints = view.constraints
        assert constraints is not None
        rows = np.repeat(np.arange(count, dtype=np.int64), landed)
        group = (view.namespace, tuple(sorted(constraints.labels.items())))
        group_rows.append((group, rows, np.zeros(len(rows), dtype=bool), [view.base_workload] * len(rows)))
        own_anti = tuple(term for term in constraints.terms if term.kind == podterms.ANTI)
        if own_anti:
            anti.append((view.base_workload, view.namespace, own_anti, rows))
    domains: dict[str, tuple[snapshot.IntArray, int]] = {}

    def domain_of(key: str) -> tuple[snapshot.IntArray, int]:
        if key not in domains:
            values: dict[str, int] = {}
            ids = [values.setdefault(n.labels[key], len(values)) if key in n.labels else -1 for n in node_records]
            domains[key] = (np.array(ids, dtype=np.int64).reshape(count), len(values))
        return domains[key]

    labels_of = [dict(labels) for (_, labels), *_ in group_rows]
    selected: dict[tuple[podterms.PodTerm, str], list[int]] = {}
    known = len(bound)  # the bound groups come first, in the same order on every call with `bound`

    def select(term: podterms.PodTerm, namespace: str, indices: range) -> list[int]:
        return [
            index
            for index in indices
            if term.selects(namespace=group_rows[index][0][0], labels=labels_of[index], own_namespace=namespace)
        ]

    def per_node(
        term: podterms.PodTerm, namespace: str, *, live_only: bool, only: podtable.Workload | None = None
    ) -> snapshot.IntArray:
        # The groups a term selects are found once per (term, namespace): the base's and the twin's
        # terms are usually the same.
        hits = selected.get((term, namespace))
        if hits is None:
            # Over the bound groups, a term's matches are kept in `memo` for the second call (with landing).
            bound_hits = memo.selected.get((term, namespace)) if memo is not None else None
            if bound_hits is None:
                bound_hits = select(term, namespace, range(known))
                if memo is not None:
                    memo.selected[(term, namespace)] = bound_hits
            hits = selected[(term, namespace)] = bound_hits + select(term, namespace, range(known, len(group_rows)))
        counts = np.zeros(count, dtype=np.int64)
        for index in hits:
            _, node_rows, deleting, workloads = group_rows[index]
            keep = ~deleting if live_only else np.ones(len(node_rows), dtype=bool)
            if only is not None:
                keep &= np.fromiter((w == only for w in workloads), dtype=bool, count=len(workloads))
            counts += np.bincount(node_rows[keep], minlength=count)
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
        twin_constraints = view.twin_constraints if view.twin_constraints is not None else constraints
        for term in twin_constraints.terms:
            own = term.selects(namespace=view.namespace, labels=twin_constraints.labels, own_namespace=view.namespace)
            if term.kind != podterms.ANTI or not own:
                continue
            # The twin's pod anti-affinity against its own pods: one pod per virtual domain at most,
            # none where a matching pod other than the twin's own already runs.
            domain, size = domain_of(term.topology_key)
            inside = domain >= 0
            matched = per_node(term, view.namespace, live_only=False)
            twin = per_node(term, view.namespace, live_only=False, only=view.twin_workload)
            others = np.bincount(domain[inside], weights=(matched - twin)[inside], minlength=size)
            virtual_domains = np.unique(domain[virtual & inside])
            if len(virtual_domains):  # a virtual node without the key is not limited
                open_domains = int((others[virtual_domains] <= 0).sum())
                burst_cap[p] = min(int(burst_cap[p]), open_domains)
        # Symmetry: pods whose anti-affinity selects this template block their domains.
        by_bound = memo.symmetry.get(p) if memo is not None else None
        if by_bound is None:
            by_bound = _symmetry(anti[:anti_bound], view, constraints.labels, count)
            if memo is not None:
                memo.symmetry[p] = by_bound
        by_landing = _symmetry(anti[anti_bound:], view, constraints.labels, count)
        none = np.zeros(count, dtype=np.int64)
        for key in [*by_bound, *(key for key in by_landing if key not in by_bound)]:
            blocked = by_bound.get(key, none) + by_landing.get(key, none)
            domain, size = domain_of(key)
            inside = domain >= 0
            existing = np.bincount(domain[inside], weights=blocked[inside], minlength=size).astype(np.int64)
            symmetric = snapshot.Term(policy=p, kind=podterms.ANTI, domain=domain, existing=existing, self_match=False)
            terms.append(symmetric)
    capped = bool((burst_cap < snapshot.UNLIMITED).any())
    return snapshot.Topology(terms=tuple(terms), burst_cap=burst_cap if capped else None)


def _has_terms(table: podtable.PodTable, node_index: Mapping[str, int], policies: Sequence[PolicyView]) -> bool:
    # Some policy with constraints has a term of its own, or a bound pod's anti-affinity may select it.
    if not any(view.constraints is not None for view in policies):
        return False
    return any(_terms_of(view) for view in policies) or any(pod.node_name in node_index for pod in table.anti())


def _terms_of(view: PolicyView) -> bool:
    # Whether the base or the rendered twin carries any inter-pod term.
    twin_terms = view.twin_constraints.terms if view.twin_constraints is not None else ()
    return bool((view.constraints is not None and view.constraints.terms) or twin_terms)


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
    anti: Sequence[tuple[podtable.Workload, str, tuple[podterms.PodTerm, ...], snapshot.IntArray]],
    view: PolicyView,
    labels: Mapping[str, str],
    count: int,
) -> dict[str, snapshot.IntArray]:
    # `anti`: (workload, namespace, anti-affinity terms, node rows of its pods) of pods carrying some.
    blocked: dict[str, snapshot.IntArray] = {}
    own = (view.base_workload, view.twin_workload)
    for workload, namespace, anti_terms, rows in anti:
        if workload in own:
            continue  # the policy's own pods carry its own terms, already applied
        for term in anti_terms:
            if term.selects(namespace=view.namespace, labels=labels, own_namespace=namespace):
                np.add.at(blocked.setdefault(term.topology_key, np.zeros(count, dtype=np.int64)), rows, 1)
    return blocked
