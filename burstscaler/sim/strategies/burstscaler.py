"""``burstscaler``: the real core deciding each step for every workload, on the shared ECS pool.

Each step it does what the operator's planning tick does, against the model cluster instead of the
Kubernetes API:
1. Recommend each workload's total from its metric (``sim.recommender``: the same recommender and
   policy as every autoscaled strategy).
2. Build one ``core.snapshot.Snapshot`` of the model cluster: ECS nodes (allocatable, requests of the
   pods bound to them, booting nodes unschedulable), the virtual node, one policy per workload (its
   priority, drain-back settings, caps, budget and ECI price), their counts and burst pods' start
   times, and the history the previous tick's plan handed on.
3. Call ``core.plan.plan`` and apply each policy's base and burst targets. The core plans across
   workloads (priorities decide who gets ECS room); drain-back is make-before-break inside the core;
   ``moves_completed`` is what the report counts as drain-back moves.

The ECS pool is the run's fixed pool (``protocol.Run.pool``) and, by default
(``settings.node_autoscaling_for_burstscaler``), hpa-ca's node autoscaler on top: the same
pay-as-you-go node growth, driven by Pending pods, placeholders included. The scheduler model decides
where base pods land; the core's fit only decides how many to ask for, so a disagreement between the
two shows up as base pods left unschedulable.

The bridge's inputs (``snapshot.Economics``, built each step by ``economics``):
- ``pool_growable``: the cluster has node growth and the policy's ``bridge.enabled`` is not false
  (unset means the operator's ``--node-growth``, which the simulator's growable pool stands for);
- ``ecs_cost_per_second``: one replica's share of an added node's pay-as-you-go price, the share being
  the replica's *dominant resource share* of the node's allocatable (the largest of vCPU, memory and
  pod-count fractions: the same rule as the newsvendor pool's node-equivalents);
- ``node_boot_seconds``: the realism model's expected CA reaction plus boot (means of its uniform and
  log-normal), ``scale_down_delay_seconds`` the autoscaler's idle removal time,
  ``pod_startup_seconds`` the model's ECS pod start-up: the simulator tells the core the model's true
  expected delays, as an SRE who measured them would write them into the policy;
- ``min_savings`` and ``max_placeholders`` from the policy; ``placeholders`` and
  ``placeholders_bound`` from the model cluster; ``window_ends`` from the policy's schedules (the end
  of the active window that sets the floor now, in simulation seconds).
``nodes.requested`` counts workload pods only, never placeholders (the core's contract): the room a
placeholder holds is room a base pod can take by preemption.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from burstscaler.api import spec
from burstscaler.core import plan, schedules, snapshot
from burstscaler.sim import cluster, recommender
from burstscaler.sim.strategies import hpa_ca, protocol

NAME = "burstscaler"
SUMMARY = "the real core: base on the shared ECS pool, overflow to ECI, make-before-break drain-back"

_RESOURCES = ("cpu", "memory", snapshot.PODS)
_Policies = snapshot.Policies  # named here: inside the class, ``snapshot`` is the method
_Economics = snapshot.Economics
#: What ``_Memo`` compares: the planner's inputs read off the model cluster (``_inputs``).
_Key = tuple[tuple[int, ...], bytes]
_NO_KEY: _Key = ((), b"")


@dataclasses.dataclass
class Burstscaler:
    """All workloads planned by ``core.plan`` each step."""

    recommenders: list[recommender.CoreRecommender]
    policies: tuple[spec.BurstPolicySpec, ...]
    names: tuple[str, ...]
    eci_per_second: npt.NDArray[np.float64]
    start: float = 0.0  # epoch second of the trace's step 0 (the schedules' wall clock)
    history: snapshot.History | None = None
    #: Reuse the last plan while ``_Memo.still_holds``; off only to prove it changes nothing.
    skip_unchanged: bool = True
    _memo: _Memo | None = None
    _static: snapshot.Policies | None = None
    _bridge: bool | None = None
    _drain_pays: bool | None = None
    _fixed_economics: _Economics | None = dataclasses.field(default=None, init=False, repr=False)
    _names_of: tuple[bytes, tuple[str, ...]] | None = dataclasses.field(default=None, init=False, repr=False)

    def decide(
        self, *, state: cluster.ModelCluster, loads: protocol.FloatArray, now: float
    ) -> Sequence[protocol.Targets]:
        """Recommend, snapshot the model cluster, plan, and return the plan's targets."""
        recommended = np.array(
            [
                rec.recommend(
                    load=float(loads[w]),
                    current=state.base_total(w) + state.burst_total(w),
                    ready=state.base_ready(w) + state.burst_ready(w, now),
                    now=now,
                )
                for w, rec in enumerate(self.recommenders)
            ],
            dtype=np.int64,
        )
        key = _inputs(state, recommended=recommended, now=now) if self.skip_unchanged else _NO_KEY
        if self._memo is not None and self._memo.key == key:
            return self._memo.targets
        if self.history is None:
            self.history = snapshot.History.empty(self.names)
        before = self.history
        # The operator's planner: new base replicas placed as kube-scheduler's default profile would.
        result = plan.plan(self.snapshot(state, recommended=recommended, now=now), now=now, spread=True)
        self.history = result.history
        placeholders = result.placeholders if result.placeholders.size else np.zeros(state.workloads, dtype=np.int64)
        targets = [
            protocol.Targets(
                base=int(result.base[w]),
                burst=int(result.burst[w]),
                moves=int(result.moves_completed[w]),
                placeholders=int(placeholders[w]),
            )
            for w in range(state.workloads)
        ]
        bursting = any(target.burst for target in targets)
        # The bridge and drain-back by cost read burst ages and the time left in schedule windows: no
        # reuse while they may act, i.e. where an ECS replica on added nodes is cheaper than on ECI.
        bridging = self._bridge_possible(state) and (bursting or bool(placeholders.any()) or self._scheduled)
        reusable = (
            self.skip_unchanged
            and not bridging
            and _Memo.still_holds(
                before,
                result.history,
                now=now,
                bursting=bursting,
                policies=self.policies,
                room_matters=self._drain_can_pay(state),
            )
        )
        self._memo = _Memo(key=key, targets=targets) if reusable else None
        return targets

    def snapshot(
        self, state: cluster.ModelCluster, *, recommended: npt.NDArray[np.int64], now: float
    ) -> snapshot.Snapshot:
        """The model cluster as the core sees it: ECS nodes, the virtual node, one policy per workload."""
        rows = np.flatnonzero(state.active)
        virtual = np.zeros(rows.size + 1, dtype=np.bool_)
        virtual[-1] = True
        nodes = snapshot.Nodes(
            names=self._node_names(rows),
            resources=_RESOURCES,
            allocatable=np.vstack([state.allocatable[rows], np.zeros((1, 3))]),
            requested=np.vstack([state.placed[rows] @ state.requests, np.zeros((1, 3))]),
            unschedulable=np.append(state.ready_at[rows] > now, False),
            virtual=virtual,
            # The subscription pool is paid whether used or not (never removed); autoscaled nodes go when idle.
            paid=np.append(~state.autoscaled[rows], True),
        )
        w = state.workloads
        started = [state.burst_started(i) for i in range(w)]
        policies = dataclasses.replace(
            self._static_policies(state),
            eligible=np.broadcast_to(~virtual, (w, virtual.size)).copy(),
            recommended=recommended,
            base_replicas=np.array([state.base_total(i) for i in range(w)], dtype=np.int64),
            base_ready=np.array([state.base_ready(i) for i in range(w)], dtype=np.int64),
            base_unschedulable=state.pending.copy(),
            burst_replicas=np.array([state.burst_total(i) for i in range(w)], dtype=np.int64),
            burst_ready=np.array([state.burst_ready(i, now) for i in range(w)], dtype=np.int64),
            burst_pod_policy=np.concatenate([np.full(s.size, i, dtype=np.int64) for i, s in enumerate(started)]),
            burst_pod_started=np.concatenate(started),
        )
        assert self.history is not None
        return snapshot.Snapshot(
            nodes=nodes,
            policies=policies,
            reservations=snapshot.Reservations.empty(nodes=rows.size + 1, resources=len(_RESOURCES)),
            history=self.history,
            economics=self.economics(state, now=now),
            scoring=_scoring(state, rows),
        )

    def _node_names(self, rows: npt.NDArray[np.intp]) -> tuple[str, ...]:
        # The ECS rows change only when a node comes or goes: the names are formatted once per set of rows.
        key = rows.tobytes()
        if self._names_of is None or self._names_of[0] != key:
            self._names_of = (key, (*(f"ecs-{row}" for row in rows), "virtual-kubelet"))
        return self._names_of[1]

    def _drain_can_pay(self, state: cluster.ModelCluster) -> bool:
        # A move saves e - c_m per second (core.bridge): where that is not positive for any policy,
        # room on ECS can never start a move, so seeing room does not make the plan depend on time.
        if self._drain_pays is None:
            econ = self.economics(state, now=0.0)
            marginal = np.where(econ.pool_growable, np.nan_to_num(econ.ecs_cost_per_second, nan=0.0), 0.0)
            # Room on the subscription pool (paid whether used or not: ``Nodes.paid``) costs a move nothing.
            pool = bool((state.active & ~state.autoscaled).any())
            self._drain_pays = bool(
                (self.eci_per_second > marginal).any() or (pool and (self.eci_per_second > 0).any())
            )
        return self._drain_pays

    def _bridge_possible(self, state: cluster.ModelCluster) -> bool:
        # Where c >= e on every growable policy, R* is infinite and no move onto the pool pays: the
        # plan no longer depends on how long a burst has lasted.
        if self._bridge is None:
            econ = self.economics(state, now=0.0)
            cheaper = econ.pool_growable & (np.nan_to_num(econ.ecs_cost_per_second, nan=np.inf) < self.eci_per_second)
            self._bridge = bool(cheaper.any())
        return self._bridge

    @property
    def _scheduled(self) -> bool:
        return any(p.schedules for p in self.policies)

    def economics(self, state: cluster.ModelCluster, *, now: float) -> _Economics:
        """The bridge's prices and delays for each policy (see the module docstring for each rule)."""
        w = state.workloads
        if self._fixed_economics is None:
            # Everything but the placeholders and the schedule windows follows from the policies and the
            # cluster's settings, which never change: built once (the core never writes its inputs).
            self._fixed_economics = self._economics_of(state)
        return dataclasses.replace(
            self._fixed_economics,
            placeholders=np.array([state.placeholders(i) for i in range(w)], dtype=np.int64),
            placeholders_bound=np.array([state.placeholders_bound(i) for i in range(w)], dtype=np.int64),
            window_ends=self._window_ends(now),
        )

    def _economics_of(self, state: cluster.ModelCluster) -> _Economics:
        w = state.workloads
        scaler = state.autoscaling
        growable = np.array([scaler is not None and p.bridge.enabled is not False for p in self.policies])
        if scaler is not None:
            share = np.max(state.requests / scaler.shape.allocatable[None, :], axis=1)
            ecs = np.where(growable, share * scaler.price_per_hour / 3600.0, np.nan)
            idle = scaler.idle_seconds
        else:
            ecs, idle = np.full(w, np.nan), 0.0
        r = state.draws.realism
        reaction = (r.node_reaction_low + r.node_reaction_high) / 2.0
        boot = reaction + r.node_boot_median * math.exp(r.node_boot_sigma**2 / 2.0)  # log-normal mean
        return _Economics(
            pool_growable=growable,
            ecs_cost_per_second=ecs.astype(np.float64),
            node_boot_seconds=np.full(w, boot),
            scale_down_delay_seconds=np.full(w, idle),
            pod_startup_seconds=np.full(w, r.pod_startup_seconds),
            min_savings=np.array([_money(p.drain_back.min_savings) for p in self.policies]),
            max_placeholders=np.array([_cap(p.bridge.max_placeholders) for p in self.policies], dtype=np.int64),
            placeholders=np.zeros(w, dtype=np.int64),
            placeholders_bound=np.zeros(w, dtype=np.int64),
            window_ends=np.full(w, np.nan),
        )

    def _window_ends(self, now: float) -> npt.NDArray[np.float64]:
        ends = np.full(len(self.policies), np.nan)
        if not self._scheduled:
            return ends
        wall = datetime.datetime.fromtimestamp(self.start + now, tz=datetime.UTC)
        for index, policy in enumerate(self.policies):
            found = schedules.floor(policy.schedules, now=wall)
            raising = [window.end for window in found.windows if window.min_replicas == found.replicas]
            if found.replicas and raising:
                ends[index] = max(raising).timestamp() - self.start
        return ends

    def _static_policies(self, state: cluster.ModelCluster) -> _Policies:
        # The fields that follow from the specs alone: built once.
        if self._static is None:
            pols = self.policies
            ints = lambda values: np.array(values, dtype=np.int64)  # noqa: E731
            floats = lambda values: np.array(values, dtype=np.float64)  # noqa: E731
            zeros = ints([0] * len(pols))
            self._static = snapshot.Policies(
                names=self.names,
                requests=state.requests.copy(),
                eligible=np.ones((len(pols), 1), dtype=np.bool_),
                recommended=zeros,
                min_replicas=ints([p.min_replicas for p in pols]),
                max_replicas=ints([p.max_replicas for p in pols]),
                base_replicas=zeros,
                base_ready=zeros,
                base_unschedulable=zeros,
                burst_replicas=zeros,
                burst_ready=zeros,
                base_max=ints([_cap(p.base.max_replicas) for p in pols]),
                burst_max=ints([_cap(p.burst.max_replicas) for p in pols]),
                burst_enabled=np.array([p.burst.enabled for p in pols]),
                eci_compatible=np.ones(len(pols), dtype=np.bool_),
                max_cost_per_second=floats(
                    [float(p.burst.budget.max_cost_per_hour) / 3600.0 if p.burst.budget else math.inf for p in pols]
                ),
                burst_cost_per_second=self.eci_per_second.copy(),
                priority=ints([p.priority for p in pols]),
                drain_enabled=np.array([p.drain_back.enabled for p in pols]),
                min_burst_seconds=floats([float(p.drain_back.min_burst_seconds) for p in pols]),
                stabilization_seconds=floats([float(p.drain_back.stabilization_seconds) for p in pols]),
                max_moves_per_tick=ints([p.drain_back.max_moves_per_tick for p in pols]),
                drain_timeout_seconds=floats([float(p.drain_back.ready_timeout_seconds) for p in pols]),
                burst_pod_policy=np.zeros(0, dtype=np.int64),
                burst_pod_started=np.zeros(0),
            )
        return self._static


