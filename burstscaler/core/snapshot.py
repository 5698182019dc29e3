"""The planning core's one input: a snapshot of the cluster as numpy arrays.

Why arrays: one tick plans every policy of the cluster at once (DESIGN §5), and the fit of every
policy on every node is arithmetic on whole arrays, not a loop over objects. The operator's
``cluster`` adapters build a ``Snapshot`` from their Kopf indices; the simulator builds one from its
model cluster; tests build one from factories. Nothing here does I/O.

Conventions every builder must follow:
- Quantities are plain numbers in one unit per resource (CPU in millicores, memory and storage in
  bytes, extended resources in their own units); ``resources`` names the columns and must contain
  ``pods``. A pod counts 1 in the ``pods`` column, whatever else it requests.
- ``Nodes.requested`` holds the requests of every pod bound to the node, including the policies'
  own base pods: existing base replicas keep their place, so only *additional* base replicas need
  free room, and the free room is ``allocatable - requested``.
- Base pods that are Pending but not (yet) reported unschedulable count as placed; the adapter
  includes their requests in ``requested`` of the node they are nominated to, or lists them in
  ``Reservations``. ``Policies.base_unschedulable`` counts the base pods the scheduler reported it
  cannot place (after the pending-pod grace): the core trusts that over its own fit.
- Other pods already Pending (not owned by a policy) go in ``Reservations``: the core keeps room
  for them before any policy grows.
- Times (``now``, pod start times, history stamps) are seconds on one clock of the caller's choice.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from numpy import typing as npt

#: Sentinel for "no cap": large enough to never bind, small enough that sums do not overflow int64.
UNLIMITED = 2**52

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

PODS = "pods"


@dataclasses.dataclass(frozen=True)
class Nodes:
    """Nodes x resources. Virtual nodes are never ECS room, whatever their allocatable says."""

    names: tuple[str, ...]
    resources: tuple[str, ...]
    allocatable: FloatArray  # [N, R]
    requested: FloatArray  # [N, R], requests of pods bound to the node
    unschedulable: BoolArray  # [N], takes no new pod (not Ready, booting; cordon may be left to `eligible`)
    virtual: BoolArray  # [N], the virtual node (ECI, ACI, Fargate)
    #: [N] nodes paid for whether used or not (a subscription pool, a node pool that never scales down,
    #: cluster-autoscaler's scale-down-disabled): a replica there costs nothing more, even where the pool
    #: grows. None: nothing is known to be paid, so on a growable pool every node's room is priced at an
    #: added node's share (``core.bridge.marginal_ecs_cost``).
    paid: BoolArray | None = None

    def __post_init__(self) -> None:
        n, r = len(self.names), len(self.resources)
        if self.paid is not None:
            _check_shape("paid", self.paid, (n,))
        if PODS not in self.resources:
            raise ValueError(f"resources must include {PODS!r}: a pod always counts one against the node's pod limit")
        _check_shape("allocatable", self.allocatable, (n, r))
        _check_shape("requested", self.requested, (n, r))
        _check_shape("unschedulable", self.unschedulable, (n,))
        _check_shape("virtual", self.virtual, (n,))

    @property
    def pods_index(self) -> int:
        """Column of the pod-count resource."""
        return self.resources.index(PODS)

    def free(self) -> FloatArray:
        """Room left on each node as the scheduler counts it: allocatable - requested, never below 0.

        Virtual and unschedulable nodes have no room: burst is decided separately, and no new pod
        lands on a node marked unschedulable here (a builder that leaves a cordon to the policies'
        ``eligible`` lets pods tolerating ``node.kubernetes.io/unschedulable`` use it).
        """
        room = np.maximum(self.allocatable - self.requested, 0.0)
        room[self.virtual | self.unschedulable] = 0.0
        return room


@dataclasses.dataclass(frozen=True)
class Reservations:
    """Groups of already-Pending pods that are not a policy's: room is kept for them first."""

    requests: FloatArray  # [M, R] per pod
    eligible: BoolArray  # [M, N]
    counts: IntArray  # [M]

    @classmethod
    def empty(cls, *, nodes: int, resources: int) -> Reservations:
        """No pending pods."""
        return cls(
            requests=np.zeros((0, resources)),
            eligible=np.zeros((0, nodes), dtype=bool),
            counts=np.zeros(0, dtype=np.int64),
        )


