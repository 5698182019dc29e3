"""The ReplicaSet controller's scale-in order, pure: which pods go first.

kube-controller-manager's ``ActivePodsWithRanks`` (``pkg/controller/controller_utils.go``), with
``PodDeletionCost`` and ``LogarithmicScaleDown`` on (their defaults since 1.22). A pod sorts
earlier (is deleted sooner) when, comparing in this order:

1. it is unassigned (no ``spec.nodeName``) and the other is assigned;
2. its phase ranks lower: Pending < Unknown < Running;
3. it is not Ready and the other is;
4. its ``controller.kubernetes.io/pod-deletion-cost`` is lower (default 0);
5. more active pods of the same owner family share its node (upstream's "doubled up" rank);
6. both Ready: it has been Ready for less time, compared by **log2 buckets** of the Ready
   duration; two different durations in the same bucket are ordered by uid (upstream's random
   tie-break), and the later criteria are then not consulted, as upstream;
7. its highest container restart count is higher;
8. it is newer (later creation).

Ready durations come from the actor's own clock (when it made the pod Ready), not the API's
second-granular timestamps, so tests drive them with a ManualClock. Ties after all of them are
broken by the actor's creation order (newer first): the API's creationTimestamp has whole seconds.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import attrs

DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
_PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}


@attrs.frozen(kw_only=True)
class Candidate:
    """What the ranking reads of one pod."""

    name: str
    uid: str
    assigned: bool
    phase: str
    ready: bool
    cost: int = 0
    colocated: int = 0  # active pods of the same family on its node (itself included)
    ready_since: float | None = None  # actor clock
    restarts: int = 0
    created: float = 0.0  # creationTimestamp, epoch seconds
    order: int = 0  # the actor's creation counter (tie-break)


def victims(pods: Sequence[Candidate], count: int, *, now: float) -> list[Candidate]:
    """The first `count` pods to delete when scaling in."""
    return sorted(pods, key=functools.cmp_to_key(functools.partial(_compare, now=now)))[: max(count, 0)]


def _compare(a: Candidate, b: Candidate, *, now: float) -> int:
    """Negative when `a` goes before `b`."""
    for key_a, key_b in (
        (a.assigned, b.assigned),
        (_PHASE_RANK.get(a.phase, 0), _PHASE_RANK.get(b.phase, 0)),
        (a.ready, b.ready),
        (a.cost, b.cost),
        (-a.colocated, -b.colocated),
    ):
        if key_a != key_b:
            return -1 if key_a < key_b else 1
    if a.ready and b.ready and a.ready_since != b.ready_since:
        if a.ready_since is None or b.ready_since is None:  # afterOrZero: an unknown time goes first
            return -1 if a.ready_since is None else 1
        diff = _bucket(now - a.ready_since) - _bucket(now - b.ready_since)
        if diff == 0:
            return -1 if a.uid < b.uid else 1
        return -1 if diff < 0 else 1
    later: tuple[tuple[float, float], ...] = (
        (-a.restarts, -b.restarts),
        (-a.created, -b.created),
        (-a.order, -b.order),
    )
    for value_a, value_b in later:
        if value_a != value_b:
            return -1 if value_a < value_b else 1
    return 0


def _bucket(seconds: float) -> int:
    """``int(log2(duration in ns))``, -1 for no duration (``logarithmicRankDiff``)."""
    nanoseconds = seconds * 1e9
    return int(math.log2(nanoseconds)) if nanoseconds > 0 else -1
