"""A plain-Python reference of the core's rules: one policy and one node at a time, no numpy maths.

It reads the same ``Snapshot`` (converted to lists first) and returns the same figures as
``burstscaler.core.plan.plan``; hypothesis checks the two agree, and the benchmark times both. It is
written from the rules in the docstrings of ``placement``, ``topology`` and ``plan``, not from their
code: slow and obvious on purpose. A policy with inter-pod terms places one replica at a time: the
first node in node order that fits and that every term allows, where a spread term first picks the
domain with the lowest count that may still grow (ties: lowest domain index).

With ``Snapshot.economics`` it follows the rules of ``core.bridge``'s docstring too: a move only when
``(e - c_m) * R > m`` (or no churn at all), ``R`` the burst's age or the rest of its schedule window;
placeholders past ``R* = (e*B + c*D + m) / (e - c)``; on a growable pool, replicas with no home wait
in base for a node.

Twin pods failed with a provider reason (``Policies.burst_failed``) leave burst like unschedulable
base pods leave base, and burst is held at its healthy count until ``History.burst_failed_until``.
"""

from __future__ import annotations

import math
from typing import Any

from burstscaler.core import plan as plan_module  # only its stated constant (the burst hold), not its code
from burstscaler.core import snapshot

UNLIMITED = snapshot.UNLIMITED


