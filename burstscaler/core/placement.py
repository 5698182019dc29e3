"""Vectorized fit and shared-capacity allocation on ECS nodes.

Fit follows kube-scheduler's NodeResourcesFit filter: a pod fits a node when, for every resource it
requests a non-zero amount of, ``request <= free`` (an exact fit passes), and the node's pod limit
has room for one more pod. A resource the node lacks has capacity 0. So the number of replicas of
policy p that fit node n is ``min over r with request[p, r] > 0 of floor(free[n, r] / request[p, r])``,
where the ``pods`` column requests 1 per pod and therefore always bounds the count.

Allocation shares the same free room among competing policies: higher priority first, then the
caller's stable tie-break, each policy's replicas going first-fit in node order (fill the first
eligible node with room, then the next), deducting what it takes before the next policy looks. The
loop over policies is inherent (each one sees what the previous ones left); every step inside it
is vectorized over nodes, and policies asking for nothing are skipped.
"""

from __future__ import annotations

import dataclasses

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
    requests = np.asarray(requests, dtype=np.float64)
    asks = np.asarray(asks, dtype=np.int64)
    limits = asks if limits is None else np.asarray(limits, dtype=np.int64)
    # Resource-major, contiguous rows: every step below reads whole node vectors of one resource.
    room_left = np.ascontiguousarray(np.maximum(np.asarray(free, dtype=np.float64), 0.0).T)
    room = np.zeros(len(asks), dtype=np.int64)
    granted = np.zeros(len(asks), dtype=np.int64)
    nodes = room_left.shape[1]
    node_index_cache: dict[bytes, snapshot.IntArray] = {}
    for p in np.asarray(order, dtype=np.int64):
        ask = int(asks[p])
        if ask <= 0 or nodes == 0:
            continue
        columns = np.flatnonzero(requests[p] > 0)
        if len(columns) == 0:
            # Requests nothing at all (not even a pod slot, so not a real pod): unbounded room.
            room[p] = ask
            granted[p] = min(ask, max(int(limits[p]), 0))
            continue
        eligible_nodes = _eligible_nodes(eligible[p], node_index_cache)
        if len(eligible_nodes) == 0:
            continue
        # Scan eligible nodes in growing windows and stop once the ask is covered: first fit only
        # ever touches a prefix, and small asks (the common case) never read the whole cluster.
        pieces: list[tuple[snapshot.IntArray, snapshot.FloatArray, snapshot.FloatArray]] = []
        start, size, total = 0, _FIRST_WINDOW, 0.0
        while start < len(eligible_nodes) and total < ask:
            window = eligible_nodes[start : start + size]
            counts = _counts(room_left, requests[p], columns, window)
            cumulative = np.cumsum(counts) + total
            pieces.append((window, counts, cumulative))
            total = float(cumulative[-1])
            start, size = start + size, size * 4
        room[p] = min(ask, int(total))
        take = min(int(room[p]), int(limits[p]))
        if take <= 0:
            continue
        granted[p] = take
        for window, counts, cumulative in pieces:
            # First fit in node order: whole nodes up to the one where the running total reaches `take`.
            last = int(np.searchsorted(cumulative, take))
            end = min(last + 1, len(window))
            per_node = counts[:end].copy()
            if last < len(window):
                per_node[last] -= cumulative[last] - take
            room_left[:, window[:end]] -= requests[p][:, None] * per_node[None, :]
            if last < len(window):
                break
    return Allocation(room=room, granted=granted, free_after=np.ascontiguousarray(room_left.T))


def priority_order(*, priority: snapshot.IntArray, names: tuple[str, ...]) -> snapshot.IntArray:
    """Indices by priority, highest first, ties broken by ``names`` (namespace/name) ascending."""
    name_rank = np.empty(len(names), dtype=np.int64)
    name_rank[np.array(sorted(range(len(names)), key=names.__getitem__), dtype=np.int64)] = np.arange(len(names))
    return np.lexsort((name_rank, -np.asarray(priority, dtype=np.int64))).astype(np.int64)


def _eligible_nodes(row: snapshot.BoolArray, cache: dict[bytes, snapshot.IntArray]) -> snapshot.IntArray:
    # Policies usually share a handful of eligibility rows (node pools); index each row once.
    key = np.packbits(row).tobytes()
    nodes = cache.get(key)
    if nodes is None:
        nodes = np.flatnonzero(row).astype(np.int64)
        cache[key] = nodes
    return nodes


def _counts(
    room_left: snapshot.FloatArray,
    request: snapshot.FloatArray,
    columns: snapshot.IntArray,
    nodes: snapshot.IntArray,
) -> snapshot.FloatArray:
    # One gather and a few whole-block operations: per-call overhead, not arithmetic, dominates here.
    block = room_left[columns[:, None], nodes[None, :]]
    counts: snapshot.FloatArray = np.floor(block / request[columns, None]).min(axis=0)
    return np.maximum(counts, 0.0, out=counts)
