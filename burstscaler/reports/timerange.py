"""The report's time range from the command line: ``--since``/``--until`` as durations or times, ``--step``.

Durations count back from now (``--since 24h --until 1h``: from 24 hours ago to one hour ago), like
``kubectl logs --since``; times are ISO 8601 (naive means UTC) or unix seconds. Pure: ``now`` is passed in.
"""

from __future__ import annotations

import datetime
import math

from burstscaler.api import quantity
from burstscaler.reports.cluster_data import ReportError, TimeRange

#: Prometheus refuses range queries of more than 11,000 points; the step is widened to stay under it.
MAX_POINTS = 11_000
#: 2001-09-09: bare numbers below this are taken for durations missing their unit, not for unix times.
_EARLIEST_UNIX_TIME = 1_000_000_000
_EXAMPLES = "a duration (24h, 90m, 7d) or a time (2024-06-03T12:00:00Z, unix seconds)"


def parse_window(*, since: str, until: str | None, step: str, now: float) -> TimeRange:
    """The range ``since``..``until`` (default: now) with its series step; ``ReportError`` naming bad input."""
    start = parse_moment(since, now=now, option="--since")
    end = parse_moment(until, now=now, option="--until") if until is not None else math.floor(now)
    if start >= end:
        raise ReportError(f"--since ({iso(start)}) must be before --until ({iso(end)})")
    try:
        step_seconds = quantity.parse_duration(step)
    except ValueError:
        raise ReportError(f"--step {step!r} is not a duration (examples: 15s, 60s, 5m)") from None
    if step_seconds <= 0:
        raise ReportError(f"--step {step!r} must be longer than zero")
    # Wider steps only coarsen the charts; the totals come from the raw samples either way.
    step_seconds = max(step_seconds, math.ceil((end - start) / (MAX_POINTS - 1)))
    return TimeRange(start=start, end=end, step=step_seconds)


def parse_moment(text: str, *, now: float, option: str) -> int:
    """Epoch seconds of ``text``: a duration before ``now``, an ISO 8601 time, or unix seconds."""
    stripped = text.strip()
    if not stripped:
        raise ReportError(f"{option} is empty: give {_EXAMPLES}")
    try:
        number = float(stripped)
    except ValueError:
        pass
    else:
        # A bare number is a unix time, as in Prometheus' API; a small one is a duration missing its unit.
        if not math.isfinite(number) or number < _EARLIEST_UNIX_TIME:
            raise ReportError(f"{option} {text!r} is not a unix time; for a duration give a unit ({stripped}s)")
        return math.floor(number)
    try:
        return math.floor(now) - quantity.parse_duration(stripped)
    except ValueError:
        pass
    try:
        moment = datetime.datetime.fromisoformat(stripped)
    except ValueError:
        raise ReportError(f"{option} {text!r} is not {_EXAMPLES}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return math.floor(moment.timestamp())


def iso(seconds: float) -> str:
    """A UTC time for messages and titles: ``2024-06-03T12:00:00Z``."""
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
