"""kube-scheduler's default profile picking nodes for one policy's new replicas, one replica at a time.

Why: which node a replica lands on decides what room is left for the next replica and the next
policy. First fit in node order (``core.placement``) and a spreading scheduler disagree by about a
pod per node per shape; a score threshold on LeastAllocated alone (``topology.Spreading.scores``)
still picks other nodes than kube-scheduler, which adds BalancedAllocation and the system default
topology spread to the total. ``walk`` places replicas as the default profile does, replica by
replica, with the arithmetic of kube's plugins (``pkg/scheduler/framework/plugins``), vectorised
over the candidate nodes:

- Filters: the resources fit (``request <= free`` for each requested resource, the pods column
  included); the policy's required terms (``snapshot.Term``), with its own replicas counted as they
  land: anti-affinity closes a domain once it holds one, a spread constraint admits a domain while
  ``count + 1 - min <= maxSkew``, affinity without matching pods follows the first replica.
- Score (higher wins, the first in node order on ties, where kube picks one of the ties at random):
  ``LeastAllocated + BalancedAllocation + 2 * PodTopologySpread``. LeastAllocated is the mean over
  cpu and memory of ``(allocatable - requested) * 100 // allocatable`` (integers); BalancedAllocation
  ``int((1 - |f_cpu - f_mem| / 2) * 100)`` with ``f = min(requested / allocatable, 1)``; both with
  the replica counted in. PodTopologySpread scores only a template without spread constraints
  (the system defaults, ScheduleAnyway: zone maxSkew 5, hostname maxSkew 3, selected by the
  template's own labels, so its live pods of this revision count): per feasible node
  ``zone_count * log(zones + 2) + 4 + node_count * log(feasible + 2) + 2``, rounded half up, then
  normalised as ``(max + min - s) * 100 // max`` over the feasible nodes (100 everywhere when max is 0).
- Left out, being the same for every node in the usual case: TaintToleration (PreferNoSchedule
  taints), NodeAffinity and InterPodAffinity scores (preferred terms), ImageLocality. Not modelled:
  kube's 100m / 200 MiB LeastAllocated defaults for containers without requests (requests are used
  as given), ScheduleAnyway constraints of the template's own (scored as none), and sampling of
  ``percentageOfNodesToScore`` on clusters over 100 nodes (the walk scores every feasible node).

The total needs every feasible node's spread score at each step (the normalisation reads the
extremes), so each replica costs a handful of numpy calls over the candidate nodes; the resource
scores change only on the node a replica took and are kept up to date there in plain Python.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from burstscaler.core import podterms, snapshot

ZONE_SKEW_PART = 5 - 1  # the system default zone constraint's maxSkew - 1, added to each node's raw score
HOST_SKEW_PART = 3 - 1  # the same for the hostname constraint
SPREAD_WEIGHT = 2  # PodTopologySpread's weight in the default profile (LeastAllocated and Balanced weigh 1)


@dataclasses.dataclass(frozen=True)
class Candidates:
    """One policy's candidate nodes (the ``where`` rows of the room) and what the walk scores them with."""

    free: snapshot.FloatArray  # [k, R] room now
    capacity: snapshot.FloatArray  # [k, 2] allocatable cpu and memory (0 where the node has no such column)
    used: snapshot.FloatArray  # [k, 2] requested cpu and memory (allocatable minus room)
    scored_request: snapshot.FloatArray  # [2] one replica's cpu and memory
    zone: snapshot.IntArray  # [k] zone of each candidate, -1 without the label
    zone_counts: snapshot.IntArray  # [Z] the policy's live pods per zone (all nodes, not only candidates)
    node_counts: snapshot.IntArray  # [k] the policy's live pods on each candidate
    default_spread: bool  # the system default spread constraints score this template


@dataclasses.dataclass
class _TermState:
    # One required term over the candidates: the domain of each, the matching pods per domain.
    kind: str
    self_match: bool
    domain: snapshot.IntArray  # [k]
    counts: snapshot.IntArray  # [D], grows as own replicas land (self_match)
    max_skew: int
    min_domains: int