@dataclasses.dataclass(frozen=True)
class Policies:
    """Per-policy arrays, one row per BurstPolicy. Caps use ``UNLIMITED`` for "none"."""

    names: tuple[str, ...]  # "namespace/name": the stable tie-break among equal priorities
    requests: FloatArray  # [P, R] effective request of one replica (see ``requests.effective``)
    eligible: BoolArray  # [P, N] from ``eligibility.mask``
    recommended: IntArray  # total replicas the recommender wants
    min_replicas: IntArray
    max_replicas: IntArray
    base_replicas: IntArray  # current spec.replicas of the base workload
    base_ready: IntArray
    base_unschedulable: IntArray  # base pods the scheduler reported unschedulable (ECS-full evidence)
    burst_replicas: IntArray  # current spec.replicas of the burst twin
    burst_ready: IntArray
    base_max: IntArray  # base.maxReplicas
    burst_max: IntArray  # burst.maxReplicas
    burst_enabled: BoolArray
    eci_compatible: BoolArray  # the pod template passed the ECI lint
    max_cost_per_second: FloatArray  # burst spend budget; inf = no budget
    burst_cost_per_second: FloatArray  # cost of one burst replica per second (0 = free)
    priority: IntArray  # higher wins ECS room
    drain_enabled: BoolArray
    min_burst_seconds: FloatArray
    stabilization_seconds: FloatArray
    max_moves_per_tick: IntArray
    drain_timeout_seconds: FloatArray  # bound on waiting for a move's base pods to get Ready
    burst_pod_policy: IntArray  # [K] row of the policy each running burst pod belongs to
    burst_pod_started: FloatArray  # [K] start time of that burst pod
    #: Twin pods failed with a provider reason (``cluster.burst_health``: NoStock, ProviderFailed, image
    #: pulls, not Ready in time); pods merely starting are not counted. None: zeros (none known).
    burst_failed: IntArray | None = None

    def __post_init__(self) -> None:
        p = len(self.names)
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name in ("names", "requests", "eligible", "burst_pod_policy", "burst_pod_started"):
                continue
            if value is None and field.name == "burst_failed":
                continue
            _check_shape(field.name, value, (p,))
        if self.requests.ndim != 2 or self.requests.shape[0] != p:
            raise ValueError(f"requests must be [{p}, R], got {self.requests.shape}")
        if self.eligible.ndim != 2 or self.eligible.shape[0] != p:
            raise ValueError(f"eligible must be [{p}, N], got {self.eligible.shape}")
        _check_shape("burst_pod_started", self.burst_pod_started, self.burst_pod_policy.shape)

    def __len__(self) -> int:
        return len(self.names)


@dataclasses.dataclass(frozen=True)
class History:
    """What one tick hands the next, per policy (pure state passing: ``plan`` returns the new one).

    Rows are matched to policies by name, so policies may come and go between ticks.
    """

    names: tuple[str, ...]
    room_since: FloatArray  # since when ECS room for a move has persisted; nan = no room now
    drain_moves: IntArray  # moves whose base pods were raised and await readiness (0 = none)
    drain_since: FloatArray  # when those moves started; nan when none
    drain_ready_goal: IntArray  # base_ready at or above which the moves count as Ready
    ecs_full_until: FloatArray  # after a failed move: no ECS growth or drain-back before this
    learned_cap: IntArray  # base replicas ECS really ran when a prediction failed; UNLIMITED = none learned
    learned_fit: IntArray  # replicas the free room fitted (terms aside) when learned: more means it changed
    learned_key: IntArray  # the request row's hash when learned: another template forgets the cap
    burst_since: FloatArray  # when the policy's current burst began (the bridge's age of a burst); nan = no burst
    burst_failed_until: FloatArray  # burst pods failed: burst is not grown again before this; -inf = none

    @classmethod
    def empty(cls, names: tuple[str, ...]) -> History:
        """A first tick: no room seen yet, no move in flight."""
        p = len(names)
        return cls(
            names=names,
            room_since=np.full(p, np.nan),
            drain_moves=np.zeros(p, dtype=np.int64),
            drain_since=np.full(p, np.nan),
            drain_ready_goal=np.zeros(p, dtype=np.int64),
            ecs_full_until=np.full(p, -math.inf),
            learned_cap=np.full(p, UNLIMITED, dtype=np.int64),
            learned_fit=np.zeros(p, dtype=np.int64),
            learned_key=np.zeros(p, dtype=np.int64),
            burst_since=np.full(p, np.nan),
            burst_failed_until=np.full(p, -math.inf),
        )

    def align(self, names: tuple[str, ...]) -> History:
        """This history re-indexed to ``names``; policies it has not seen start empty."""
        if names == self.names:
            return self
        fresh = History.empty(names)
        where = {name: index for index, name in enumerate(self.names)}
        pairs = [(new, where[name]) for new, name in enumerate(names) if name in where]
        if not pairs:
            return fresh
        new_rows = np.array([new for new, _ in pairs])
        old_rows = np.array([old for _, old in pairs])
        arrays = {}
        for field in dataclasses.fields(self):
            if field.name == "names":
                continue
            column = getattr(fresh, field.name).copy()
            column[new_rows] = getattr(self, field.name)[old_rows]
            arrays[field.name] = column
        return History(names=names, **arrays)


