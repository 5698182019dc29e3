"""autoscaling/v2 ``behavior``: stabilization windows and scale-up/-down rate policies, as the HPA does.

Pure: the controller's memory (past recommendations, past scale events) is a ``History`` passed in and
returned, never kept here, so the operator can store it, the simulator can replay it and a test can
write it down. ``now`` is always an argument.

A tick, as the HPA's ``normalizeDesiredReplicasWithBehaviors``:
1. ``stabilize``: the new recommendation is bounded by the lowest of the scale-up window and the highest
   of the scale-down window (no flapping), and joins the history;
2. ``limit``: the change is capped by the policies over their periods, counting recent scale events,
   then clamped to min/max, with a condition saying which bound held.
``record_scale`` then remembers the change that was made.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
from collections.abc import Sequence
from typing import Literal

from burstscaler.api import spec

_MIN_INT32 = -(2**31)
_MAX_INT32 = 2**31 - 1

#: Why the limited count is what it is (the HPA's ScalingLimited condition reasons).
LimitCondition = Literal["DesiredWithinRange", "ScaleUpLimit", "TooManyReplicas", "ScaleDownLimit", "TooFewReplicas"]


#: Effective rules by the identity of their (immutable) ``spec.Behavior``; see ``effective_rules``.
_EFFECTIVE: dict[int, tuple[spec.Behavior, spec.ScalingRules, spec.ScalingRules]] = {}
_EFFECTIVE_SIZE = 4096


def effective_rules(behavior: spec.Behavior) -> tuple[spec.ScalingRules, spec.ScalingRules]:
    """``(behavior.effective_scale_up, behavior.effective_scale_down)``, computed once per object.

    Filling in the defaults copies pydantic models, and a tick needs the rules several times for
    every policy. Spec models are frozen, so the rules of one object never change; the entry keeps
    the object alive, so its id cannot be reused while it is cached.
    """
    entry = _EFFECTIVE.get(id(behavior))
    if entry is None or entry[0] is not behavior:
        if len(_EFFECTIVE) >= _EFFECTIVE_SIZE:
            _EFFECTIVE.clear()  # specs come and go with edits: bound the memory, recomputing is cheap
        entry = (behavior, behavior.effective_scale_up, behavior.effective_scale_down)
        _EFFECTIVE[id(behavior)] = entry
    return entry[1], entry[2]


@dataclasses.dataclass(frozen=True)
class TimedRecommendation:
    """A raw (pre-stabilization) recommendation and when it was made."""

    replicas: int
    time: datetime.datetime


@dataclasses.dataclass(frozen=True)
class ScaleEvent:
    """A change of the replica count (always positive, the direction is the list it is in)."""

    change: int
    time: datetime.datetime
    outdated: bool = False


@dataclasses.dataclass(frozen=True)
class History:
    """Everything ``behavior`` remembers between ticks for one workload."""

    recommendations: tuple[TimedRecommendation, ...] = ()
    scale_up_events: tuple[ScaleEvent, ...] = ()
    scale_down_events: tuple[ScaleEvent, ...] = ()


@dataclasses.dataclass(frozen=True)
class Limited:
    """The outcome of rate limits and min/max: the replicas and the bound that decided them."""

    replicas: int
    condition: LimitCondition


def stabilize(
    recommendations: Sequence[TimedRecommendation],
    *,
    desired: int,
    current: int,
    up_window: int,
    down_window: int,
    now: datetime.datetime,
) -> tuple[int, tuple[TimedRecommendation, ...]]:
    """Return the stabilized recommendation and the recommendations to keep.

    Scale up only as far as every recommendation of the scale-up window agrees, and down only as far
    as every one of the scale-down window agrees. The new recommendation overwrites the last entry
    older than both windows (the list stays bounded) or is appended.
    """
    up_cutoff = now - datetime.timedelta(seconds=up_window)
    down_cutoff = now - datetime.timedelta(seconds=down_window)
    # Older than both windows is older than the earlier cutoff.
    both_cutoff = min(up_cutoff, down_cutoff)
    up_bound = down_bound = desired
    reusable: int | None = None
    # Comparisons rather than min()/max() calls: every tick of every policy walks the whole window.
    for index, past in enumerate(recommendations):
        time, count = past.time, past.replicas
        if time > up_cutoff and count < up_bound:
            up_bound = count
        if time > down_cutoff and count > down_bound:
            down_bound = count
        if time < both_cutoff:
            reusable = index
    stabilized = min(max(current, up_bound), down_bound)
    entry = TimedRecommendation(desired, now)
    kept = list(recommendations)
    if reusable is None:
        kept.append(entry)
    else:
        kept[reusable] = entry
    return stabilized, tuple(kept)


def change_in_period(events: Sequence[ScaleEvent], *, period: int, now: datetime.datetime) -> int:
    """The replicas added (or removed) by ``events`` younger than ``period`` seconds."""
    cutoff = now - datetime.timedelta(seconds=period)
    return sum(event.change for event in events if event.time > cutoff)


def scale_up_limit(rules: spec.ScalingRules, *, current: int, history: History, now: datetime.datetime) -> int:
    """The most replicas the scale-up policies allow now (may be below ``current``; callers clamp)."""
    if rules.select_policy == "Disabled":
        return current
    pick, result = (min, _MAX_INT32) if rules.select_policy == "Min" else (max, _MIN_INT32)
    for policy in rules.policies or ():
        start = _period_start(current, history, period=policy.period_seconds, now=now)
        # Percent is rounded up, or a small percentage of a small workload would never add a pod.
        proposed = start + policy.value if policy.type == "Pods" else math.ceil(start * (1 + policy.value / 100))
        result = pick(result, proposed)
    return result


def scale_down_limit(rules: spec.ScalingRules, *, current: int, history: History, now: datetime.datetime) -> int:
    """The fewest replicas the scale-down policies allow now (may be above ``current``; callers clamp)."""
    if rules.select_policy == "Disabled":
        return current
    # For scale-down the *smallest change* is the highest count, hence the swapped picks.
    pick, result = (max, _MIN_INT32) if rules.select_policy == "Min" else (min, _MAX_INT32)
    for policy in rules.policies or ():
        start = _period_start(current, history, period=policy.period_seconds, now=now)
        # Percent truncates toward zero (Go's int32 conversion), which rounds a removal down.
        proposed = start - policy.value if policy.type == "Pods" else int(start * (1 - policy.value / 100))
        result = pick(result, proposed)
    return result


def _period_start(current: int, history: History, *, period: int, now: datetime.datetime) -> int:
    # The count at the start of the period: a policy bounds the change over the whole period, not per tick.
    added = change_in_period(history.scale_up_events, period=period, now=now)
    removed = change_in_period(history.scale_down_events, period=period, now=now)
    return current - added + removed


def limit(
    desired: int,
    *,
    current: int,
    min_replicas: int,
    max_replicas: int,
    behavior: spec.Behavior,
    history: History,
    now: datetime.datetime,
) -> Limited:
    """Cap the change from ``current`` to ``desired`` by the policies, then by min/max."""
    if desired > current:
        # Recent scale-ups can use up the whole allowance: then hold, never shrink on the way up.
        up_rules = effective_rules(behavior)[0]
        up_limit = max(scale_up_limit(up_rules, current=current, history=history, now=now), current)
        if up_limit < max_replicas and desired > up_limit:
            return Limited(up_limit, "ScaleUpLimit")
        if up_limit >= max_replicas and desired > max_replicas:
            return Limited(max_replicas, "TooManyReplicas")
    elif desired < current:
        rules = effective_rules(behavior)[1]
        down_limit = min(scale_down_limit(rules, current=current, history=history, now=now), current)
        if down_limit > min_replicas and desired < down_limit:
            return Limited(down_limit, "ScaleDownLimit")
        if down_limit <= min_replicas and desired < min_replicas:
            return Limited(min_replicas, "TooFewReplicas")
    return Limited(desired, "DesiredWithinRange")


def record_scale(
    history: History, *, previous: int, new: int, behavior: spec.Behavior, now: datetime.datetime
) -> History:
    """Remember a change of the replica count, so later policies count it against their periods.

    Events older than the direction's longest policy period are marked outdated; the last outdated
    entry is overwritten by the new event (the list stays bounded), or the event is appended.
    """
    if new == previous:
        return history
    if new > previous:
        events = _store(history.scale_up_events, new - previous, rules=effective_rules(behavior)[0], now=now)
        return History(history.recommendations, events, history.scale_down_events)
    events = _store(history.scale_down_events, previous - new, rules=effective_rules(behavior)[1], now=now)
    return History(history.recommendations, history.scale_up_events, events)


def _store(
    events: Sequence[ScaleEvent], change: int, *, rules: spec.ScalingRules, now: datetime.datetime
) -> tuple[ScaleEvent, ...]:
    longest = max((policy.period_seconds for policy in rules.policies or ()), default=0)
    cutoff = now - datetime.timedelta(seconds=longest)
    marked = [ScaleEvent(event.change, event.time, True) if event.time < cutoff else event for event in events]
    outdated = [index for index, event in enumerate(marked) if event.outdated]
    entry = ScaleEvent(change, now)
    if outdated:
        marked[outdated[-1]] = entry
    else:
        marked.append(entry)
    return tuple(marked)


def normalize(
    desired: int,
    *,
    current: int,
    min_replicas: int,
    max_replicas: int,
    behavior: spec.Behavior,
    history: History,
    now: datetime.datetime,
) -> tuple[int, int, Limited, History]:
    """One tick of behavior: (stabilized, final replicas, the limiting condition, the new history).

    The new history holds the raw recommendation and, when the count changes, the scale event.
    """
    up, down = effective_rules(behavior)
    # No memory yet (a new policy, or state lost in a restart): seed it with the current count, as the
    # HPA does, so the first tick cannot skip the scale-down window.
    past = history.recommendations or (TimedRecommendation(current, now),)
    stabilized, recommendations = stabilize(
        past,
        desired=desired,
        current=current,
        up_window=up.stabilization_window_seconds or 0,
        down_window=down.stabilization_window_seconds or 0,
        now=now,
    )
    limited = limit(
        stabilized,
        current=current,
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        behavior=behavior,
        history=history,
        now=now,
    )
    # Built directly rather than by dataclasses.replace: the same History, without its per-call introspection.
    history = History(recommendations, history.scale_up_events, history.scale_down_events)
    history = record_scale(history, previous=current, new=limited.replicas, behavior=behavior, now=now)
    return stabilized, limited.replicas, limited, history