def walk(
    candidates: Candidates,
    request: snapshot.FloatArray,
    *,
    ask: int,
    terms: list[tuple[snapshot.Term, snapshot.IntArray]],
) -> snapshot.IntArray:
    """Where kube-scheduler puts up to ``ask`` replicas of ``request``, in order: candidate positions.

    ``terms`` pairs each of the policy's required terms with its matching pods per domain (the
    term's existing ones plus this tick's earlier replicas of the policy where they match). Stops
    when no candidate passes the filters. The first ``n`` positions are where ``n`` replicas go.
    """
    free = np.array(candidates.free, dtype=np.float64)
    k = free.shape[0]
    if k == 0 or ask <= 0:
        return np.zeros(0, dtype=np.int64)
    positive = np.flatnonzero(request > 0)
    needs = [(int(r), float(request[r])) for r in positive]
    fits = np.all(free[:, positive] >= request[positive][None, :], axis=1) if len(positive) else np.ones(k, bool)
    allowed = np.ones(k, dtype=bool)
    dynamic: list[_TermState] = []
    for term, counts in terms:
        domain = term.domain
        keyed = domain >= 0
        state = _TermState(
            kind=term.kind,
            self_match=term.self_match,
            domain=domain,
            counts=np.array(counts, dtype=np.int64),
            max_skew=max(term.max_skew, 1),
            min_domains=term.min_domains,
        )
        if term.kind == podterms.ANTI:
            # A node without the key is not limited; a domain holding a matching pod is closed.
            allowed &= ~(keyed & (state.counts[np.maximum(domain, 0)] > 0))
            if term.self_match:
                dynamic.append(state)
        elif term.kind == podterms.AFFINITY:
            if state.counts.sum() > 0:
                allowed &= keyed & (state.counts[np.maximum(domain, 0)] > 0)
            elif term.self_match:
                allowed &= keyed
                dynamic.append(state)  # the first replica opens its domain, and only it
            else:
                allowed[:] = False
        elif term.kind == podterms.SPREAD:
            allowed &= keyed
            if term.self_match:
                dynamic.append(state)
            elif len(state.counts):
                floor = 0 if len(state.counts) < state.min_domains else int(state.counts.min())
                allowed &= keyed & (state.counts[np.maximum(domain, 0)] - floor <= state.max_skew)
    resources = _ResourceScores(candidates)
    spread = _SpreadScore(candidates) if candidates.default_spread else None
    chosen_of = None  # positions of the contenders among the candidates, when only they are walked
    if not dynamic and ask < k:
        keep, excluded = _contenders(fits & allowed, resources.total, candidates, ask=ask, by_zone=spread is not None)
        if len(keep) < k:
            candidates = _subset(candidates, keep)
            free, fits, allowed, chosen_of = free[keep], fits[keep], allowed[keep], keep
            resources.keep(keep)
            spread = _SpreadScore(candidates, excluded=excluded) if spread is not None else None
    spreads = [state for state in dynamic if state.kind == podterms.SPREAD]
    placed: list[int] = []
    # The feasible set changes only when a node fills up or a term closes domains (or, with a spread
    # term, at every step): between such changes the step works on the same `index` and its rows.
    index = np.zeros(0, dtype=np.int64)
    stale = True
    for _ in range(ask):
        if stale or spreads:
            ok = fits & allowed
            for state in spreads:
                ok &= _spread_open(state)
            index = np.flatnonzero(ok)
            if len(index) == 0:
                break
            totals = resources.total[index]
            if spread is not None:
                spread.select(index)
            stale = False
        if len(index) == 1:
            at = 0  # one feasible node: kube skips scoring
        elif spread is None:
            at = int(np.argmax(totals))
        else:
            at = int(np.argmax(totals + SPREAD_WEIGHT * spread.normalised()))
        chosen = int(index[at])
        placed.append(chosen)
        row = free[chosen]
        for r, need in needs:
            row[r] -= need
        if not all(row[r] >= need for r, need in needs):
            fits[chosen] = False
            stale = True
        resources.took(chosen)
        totals[at] = resources.total[chosen]
        if spread is not None:
            spread.took(chosen, at)
        for state in dynamic:
            d = int(state.domain[chosen])
            if d < 0:
                continue
            state.counts[d] += 1
            if state.kind == podterms.ANTI:
                allowed &= state.domain != d
                stale = True
            elif state.kind == podterms.AFFINITY and int(state.counts.sum()) == 1:
                allowed &= state.domain == d
                stale = True
    positions = np.array(placed, dtype=np.int64)
    return positions if chosen_of is None else chosen_of[positions]