@dataclasses.dataclass(frozen=True)
class Term:
    """One required inter-pod term of one policy, over the nodes' topology domains (``core.topology``).

    ``kind`` is ``podterms.ANTI``, ``AFFINITY`` or ``SPREAD``. ``domain[n]`` is node n's domain for the
    term's key (-1: the node lacks the key, or for a spread is not counted by its inclusion policies);
    ``existing[d]`` counts the pods already in domain d that match the term's selector (for a spread,
    not terminating ones, on counted nodes). ``self_match``: the policy's new replicas match the
    selector themselves, so each one placed counts too.
    """

    policy: int
    kind: str
    domain: IntArray  # [N]
    existing: IntArray  # [D]
    self_match: bool
    max_skew: int = 1
    min_domains: int = 1

    def __post_init__(self) -> None:
        if self.domain.ndim != 1:
            raise ValueError(f"domain must be [N], got {self.domain.shape}")
        if len(self.domain) and int(self.domain.max(initial=-1)) >= len(self.existing):
            raise ValueError("a domain index is past existing")


@dataclasses.dataclass(frozen=True)
class Topology:
    """The policies' inter-pod terms; ``burst_cap[p]`` caps burst where a term does so on the virtual node."""

    terms: tuple[Term, ...] = ()
    burst_cap: IntArray | None = None  # [P], UNLIMITED where no term caps burst; None: no cap at all


@dataclasses.dataclass(frozen=True)
class Scoring:
    """What kube-scheduler's default scores read beyond the room (``core.scoring``); optional in a snapshot.

    ``own_*`` list, per (policy, node), the policy's live base pods of its current revision there:
    the pods the system default spread constraints of a new replica count. Builders without this
    leave ``Snapshot.scoring`` None; the spreading walk then counts only this tick's new replicas.
    """

    zone: IntArray  # [N] each node's topology.kubernetes.io/zone as a small integer; -1: no such label
    default_spread: BoolArray  # [P] the template sets no topologySpreadConstraints (the system defaults score it)
    own_policy: IntArray  # [K]
    own_node: IntArray  # [K]
    own_count: IntArray  # [K]

    def __post_init__(self) -> None:
        if self.zone.ndim != 1 or self.default_spread.ndim != 1:
            raise ValueError("zone must be [N] and default_spread [P]")
        _check_shape("own_node", self.own_node, self.own_policy.shape)
        _check_shape("own_count", self.own_count, self.own_policy.shape)


