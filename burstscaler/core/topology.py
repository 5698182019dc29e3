"""Shared ECS allocation limited by inter-pod constraints, vectorised over nodes and topology domains.

Why: kube-scheduler's InterPodAffinity and PodTopologySpread filters decide how many replicas of a
template with required anti-affinity, affinity or a hard spread constraint can land, whatever the
free room says. ``allocate`` serves policies in priority order like ``placement.allocate_grouped``:
runs of policies without terms go through that fast path unchanged; a policy with terms is served
alone, on the room the earlier ones left, with its per-node counts limited by each term:
- anti-affinity whose selector matches the policy's own replicas: no replica in a domain that already
  holds a matching pod, at most one new one per domain (the first node in node order with room); one
  that does not match them (against other pods, or an existing pod's term by symmetry): no replica
  in a domain that holds a matching pod. A node without the key is not limited;
- affinity: only domains holding a matching pod; when none exists anywhere and the replicas match
  their own term, the first one goes anywhere and the rest follow it into its domain;
- spread (DoNotSchedule): no node without the key; a domain may grow while
  ``count + 1 - min <= maxSkew`` (min over the counted domains, 0 when there are fewer than
  minDomains). Filling one pod at a time ends, whatever the order, with the smallest ceiling
  ``u = existing + room`` as the minimum, so domain d ends at ``max(e_d, min(u_d, min(u) + maxSkew))``;
  fewer replicas than that are spread lowest count first (the spreading score does the same).
With ``spread`` (a ``Spreading``), every policy is served this way and its replicas are placed one
by one where kube-scheduler's default profile puts them (``core.scoring``: its filters with the
terms counted as replicas land, LeastAllocated + BalancedAllocation + the system default spread),
instead of first fit in node order.
Without ``spread``, terms are applied one after another to the per-node counts (the fixed ones, whose selector the
new replicas do not match, first), so two terms of one policy combine
approximately (each limits what the previous left); a policy's new replicas count for its own
terms only: another policy's new pods matching its selector are not seen within one tick.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from burstscaler.core import placement, podterms, scoring, snapshot

_SHORT_RUN = 8  # runs of term-free policies at most this long are served one by one


@dataclasses.dataclass(frozen=True)
class Spreading:
    """What the spreading walk (``core.scoring``) scores with: node capacity, the cpu and memory columns,
    and the snapshot's zones and own pods (``scoring``; None: no zones, only this tick's replicas count).
    """

    capacity: snapshot.FloatArray  # [N, R] allocatable
    columns: tuple[int, ...]  # resource columns scored (cpu, memory)
    scoring: snapshot.Scoring | None = None
    own: Mapping[int, tuple[snapshot.IntArray, snapshot.IntArray]] = dataclasses.field(default_factory=dict)

    @classmethod
    def of(cls, nodes: snapshot.Nodes, scoring: snapshot.Scoring | None) -> Spreading:
        """kube's default profile over ``nodes``: it scores cpu and memory; ``scoring``'s own pods by policy."""
        columns = tuple(nodes.resources.index(name) for name in ("cpu", "memory") if name in nodes.resources)
        own: dict[int, tuple[snapshot.IntArray, snapshot.IntArray]] = {}
        if scoring is not None and len(scoring.own_policy):
            order = np.argsort(scoring.own_policy, kind="stable")
            policies = scoring.own_policy[order]
            starts = np.flatnonzero(np.r_[True, policies[1:] != policies[:-1]])
            ends = np.r_[starts[1:], len(policies)]
            for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
                rows = order[start:end]
                own[int(policies[start])] = (scoring.own_node[rows], scoring.own_count[rows])
        return cls(capacity=nodes.allocatable, columns=columns, scoring=scoring, own=own)


def allocate(
    *,
    free: snapshot.FloatArray,
    requests: snapshot.FloatArray,
    groups: placement.Groups,
    asks: snapshot.IntArray,
    limits: snapshot.IntArray | None = None,
    order: snapshot.IntArray,
    terms: tuple[snapshot.Term, ...] = (),
    placed: dict[int, snapshot.IntArray] | None = None,
    spread: Spreading | None = None,
) -> tuple[placement.Allocation, dict[int, snapshot.IntArray]]:
    """``placement.allocate_grouped`` with each policy's ``terms`` applied; also its new replicas per node.

    ``placed[p]`` ([N]) are replicas of p this tick's earlier allocation already put on each node
    (they count in p's own terms' domains). The second value maps each policy with terms to the
    replicas it took per node here.
    """
    asks = np.asarray(asks, dtype=np.int64)
    limits = asks if limits is None else np.asarray(limits, dtype=np.int64)
    if not terms and spread is None:
        return placement.allocate_grouped(
            free=free, requests=requests, groups=groups, asks=asks, limits=limits, order=order
        ), {}
    by_policy: dict[int, list[snapshot.Term]] = {}
    for term in terms:
        by_policy.setdefault(term.policy, []).append(term)
    room = np.zeros(len(asks), dtype=np.int64)
    granted = np.zeros(len(asks), dtype=np.int64)
    current = np.array(free, dtype=np.float64)  # owned: deducted in place
    taken: dict[int, snapshot.IntArray] = {}
    run: list[int] = []

    def serve_one(p: int, policy_terms: list[snapshot.Term]) -> None:
        if asks[p] <= 0:
            return
        nodes = groups.nodes[int(groups.of_policy[p])]
        already = None if placed is None else placed.get(p)
        fits, where, take = _serve(
            current,
            requests[p],
            policy=p,
            nodes=nodes,
            ask=int(asks[p]),
            limit=int(limits[p]),
            terms=policy_terms,
            already=already,
            spread=spread,
        )
        room[p], granted[p] = fits, int(take.sum())
        if policy_terms or spread is not None:
            dense = np.zeros(current.shape[0], dtype=np.int64)
            taken[p] = dense
        if granted[p]:
            hit, count = where[take > 0], take[take > 0]
            current[hit] = np.maximum(current[hit] - count[:, None] * requests[p][None, :], 0.0)
            if p in taken:
                taken[p][hit] = count

    def flush() -> None:
        # A short run of policies without terms is cheaper served one by one (the same first fit)
        # than through `allocate_grouped`, whose set-up reads every node.
        nonlocal current
        if len(run) <= _SHORT_RUN:
            for p in run:
                serve_one(p, [])
        else:
            segment = np.array(run, dtype=np.int64)
            result = placement.allocate_grouped(
                free=current, requests=requests, groups=groups, asks=asks, limits=limits, order=segment
            )
            room[segment], granted[segment] = result.room[segment], result.granted[segment]
            current = np.array(result.free_after)
        run.clear()

    for p in np.asarray(order, dtype=np.int64).tolist():
        if p not in by_policy and spread is None:
            run.append(p)
            continue
        flush()
        serve_one(p, by_policy.get(p, []))
    flush()
    return placement.Allocation(room=room, granted=granted, free_after=current), taken


def _serve(
    free: snapshot.FloatArray,
    request: snapshot.FloatArray,
    *,
    nodes: snapshot.IntArray,
    ask: int,
    limit: int,
    terms: list[snapshot.Term],
    already: snapshot.IntArray | None,
    spread: Spreading | None = None,
    policy: int = -1,
) -> tuple[int, snapshot.IntArray, snapshot.IntArray]:
    # Room for one policy with terms: per-node counts by resources, limited term by term; then the
    # replicas taken (at most the limit), spread lowest domain first where a spread term says so.
    # Works on the policy's nodes with room only (`where`); returns (room, where, taken on where).
    positive = request > 0
    if len(nodes) and positive.any():
        block = free[nodes][:, positive] / request[positive][None, :]
        counts = np.minimum(np.floor(block.min(axis=1)), ask).astype(np.int64)
    else:
        counts = np.full(len(nodes), ask, dtype=np.int64)
    np.maximum(counts, 0, out=counts)
    live = np.flatnonzero(counts)
    where, counts = nodes[live], counts[live]
    if spread is not None:
        return _walk(
            free, request, where=where, ask=ask, limit=limit, terms=terms, already=already, spread=spread, policy=policy
        )
    rank = -where.astype(np.float64)  # node order: the first node ranks highest
    domains: tuple[snapshot.IntArray, snapshot.IntArray, snapshot.IntArray] | None = None
    # Terms the new replicas do not change (a fixed mask) first: the others pick nodes among what is left.
    for term in sorted(terms, key=lambda term: term.self_match):
        existing = term.existing.astype(np.int64)
        if already is not None and term.self_match:
            existing = existing + _per_domain(term, already)
        domain = term.domain[where]
        if term.kind == podterms.ANTI:
            counts = _anti(term, domain, counts, existing, rank)
        elif term.kind == podterms.AFFINITY:
            counts = _affinity(term, domain, counts, existing, rank)
        elif term.kind == podterms.SPREAD:
            counts, caps = _spread(term, domain, counts, existing)
            domains = (domain, existing, caps)
    fits = int(min(ask, counts.sum()))
    want = max(min(fits, limit), 0)
    if want == 0:
        return fits, where, np.zeros(len(where), dtype=np.int64)
    if domains is None:
        return fits, where, _first_fit(counts, want)
    domain, existing, caps = domains
    per_domain = _level_fill(existing, caps, want)
    return fits, where, _cap_domains(domain, counts, per_domain)


def _per_domain(term: snapshot.Term, per_node: snapshot.IntArray) -> snapshot.IntArray:
    inside = term.domain >= 0
    return np.bincount(term.domain[inside], weights=per_node[inside], minlength=len(term.existing)).astype(np.int64)


def _anti(
    term: snapshot.Term,
    domain: snapshot.IntArray,
    counts: snapshot.IntArray,
    existing: snapshot.IntArray,
    rank: np.ndarray,
) -> snapshot.IntArray:
    keyed = domain >= 0
    blocked = np.zeros(len(domain), dtype=bool)
    blocked[keyed] = existing[domain[keyed]] > 0
    out = np.where(blocked, 0, counts)
    if not term.self_match:
        return out
    # One new replica per domain at most: the best-ranked node of each domain with room keeps 1.
    candidates = np.flatnonzero(keyed & (out > 0))
    candidates = candidates[np.lexsort((-rank[candidates], domain[candidates]))]
    _, first = np.unique(domain[candidates], return_index=True)
    limited = np.where(keyed, 0, out)
    limited[candidates[first]] = 1
    return limited


def _affinity(
    term: snapshot.Term,
    domain: snapshot.IntArray,
    counts: snapshot.IntArray,
    existing: snapshot.IntArray,
    rank: np.ndarray,
) -> snapshot.IntArray:
    keyed = domain >= 0
    if existing.sum() > 0:
        allowed = np.zeros(len(domain), dtype=bool)
        allowed[keyed] = existing[domain[keyed]] > 0
        return np.where(allowed, counts, 0)
    if not term.self_match:
        return np.zeros_like(counts)
    # The first replica goes anywhere the key exists; the rest follow it into its domain.
    candidates = np.flatnonzero(keyed & (counts > 0))
    if len(candidates) == 0:
        return np.zeros_like(counts)
    first = candidates[int(np.argmax(rank[candidates]))]
    return np.where(keyed & (domain == domain[first]), counts, 0)


def _spread(
    term: snapshot.Term, domain: snapshot.IntArray, counts: snapshot.IntArray, existing: snapshot.IntArray
) -> tuple[snapshot.IntArray, snapshot.IntArray]:
    keyed = domain >= 0
    counts = np.where(keyed, counts, 0)
    domains = len(existing)
    if domains == 0:
        return np.zeros_like(counts), np.zeros(0, dtype=np.int64)
    room = np.bincount(domain[keyed], weights=counts[keyed], minlength=domains).astype(np.int64)
    skew = max(term.max_skew, 1)
    if not term.self_match:
        # The new replicas do not change the counts: a domain is open or closed for all of them.
        floor = 0 if domains < term.min_domains else int(existing.min())
        caps = np.where(existing - floor <= skew, room, 0)
    else:
        ceiling = existing + room
        floor = 0 if domains < term.min_domains else int(ceiling.min())
        caps = np.maximum(np.minimum(ceiling, floor + skew) - existing, 0)
    limited = _cap_domains(domain, counts, caps)
    return limited, caps


def _cap_domains(domain: snapshot.IntArray, counts: snapshot.IntArray, caps: snapshot.IntArray) -> snapshot.IntArray:
    # Per-node counts limited so each domain holds at most caps[d] in all, first nodes first.
    keyed = np.flatnonzero(domain >= 0)
    out = np.zeros_like(counts)
    if len(keyed) == 0:
        return out
    order = keyed[np.argsort(domain[keyed], kind="stable")]
    values = counts[order]
    groups = domain[order]
    cumulative = np.cumsum(values)
    starts = np.r_[0, np.flatnonzero(np.diff(groups)) + 1]
    before = np.repeat(cumulative[starts] - values[starts], np.diff(np.r_[starts, len(order)]))
    used_before = cumulative - values - before
    out[order] = np.clip(caps[groups] - used_before, 0, values)
    return out


def _level_fill(existing: snapshot.IntArray, caps: snapshot.IntArray, want: int) -> snapshot.IntArray:
    # `want` replicas over domains, lowest count first, each within its cap; ties in domain order.
    low, high = int(existing.min(initial=0)), int((existing + caps).max(initial=0))
    while low < high:  # the highest level whose fill does not exceed `want`
        level = (low + high + 1) // 2
        if int(np.clip(level - existing, 0, caps).sum()) <= want:
            low = level
        else:
            high = level - 1
    fill = np.clip(low - existing, 0, caps)
    rest = want - int(fill.sum())
    if rest > 0:  # fewer than one more level: the domains at the level take one each, in order
        open_ = np.flatnonzero((fill < caps) & (existing + fill <= low))
        fill[open_[:rest]] += 1
    return fill


def _first_fit(counts: snapshot.IntArray, want: int) -> snapshot.IntArray:
    # `want` replicas over nodes holding up to `counts`, first fit in node order.
    cumulative = np.cumsum(counts)
    return np.clip(want - (cumulative - counts), 0, counts).astype(np.int64)


def _walk(
    free: snapshot.FloatArray,
    request: snapshot.FloatArray,
    *,
    where: snapshot.IntArray,
    ask: int,
    limit: int,
    terms: list[snapshot.Term],
    already: snapshot.IntArray | None,
    spread: Spreading,
    policy: int,
) -> tuple[int, snapshot.IntArray, snapshot.IntArray]:
    # The replicas one by one as the default profile places them (``core.scoring``): the room is how
    # many landed before no node passed, the first `limit` of them are taken.
    nodes = free.shape[0]
    cols = list(spread.columns[:2])
    capacity = np.zeros((len(where), 2))
    used = np.zeros((len(where), 2))
    scored_request = np.zeros(2)
    for i, column in enumerate(cols):
        capacity[:, i] = spread.capacity[where, column]
        used[:, i] = capacity[:, i] - free[where, column]
        scored_request[i] = request[column]
    scoring_ = spread.scoring
    zone_all = np.full(nodes, -1, dtype=np.int64) if scoring_ is None else scoring_.zone
    zones = int(zone_all.max(initial=-1)) + 1
    own_per_node = np.zeros(nodes, dtype=np.int64)
    own = spread.own.get(policy)
    if own is not None:
        np.add.at(own_per_node, own[0], own[1])
    if already is not None:
        own_per_node += already
    keyed = zone_all >= 0
    zone_counts = np.bincount(zone_all[keyed], weights=own_per_node[keyed], minlength=zones).astype(np.int64)
    if scoring_ is not None:
        default_spread = bool(scoring_.default_spread[policy])
    else:
        default_spread = not any(term.kind == podterms.SPREAD for term in terms)
    candidates = scoring.Candidates(
        free=free[where],
        capacity=capacity,
        used=used,
        scored_request=scored_request,
        zone=zone_all[where],
        zone_counts=zone_counts,
        node_counts=own_per_node[where],
        default_spread=default_spread,
    )
    paired = []
    for term in terms:
        existing = term.existing.astype(np.int64)
        if already is not None and term.self_match:
            existing = existing + _per_domain(term, already)
        paired.append((dataclasses.replace(term, domain=term.domain[where]), existing))
    placed = scoring.walk(candidates, request, ask=ask, terms=paired)
    take = np.bincount(placed[: max(limit, 0)], minlength=len(where)).astype(np.int64)
    return len(placed), where, take
