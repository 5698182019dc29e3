"""``burstscaler``: the real core deciding each step, on a fixed ECS pool that overflows to ECI.

Each step it does what the operator's planning tick does, against the model cluster instead of the
Kubernetes API:
1. Recommend the total replicas from the metric (``burstscaler.core.recommend``: HPA arithmetic and
   behaviour).
2. Build a ``core.snapshot.Snapshot`` of the model cluster: ECS nodes (allocatable, requests of the
   pods bound to them), the virtual node, the one policy with its replica counts, its burst pods'
   start times, and the history the previous tick's plan handed on.
3. Call ``core.plan.plan(snapshot, now=...)`` and apply its base and burst targets. Drain-back is
   make-before-break inside the core: a tick raises base, a later tick lowers burst once the new
   base pods are Ready; ``moves_completed`` is what the report counts as drain-back moves.

The ECS pool is fixed (``settings.base_pool``): in a hybrid cluster the steady load's nodes are
already there, and burst capacity comes from the virtual node, not from new nodes. The model
cluster's own first-fit decides where base pods land; the core's fit only decides how many to ask
for, so a disagreement between the two shows up as base pods left unschedulable.

The simulated policy (``default_policy``, printed with the results) is what an SRE would write for
a web workload: one Prometheus metric, the request rate, read as the engine's metric (the last
minute's mean rate), against an AverageValue target of ``settings.policy_target`` (the capacity per
replica at the target utilization: headroom for a minute's noise and the start-up delay); scale-up
on any rise (tolerance 0), a longer scale-down window; the API's defaults for the rest (drain-back
hysteresis, no caps or budget). A step without trace data is a failed metric read, and the
recommender's ``fallback`` handles it.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
from typing import Protocol

import numpy as np
import numpy.typing as npt

from burstscaler.api import spec
from burstscaler.core import fallback, plan, recommend, snapshot
from burstscaler.sim import cluster, settings, traces
from burstscaler.sim.strategies import protocol

NAME = "burstscaler"
SUMMARY = "the real core: base on a fixed ECS pool, overflow to ECI, make-before-break drain-back"

_POLICY = "default/web"
_RESOURCES = ("cpu", "memory", snapshot.PODS)
_GIB = float(2**30)


class Recommender(Protocol):
    """Total replicas for the observed load (requests/s, NaN when missing), given the current total
    and how many of those are Ready."""

    def recommend(self, *, load: float, current: int, ready: int, now: float) -> int: ...


@dataclasses.dataclass
class Burstscaler:
    """One policy planned by ``core.plan`` each step; ``recommender`` gives the total replicas."""

    config: settings.Settings
    recommender: Recommender
    policy: spec.BurstPolicySpec
    history: snapshot.History = dataclasses.field(default_factory=lambda: snapshot.History.empty((_POLICY,)))
    #: Reuse the last plan while ``_Memo.still_holds`` (see there); off only to prove it changes nothing.
    skip_unchanged: bool = True
    _cached: tuple[bytes, _Layout] | None = None
    _memo: _Memo | None = None

    @property
    def _eci_per_second(self) -> float:
        pod = self.config.pod
        return pod.cpu * self.config.eci_per_vcpu_second + pod.memory_gib * self.config.eci_per_gib_second

    def decide(self, *, state: cluster.ModelCluster, load: float, now: float) -> protocol.Targets:
        """Recommend, snapshot the model cluster, plan, and return the plan's targets."""
        current = state.base_total + state.burst_total
        ready = state.base_ready + state.burst_ready(now)
        recommended = self.recommender.recommend(load=load, current=current, ready=ready, now=now)
        key = _inputs(state, recommended=recommended, now=now) if self.skip_unchanged else b""
        if self._memo is not None and self._memo.key == key:
            return self._memo.targets
        before = self.history
        result = plan.plan(self.snapshot(state, recommended=recommended, now=now), now=now)
        self.history = result.history
        targets = protocol.Targets(
            base=int(result.base[0]), burst=int(result.burst[0]), moves=int(result.moves_completed[0])
        )
        reusable = self.skip_unchanged and _Memo.still_holds(
            before, result.history, now=now, burst=targets.burst, policy=self.policy
        )
        self._memo = _Memo(key=key, targets=targets) if reusable else None
        return targets

    def snapshot(self, state: cluster.ModelCluster, *, recommended: int, now: float) -> snapshot.Snapshot:
        """The model cluster as the core sees it: ECS nodes, the virtual node, one policy."""
        rows = np.flatnonzero(state.active)
        booting = np.append(state.ready_at[rows] > now, False)
        layout = self._layout(rows)
        nodes = snapshot.Nodes(
            names=layout.names,
            resources=_RESOURCES,
            allocatable=layout.allocatable,
            requested=np.vstack([np.outer(state.placed[rows], layout.request), np.zeros((1, len(_RESOURCES)))]),
            unschedulable=booting,
            virtual=layout.virtual,
        )
        started = now - state.burst_ages(now)
        one = np.ones(1, dtype=np.int64)
        policies = dataclasses.replace(
            layout.policies,
            eligible=~layout.virtual[None, :],
            recommended=one * recommended,
            base_replicas=one * state.base_total,
            base_ready=one * state.base_ready,
            base_unschedulable=one * state.pending,
            burst_replicas=one * state.burst_total,
            burst_ready=one * state.burst_ready(now),
            burst_pod_policy=np.zeros(started.size, dtype=np.int64),
            burst_pod_started=started,
        )
        return snapshot.Snapshot(
            nodes=nodes,
            policies=policies,
            reservations=snapshot.Reservations.empty(nodes=rows.size + 1, resources=len(_RESOURCES)),
            history=self.history,
        )

    def _layout(self, rows: npt.NDArray[np.int64]) -> _Layout:
        # What changes only when nodes come or go: cached, since the core is called every step.
        key = rows.tobytes()
        if self._cached is None or self._cached[0] != key:
            self._cached = (key, _layout(self.config, self.policy, rows=rows, eci_per_second=self._eci_per_second))
        return self._cached[1]


