"""One planning tick for every policy at once: base, burst and drain-back targets with reasons.

``plan(snapshot, now=...)`` is the only decision call (DESIGN §2 steps 2-5). It does nothing; the
caller applies each policy's slice and feeds ``Plan.history`` into the next tick's snapshot.

Per policy, in this order (each step is whole-array arithmetic over policies):
1. Desired total = the recommendation clamped to [minReplicas, maxReplicas].
2. A drain-back move in flight (base raised k, burst not yet lowered) is resolved first: cancelled
   by a scale-in or a lowered cap (undo the base surge: those pods are not serving yet), completed
   when the base's Ready count reached the goal (lower burst by k), undone on timeout (and ECS is
   then treated as full for ``drain_timeout_seconds``), or left waiting.
3. Base pods the scheduler reported unschedulable leave base: the scheduler knows better than the
   model (pod affinity, volumes), and they need a home elsewhere.
   Likewise twin pods failed with a provider reason (``Policies.burst_failed``: no stock, quota, image
   pulls) leave burst; and burst is not grown again into the refusing virtual node for
   ``BURST_FAILED_HOLD_SECONDS`` (renewed while pods keep failing: ``History.burst_failed_until``),
   so what ECS does not take is unplaceable (``burst-degraded``) rather than sent to fail again.
4. Scale-in takes burst first, then base.
5. Replicas that need a home (growth, plus anything over a lowered cap) try ECS first, shared among
   all policies by priority (``placement.allocate``), after room is kept for pending pods, within
   the policies' inter-pod terms (``topology.allocate``).
6. What ECS does not take goes to burst within burst.maxReplicas and the spend budget; the rest is
   unplaceable, reported with its reason; on a growable pool (``Economics.pool_growable``) it is
   asked of ECS anyway (base, up to base.maxReplicas: ``waiting-for-node``), as the HPA would, so
   the node autoscaler adds a node for its Pending pods.
7. Drain-back from the room left: only where room persisted ``stabilization_seconds`` (or a bound
   placeholder holds it), only burst pods older than ``min_burst_seconds``, at most
   ``max_moves_per_tick``, and with ``Snapshot.economics`` only when the move pays for its churn
   over the expected rest of the burst (``core.bridge``: ``drain-back-not-worth-it``);
   make-before-break, so this tick only raises base, and step 2 of a later tick lowers burst.
8. The bridge (``core.bridge``): on a growable pool, placeholder pods for the burst replicas whose
   burst is expected to outlast a new node's break-even, less those drain-back is moving.

A memory of failed predictions (``ecs-learned-full``): when base pods the plan placed stay
unschedulable, or a drain-back move times out, the base that really runs is remembered as a cap on
base growth and moves (``History.learned_cap``) until the cluster changes for that policy: its free
room fits more replicas than when it was learned (a node added, pods deleted) or its request row
changed (a new template), or, on a growable pool, more base pods are Ready than the cap (a node
was added). So no prediction error makes the base flap.

With ``Snapshot.economics`` None (or ``Economics.fixed_pool``) the plan is the v0.1 one, bit for bit.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from burstscaler.core import bridge, placement, reasons, snapshot, topology

Reason = reasons.Reason

ReasonArray = snapshot.npt.NDArray[np.uint8]

#: How long burst is held at its healthy count after twin pods failed with a provider reason. The
#: causes (no stock in the zone, a quota, a bad image) last minutes, not seconds: retrying sooner
#: than a pod's start-up can show the outcome (``burst.readyTimeoutSeconds``'s default, 300 s) only
#: creates more failing pods; later, a recovered provider is not left unused for long.
BURST_FAILED_HOLD_SECONDS = 300.0


@dataclasses.dataclass(frozen=True)
class Plan:
    """The reply: per-policy targets, moves and reasons, plus the history for the next tick."""

    names: tuple[str, ...]
    desired: snapshot.IntArray  # the clamped total the plan serves
    base: snapshot.IntArray  # target spec.replicas of the base workload
    burst: snapshot.IntArray  # target spec.replicas of the burst twin
    moves_started: snapshot.IntArray  # base raised this tick for drain-back (burst follows when Ready)
    moves_completed: snapshot.IntArray  # burst lowered this tick because a move's base pods are Ready
    unplaceable: snapshot.IntArray  # desired replicas with no home on ECS or burst
    ecs_granted: snapshot.IntArray  # new base replicas given ECS room this tick (growth + moves)
    reason: ReasonArray  # the headline reason (codes of ``reasons.Reason``)
    desired_reason: ReasonArray
    base_reason: ReasonArray
    burst_reason: ReasonArray
    drain_reason: ReasonArray
    history: snapshot.History
    #: Placeholder pods to keep on ECS (the bridge, issue 16): a growable pool adds nodes for them.
    placeholders: snapshot.IntArray = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    placeholder_reason: ReasonArray = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=np.uint8))

    def __len__(self) -> int:
        return len(self.names)


def plan(snapshot_: snapshot.Snapshot, *, now: float, spread: bool = False) -> Plan:
    """Decide base, burst and drain-back for every policy of ``snapshot_`` at time ``now``.

    Guarantees, per policy: ``base + burst + unplaceable == desired`` except while a drain-back move
    is in flight (then base carries ``history.drain_moves`` extra surge replicas); ``desired`` is
    within [minReplicas, maxReplicas]; base never exceeds base.maxReplicas and burst never exceeds
    burst.maxReplicas or the budget; the sum of new base replicas fits the ECS room left after
    pending pods, under the fit rule of ``placement`` (except ``waiting-for-node`` replicas on a
    growable pool, which wait for a new node). Placeholders never exceed the burst replicas not being
    moved back (none without burst), ``base + placeholders <= base.maxReplicas``, at most
    ``max_placeholders``, and ``burst * cost + placeholders * ecs cost <= max_cost_per_second``.

    ``spread`` (the default): new replicas go one by one where kube-scheduler's default profile puts
    them (``core.scoring``); False: first fit in node order, faster and further from kube-scheduler
    wherever pod shapes compete for nodes or the topology spread decides (``bench_agreement.py``).
    """
    nodes, pol = snapshot_.nodes, snapshot_.policies
    hist = snapshot_.history.align(pol.names)
    count = len(pol)
    econ = snapshot_.economics
    growable = np.zeros(count, dtype=bool) if econ is None else econ.pool_growable

    # 1. Desired total.
    desired = np.minimum(np.maximum(pol.recommended, pol.min_replicas), pol.max_replicas)
    desired_reason = np.select(
        [desired > pol.recommended, desired < pol.recommended],
        [Reason.MIN_REPLICAS.code, Reason.MAX_REPLICAS.code],
        Reason.RECOMMENDED.code,
    )
    budget_cap = _budget_cap(pol)
    burst_cap = np.where(pol.burst_enabled & pol.eci_compatible, np.minimum(pol.burst_max, budget_cap), 0)
    terms = () if snapshot_.topology is None else snapshot_.topology.terms
    term_cap = None if snapshot_.topology is None else snapshot_.topology.burst_cap
    if term_cap is not None:
        burst_cap = np.minimum(burst_cap, term_cap)

    # 2. Resolve a move in flight.
    base = pol.base_replicas.astype(np.int64).copy()
    burst = pol.burst_replicas.astype(np.int64).copy()
    # A move can only be as large as what is really there on both sides (the last plan may not
    # have been applied in full).
    inflight_moves = np.minimum(np.minimum(hist.drain_moves, burst), base)
    inflight = inflight_moves > 0
    cancel = inflight & ((desired < base + burst - inflight_moves) | (base > pol.base_max) | (burst > burst_cap))
    completed = inflight & ~cancel & (pol.base_ready >= hist.drain_ready_goal)
    timeout = inflight & ~cancel & ~completed & (now - hist.drain_since >= pol.drain_timeout_seconds)
    waiting = inflight & ~cancel & ~completed & ~timeout
    base -= np.where(cancel | timeout, inflight_moves, 0)
    moves_completed = np.where(completed, inflight_moves, 0)
    burst -= moves_completed
    surge = np.where(waiting, inflight_moves, 0)
    ecs_full_until = np.where(timeout, now + pol.drain_timeout_seconds, hist.ecs_full_until)

    # 3. Unschedulable base pods leave base (they are not serving).
    unschedulable = np.clip(pol.base_unschedulable, 0, np.maximum(base - surge, 0))
    base -= unschedulable
    # Failed burst pods leave burst too (at most the twin's replicas not Ready: Failed pods linger in the
    # API after their ReplicaSet replaced them), and burst is held at its healthy count for a while.
    reported_failed = np.zeros(count, dtype=np.int64) if pol.burst_failed is None else pol.burst_failed
    not_ready = np.maximum(pol.burst_replicas - pol.burst_ready, 0)
    burst_failing = np.clip(reported_failed, 0, np.maximum(np.minimum(burst - surge, not_ready), 0))
    burst -= burst_failing
    burst_held = (burst_failing > 0) | (hist.burst_failed_until > now)
    burst_failed_until = np.where(
        burst_failing > 0, now + BURST_FAILED_HOLD_SECONDS, np.where(burst_held, hist.burst_failed_until, -np.inf)
    )
    open_cap = burst_cap
    burst_cap = np.where(burst_held, np.minimum(burst_cap, burst), burst_cap)

    # The memory of failed predictions: learn where the scheduler disagreed, forget when the cluster changed.
    free = _free_after_reservations(snapshot_)
    groups = placement.eligibility_groups(pol.eligible, usable=~nodes.virtual & ~nodes.unschedulable)
    keys = _request_keys(pol.requests)
    failed = (unschedulable > 0) | timeout
    remembered = hist.learned_cap < snapshot.UNLIMITED
    watch = np.flatnonzero(failed | remembered)
    fit_now = np.zeros(count, dtype=np.int64)
    if len(watch):
        fit_now[watch] = _fit_counts(free, pol.requests, groups, watch)
    # On a growable pool, more base pods Ready than the cap also means the cluster changed (a node was added).
    grew = growable & (pol.base_ready > hist.learned_cap)
    changed = remembered & ((fit_now > hist.learned_fit) | (keys != hist.learned_key) | grew)
    learned_cap = np.where(failed, base - surge, np.where(changed, snapshot.UNLIMITED, hist.learned_cap))
    learned_fit = np.where(failed, fit_now, np.where(changed, 0, hist.learned_fit))
    learned_key = np.where(failed, keys, np.where(changed, 0, hist.learned_key))
    learned_room = np.maximum(learned_cap - (base - surge), 0)

    # 4. Scale-in, burst first.
    need = desired - (base + burst - surge)
    scale_in = need < 0
    cut = np.where(scale_in, -need, 0)
    from_burst = np.minimum(cut, burst - surge)
    from_base = cut - from_burst
    burst -= from_burst
    base -= from_base
    homeless = np.maximum(need, 0)

    # Lowered caps: the excess needs a new home like any growth.
    over_base = np.maximum(base - pol.base_max, 0)
    base -= over_base
    over_burst = np.maximum(burst - burst_cap, 0)
    burst -= over_burst
    homeless += over_base + over_burst

    # 5. ECS first for replicas that need a home, shared by priority after pending pods.
    blocked = (unschedulable > 0) | (ecs_full_until > now)
    base_room_by_cap = np.maximum(pol.base_max - base, 0)
    wanted_on_ecs = np.where(blocked, 0, np.minimum(homeless, base_room_by_cap))
    ecs_ask = np.minimum(wanted_on_ecs, learned_room)
    learned_limits = ecs_ask < wanted_on_ecs
    order = placement.priority_order(priority=pol.priority, names=pol.names)
    # Each policy's eligible nodes that take new pods (`groups`, above) serve both allocations.
    spreading = topology.Spreading.of(nodes, snapshot_.scoring) if spread else None
    growth, grown_on = topology.allocate(
        free=free, requests=pol.requests, groups=groups, asks=ecs_ask, order=order, terms=terms, spread=spreading
    )
    grown = growth.granted
    base += grown
    rest = homeless - grown

    # 6. Overflow to burst within caps; the rest is unplaceable.
    added_burst = np.minimum(rest, np.maximum(burst_cap - burst, 0))
    burst += added_burst
    homeless_after_burst = rest - added_burst
    # A growable pool: what has no home is asked of ECS anyway, as the HPA would; its Pending pods are
    # what the node autoscaler adds nodes for (neither the model's room nor the learned cap apply).
    waiting_for_node = np.where(growable, np.minimum(homeless_after_burst, np.maximum(pol.base_max - base, 0)), 0)
    base += waiting_for_node
    unplaceable = homeless_after_burst - waiting_for_node

    # The age of the current burst and its expected rest (ski rental, ``core.bridge``).
    burst_began = bridge.burst_started(
        since=hist.burst_since, pod_policy=pol.burst_pod_policy, pod_started=pol.burst_pod_started, now=now
    )
    if econ is None:
        worth_moving = np.ones(count, dtype=bool)
        worth_on_paid = worth_moving
        bought = np.zeros(count, dtype=np.int64)
    else:
        eci = pol.burst_cost_per_second
        rest_expected = bridge.expected_rest(started=burst_began, now=now, window_ends=econ.window_ends)
        churn = bridge.churn(economics=econ, eci=eci)
        worth_moving = bridge.drain_worth_it(
            eci=eci, ecs=bridge.marginal_ecs_cost(econ), rest=rest_expected, churn=churn
        )
        # Room on nodes paid whether used or not costs a move nothing more, even on a growable pool.
        worth_on_paid = bridge.drain_worth_it(eci=eci, ecs=np.zeros(count), rest=rest_expected, churn=churn)
        bought = np.maximum(econ.placeholders_bound, 0)

    # 7. Drain-back from the room left over.
    may_drain = pol.drain_enabled & ~inflight & ~scale_in & ~blocked & (burst > 0) & (over_burst == 0)
    drain_ask = np.where(may_drain, np.minimum(np.minimum(burst, pol.max_moves_per_tick), pol.base_max - base), 0)
    learned_blocks_drain = (drain_ask > 0) & (learned_cap - base < drain_ask)
    drain_ask = np.maximum(np.minimum(drain_ask, np.maximum(learned_cap - base, 0)), 0)
    room_since = np.where(np.isnan(hist.room_since), now, hist.room_since)
    stable = now - room_since >= pol.stabilization_seconds
    movable = np.minimum(_old_burst_pods(pol, now=now), burst)
    # Room a bound placeholder holds was bought for this burst: it need not persist to be trusted.
    move_limit = np.where(stable, np.minimum(movable, drain_ask), np.minimum(np.minimum(movable, drain_ask), bought))
    paid = nodes.paid if econ is not None and growable.any() else None
    if paid is None or paid.all() or not paid.any():
        # One pass: every node's room is priced alike.
        if paid is not None and paid.all():
            worth_moving = worth_on_paid
        drain, _ = topology.allocate(
            free=growth.free_after,
            requests=pol.requests,
            groups=groups,
            asks=drain_ask,
            limits=np.where(worth_moving, move_limit, 0),
            order=order,
            terms=terms,
            placed=grown_on,
            spread=spreading,
        )
        drain_room, moves_started = drain.room, drain.granted
    else:
        # Two passes: first onto paid nodes (marginal cost 0), then onto nodes the autoscaler could remove
        # (an added node's share), each move judged at the cost of the room it takes.
        on_paid, placed_paid = topology.allocate(
            free=np.where(paid[:, None], growth.free_after, 0.0),
            requests=pol.requests,
            groups=groups,
            asks=drain_ask,
            limits=np.where(worth_on_paid, move_limit, 0),
            order=order,
            terms=terms,
            placed=grown_on,
            spread=spreading,
        )
        placed = dict(grown_on)
        for row, taken in placed_paid.items():
            placed[row] = placed[row] + taken if row in placed else taken
        on_removable, _ = topology.allocate(
            free=np.where(paid[:, None], 0.0, growth.free_after),
            requests=pol.requests,
            groups=groups,
            asks=drain_ask - on_paid.granted,
            limits=np.where(worth_moving, move_limit - on_paid.granted, 0),
            order=order,
            terms=terms,
            placed=placed,
            spread=spreading,
        )
        drain_room = on_paid.room + on_removable.room
        moves_started = on_paid.granted + on_removable.granted
        worth_moving = worth_moving | (worth_on_paid & (on_paid.room > 0))
    has_room = drain_room > 0
    base += moves_started

    # The bridge: placeholders for the lasting part of the burst, less what drain-back already takes back.
    if econ is None:
        placeholders = np.zeros(count, dtype=np.int64)
        placeholder_reason = np.full(count, Reason.NO_NODE_GROWTH.code, dtype=np.uint8)
    else:
        placeholders, placeholder_reason = bridge.placeholders(
            economics=econ,
            eci=eci,
            rest=rest_expected,
            churn=churn,
            need=burst - surge - moves_started,
            burst=burst,
            base_room=pol.base_max - base,
            max_cost_per_second=pol.max_cost_per_second,
        )

    # History for the next tick.
    keep_room = waiting | completed
    next_room_since = np.where(may_drain & has_room, room_since, np.where(keep_room, hist.room_since, np.nan))
    started = moves_started > 0
    history = snapshot.History(
        names=pol.names,
        room_since=next_room_since,
        drain_moves=np.where(waiting, surge, moves_started),
        drain_since=np.where(waiting, hist.drain_since, np.where(started, now, np.nan)),
        drain_ready_goal=np.where(
            waiting,
            hist.drain_ready_goal,
            np.where(started, np.minimum(base, pol.base_ready + grown + moves_started), 0),
        ),
        ecs_full_until=ecs_full_until,
        learned_cap=learned_cap.astype(np.int64),
        learned_fit=learned_fit.astype(np.int64),
        learned_key=learned_key.astype(np.int64),
        burst_since=np.where(burst > 0, burst_began, np.nan),
        burst_failed_until=burst_failed_until,
    )

    # Reasons.
    capped_by_terms = (
        np.zeros(count, dtype=bool) if term_cap is None else term_cap < np.minimum(pol.burst_max, budget_cap)
    )
    cap_reason = np.select(
        [burst_cap < open_cap, ~pol.eci_compatible, ~pol.burst_enabled, capped_by_terms, budget_cap < pol.burst_max],
        [
            Reason.BURST_DEGRADED.code,
            Reason.ECI_INCOMPATIBLE.code,
            Reason.BURST_DISABLED.code,
            Reason.BURST_ANTI_AFFINITY.code,
            Reason.BUDGET.code,
        ],
        Reason.BURST_CAP.code,
    )
    wanted_beyond_cap = homeless > base_room_by_cap
    base_reason = np.select(
        [
            timeout,
            waiting_for_node > 0,
            unschedulable > 0,
            (homeless > 0) & blocked,
            from_base > 0,
            learned_limits & (grown == ecs_ask),
            grown < ecs_ask,
            (over_base > 0) | wanted_beyond_cap,
            started,
        ],
        [
            Reason.ECS_FULL.code,
            Reason.WAITING_FOR_NODE.code,
            Reason.ECS_FULL.code,
            Reason.ECS_FULL.code,
            Reason.SCALE_IN.code,
            Reason.ECS_LEARNED_FULL.code,
            Reason.ECS_FULL.code,
            Reason.BASE_CAP.code,
            Reason.DRAIN_BACK.code,
        ],
        Reason.WITHIN_CAPACITY.code,
    )
    burst_reason = np.select(
        [
            from_burst > 0,
            completed,
            (over_burst > 0) | (homeless_after_burst > 0),
            burst_failing > 0,
            added_burst > 0,
        ],
        [
            Reason.SCALE_IN_BURST_FIRST.code,
            Reason.DRAIN_BACK.code,
            cap_reason,
            Reason.BURST_DEGRADED.code,
            base_reason,
        ],
        Reason.STEADY.code,
    )
    drain_reason = np.select(
        [
            completed,
            timeout,
            cancel,
            waiting,
            started,
            burst == 0,
            ~pol.drain_enabled,
            scale_in,
            blocked,
            over_burst > 0,
            ~has_room & (drain_ask > 0),
            learned_blocks_drain & (drain_ask == 0),
            drain_ask == 0,
            ~worth_moving,
            ~stable,
        ],
        [
            Reason.DRAIN_BACK.code,
            Reason.DRAIN_BACK_TIMEOUT.code,
            Reason.DRAIN_BACK_CANCELLED.code,
            Reason.DRAIN_BACK_WAITING_READY.code,
            Reason.DRAIN_BACK.code,
            Reason.STEADY.code,
            Reason.DRAIN_BACK_DISABLED.code,
            Reason.SCALE_IN_BURST_FIRST.code,
            Reason.ECS_FULL.code,
            cap_reason,
            Reason.ECS_FULL.code,
            Reason.ECS_LEARNED_FULL.code,
            Reason.BASE_CAP.code,
            Reason.DRAIN_BACK_NOT_WORTH_IT.code,
            Reason.STABILIZING.code,
        ],
        Reason.MIN_BURST_SECONDS.code,
    )
    drain_active = completed | timeout | cancel | waiting | started
    headline = np.select(
        [unplaceable > 0, drain_active, burst != pol.burst_replicas, base != pol.base_replicas, burst > 0],
        [np.full(count, Reason.UNPLACEABLE.code), drain_reason, burst_reason, base_reason, drain_reason],
        base_reason,
    )
    return Plan(
        names=pol.names,
        desired=desired.astype(np.int64),
        base=base,
        burst=burst,
        moves_started=moves_started,
        moves_completed=moves_completed.astype(np.int64),
        unplaceable=unplaceable.astype(np.int64),
        ecs_granted=(grown + moves_started).astype(np.int64),
        reason=headline.astype(np.uint8),
        desired_reason=desired_reason.astype(np.uint8),
        base_reason=base_reason.astype(np.uint8),
        burst_reason=burst_reason.astype(np.uint8),
        drain_reason=drain_reason.astype(np.uint8),
        history=history,
        placeholders=placeholders,
        placeholder_reason=placeholder_reason,
    )


def explain(result: Plan, index: int) -> dict[str, Any]:
    """One policy's slice of ``result`` as plain data for ``status.lastDecision``, Events and logs."""
    reason_fields = ("reason", "desired_reason", "base_reason", "burst_reason", "drain_reason", "placeholder_reason")
    count_fields = (
        "desired",
        "base",
        "burst",
        "moves_started",
        "moves_completed",
        "unplaceable",
        "ecs_granted",
        "placeholders",
    )
    out: dict[str, Any] = {"name": result.names[index]}
    out.update({field: int(getattr(result, field)[index]) for field in count_fields})
    out.update({field: str(reasons.Reason.from_code(getattr(result, field)[index])) for field in reason_fields})
    out["drain_in_flight"] = int(result.history.drain_moves[index])
    return out