def _contenders(
    ok: snapshot.BoolArray, total: np.ndarray, candidates: Candidates, *, ask: int, by_zone: bool
) -> tuple[snapshot.IntArray, np.ndarray | None]:
    # With no term that changes as replicas land, a node's resource score changes only when it takes a
    # replica, and the spread score depends only on its zone and its count of the policy's pods. So
    # among the nodes holding none of them, only the `ask` best of each zone (by resource score, then
    # node order) can ever win a step: the others are left out of the walk, counted per zone (they
    # still weigh in the spread's normalisation and its weights). Without the spread score, the `ask`
    # best overall. Returns the contenders' positions and, by zone (the last entry: no zone), how many
    # feasible nodes were left out.
    index = np.flatnonzero(ok)
    if not by_zone:
        return _best(index, total, ask), None
    zones = len(candidates.zone_counts)
    excluded = np.zeros(zones + 1, dtype=np.int64)
    own = candidates.node_counts[index] > 0
    kept = [index[own]]
    fresh = index[~own]
    zone_of = np.where(candidates.zone[fresh] >= 0, candidates.zone[fresh], zones)
    values = [zones] if zones == 0 else np.unique(zone_of).tolist()
    for value in values:
        members = fresh if zones == 0 else fresh[zone_of == value]
        best = _best(members, total, ask)
        excluded[value] = len(members) - len(best)
        kept.append(best)
    return np.sort(np.concatenate(kept)), excluded


def _best(members: snapshot.IntArray, total: np.ndarray, ask: int) -> snapshot.IntArray:
    # The `ask` members with the highest total, ties to the first in node order; in node order.
    if len(members) <= ask:
        return members
    key = (int(total.max(initial=0)) + 1 - total[members]) * (int(members.max()) + 1) + members
    return np.sort(members[np.argpartition(key, ask - 1)[:ask]])


def _subset(candidates: Candidates, keep: snapshot.IntArray) -> Candidates:
    return dataclasses.replace(
        candidates,
        free=candidates.free[keep],
        capacity=candidates.capacity[keep],
        used=candidates.used[keep],
        zone=candidates.zone[keep],
        node_counts=candidates.node_counts[keep],
    )


def _spread_open(state: _TermState) -> snapshot.BoolArray:
    # DoNotSchedule: a domain takes one more while count + 1 - min <= maxSkew (min 0 below minDomains).
    counts = state.counts
    if len(counts) == 0:
        return np.zeros(len(state.domain), dtype=bool)
    floor = 0 if len(counts) < state.min_domains else int(counts.min())
    open_domains = counts + 1 - floor <= state.max_skew
    return (state.domain >= 0) & open_domains[np.maximum(state.domain, 0)]