@dataclasses.dataclass(frozen=True)
class _Memo:
    """The last plan's targets, valid for as long as the planner's inputs stay ``key``.

    ``core.plan`` is a pure function of the snapshot, the history and ``now``. When a plan handed on
    the history it was given (a fixed point) with no move in flight and no ECS room seen, then ``now``
    can change nothing either: a move's timeout needs a move, the ECS-full hold had already ended
    (``ecs_full_until`` at or before that tick), and burst pods' ages count only once room has been
    stable for ``stabilizationSeconds`` (more than 0) or when there are burst pods to move. So the same
    recommendation on the same cluster gives the same plan, and the simulator, which calls the core
    every step, may reuse it (``tests/sim`` replays a trace with and without and compares).
    """

    key: bytes
    targets: protocol.Targets

    @staticmethod
    def still_holds(
        before: snapshot.History, after: snapshot.History, *, now: float, burst: int, policy: spec.BurstPolicySpec
    ) -> bool:
        """Whether a plan that turned ``before`` into ``after`` at ``now`` is the plan of any later tick."""
        fields = ("room_since", "drain_moves", "drain_since", "drain_ready_goal", "ecs_full_until")
        fixed = after.names == before.names and all(
            np.array_equal(getattr(after, name), getattr(before, name), equal_nan=True) for name in fields
        )
        idle = not after.drain_moves.any() and bool(np.isnan(after.room_since).all())
        unblocked = bool((after.ecs_full_until <= now).all())
        ageless = burst == 0 or policy.drain_back.stabilization_seconds > 0
        return fixed and idle and unblocked and ageless


def _inputs(state: cluster.ModelCluster, *, recommended: int, now: float) -> bytes:
    # Everything of the model cluster that goes into the snapshot, except burst pods' start times
    # (they matter only where ``_Memo.still_holds`` says a plan cannot be reused).
    rows = np.flatnonzero(state.active)
    counts = [recommended, state.base_total, state.base_ready, state.pending, state.burst_total, state.burst_ready(now)]
    return b"".join(
        (
            np.array(counts, dtype=np.int64).tobytes(),
            rows.tobytes(),
            state.placed[rows].tobytes(),
            (state.ready_at[rows] > now).tobytes(),
        )
    )


@dataclasses.dataclass(frozen=True)
class _Layout:
    names: tuple[str, ...]
    request: snapshot.FloatArray
    allocatable: snapshot.FloatArray
    virtual: snapshot.BoolArray
    policies: snapshot.Policies  # the fields that follow from the spec; counts are filled per step