def _budget_cap(pol: snapshot.Policies) -> snapshot.IntArray:
    # Burst replicas the spend budget pays for; a free replica or no budget means no budget cap.
    with np.errstate(divide="ignore", invalid="ignore"):
        affordable = np.floor(pol.max_cost_per_second / pol.burst_cost_per_second)
    limited = (pol.burst_cost_per_second > 0) & np.isfinite(pol.max_cost_per_second)
    capped = np.clip(np.where(limited, affordable, snapshot.UNLIMITED), 0, snapshot.UNLIMITED)
    return capped.astype(np.int64)


def _free_after_reservations(snapshot_: snapshot.Snapshot) -> snapshot.FloatArray:
    # Pending pods that are not ours will be placed by the scheduler before our new pods are
    # created: keep their room first, in their own order (most numerous group last is arbitrary;
    # their order among themselves does not change what is left for policies in most cases).
    nodes, pending = snapshot_.nodes, snapshot_.reservations
    free = nodes.free()
    if len(pending.counts) == 0:
        return free
    kept = placement.allocate_grouped(
        free=free,
        requests=pending.requests,
        groups=placement.eligibility_groups(pending.eligible, usable=~nodes.virtual & ~nodes.unschedulable),
        asks=pending.counts,
        order=np.arange(len(pending.counts), dtype=np.int64),
    )
    return kept.free_after