@dataclasses.dataclass(frozen=True)
class _Memo:
    """The last plan's targets, valid for as long as the planner's inputs stay ``key``.

    ``core.plan`` is a pure function of the snapshot, the history and ``now``. When a plan handed on
    the history it was given (a fixed point) with no move in flight and no ECS room seen, then ``now``
    can change nothing either: a move's timeout needs a move, the ECS-full hold had already ended, and
    burst pods' ages count only once room has been stable for ``stabilizationSeconds`` (more than 0)
    or when there are burst pods to move. So the same recommendations on the same cluster give the
    same plan (``tests/sim`` replays a scenario with and without and compares).
    """

    key: _Key
    targets: list[protocol.Targets]

    @staticmethod
    def still_holds(
        before: snapshot.History,
        after: snapshot.History,
        *,
        now: float,
        bursting: bool,
        policies: Sequence[spec.BurstPolicySpec],
        room_matters: bool = True,
    ) -> bool:
        """Whether a plan that turned ``before`` into ``after`` at ``now`` is the plan of any later tick.

        ``room_matters`` false: no move can ever pay (drain-back by cost), so room seen is no reason
        to replan."""
        fields = ("room_since", "drain_moves", "drain_since", "drain_ready_goal", "ecs_full_until", "burst_since")
        fixed = after.names == before.names and all(
            np.array_equal(getattr(after, name), getattr(before, name), equal_nan=True) for name in fields
        )
        idle = not after.drain_moves.any() and (not room_matters or bool(np.isnan(after.room_since).all()))
        unblocked = bool((after.ecs_full_until <= now).all())
        ageless = not bursting or all(p.drain_back.stabilization_seconds > 0 for p in policies)
        return fixed and idle and unblocked and ageless