@dataclasses.dataclass(frozen=True)
class Economics:
    """Per-policy prices and delays the bridge and the cost-based drain-back decide with (issue 16).

    Costs are in the policy's currency per second for one replica. ``None`` in ``Snapshot.economics``
    means nothing is known: no placeholders, and drain-back moves whenever room persists (v0.1).
    The rules that use these are in ``core.bridge``.

    The contract for builders (operator and simulator) about placeholder pods:
    - ``Nodes.requested`` does *not* include placeholder pods, bound or not: base pods preempt them
      (they have the lowest priority), so the room a bound placeholder holds is room for base pods.
    - ``placeholders`` counts the policy's placeholder pods that exist now, ``placeholders_bound``
      those of them bound to a node (the node the autoscaler added for them is Ready). Moves up to
      ``placeholders_bound`` need not wait ``stabilizationSeconds``: that room was bought for them.
    - ``Plan.placeholders`` is the target count for the placeholder ReplicaSet. It already leaves
      out the burst replicas that drain-back is moving (the ``k`` moves started this tick and those
      in flight): scale the placeholders down to it in the same tick as the base goes up, or the
      ReplicaSet recreates the preempted pods and the autoscaler adds yet another node.
    - Base pods Pending for a node on a growable pool (reason ``waiting-for-node``) are ordinary
      base pods: report them in ``Policies.base_unschedulable`` as usual.
    - ``ecs_cost_per_second`` is one replica's share of an added node's price (by its requests);
      nan where no ECS price is known (then no placeholders: ``no-node-growth``).
    """

    pool_growable: BoolArray  # [P] a node autoscaler adds ECS nodes for Pending pods (spec.bridge)
    ecs_cost_per_second: FloatArray  # [P] one replica's share of an added node's price; nan = unknown
    node_boot_seconds: FloatArray  # [P] from a Pending placeholder to a Ready node
    scale_down_delay_seconds: FloatArray  # [P] an empty added node is paid this long after the burst
    pod_startup_seconds: FloatArray  # [P] a new base pod's time to Ready (a move's churn)
    min_savings: FloatArray  # [P] a move's churn cost; nan = one pod start-up at the burst price
    max_placeholders: IntArray  # [P] UNLIMITED = no cap of its own
    placeholders: IntArray  # [P] placeholder pods that exist now (Pending or bound)
    placeholders_bound: IntArray  # [P] of those, bound to a node: room that base pods can take by preemption
    window_ends: FloatArray  # [P] end of the schedule window raising the floor now; nan = none

    def __post_init__(self) -> None:
        shape = self.pool_growable.shape
        for field in dataclasses.fields(self):
            _check_shape(field.name, getattr(self, field.name), shape)

    @classmethod
    def fixed_pool(cls, policies: int) -> Economics:
        """No pool growth and no prices known: the v0.1 behaviour, for callers that have no economics."""
        nan = np.full(policies, np.nan)
        zeros = np.zeros(policies, dtype=np.int64)
        return cls(
            pool_growable=np.zeros(policies, dtype=np.bool_),
            ecs_cost_per_second=nan,
            node_boot_seconds=np.zeros(policies),
            scale_down_delay_seconds=np.zeros(policies),
            pod_startup_seconds=np.zeros(policies),
            min_savings=nan.copy(),
            max_placeholders=np.full(policies, UNLIMITED, dtype=np.int64),
            placeholders=zeros,
            placeholders_bound=zeros.copy(),
            window_ends=nan.copy(),
        )


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """Everything one planning tick knows. ``history`` may be from the previous tick's plan."""

    nodes: Nodes
    policies: Policies
    reservations: Reservations
    history: History
    topology: Topology | None = None  # inter-pod constraints; None: none known
    economics: Economics | None = None  # prices and delays of the bridge and drain-back; None: none known
    scoring: Scoring | None = None  # what the spreading walk scores with beyond the room; None: none known

    def __post_init__(self) -> None:
        n, r = self.nodes.allocatable.shape
        p = len(self.policies)
        _check_shape("policies.requests", self.policies.requests, (p, r))
        _check_shape("policies.eligible", self.policies.eligible, (p, n))
        m = len(self.reservations.counts)
        _check_shape("reservations.requests", self.reservations.requests, (m, r))
        _check_shape("reservations.eligible", self.reservations.eligible, (m, n))
        if self.topology is not None:
            for term in self.topology.terms:
                _check_shape("topology.term.domain", term.domain, (n,))
                if not 0 <= term.policy < p:
                    raise ValueError(f"a term names policy {term.policy} of {p}")
            if self.topology.burst_cap is not None:
                _check_shape("topology.burst_cap", self.topology.burst_cap, (p,))
        if self.economics is not None:
            _check_shape("economics.pool_growable", self.economics.pool_growable, (p,))
        if self.scoring is not None:
            _check_shape("scoring.zone", self.scoring.zone, (n,))
            _check_shape("scoring.default_spread", self.scoring.default_spread, (p,))


def _check_shape(name: str, value: npt.NDArray[np.generic], shape: tuple[int, ...]) -> None:
    if value.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {value.shape}")
