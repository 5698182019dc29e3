"""The Deployment controller's arithmetic, pure: how many replicas each ReplicaSet gets next.

Transcribed in behaviour (not code) from kube-controller-manager's ``pkg/controller/deployment``
(``rolling.go``, ``sync.go``, ``util/deployment_util.go``), one decision per sync as upstream:

- :func:`fenceposts`: maxSurge rounds **up**, maxUnavailable **down** (defaults 25% / 25%); both 0
  makes maxUnavailable 1.
- A **scaling event** (an active ReplicaSet's ``desired-replicas`` annotation differs from the
  Deployment's replicas) is handled first (:func:`scale`): a single active ReplicaSet takes the new
  size; a saturated new ReplicaSet empties the old ones; otherwise the surge-bounded total is
  shared proportionally (``max-replicas`` annotation), leftovers to the largest.
- **RollingUpdate** (:func:`roll`): the new ReplicaSet grows up to replicas + maxSurge in total; if
  it did not grow, old ReplicaSets shrink: first their unhealthy replicas, then while more than
  replicas - maxUnavailable are available, oldest ReplicaSet first.
- **Recreate** (:func:`recreate`): old ReplicaSets to 0; the new one only once no old pod is left.

Not modelled: ``paused``, ``progressDeadlineSeconds`` (no Progressing condition), rollbacks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import attrs

DEFAULT_SURGE = "25%"
DEFAULT_UNAVAILABLE = "25%"


@attrs.frozen(kw_only=True)
class Set:
    """What the controller knows of one ReplicaSet."""

    name: str
    order: int  # creation order: lower is older
    replicas: int  # spec.replicas
    available: int = 0  # status.availableReplicas
    desired: int | None = None  # deployment.kubernetes.io/desired-replicas
    max_replicas: int | None = None  # deployment.kubernetes.io/max-replicas


def scaled_value(value: int | str | None, *, total: int, default: str, round_up: bool) -> int:
    """An int-or-percent of `total` (``intstr.GetScaledValueFromIntOrPercent``)."""
    value = default if value is None else value
    if isinstance(value, int):
        return value
    if not value.endswith("%"):
        return int(value)
    exact = int(value[:-1]) * total / 100
    return math.ceil(exact) if round_up else math.floor(exact)


def fenceposts(*, max_surge: int | str | None, max_unavailable: int | str | None, replicas: int) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) as numbers of pods for `replicas` (``ResolveFenceposts``)."""
    surge = scaled_value(max_surge, total=replicas, default=DEFAULT_SURGE, round_up=True)
    unavailable = scaled_value(max_unavailable, total=replicas, default=DEFAULT_UNAVAILABLE, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def is_scaling_event(sets: Sequence[Set], *, replicas: int) -> bool:
    """True when an active ReplicaSet was sized for another Deployment size."""
    return any(s.replicas > 0 and s.desired is not None and s.desired != replicas for s in sets)


def new_replicas(*, new: Set | None, all_sets: Sequence[Set], replicas: int, surge: int) -> int:
    """The new ReplicaSet's next size under RollingUpdate (``NewRSNewReplicas``)."""
    current = new.replicas if new is not None else 0
    total = sum(s.replicas for s in all_sets)
    if total >= replicas + surge:
        return current
    return current + min(replicas + surge - total, replicas - current)


def roll(*, new: Set, old: Sequence[Set], replicas: int, surge: int, unavailable: int) -> dict[str, int]:
    """One RollingUpdate sync: the ReplicaSets to resize (name -> spec.replicas)."""
    all_sets = [*old, new]
    if new.replicas > replicas:
        return {new.name: replicas}
    if new.replicas < replicas:
        grown = new_replicas(new=new, all_sets=all_sets, replicas=replicas, surge=surge)
        if grown != new.replicas:
            return {new.name: grown}
    active = sorted((s for s in old if s.replicas > 0), key=lambda s: s.order)
    if not active:
        return {}
    min_available = replicas - unavailable
    new_unavailable = new.replicas - new.available
    max_down = sum(s.replicas for s in all_sets) - min_available - new_unavailable
    if max_down <= 0:
        return {}
    changes: dict[str, int] = {}
    sizes = {s.name: s.replicas for s in active}
    cleaned = 0
    for s in active:  # cleanupUnhealthyReplicas: the unavailable replicas of old sets go first
        if cleaned >= max_down:
            break
        unhealthy = s.replicas - s.available
        if unhealthy <= 0:
            continue
        down = min(max_down - cleaned, unhealthy)
        sizes[s.name] -= down
        changes[s.name] = sizes[s.name]
        cleaned += down
    available = new.available + sum(min(s.available, sizes[s.name]) for s in active)
    budget = available - min_available
    for s in active:  # scaleDownOldReplicaSetsForRollingUpdate
        if budget <= 0:
            break
        if sizes[s.name] == 0:
            continue
        down = min(sizes[s.name], budget)
        sizes[s.name] -= down
        changes[s.name] = sizes[s.name]
        budget -= down
    return changes


def recreate(*, new: Set | None, old: Sequence[Set], old_pods: int, replicas: int) -> dict[str, int]:
    """One Recreate sync: old sets to 0; the new one (``""`` if it must be created) once no old pod is left."""
    shrink = {s.name: 0 for s in old if s.replicas > 0}
    if shrink:
        return shrink
    if old_pods:
        return {}
    if new is None:
        return {"": replicas}
    return {new.name: replicas} if new.replicas != replicas else {}


def scale(*, new: Set | None, old: Sequence[Set], replicas: int, surge: int, new_saturated: bool) -> dict[str, int]:
    """One sync of a scaling event (``scale`` in sync.go): the ReplicaSets to resize."""
    everything = [*old] if new is None else [*old, new]
    active = [s for s in everything if s.replicas > 0]
    if len(active) <= 1:
        target = active[0] if active else (new or max(old, key=lambda s: s.order, default=None))
        if target is None:
            return {}
        return {target.name: replicas}  # (also refreshes its annotations when the size is already right)
    if new is not None and new_saturated:
        return {s.name: 0 for s in old if s.replicas > 0}
    total = sum(s.replicas for s in active)
    allowed = replicas + surge if replicas > 0 else 0
    to_add = allowed - total
    # The largest first; ties: the newer first when growing, the older first when shrinking.
    newer_first = to_add > 0
    active.sort(key=lambda s: (-s.replicas, -s.order if newer_first else s.order))
    sizes = {s.name: s.replicas for s in active}
    added = 0
    for s in active:
        if to_add == 0 or added == to_add:
            break
        fraction = _fraction(s, replicas=replicas, surge=surge, status_replicas=total)
        allowed_now = to_add - added
        share = min(fraction, allowed_now) if to_add > 0 else max(fraction, allowed_now)
        sizes[s.name] += share
        added += share
    if to_add != added:
        first = active[0].name
        sizes[first] = max(sizes[first] + to_add - added, 0)
    return {name: size for name, size in sizes.items() if size != next(s.replicas for s in active if s.name == name)}


def _fraction(s: Set, *, replicas: int, surge: int, status_replicas: int) -> int:
    """How many replicas `s` gains (or loses) in proportional scaling (``getReplicaSetFraction``)."""
    if replicas == 0:
        return -s.replicas
    annotated = s.max_replicas if s.max_replicas else status_replicas
    return _round_half_away(s.replicas * (replicas + surge) / annotated) - s.replicas


def _round_half_away(value: float) -> int:
    return math.floor(value + 0.5) if value >= 0 else -math.floor(-value + 0.5)