def _inputs(state: cluster.ModelCluster, *, recommended: npt.NDArray[np.int64], now: float) -> _Key:
    # Everything of the model cluster that goes into the snapshot, except burst pods' start times
    # (they matter only where ``_Memo.still_holds`` says a plan cannot be reused).
    rows = np.flatnonzero(state.active)
    w = range(state.workloads)
    counts = (
        *recommended.tolist(),
        *state.pending.tolist(),
        *[state.base_total(i) for i in w],
        *[state.base_ready(i) for i in w],
        *[state.burst_total(i) for i in w],
        *[state.burst_ready(i, now) for i in w],
    )
    return (
        counts,
        b"".join(
            (
                state.ph_pending.tobytes(),
                state.ph_placed[rows].tobytes(),
                rows.tobytes(),
                state.placed[rows].tobytes(),
                (state.ready_at[rows] > now).tobytes(),
            )
        ),
    )


def _money(value: object | None) -> float:
    return math.nan if value is None else float(value)  # type: ignore[arg-type]  # Money is a Decimal


def _cap(limit: int | None) -> int:
    return snapshot.UNLIMITED if limit is None else limit


def build_without_drain_back(run: protocol.Run) -> protocol.Setup:
    """The counterfactual of drain-back savings: the same strategy with ``drainBack.enabled: false``."""
    setup = build(run)
    strategy = setup.strategy
    assert isinstance(strategy, Burstscaler)
    policies = tuple(
        p.model_copy(update={"drain_back": p.drain_back.model_copy(update={"enabled": False})})
        for p in strategy.policies
    )
    return protocol.Setup(strategy=dataclasses.replace(strategy, policies=policies), state=setup.state)


