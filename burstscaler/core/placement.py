"""Vectorized fit and shared-capacity allocation on ECS nodes.

Fit follows kube-scheduler's NodeResourcesFit filter: a pod fits a node when, for every resource it
requests a non-zero amount of, ``request <= free`` (an exact fit passes), and the node's pod limit
has room for one more pod. A resource the node lacks has capacity 0. So the number of replicas of
policy p that fit node n is ``min over r with request[p, r] > 0 of floor(free[n, r] / request[p, r])``,
where the ``pods`` column requests 1 per pod and therefore always bounds the count.

Allocation shares the same free room among competing policies: higher priority first, then the
caller's stable tie-break, each policy's replicas going first-fit in node order (fill the first
eligible node with room, then the next), deducting what it takes before the next policy looks. The
loop over policies is inherent (each one sees what the previous ones left), so the work is arranged
around it (see ``_FirstFit``): nodes where no policy fits any more are skipped, the counts of many
policies are computed in one numpy call, and the few nodes a policy touches are deducted in plain
Python, with the same floating-point operations. Policies asking for nothing are skipped.
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np

from burstscaler.core import snapshot


@dataclasses.dataclass(frozen=True)
class Allocation:
    """What ``allocate`` gave each policy, and the room left afterwards."""

    room: snapshot.IntArray  # [P] replicas that fitted at the policy's turn, at most its ask
    granted: snapshot.IntArray  # [P] replicas taken, at most its limit (capacity deducted)
    free_after: snapshot.FloatArray  # [N, R]


_FIRST_WINDOW = 256  # nodes read first per policy; each further window is 4x larger


def fit(*, free: snapshot.FloatArray, requests: snapshot.FloatArray, eligible: snapshot.BoolArray) -> snapshot.IntArray:
    """Replicas of each policy that fit each node alone, all pairs at once: ``[P, N]`` int64.

    ``free`` is ``[N, R]``, ``requests`` ``[P, R]`` (the pods column 1 per replica) and ``eligible``
    ``[P, N]``. Zero requests are not checked; a row requesting nothing at all fits without bound,
    reported as ``snapshot.UNLIMITED``. Meant for small inputs and tests: memory is ``P x N x R``;
    ``allocate`` is the scalable path.
    """
    free = np.maximum(np.asarray(free, dtype=np.float64), 0.0)
    requests = np.asarray(requests, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_resource = np.floor(free[None, :, :] / requests[:, None, :])
    per_resource = np.where(requests[:, None, :] > 0, per_resource, np.inf)
    counts = np.min(per_resource, axis=2, initial=np.inf)
    counts = np.minimum(counts, snapshot.UNLIMITED)
    return np.where(eligible, counts, 0).astype(np.int64)


def insufficient(*, free: snapshot.FloatArray, request: snapshot.FloatArray) -> snapshot.BoolArray:
    """Which resources stop one more pod with ``request`` from fitting: ``[..., R]`` booleans.

    Same rule as ``fit`` (strict ``request > free`` only for non-zero requests), in the shape the
    scheduler reports it: one flag per resource, every failing resource flagged (the pods column too).
    """
    free = np.asarray(free, dtype=np.float64)
    request = np.asarray(request, dtype=np.float64)
    return np.asarray((request > 0) & (request > free), dtype=np.bool_)


@dataclasses.dataclass(frozen=True)
class Groups:
    """Policies grouped by equal eligibility rows, with the nodes each group may use.

    Policies usually share a handful of rows (node pools), so ``allocate`` reads each row once; a
    caller allocating twice on the same mask (growth, then drain-back) builds this once.
    """

    of_policy: snapshot.IntArray  # [P] group of each policy
    nodes: tuple[snapshot.IntArray, ...]  # per group: its eligible (and usable) nodes, in node order


def eligibility_groups(eligible: snapshot.BoolArray, *, usable: snapshot.BoolArray | None = None) -> Groups:
    """Group the rows of ``eligible`` ``[P, N]``; a group's nodes are its row, restricted to ``usable`` ``[N]``.

    ``allocate_grouped(groups=eligibility_groups(eligible, usable=usable), ...)`` is
    ``allocate(eligible=eligible & usable, ...)`` without building that ``[P, N]`` mask.
    """
    eligible = np.asarray(eligible, dtype=np.bool_)
    packed = np.packbits(eligible, axis=1)
    index: dict[bytes, int] = {}
    of_policy = [index.setdefault(row.tobytes(), len(index)) for row in packed]
    first: dict[int, int] = {}
    for p, g in enumerate(of_policy):
        first.setdefault(g, p)
    rows = [eligible[first[g]] for g in range(len(index))]
    if usable is not None:
        rows = [row & usable for row in rows]
    return Groups(of_policy=np.array(of_policy, dtype=np.int64), nodes=tuple(np.flatnonzero(row) for row in rows))


def allocate(
    *,
    free: snapshot.FloatArray,
    requests: snapshot.FloatArray,
    eligible: snapshot.BoolArray,
    asks: snapshot.IntArray,
    limits: snapshot.IntArray | None = None,
    order: snapshot.IntArray,
) -> Allocation:
    """Share ``free`` ``[N, R]`` among policies in ``order`` (indices, first served first).

    Policy p may take up to ``asks[p]`` replicas; ``room[p]`` is how many fitted at its turn (at most
    the ask) and ``granted[p] = min(room[p], limits[p])`` is how many it takes (``limits`` defaults
    to the asks). Only granted replicas use capacity: a policy can observe room without taking it.
    Policies absent from ``order`` get nothing. ``free`` is not modified.
    """
    return allocate_grouped(
        free=free, requests=requests, groups=eligibility_groups(eligible), asks=asks, limits=limits, order=order
    )


def allocate_grouped(
    *,
    free: snapshot.FloatArray,
    requests: snapshot.FloatArray,
    groups: Groups,
    asks: snapshot.IntArray,
    limits: snapshot.IntArray | None = None,
    order: snapshot.IntArray,
) -> Allocation:
    """``allocate`` with the eligibility rows already grouped (see ``eligibility_groups``)."""
    requests = np.asarray(requests, dtype=np.float64)
    asks = np.asarray(asks, dtype=np.int64)
    limits = asks if limits is None else np.asarray(limits, dtype=np.int64)
    free = np.asarray(free, dtype=np.float64)
    room = np.zeros(len(asks), dtype=np.int64)
    granted = np.zeros(len(asks), dtype=np.int64)
    nodes = free.shape[0]
    # Resource-major ([R, N + 1]): numpy reduces across resources fast along the first axis and slowly
    # along a short last one. One spare all-zero column at the end: the padding of short windows.
    room_left = np.zeros((free.shape[1], nodes + 1), dtype=np.float64)
    np.maximum(free.T, 0.0, out=room_left[:, :nodes])
    order = np.asarray(order, dtype=np.int64)
    if nodes > 0 and len(order) > 0:
        served = order[asks[order] > 0]
        real = (requests[served] > 0).any(axis=1)
        # Requests nothing at all (not even a pod slot, so not a real pod): unbounded room.
        nothing = served[~real]
        room[nothing] = asks[nothing]
        granted[nothing] = np.minimum(asks[nothing], np.maximum(limits[nothing], 0))
        served = served[real]
        if len(served) > 0:
            first_fit = _FirstFit(room_left, requests[served], groups, asks[served], limits[served], served)
            room[served], granted[served] = first_fit.run()
    return Allocation(room=room, granted=granted, free_after=np.ascontiguousarray(room_left[:, :nodes].T))


def priority_order(*, priority: snapshot.IntArray, names: tuple[str, ...]) -> snapshot.IntArray:
    """Indices by priority, highest first, ties broken by ``names`` (namespace/name) ascending."""
    name_rank = np.empty(len(names), dtype=np.int64)
    name_rank[np.array(sorted(range(len(names)), key=names.__getitem__), dtype=np.int64)] = np.arange(len(names))
    return np.lexsort((name_rank, -np.asarray(priority, dtype=np.int64))).astype(np.int64)


_BATCH = 16  # policies whose first windows are counted together
_OBSERVERS = 64  # the same, when no policy takes anything (nothing to walk: larger batches are cheaper)
_WINDOW = 32  # live eligible nodes counted up front for each policy of a batch
_EXTENSION = 256  # nodes of the first further window a policy reads alone; each next one is 4x larger
_FEW = 64  # replicas still to count past the shared window that the walk handles (more: numpy steps)


class _FirstFit:
    """``allocate``'s rule for policies that request something, with numpy's per-call cost paid per batch.

    The rule is first fit, policy by policy in order, deducting as it goes; what changes is the
    bookkeeping, and every count and deduction uses the same floating-point operations:
    - Dead nodes: where some resource that every served policy requests has less room than the
      smallest of those requests (``room / smallest < 1``), no served policy fits, now or later (room
      only shrinks). Windows skip them.
    - Batches: the counts of the first ``_WINDOW`` live eligible nodes of every policy of a batch are
      computed in one go, against the room at the start of the batch. Walking its window in node
      order, a policy uses a count as is unless an earlier policy of the batch took room on that
      node since: then it counts that node again from its current room. A zero count stays zero.
    - The walk deducts in plain Python, on a list copy of the room: a policy touches a few nodes,
      and a scalar step there is cheaper than a numpy call. A policy its window does not satisfy
      reads further windows alone: counted in numpy and walked when at most ``_FEW`` replicas are
      left to count, else counted from the current room and deducted with whole-window steps.
    - A negative request (taking such a replica adds room) voids "room only shrinks": then no node
      is dead, and a changed node is counted again even where it fitted nothing.
    Numpy calls avoid what is slow on small arrays: reductions along the short resource axis (the
    room is resource-major), fancy indexing (``take``), and boolean masks where indices will do.
    """

    def __init__(
        self,
        room_left: snapshot.FloatArray,
        request: snapshot.FloatArray,
        groups: Groups,
        asks: snapshot.IntArray,
        limits: snapshot.IntArray,
        served: snapshot.IntArray,
    ) -> None:
        self.room_left = room_left  # [R, N + 1], resource-major, the last column all zero; modified in place
        self.stride = room_left.shape[1]  # room of (r, n) is at r * stride + n, in `flat` and in `flat_view`
        self.flat_view = room_left.reshape(-1)  # a view: room_left is C-contiguous
        self.flat: list[float] = []  # the same room as one list, the walk's working copy (made by `run`)
        self.offsets = [r * self.stride for r in range(room_left.shape[0])]
        self.dirty: set[int] = set()  # nodes the walk changed in `flat` and not yet in `room_left`
        self.changed: set[int] = set()  # nodes changed since the batch's counts were taken
        self.gone: set[int] = set()  # changed nodes seen dead: skipped without counting again
        self.stepped: set[int] = set()  # nodes `_extend` took from in this batch: checked at its end
        self.nodes = self.stride - 1
        self.asks = asks.tolist()
        self.limits = limits.tolist()
        positive = request > 0
        self.request_t = np.ascontiguousarray(request.T)  # [R, P]
        self.positive_t = np.ascontiguousarray(positive.T)  # [R, P]
        self.divisor_t = np.ascontiguousarray(np.where(positive, request, 1.0).T)  # [R, P]
        self.shrinks = not bool((request < 0).any())
        self.dead_columns = np.flatnonzero(positive.all(axis=0)) if self.shrinks else np.empty(0, dtype=np.int64)
        self.smallest = request[:, self.dead_columns].min(axis=0)
        self.dead_pairs = [
            (self.offsets[r], smallest)
            for r, smallest in zip(self.dead_columns.tolist(), self.smallest.tolist(), strict=True)
        ]
        self._shapes(request)
        self.alive = np.ones(self.nodes + 1, dtype=bool)
        self.alive[self.nodes] = False
        if len(self.dead_columns) > 0:
            self.alive[: self.nodes] = ~self._dead(np.arange(self.nodes))
        self.group = groups.of_policy[served].tolist()
        self.group_nodes = groups.nodes
        self.lists: dict[int, snapshot.IntArray] = {}  # group -> its nodes alive at the start
        self.heads: dict[int, int] = {}  # group -> position in its list before which all are dead

    def _shapes(self, request: snapshot.FloatArray) -> None:
        # Per distinct request row, once: (offset, need) of the resources it needs (> 0), the first of
        # them apart, and of those a replica changes (!= 0). Policies share a few shapes.
        by_row: dict[tuple[float, ...], int] = {}
        self.shape_of = [by_row.setdefault(tuple(row), len(by_row)) for row in request.tolist()]
        self.firsts: list[tuple[int, float]] = []
        self.rests: list[list[tuple[int, float]]] = []
        self.takes: list[list[tuple[int, float]]] = []
        for row in by_row:
            needs = [(self.offsets[r], need) for r, need in enumerate(row) if need > 0]
            self.firsts.append(needs[0])
            self.rests.append(needs[1:])
            self.takes.append([(self.offsets[r], need) for r, need in enumerate(row) if need != 0])

    def _dead(self, index: snapshot.IntArray) -> snapshot.BoolArray:
        rows = np.take(self.room_left, index, axis=1)[self.dead_columns]
        return np.asarray((rows / self.smallest[:, None] < 1).any(axis=0), dtype=np.bool_)

    def _sync(self) -> None:
        # Write the nodes the walk changed back into `room_left`.
        if self.dirty:
            flat = self.flat
            index = [offset + n for offset in self.offsets for n in self.dirty]
            np.put(self.flat_view, index, [flat[i] for i in index])
            self.dirty.clear()

    def _end_batch(self) -> None:
        # Bring `room_left` up to date and retire the nodes found dead. A node the walk changed is dead
        # exactly when it is in `gone`: the walk checks a node when it fills it for its shape (a node
        # it does not fill still fits that shape, so is alive). `_extend`'s nodes are checked here.
        self._sync()
        if self.gone:
            self.alive[np.fromiter(self.gone, dtype=np.int64, count=len(self.gone))] = False
        if self.stepped and len(self.dead_columns) > 0:
            nodes = np.fromiter(self.stepped, dtype=np.int64, count=len(self.stepped))
            self.alive[nodes.take(np.flatnonzero(self._dead(nodes)))] = False
        self.changed.clear()
        self.gone.clear()
        self.stepped.clear()

    def run(self) -> tuple[list[int], list[int]]:
        """Serve every policy in order; returns (room, granted) per served policy."""
        count = len(self.asks)
        self.room = [0] * count
        self.granted = [0] * count  # none unless some limit is positive
        if max(self.limits) <= 0:
            for start in range(0, count, _OBSERVERS):
                self._observe(start, min(start + _OBSERVERS, count))
            return self.room, self.granted
        self.flat = self.flat_view.tolist()  # the same room as one list: the walk's working copy
        for start in range(0, count, _BATCH):
            self._batch(start, min(start + _BATCH, count))
            self._end_batch()
        return self.room, self.granted

    def _window(self, g: int) -> tuple[snapshot.IntArray, int]:
        # The first `_WINDOW` live nodes of group g, and the position in its list after them.
        nodes = self.lists.get(g)
        if nodes is None:
            nodes = self.group_nodes[g]
            nodes = nodes[self.alive.take(nodes)]
            self.lists[g] = nodes
            self.heads[g] = 0
        head, size = self.heads[g], 4 * _WINDOW
        while head < len(nodes):
            chunk = nodes[head : head + size]
            live = np.flatnonzero(self.alive.take(chunk))
            if len(live) == 0:
                head, size = head + len(chunk), size * 2
                continue
            self.heads[g] = head + int(live[0])
            if len(live) >= _WINDOW:
                return chunk.take(live[:_WINDOW]), head + int(live[_WINDOW - 1]) + 1
            return chunk.take(live), head + len(chunk)
        self.heads[g] = head
        return nodes[:0], head

    def _fits(self, nodes: snapshot.IntArray, policies: int | slice) -> snapshot.FloatArray:
        # Replicas of `policies` (one, or a slice of the served) that fit each of `nodes` by `room_left`:
        # `nodes` is [k] for one policy, [B, k] for a slice; the result has that shape.
        block = np.take(self.room_left, nodes, axis=1)  # [R, ...]
        block /= self.divisor_t[:, policies, None]
        counts = np.floor(np.minimum.reduce(block, axis=0, where=self.positive_t[:, policies, None], initial=np.inf))
        np.maximum(counts, 0.0, out=counts)
        return counts

    def _batch_windows(self, start: int, stop: int) -> tuple[snapshot.IntArray, snapshot.FloatArray, dict[int, int]]:
        # The window of each policy of the batch [B, W] (padded with the all-zero column), their counts
        # from `room_left`, and per group the position in its list after its window.
        local: dict[int, int] = {}
        rows = [local.setdefault(self.group[s], len(local)) for s in range(start, stop)]
        windows = np.full((len(local), _WINDOW), self.nodes, dtype=np.int64)
        resume: dict[int, int] = {}
        for g, row in local.items():
            window, resume[g] = self._window(g)
            windows[row, : len(window)] = window
        index = windows.take(rows, axis=0)  # [B, W]
        return index, self._fits(index, slice(start, stop)), resume

    def _observe(self, start: int, stop: int) -> None:
        # No policy takes anything (every limit <= 0), so the room never changes: a policy's room is
        # its window's counts summed, and a policy the window does not cover reads further alone.
        _, counts, resume = self._batch_windows(start, stop)
        for s, total in zip(range(start, stop), counts.sum(axis=1).tolist(), strict=True):
            ask = self.asks[s]
            counted = int(total)
            if counted < ask:
                counted = self._further(s, resume[self.group[s]], counted, 0)
            self.room[s] = min(ask, counted)

    def _batch(self, start: int, stop: int) -> None:
        index, counts, resume = self._batch_windows(start, stop)
        counts = counts.reshape(-1)
        if self.shrinks:
            # A zero count stays zero: hand each policy only its nodes that fitted something.
            found = np.flatnonzero(counts)
            nodes, fits = index.reshape(-1).take(found).tolist(), counts.take(found).tolist()
            bounds = np.searchsorted(found, np.arange(0, (stop - start + 1) * _WINDOW, _WINDOW)).tolist()
            windows_of = [(nodes[lo:hi], fits[lo:hi]) for lo, hi in itertools.pairwise(bounds)]
        else:
            windows_of = list(zip(index.tolist(), counts.reshape(-1, _WINDOW).tolist(), strict=True))
        asks, limits, group, walk = self.asks, self.limits, self.group, self._walk
        for s, (window_nodes, window_counts) in zip(range(start, stop), windows_of, strict=True):
            ask, limit = asks[s], limits[s]
            total, take = walk(s, window_nodes, window_counts, 0, ask if ask < limit else limit)
            if total < ask:
                total = self._further(s, resume[group[s]], total, take)
            self.room[s] = ask if ask < total else total
            self.granted[s] = max(min(ask, total, limit), 0)

    def _further(self, s: int, position: int, total: int, take: int) -> int:
        # Past the shared window: count further nodes for this policy alone. A few replicas to go: walk
        # them; many: whole-window numpy steps. Returns the total counted.
        ask = self.asks[s]
        nodes = self.lists[self.group[s]]
        size = _EXTENSION
        while total < ask and position < len(nodes):
            further = nodes[position : position + size]
            if ask - total <= _FEW:
                total, take = self._walk(s, *self._count_further(s, further), total, take)
            else:
                total, take = self._extend(s, further, total, take)
            position, size = position + size, size * 4
        return total

    def _count_further(self, s: int, further: snapshot.IntArray) -> tuple[list[int], list[float]]:
        # Counts of policy s on `further` from `room_left`, which lags `flat` only on dirty nodes, all
        # of them changed: the walk counts those again, as it does the batch's.
        counts = self._fits(further, s)
        if not self.shrinks:
            return further.tolist(), counts.tolist()
        found = np.flatnonzero(counts)
        return further.take(found).tolist(), counts.take(found).tolist()

    def _extend(self, s: int, further: snapshot.IntArray, total: int, take: int) -> tuple[int, int]:
        # Counts from the current room (synced first), cumulative, then one deduction for the window.
        self._sync()
        counts = self._fits(further, s)
        cumulative = np.cumsum(counts)
        total += int(min(cumulative[-1], self.asks[s] - total))
        if take <= 0:
            return total, take
        last = int(np.searchsorted(cumulative, take))
        end = min(last + 1, len(further))
        per_node = counts[:end]
        if last < len(further):
            per_node[last] -= cumulative[last] - take
        used = np.flatnonzero(per_node)
        taken = further.take(used)
        self.room_left[:, taken] -= self.request_t[:, s, None] * per_node.take(used)[None, :]
        index = taken.tolist()
        flat = self.flat
        for offset, row in zip(self.offsets, self.room_left.take(taken, axis=1).tolist(), strict=True):
            for n, value in zip(index, row, strict=True):
                flat[offset + n] = value
        self.changed.update(index)
        self.stepped.update(index)
        return total, take - min(take, int(cumulative[-1]))

    def _walk(self, s: int, window: list[int], counts: list[float], total: int, take: int) -> tuple[int, int]:
        # First fit along `window`: count until the ask is covered, deduct the first `take` replicas.
        # Plain Python on purpose (see the class docstring); the arithmetic is numpy's, operation for
        # operation (a column requesting 0 is left alone: subtracting 0 * k changes no value).
        ask = self.asks[s]
        shape = self.shape_of[s]
        first, first_need = self.firsts[shape]
        rest, takes = self.rests[shape], self.takes[shape]
        flat, changed, dirty, gone = self.flat, self.changed, self.dirty, self.gone
        dead_pairs = self.dead_pairs if self.shrinks else []
        floor = math.floor
        for n, count in zip(window, counts, strict=False):
            if n in changed:
                if n in gone:
                    continue
                fits = floor(flat[first + n] / first_need)
                for offset, need in rest:
                    here = floor(flat[offset + n] / need)
                    if here < fits:
                        fits = here
            elif count == 0:
                continue
            else:
                fits = int(count)
            if fits <= 0:
                continue
            total += fits
            if take > 0:
                placed = fits if fits < take else take
                for offset, need in takes:
                    flat[offset + n] -= need * placed
                dirty.add(n)
                changed.add(n)
                take -= placed
                if placed == fits:
                    # Full for this shape: if full for every shape, later policies of the batch skip it.
                    for offset, smallest in dead_pairs:
                        if flat[offset + n] / smallest < 1:
                            gone.add(n)
                            break
            if total >= ask:
                break
        return total, take
