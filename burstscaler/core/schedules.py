"""Scheduled windows (定期调度): cron-started windows that raise the replica floor for known peaks.

A schedule ``{cron, duration, minReplicas, timezone}`` is active from each time its cron fires, in its
own time zone's wall clock, for ``duration`` of real (elapsed) time. While windows are active the floor
is the largest of their ``minReplicas`` (overlapping windows never add up). Pure: ``now`` is an
argument (any aware datetime); croniter does the cron arithmetic on wall-clock times.

Daylight saving time, chosen to match what cron users expect:
- a fire time that falls into a spring-forward gap (02:30 on the night clocks jump 02:00 -> 03:00)
  opens its window when the clock jumps, at the first wall time that exists (as Vixie cron does);
- a wall time that occurs twice (fall-back) opens the window once, at its first occurrence;
- ``duration`` is elapsed time: a 2h window across a DST change lasts two real hours.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Sequence

import croniter

from burstscaler.api import spec

_DST_GAP_STEP = datetime.timedelta(minutes=1)
_LONGEST_DST_GAP = datetime.timedelta(hours=3)


@dataclasses.dataclass(frozen=True)
class Window:
    """One active window: which schedule, its floor, and when it opened and closes (aware, UTC)."""

    index: int
    min_replicas: int
    start: datetime.datetime
    end: datetime.datetime


@dataclasses.dataclass(frozen=True)
class Floor:
    """The floor the active windows impose now (0 when none is active) and the windows themselves."""

    replicas: int
    windows: tuple[Window, ...]


def floor(schedules: Sequence[spec.Schedule], *, now: datetime.datetime) -> Floor:
    """The replica floor the schedules impose at ``now`` (an aware datetime)."""
    active = tuple(
        window
        for index, schedule in enumerate(schedules)
        if (window := active_window(schedule, index=index, now=now)) is not None
    )
    return Floor(max((window.min_replicas for window in active), default=0), active)


def active_window(schedule: spec.Schedule, *, index: int = 0, now: datetime.datetime) -> Window | None:
    """The schedule's window that contains ``now``, or None.

    Only the latest start can matter: every window of a schedule has the same length, so the one that
    opened last also closes last.
    """
    start = last_start(schedule.cron, zone=schedule.zone, now=now)
    end = start + datetime.timedelta(seconds=schedule.duration_seconds)
    if start <= now < end:
        return Window(index, schedule.min_replicas, start, end)
    return None


def last_start(cron: str, *, zone: datetime.tzinfo, now: datetime.datetime) -> datetime.datetime:
    """The latest instant (in UTC) at or before ``now`` when ``cron`` fired in ``zone``'s wall clock."""
    wall = now.astimezone(zone).replace(tzinfo=None, fold=0)
    # One microsecond later so that a fire exactly at ``now`` counts as started.
    candidates = croniter.croniter(cron, wall + datetime.timedelta(microseconds=1))
    while True:
        # In UTC: arithmetic and comparisons on aware datetimes of one zone follow the wall clock.
        fired = _instant(candidates.get_prev(datetime.datetime), zone).astimezone(datetime.UTC)
        # Near a fall-back the wall clock runs ahead of elapsed time: skip fires still in the future.
        if fired <= now:
            return fired


def _instant(wall: datetime.datetime, zone: datetime.tzinfo) -> datetime.datetime:
    """The real instant of a wall-clock time: first occurrence if repeated, the jump if skipped."""
    moment = wall.replace(tzinfo=zone, fold=0)
    shifted = wall
    while _skipped(shifted, zone) and shifted - wall < _LONGEST_DST_GAP:
        shifted += _DST_GAP_STEP
    if shifted != wall:
        moment = shifted.replace(tzinfo=zone, fold=0)
    return moment


def _skipped(wall: datetime.datetime, zone: datetime.tzinfo) -> bool:
    # A wall time in a DST gap does not survive the round trip through UTC.
    aware = wall.replace(tzinfo=zone)
    back = aware.astimezone(datetime.UTC).astimezone(zone).replace(tzinfo=None)
    return back != wall