def build(run: protocol.Run) -> protocol.Setup:
    """burstscaler on the shared pool: the initial replicas on ECS where they fit, the rest on burst."""
    autoscaled = run.settings.node_autoscaling_for_burstscaler
    state = run.cluster(pool=run.pool, autoscaling=autoscaled, make_before_break=True)
    replicas = [run.initial_replicas(w) for w in range(state.workloads)]
    priorities = [w.priority for w in run.scenario.workloads]
    if autoscaled and not all(p.burst.enabled for p in run.policies):
        # Burst disabled on a growable pool: the steady state is hpa-ca's (the like-for-like check).
        hpa_ca.start_on_ecs(state, replicas, priorities=priorities)
    else:
        for index in np.argsort([-p for p in priorities], kind="stable"):
            w = int(index)
            cap = run.policies[w].base.max_replicas
            base = min(replicas[w], state.room_for(w, now=0.0), replicas[w] if cap is None else cap)
            burst = replicas[w] - base if run.policies[w].burst.enabled else 0
            state.prewarm(w, base=base, burst=burst)
            state.pending[w] += replicas[w] - base - burst
    workloads = run.scenario.workloads
    strategy = Burstscaler(
        recommenders=run.recommenders(),
        policies=run.policies,
        names=tuple(f"default/{w.name}" for w in workloads),
        eci_per_second=np.array([run.settings.eci_per_second(w) for w in workloads]),
        start=run.scenario.start,
    )
    return protocol.Setup(strategy=strategy, state=state)


def _scoring(state: cluster.ModelCluster, rows: npt.NDArray[np.int64]) -> snapshot.Scoring:
    # What the planner's walk scores with: the model cluster has no zones; each workload's base pods per
    # node are what the system default spread counts (the virtual node, last, holds none of them).
    placed = state.placed[rows]  # [nodes, workloads]
    node, workload = np.nonzero(placed)
    return snapshot.Scoring(
        zone=np.full(rows.size + 1, -1, dtype=np.int64),
        default_spread=np.ones(state.workloads, dtype=bool),
        own_policy=workload.astype(np.int64),
        own_node=node.astype(np.int64),
        own_count=placed[node, workload].astype(np.int64),
    )