def _layout(
    config: settings.Settings, policy: spec.BurstPolicySpec, *, rows: npt.NDArray[np.int64], eci_per_second: float
) -> _Layout:
    pod, shape = config.pod, config.node
    request = np.array([pod.cpu * 1000.0, pod.memory_gib * _GIB, 1.0])
    ecs = np.tile([shape.cpu * 1000.0, shape.memory_gib * _GIB, float(shape.pods)], (rows.size, 1))
    virtual = np.zeros(rows.size + 1, dtype=np.bool_)
    virtual[-1] = True
    drain, budget = policy.drain_back, policy.burst.budget
    one = np.ones(1, dtype=np.int64)
    policies = snapshot.Policies(
        names=(_POLICY,),
        requests=request[None, :],
        eligible=~virtual[None, :],
        recommended=one * 0,
        min_replicas=one * policy.min_replicas,
        max_replicas=one * policy.max_replicas,
        base_replicas=one * 0,
        base_ready=one * 0,
        base_unschedulable=one * 0,
        burst_replicas=one * 0,
        burst_ready=one * 0,
        base_max=one * _cap(policy.base.max_replicas),
        burst_max=one * _cap(policy.burst.max_replicas),
        burst_enabled=np.array([policy.burst.enabled]),
        eci_compatible=np.ones(1, dtype=np.bool_),
        max_cost_per_second=np.array([float(budget.max_cost_per_hour) / 3600.0 if budget else math.inf]),
        burst_cost_per_second=np.array([eci_per_second]),
        priority=one * policy.priority,
        drain_enabled=np.array([drain.enabled]),
        min_burst_seconds=np.array([float(drain.min_burst_seconds)]),
        stabilization_seconds=np.array([float(drain.stabilization_seconds)]),
        max_moves_per_tick=one * drain.max_moves_per_tick,
        drain_timeout_seconds=np.array([float(drain.ready_timeout_seconds)]),
        burst_pod_policy=np.zeros(0, dtype=np.int64),
        burst_pod_started=np.zeros(0),
    )
    return _Layout(
        names=(*(f"ecs-{row}" for row in rows), "virtual-kubelet"),
        request=request,
        allocatable=np.vstack([ecs, np.zeros((1, len(_RESOURCES)))]),
        virtual=virtual,
        policies=policies,
    )


def _cap(limit: int | None) -> int:
    return snapshot.UNLIMITED if limit is None else limit


def default_policy(config: settings.Settings) -> spec.BurstPolicySpec:
    """The simulated workload's BurstPolicy (burstscaler and eci-only), from the run's settings.

    The target is written in milli-units (``"118m"``), as an SRE writes a quantity, so what the
    recommender reads is exactly ``settings.policy_target``.
    """
    metric = {
        "query": 'sum(rate(http_requests_total{app="web"}[1m]))',
        "target": {"type": "AverageValue", "averageValue": f"{round(config.policy_target * 1000)}m"},
    }
    behavior = {
        "scaleUp": {"tolerance": repr(config.scale_up_tolerance)},
        "scaleDown": {"stabilizationWindowSeconds": config.scale_down_window_seconds},
    }
    return spec.BurstPolicySpec.model_validate(
        {
            "targetRef": {"name": "web"},
            "minReplicas": config.min_replicas,
            "maxReplicas": config.max_replicas,
            "metrics": [{"prometheus": metric}],
            "behavior": behavior,
        }
    )


@dataclasses.dataclass
class CoreRecommender:
    """``core.recommend.recommend`` for one policy, its state carried from tick to tick.

    ``start`` is the epoch second of the trace's step 0, so schedules see the trace's wall clock.
    """

    policy: spec.BurstPolicySpec
    start: float = 0.0
    state: recommend.State = dataclasses.field(default_factory=recommend.State)

    def recommend(self, *, load: float, current: int, ready: int, now: float) -> int:
        """The recommender's total for ``load`` requests/s (NaN: the metric failed this tick)."""
        failure = fallback.MetricsFailure("EmptyResult", "no trace data") if math.isnan(load) else None
        reading = recommend.Reading(value=None if failure else load, failure=failure)
        request = recommend.Request(
            spec=self.policy, current=current, ready=ready, readings=(reading,), state=self.state
        )
        result = recommend.recommend(request, now=datetime.datetime.fromtimestamp(self.start + now, tz=datetime.UTC))
        self.state = result.state
        return result.replicas


def build(config: settings.Settings, *, load: traces.StepLoad, initial_load: float) -> protocol.Setup:
    """burstscaler on a fixed ECS pool (``settings.base_pool``), recommending with ``core.recommend``."""
    policy = default_policy(config)
    strategy = Burstscaler(config=config, recommender=CoreRecommender(policy=policy, start=load.start), policy=policy)
    return protocol.Setup(strategy=strategy, state=initial_state(config, load=load, initial_load=initial_load))


def initial_state(config: settings.Settings, *, load: traces.StepLoad, initial_load: float) -> cluster.ModelCluster:
    """The fixed ECS pool with the initial replicas Ready: on ECS what fits, the rest on burst."""
    nodes = settings.base_pool(config, load=load)
    replicas = config.policy_replicas_for(initial_load)
    base = min(replicas, nodes * config.slots_per_node)
    return cluster.ModelCluster(config.cluster_spec(nodes=nodes), base=base, burst=replicas - base)