class _ResourceScores:
    """LeastAllocated + BalancedAllocation of one more replica on each candidate, updated where one lands."""

    def __init__(self, candidates: Candidates) -> None:
        self.capacity = np.rint(candidates.capacity).astype(np.int64)  # [k, 2]
        self.used = np.rint(candidates.used).astype(np.int64)  # [k, 2]
        self.request = [round(float(value)) for value in candidates.scored_request]
        self.step = np.array(self.request, dtype=np.int64)
        self.total = self._scores(self.capacity, self.used + self.step[None, :])

    @staticmethod
    def _scores(capacity: np.ndarray, wanted: np.ndarray) -> np.ndarray:
        counted = capacity > 0
        safe = np.maximum(capacity, 1)
        least_each = np.where(wanted > capacity, 0, (capacity - wanted) * 100 // safe)
        weights = counted.sum(axis=1)
        least = np.where(weights > 0, np.where(counted, least_each, 0).sum(axis=1) // np.maximum(weights, 1), 0)
        fraction = np.where(counted, np.minimum(wanted / safe, 1.0), 0.0)
        both = counted[:, 0] & counted[:, 1]
        deviation = np.where(both, np.abs(fraction[:, 0] - fraction[:, 1]) / 2, 0.0)
        balanced = ((1 - deviation) * 100).astype(np.int64)
        return np.asarray(least + balanced, dtype=np.int64)

    def keep(self, rows: snapshot.IntArray) -> None:
        """Only candidates ``rows`` are walked from now on (positions renumbered in that order)."""
        self.capacity, self.used, self.total = self.capacity[rows], self.used[rows], self.total[rows]

    def took(self, n: int) -> None:
        """A replica landed on candidate ``n``: its scores for the next one, in plain Python."""
        self.used[n] += self.step
        capacity = self.capacity[n].tolist()
        wanted = [used + step for used, step in zip(self.used[n].tolist(), self.request, strict=True)]
        total = weights = 0
        fractions = []
        for have, want in zip(capacity, wanted, strict=True):
            if have <= 0:
                continue
            total += 0 if want > have else (have - want) * 100 // have
            weights += 1
            fractions.append(min(want / have, 1.0))
        least = total // weights if weights else 0
        deviation = abs(fractions[0] - fractions[1]) / 2 if len(fractions) == 2 else 0.0
        self.total[n] = least + int((1 - deviation) * 100)


class _SpreadScore:
    """The system default spread score of the feasible candidates, as the policy's pods land.

    ``select`` fixes the feasible candidates (their rows are kept), ``normalised`` scores them, and
    ``took`` counts a landed replica on its node and in its zone.
    """

    def __init__(self, candidates: Candidates, *, excluded: np.ndarray | None = None) -> None:
        self.zone = candidates.zone
        self.keyed = candidates.zone >= 0
        self.zone_at = np.maximum(candidates.zone, 0)
        self.zone_counts = np.array(candidates.zone_counts, dtype=np.float64)
        self.node_counts = np.array(candidates.node_counts, dtype=np.float64)
        self.zones = len(candidates.zone_counts)
        # Feasible nodes left out of the walk (``_contenders``), per zone and (last) without one: they
        # hold none of the policy's pods and never take a replica, so their raw score is their zone's.
        self.excluded = np.zeros(self.zones + 1, dtype=np.int64) if excluded is None else excluded
        self.out_zones = np.flatnonzero(self.excluded[: self.zones])
        self.out_unzoned = bool(self.excluded[self.zones])

    def select(self, index: snapshot.IntArray) -> None:
        """The feasible candidates from now on: their zones, counts and the weights their number gives."""
        zone = self.zone[index]
        keyed = zone >= 0
        self.all_keyed = bool(keyed.all()) and not self.out_unzoned
        self.keyed_now = keyed
        self.zone_now = self.zone_at[index]
        self.counts_now = self.node_counts[index]
        if self.zones:
            present = (np.bincount(zone[keyed], minlength=self.zones) > 0) | (self.excluded[: self.zones] > 0)
            domains = int(present.sum()) + (0 if self.all_keyed else 1)  # a missing label reads as the value ""
            self.zone_weight = math.log(domains + 2)
        self.host_weight = math.log(len(index) + int(self.excluded.sum()) + 2)

    def normalised(self) -> np.ndarray:
        """PodTopologySpread's normalised score (0..100) of the selected candidates, in their order."""
        if self.zones:
            zone_part = self.zone_counts[self.zone_now] * self.zone_weight
            zone_part += ZONE_SKEW_PART
            raw = zone_part if self.all_keyed else np.where(self.keyed_now, zone_part, 0.0)
        else:
            raw = np.zeros(len(self.counts_now))
        host_part = self.counts_now * self.host_weight
        host_part += HOST_SKEW_PART
        raw = raw + host_part
        rounded = raw.astype(np.int64)
        rounded += (raw - rounded) >= 0.5  # Go's math.Round of a non-negative score
        low, high = int(rounded.min()), int(rounded.max())
        if len(self.out_zones) or self.out_unzoned:
            # The nodes left out hold no pod of the policy: host part 0 * weight + 2, their zone's part.
            host = 0.0 * self.host_weight
            host += HOST_SKEW_PART
            out = [0.0 + host] if self.out_unzoned else []
            if self.zones:
                for z in self.out_zones.tolist():
                    part = self.zone_counts[z] * self.zone_weight
                    part += ZONE_SKEW_PART
                    out.append(float(part) + host)
            for value in out:
                whole = int(value) + (1 if value - int(value) >= 0.5 else 0)
                low, high = min(low, whole), max(high, whole)
        if high == 0:
            return np.full(len(rounded), 100, dtype=np.int64)
        rounded *= -1
        rounded += high + low
        rounded *= 100
        rounded //= high
        return rounded

    def took(self, n: int, at: int) -> None:
        """A replica of the policy landed on candidate ``n`` (position ``at`` of the selection)."""
        self.node_counts[n] += 1
        self.counts_now[at] += 1
        if self.keyed[n]:
            self.zone_counts[self.zone_at[n]] += 1