def _request_keys(requests: snapshot.FloatArray) -> snapshot.IntArray:
    # A stable hash of each request row (int64), to tell a changed template from the same one.
    rows = [hash(tuple(row)) for row in np.asarray(requests, dtype=np.float64).tolist()]
    return np.array(rows, dtype=np.int64).reshape(len(rows))


def _fit_counts(
    free: snapshot.FloatArray, requests: snapshot.FloatArray, groups: placement.Groups, rows: snapshot.IntArray
) -> snapshot.IntArray:
    # Replicas of each of `rows` the free room fits on its eligible nodes alone (inter-pod terms aside).
    out = np.zeros(len(rows), dtype=np.int64)
    for i, p in enumerate(rows.tolist()):
        nodes = groups.nodes[int(groups.of_policy[p])]
        request = requests[p]
        positive = request > 0
        if len(nodes) == 0 or not positive.any():
            continue
        counts = np.floor((free[nodes][:, positive] / request[positive][None, :]).min(axis=1))
        out[i] = int(np.minimum(counts, snapshot.UNLIMITED).sum())
    return out


def _old_burst_pods(pol: snapshot.Policies, *, now: float) -> snapshot.IntArray:
    # Burst pods that have lived at least minBurstSeconds, counted per policy.
    owners = pol.burst_pod_policy
    if len(owners) == 0:
        return np.zeros(len(pol), dtype=np.int64)
    old = now - pol.burst_pod_started >= pol.min_burst_seconds[owners]
    return np.bincount(owners[old], minlength=len(pol)).astype(np.int64)