def fit_one(free: list[float], request: list[float]) -> int:
    """Replicas of one pod shape that fit one node's free room."""
    best = UNLIMITED
    for room, need in zip(free, request, strict=True):
        if need > 0:
            best = min(best, int(max(room, 0.0) // need))
    return best


def allocate(
    *,
    free: list[list[float]],
    requests: list[list[float]],
    eligible: list[list[bool]],
    asks: list[int],
    limits: list[int],
    order: list[int],
    terms: dict[int, list[snapshot.Term]] | None = None,
    placed: dict[int, list[int]] | None = None,
    scorer: Scorer | None = None,
) -> tuple[list[int], list[int], list[list[float]]]:
    """First-fit in node order, policy by policy; returns (room, granted, free after).

    ``terms[p]``: policy p's inter-pod terms; ``placed[p]``: its replicas per node placed earlier in
    the tick (they count for its own terms), updated with what this call places. With ``scorer``,
    every policy places one replica at a time on the node the default profile scores best.
    """
    free = [row[:] for row in free]
    room = [0] * len(asks)
    granted = [0] * len(asks)
    for p in order:
        if asks[p] <= 0 or not free:
            continue
        if scorer is not None:
            earlier = ({} if placed is None else placed).setdefault(p, [0] * len(free))
            policy_terms = (terms or {}).get(p, [])
            room[p], granted[p] = _one_at_a_time(
                free, requests[p], eligible[p], asks[p], limits[p], policy_terms, earlier, scorer=scorer, policy=p
            )
            continue
        if terms and p in terms:
            earlier = ({} if placed is None else placed).setdefault(p, [0] * len(free))
            room[p], granted[p] = _one_at_a_time(free, requests[p], eligible[p], asks[p], limits[p], terms[p], earlier)
            continue
        if all(value <= 0 for value in requests[p]):
            room[p] = asks[p]
            granted[p] = min(asks[p], max(limits[p], 0))
            continue
        fits = [fit_one(free[n], requests[p]) if eligible[p][n] else 0 for n in range(len(free))]
        room[p] = min(asks[p], sum(fits))
        take = min(room[p], limits[p])
        if take <= 0:
            continue
        granted[p] = take
        for n, count in enumerate(fits):
            if take == 0:
                break
            put = min(count, take)
            take -= put
            for r, need in enumerate(requests[p]):
                free[n][r] -= put * need
    return room, granted, free


def _allowed(term: snapshot.Term, n: int, counts: list[int]) -> bool:
    # May one more replica land on node n, with `counts` matching pods per domain (replicas included)?
    d = int(term.domain[n])
    if term.kind == "anti":
        return d < 0 or counts[d] == 0
    if term.kind == "affinity":
        if d < 0:
            return False
        if sum(counts) == 0:
            return term.self_match
        return counts[d] > 0
    if d < 0:
        return False
    floor = 0 if len(counts) < term.min_domains else min(counts)
    return counts[d] + (1 if term.self_match else 0) - floor <= max(term.max_skew, 1)


def _one_at_a_time(
    free: list[list[float]],
    request: list[float],
    eligible: list[bool],
    ask: int,
    limit: int,
    terms: list[snapshot.Term],
    earlier: list[int],
    *,
    scorer: Scorer | None = None,
    policy: int = -1,
) -> tuple[int, int]:
    # Replicas one by one on a scratch copy (to count the room), then the first `limit` taken for real.
    counts = []
    for term in terms:
        per_domain = [int(v) for v in term.existing]
        if term.self_match:
            for n, k in enumerate(earlier):
                if int(term.domain[n]) >= 0:
                    per_domain[int(term.domain[n])] += k
        counts.append(per_domain)
    scratch = [row[:] for row in free]
    spread = next((i for i, term in enumerate(terms) if term.kind == "spread"), None)
    chosen: list[int] = []
    own: list[int] | None = None
    while len(chosen) < ask:
        candidates = [
            n
            for n in range(len(scratch))
            if eligible[n]
            and fit_one(scratch[n], request) >= 1
            and all(_allowed(term, n, c) for term, c in zip(terms, counts, strict=True))
        ]
        if not candidates:
            break
        if scorer is not None:
            if own is None:  # the policy's pods per node: before this tick, earlier in it, and this walk's
                own = [scorer.own(policy, n) + earlier[n] for n in range(len(scratch))]
            default_spread = scorer.default_spread(policy, terms)
            n = scorer.best(candidates, scratch, request, own=own, default_spread=default_spread)
            chosen.append(n)
            own[n] += 1
            for r, need in enumerate(request):
                scratch[n][r] -= need
            for term, c in zip(terms, counts, strict=True):
                if term.self_match and int(term.domain[n]) >= 0:
                    c[int(term.domain[n])] += 1
            continue
        if spread is not None:
            domain = terms[spread].domain
            lowest = min((counts[spread][int(domain[n])], int(domain[n])) for n in candidates)
            candidates = [n for n in candidates if int(domain[n]) == lowest[1]]
        n = candidates[0]
        chosen.append(n)
        for r, need in enumerate(request):
            scratch[n][r] -= need
        for term, c in zip(terms, counts, strict=True):
            if term.self_match and int(term.domain[n]) >= 0:
                c[int(term.domain[n])] += 1
    take = chosen[: max(min(len(chosen), limit), 0)]
    for n in take:
        earlier[n] += 1
        for r, need in enumerate(request):
            free[n][r] -= need
    return len(chosen), len(take)


class Scorer:
    """kube-scheduler's default profile scores, one candidate node at a time (the rules of ``core.scoring``)."""

    def __init__(self, nodes: snapshot.Nodes, scoring: snapshot.Scoring | None) -> None:
        self.columns = [nodes.resources.index(name) for name in ("cpu", "memory") if name in nodes.resources]
        self.capacity = [[float(v) for v in row] for row in nodes.allocatable]
        self.zone = [-1] * len(nodes.names) if scoring is None else [int(z) for z in scoring.zone]
        self.defaults = None if scoring is None else [bool(v) for v in scoring.default_spread]
        self.owned: dict[tuple[int, int], int] = {}
        if scoring is not None:
            for p, n, k in zip(scoring.own_policy, scoring.own_node, scoring.own_count, strict=True):
                self.owned[(int(p), int(n))] = self.owned.get((int(p), int(n)), 0) + int(k)

    def own(self, policy: int, node: int) -> int:
        """The policy's own pods on ``node`` before this tick."""
        return self.owned.get((policy, node), 0)

    def default_spread(self, policy: int, terms: list[snapshot.Term]) -> bool:
        """Whether the system default spread scores the policy's replicas."""
        if self.defaults is None:
            return not any(term.kind == "spread" for term in terms)
        return self.defaults[policy]

    def best(
        self,
        candidates: list[int],
        free: list[list[float]],
        request: list[float],
        *,
        own: list[int],
        default_spread: bool,
    ) -> int:
        """The candidate with the highest total, the first in node order on ties."""
        if len(candidates) == 1:
            return candidates[0]
        totals = {n: self._resources(n, free[n], request) for n in candidates}
        if default_spread:
            for n, value in self._spread(candidates, own).items():
                totals[n] += 2 * value
        top = max(totals.values())
        return min(n for n in candidates if totals[n] == top)

    def _resources(self, n: int, free: list[float], request: list[float]) -> int:
        # LeastAllocated + BalancedAllocation with the replica counted in.
        total = weights = 0
        fractions = []
        for c in self.columns:
            have = round(self.capacity[n][c])
            if have <= 0:
                continue
            want = round(self.capacity[n][c] - free[c]) + round(request[c])
            total += 0 if want > have else (have - want) * 100 // have
            weights += 1
            fractions.append(min(want / have, 1.0))
        least = total // weights if weights else 0
        deviation = abs(fractions[0] - fractions[1]) / 2 if len(fractions) == 2 else 0.0
        return least + int((1 - deviation) * 100)

    def _spread(self, candidates: list[int], own: list[int]) -> dict[int, int]:
        # The system default constraints (zone maxSkew 5, hostname maxSkew 3), normalised over the candidates.
        zones = max(self.zone, default=-1) + 1
        per_zone = [0] * zones
        for n, count in enumerate(own):
            if self.zone[n] >= 0:
                per_zone[self.zone[n]] += count
        keyed = [n for n in candidates if self.zone[n] >= 0]
        domains = len({self.zone[n] for n in keyed}) + (0 if len(keyed) == len(candidates) else 1)
        raw = {}
        for n in candidates:
            value = 0.0
            if zones and self.zone[n] >= 0:
                value = per_zone[self.zone[n]] * math.log(domains + 2)
                value += 4
            host = own[n] * math.log(len(candidates) + 2)
            host += 2
            raw[n] = value + host
        rounded = {n: int(v) + (1 if v - int(v) >= 0.5 else 0) for n, v in raw.items()}
        low, high = min(rounded.values()), max(rounded.values())
        if high == 0:
            return {n: 100 for n in candidates}
        return {n: (high + low - r) * 100 // high for n, r in rounded.items()}


def plan(snap: snapshot.Snapshot, *, now: float, spread: bool = False) -> dict[str, list[Any]]:
    """The reference plan: a dict of per-policy lists named like ``Plan``'s fields (``spread``: the walk)."""
    nodes, pol = snap.nodes, snap.policies
    hist = snap.history.align(pol.names)
    count = len(pol.names)
    n_nodes = len(nodes.names)
    free = [
        [
            0.0 if (nodes.virtual[n] or nodes.unschedulable[n]) else max(float(a) - float(q), 0.0)
            for a, q in zip(nodes.allocatable[n], nodes.requested[n], strict=True)
        ]
        for n in range(n_nodes)
    ]
    usable = [not (nodes.virtual[n] or nodes.unschedulable[n]) for n in range(n_nodes)]
    pending = snap.reservations
    if len(pending.counts):
        _, _, free = allocate(
            free=free,
            requests=[[float(v) for v in row] for row in pending.requests],
            eligible=[[bool(e) and usable[n] for n, e in enumerate(row)] for row in pending.eligible],
            asks=[int(c) for c in pending.counts],
            limits=[int(c) for c in pending.counts],
            order=list(range(len(pending.counts))),
        )
    order = sorted(range(count), key=lambda p: (-int(pol.priority[p]), pol.names[p]))
    requests = [[float(v) for v in row] for row in pol.requests]
    eligible = [[bool(e) and usable[n] for n, e in enumerate(row)] for row in pol.eligible]

    terms: dict[int, list[snapshot.Term]] = {}
    for term in () if snap.topology is None else snap.topology.terms:
        terms.setdefault(term.policy, []).append(term)
    placed: dict[int, list[int]] = {}
    scorer = Scorer(snap.nodes, snap.scoring) if spread else None
    state: list[dict[str, Any]] = []
    for p in range(count):
        state.append(_before_growth(snap, hist, p, now=now))
        _learn(snap, hist, p, state[-1], free=free, eligible=eligible[p])
    _, granted, free = allocate(
        free=free,
        requests=requests,
        eligible=eligible,
        asks=[s["ecs_ask"] for s in state],
        limits=[s["ecs_ask"] for s in state],
        order=order,
        terms=terms,
        placed=placed,
        scorer=scorer,
    )
    for p, s in enumerate(state):
        _after_growth(snap, hist, p, s, granted[p], now=now)
    paid = None if snap.economics is None or not any(s["growable"] for s in state) else nodes.paid
    if paid is None or all(paid) or not any(paid):
        every_node_paid = paid is not None and all(paid)
        room2, granted2, _ = allocate(
            free=free,
            requests=requests,
            eligible=eligible,
            asks=[s["drain_ask"] for s in state],
            limits=[s["move_limit"] if s["worth_on_paid" if every_node_paid else "worth_moving"] else 0 for s in state],
            order=order,
            terms=terms,
            placed=placed,
            scorer=scorer,
        )
    else:
        # Paid nodes first (a move there costs nothing more), then the nodes the autoscaler could remove.
        zeros = [0.0] * len(nodes.resources)
        room_a, granted_a, _ = allocate(
            free=[row if paid[n] else zeros for n, row in enumerate(free)],
            requests=requests,
            eligible=eligible,
            asks=[s["drain_ask"] for s in state],
            limits=[s["move_limit"] if s["worth_on_paid"] else 0 for s in state],
            order=order,
            terms=terms,
            placed=placed,
            scorer=scorer,
        )
        room_b, granted_b, _ = allocate(
            free=[zeros if paid[n] else row for n, row in enumerate(free)],
            requests=requests,
            eligible=eligible,
            asks=[s["drain_ask"] - granted_a[p] for p, s in enumerate(state)],
            limits=[s["move_limit"] - granted_a[p] if s["worth_moving"] else 0 for p, s in enumerate(state)],
            order=order,
            terms=terms,
            placed=placed,
            scorer=scorer,
        )
        room2 = [a + b for a, b in zip(room_a, room_b, strict=True)]
        granted2 = [a + b for a, b in zip(granted_a, granted_b, strict=True)]
    out: dict[str, list[Any]] = {
        key: []
        for key in (
            "desired",
            "base",
            "burst",
            "moves_started",
            "moves_completed",
            "unplaceable",
            "room_since",
            "drain_moves",
            "drain_ready_goal",
            "learned_cap",
            "burst_since",
            "burst_failed_until",
            "placeholders",
            "placeholder_reason",
        )
    }
    for p, s in enumerate(state):
        moves = granted2[p]
        base = s["base"] + moves
        if s["may_drain"] and room2[p] > 0:
            room_since = s["room_since"]
        elif s["waiting"] or s["completed"]:
            room_since = float(hist.room_since[p])
        else:
            room_since = math.nan
        if s["waiting"]:
            drain_moves, goal = s["surge"], int(hist.drain_ready_goal[p])
        elif moves > 0:
            drain_moves, goal = moves, min(base, int(pol.base_ready[p]) + s["grown"] + moves)
        else:
            drain_moves, goal = 0, 0
        out["desired"].append(s["desired"])
        out["base"].append(base)
        out["burst"].append(s["burst"])
        out["moves_started"].append(moves)
        out["moves_completed"].append(s["moves_completed"])
        out["unplaceable"].append(s["unplaceable"])
        out["room_since"].append(room_since)
        out["drain_moves"].append(drain_moves)
        out["drain_ready_goal"].append(goal)
        out["learned_cap"].append(s["learned_cap"])
        out["burst_since"].append(s["burst_began"] if s["burst"] > 0 else math.nan)
        out["burst_failed_until"].append(s["burst_failed_until"])
        count_, reason = _placeholders(snap, p, s, base=base, need=s["burst"] - s["surge"] - moves)
        out["placeholders"].append(count_)
        out["placeholder_reason"].append(reason)
    return out


def _placeholders(snap: snapshot.Snapshot, p: int, s: dict[str, Any], *, base: int, need: int) -> tuple[int, str]:
    # The bridge for one policy: (placeholder count, reason).
    econ = snap.economics
    if econ is None:
        return 0, "no-node-growth"
    pol = snap.policies
    e, c = float(pol.burst_cost_per_second[p]), float(econ.ecs_cost_per_second[p])
    if not bool(econ.pool_growable[p]) or math.isnan(c) or math.isinf(c):
        return 0, "no-node-growth"
    if need <= 0:
        return 0, "steady"
    if c >= e:
        return 0, "placeholders-not-worth-it"
    boot, delay = float(econ.node_boot_seconds[p]), float(econ.scale_down_delay_seconds[p])
    break_even = (e * boot + c * delay + s["churn"]) / (e - c)
    if not (s["rest"] > break_even or int(econ.placeholders[p]) > 0):
        return 0, "placeholders-not-worth-it"
    base_room = max(int(pol.base_max[p]) - base, 0)
    budget = float(pol.max_cost_per_second[p])
    budget_room = UNLIMITED
    if math.isfinite(budget) and c > 0:
        budget_room = min(max(math.floor((budget - s["burst"] * e) / c), 0), UNLIMITED)
    cap = max(int(econ.max_placeholders[p]), 0)
    count = min(need, base_room, budget_room, cap)
    if count == need:
        return count, "placeholders"
    if count == base_room:
        return count, "base-cap"
    if count == budget_room:
        return count, "budget"
    return count, "placeholder-cap"


def _before_growth(snap: snapshot.Snapshot, hist: snapshot.History, p: int, *, now: float) -> dict[str, Any]:
    pol = snap.policies
    desired = min(max(int(pol.recommended[p]), int(pol.min_replicas[p])), int(pol.max_replicas[p]))
    base_max = int(pol.base_max[p])
    burst_cap = 0
    if pol.burst_enabled[p] and pol.eci_compatible[p]:
        burst_cap = int(pol.burst_max[p])
        cost, budget = float(pol.burst_cost_per_second[p]), float(pol.max_cost_per_second[p])
        if cost > 0 and math.isfinite(budget):
            burst_cap = min(burst_cap, max(math.floor(budget / cost), 0))
    base, burst = int(pol.base_replicas[p]), int(pol.burst_replicas[p])

    k = min(int(hist.drain_moves[p]), burst, base)
    cancel = completed = timeout = waiting = False
    if k > 0:
        if desired < base + burst - k or base > base_max or burst > burst_cap:
            cancel = True
        elif int(pol.base_ready[p]) >= int(hist.drain_ready_goal[p]):
            completed = True
        elif now - float(hist.drain_since[p]) >= float(pol.drain_timeout_seconds[p]):
            timeout = True
        else:
            waiting = True
    moves_completed = k if completed else 0
    if cancel or timeout:
        base -= k
    burst -= moves_completed
    surge = k if waiting else 0
    ecs_full_until = float(hist.ecs_full_until[p])
    if timeout:
        ecs_full_until = now + float(pol.drain_timeout_seconds[p])

    unschedulable = min(max(int(pol.base_unschedulable[p]), 0), max(base - surge, 0))
    base -= unschedulable
    running = base - surge  # what ECS really runs: the cap a failed prediction teaches
    # Failed burst pods leave burst (no more than the twin's pods not Ready); burst is held at its
    # healthy count while they fail and for a while after.
    reported = 0 if pol.burst_failed is None else int(pol.burst_failed[p])
    not_ready = max(int(pol.burst_replicas[p]) - int(pol.burst_ready[p]), 0)
    failing = min(max(reported, 0), max(min(burst - surge, not_ready), 0))
    burst -= failing
    failed_until = float(hist.burst_failed_until[p])
    if failing > 0:
        failed_until = now + plan_module.BURST_FAILED_HOLD_SECONDS
    elif failed_until <= now:
        failed_until = -math.inf
    if failed_until > now:
        burst_cap = min(burst_cap, burst)

    need = desired - (base + burst - surge)
    scale_in = need < 0
    if scale_in:
        from_burst = min(-need, burst - surge)
        burst -= from_burst
        base -= -need - from_burst
    homeless = max(need, 0)
    over_base = max(base - base_max, 0)
    base -= over_base
    over_burst = max(burst - burst_cap, 0)
    burst -= over_burst
    homeless += over_base + over_burst

    blocked = unschedulable > 0 or ecs_full_until > now
    ecs_ask = 0 if blocked else min(homeless, max(base_max - base, 0))
    failed = unschedulable > 0 or timeout
    previous_room = float(hist.room_since[p])
    growable = snap.economics is not None and bool(snap.economics.pool_growable[p])
    return {
        "growable": growable,
        "room_since": now if math.isnan(previous_room) else previous_room,
        "desired": desired,
        "base": base,
        "burst": burst,
        "burst_cap": burst_cap,
        "surge": surge,
        "homeless": homeless,
        "ecs_ask": ecs_ask,
        "blocked": blocked,
        "scale_in": scale_in,
        "over_burst": over_burst,
        "inflight": k > 0,
        "waiting": waiting,
        "completed": completed,
        "moves_completed": moves_completed,
        "failed": failed,
        "running": running,
        "burst_failed_until": failed_until,
    }


def _learn(
    snap: snapshot.Snapshot,
    hist: snapshot.History,
    p: int,
    s: dict[str, Any],
    *,
    free: list[list[float]],
    eligible: list[bool],
) -> None:
    # The memory of failed predictions: learn on failure, forget when the room fits more or the request changed.
    request = [float(v) for v in snap.policies.requests[p]]
    fit_now = sum(fit_one(free[n], request) for n in range(len(free)) if eligible[n]) if free else 0
    key = hash(tuple(request))
    cap = int(hist.learned_cap[p])
    grew = s["growable"] and int(snap.policies.base_ready[p]) > cap
    if s["failed"]:
        cap = s["running"]
    elif cap < UNLIMITED and (fit_now > int(hist.learned_fit[p]) or key != int(hist.learned_key[p]) or grew):
        cap = UNLIMITED
    s["learned_cap"] = cap
    s["ecs_ask"] = min(s["ecs_ask"], max(cap - s["base"], 0))


def _after_growth(
    snap: snapshot.Snapshot, hist: snapshot.History, p: int, s: dict[str, Any], grown: int, *, now: float
) -> None:
    pol = snap.policies
    s["grown"] = grown
    s["base"] += grown
    rest = s["homeless"] - grown
    added = min(rest, max(s["burst_cap"] - s["burst"], 0))
    s["burst"] += added
    left = rest - added
    waiting_for_node = min(left, max(int(pol.base_max[p]) - s["base"], 0)) if s["growable"] else 0
    s["base"] += waiting_for_node
    s["unplaceable"] = left - waiting_for_node
    _burst_economics(snap, hist, p, s, now=now)
    s["may_drain"] = bool(
        pol.drain_enabled[p]
        and not s["inflight"]
        and not s["scale_in"]
        and not s["blocked"]
        and s["burst"] > 0
        and s["over_burst"] == 0
    )
    ask = 0
    if s["may_drain"]:
        ask = max(min(s["burst"], int(pol.max_moves_per_tick[p]), int(pol.base_max[p]) - s["base"]), 0)
        ask = max(min(ask, s["learned_cap"] - s["base"]), 0)
    s["drain_ask"] = ask
    stable = now - s["room_since"] >= float(pol.stabilization_seconds[p])
    old = sum(
        1
        for owner, started in zip(pol.burst_pod_policy, pol.burst_pod_started, strict=True)
        if owner == p and now - started >= pol.min_burst_seconds[p]
    )
    s["movable"] = min(old, s["burst"])
    bought = 0 if snap.economics is None else max(int(snap.economics.placeholders_bound[p]), 0)
    s["move_limit"] = min(s["movable"], ask) if stable else min(s["movable"], ask, bought)


def _burst_economics(snap: snapshot.Snapshot, hist: snapshot.History, p: int, s: dict[str, Any], *, now: float) -> None:
    # The burst's start, its expected rest (its age, or to the window's end), a move's churn and worth.
    pol = snap.policies
    began = float(hist.burst_since[p])
    if math.isnan(began):
        starts = [float(t) for owner, t in zip(pol.burst_pod_policy, pol.burst_pod_started, strict=True) if owner == p]
        began = min(min(starts), now) if starts else now
    s["burst_began"] = began
    econ = snap.economics
    s["worth_moving"] = s["worth_on_paid"] = True
    if econ is None:
        return
    rest = max(now - began, 0.0)
    window_end = float(econ.window_ends[p])
    if not math.isnan(window_end) and window_end > now:
        rest = max(rest, window_end - now)
    e = float(pol.burst_cost_per_second[p])
    saved_min = float(econ.min_savings[p])
    churn = e * float(econ.pod_startup_seconds[p]) if math.isnan(saved_min) else saved_min
    c = float(econ.ecs_cost_per_second[p])
    c_m = (0.0 if math.isnan(c) else c) if s["growable"] else 0.0
    s["rest"], s["churn"] = rest, churn
    s["worth_moving"] = (e - c_m) * rest > churn or (churn <= 0 and e >= c_m)
    s["worth_on_paid"] = e * rest > churn or (churn <= 0 and e >= 0)
