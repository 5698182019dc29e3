"""The forecast lead (issue 16 item 4): the metric's value one start-up delay ahead, from its history.

Replicas asked for now are Ready only a start-up delay later; on a ramp a reactive autoscaler is
always that far behind. ``predict`` extrapolates the metric ``lead`` seconds ahead so the
recommendation (``core.recommend``) can ask for them in time; it never lowers the recommendation.

The model, for a history ``(times, values)`` and an evaluation time ``now``:

- **trend** (always): the slope of a Theil-Sen line (the median of pairwise slopes) over the last
  ``trend_window(lead)`` seconds (four leads, at least 120 s, at most 30 min: the extrapolation
  reaches at most a quarter of the fitted span past its end, and a 15 s scrape gives at least eight
  points), times the lead, added to the **latest value** (the one the reactive recommendation sees):
  the forecast adds the change expected over the lead, and a history read at a coarser step (a range
  query's points lag its samples) cannot pull the level below the reading. The median is robust: up
  to 29% of the points may be outliers (a scrape gap read as zero, one spike) without moving the
  slope. **Clipped** so noise cannot run away: the slope is at most the window's range over its span
  (no line steeper than the data's own extremes), the predicted *rise* at most the window's range (a
  lead of at most a quarter of the window rises no more than the whole window did), and the
  prediction never below zero;
- **daily-seasonal** (given at least two days of history before the window): the value at
  ``now + lead`` minus the value at ``now``, the same time yesterday and the day before; the change
  counts only as far as both days agree on its sign, and is the smaller of the two (a rise seen on
  both days, not a one-off flash crowd). The trend is then fitted to the *residual* (the value minus
  the two days' mean at the same time of day), and the prediction is the latest value plus the
  seasonal change plus the residual's trend over the lead.

Not enough history (fewer than ``MIN_POINTS`` samples in the trend window, or spanning less than half
of it) gives no prediction and a reason saying so; the recommendation then stays reactive.

What was weighed (issue 16 asks for a kept library if it is light enough for the operator image):
``statsmodels`` (Holt-Winters, STL) needs scipy (113 MB installed here) and pandas, and imports in
about a second; ``prophet`` needs cmdstanpy and a compiled Stan model (hundreds of MB, seconds to
fit); ``sktime`` and ``darts`` sit on pandas and scikit-learn (darts on torch for most models). The
operator image today carries numpy (45 MB) and no scipy. The model needed here is a local line and two
daily look-ups per policy per tick: about fifty lines of numpy, vectorised, microseconds per call,
and every rule of it stated above. So: numpy, no new dependency.

Pure: arrays in, a ``Prediction`` out; no clock, no I/O.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Literal

import numpy as np
import numpy.typing as npt

from burstscaler.api import spec

FloatArray = npt.NDArray[np.float64]
DAY = 86400.0
#: Fewest samples in the trend window for a trend: fewer and two noisy points would set the slope.
MIN_POINTS = 4
#: Most samples the Theil-Sen fit uses (evenly thinned beyond): its pairs grow with the square.
MAX_FIT_POINTS = 120
#: Bounds of the trend window (seconds), see ``trend_window``.
MIN_WINDOW, MAX_WINDOW = 120.0, 1800.0
#: Where the next replica lands, which sets the lead (``lead_for``).
Tier = Literal["ecs", "burst", "node"]
Model = Literal["trend", "seasonal"]


@dataclasses.dataclass(frozen=True)
class Series:
    """A metric's history: ascending times (epoch seconds) and finite values of the same length."""

    times: FloatArray
    values: FloatArray

    @classmethod
    def of(cls, times: npt.ArrayLike, values: npt.ArrayLike) -> Series:
        """A series from any two sequences: non-finite or negative values dropped, sorted, de-duplicated."""
        t = np.asarray(times, dtype=np.float64).ravel()
        v = np.asarray(values, dtype=np.float64).ravel()
        if t.shape != v.shape:
            raise ValueError(f"history: {t.size} times but {v.size} values")
        keep = np.isfinite(t) & np.isfinite(v) & (v >= 0)
        t, v = t[keep], v[keep]
        order = np.argsort(t, kind="stable")
        t, v = t[order], v[order]
        if t.size > 1:
            # The last of equal times wins (a re-read of the same instant replaces the older answer).
            last = np.append(t[1:] != t[:-1], True)
            t, v = t[last], v[last]
        return cls(times=t, values=v)

    @classmethod
    def empty(cls) -> Series:
        """A series with no samples."""
        return cls(times=np.zeros(0), values=np.zeros(0))

    def __len__(self) -> int:
        return int(self.times.size)

    def with_sample(self, time: float, value: float) -> Series:
        """This series with one more sample at ``time`` (kept only when newer than the last one)."""
        if not (np.isfinite(time) and np.isfinite(value) and value >= 0):
            return self
        if self.times.size and time <= self.times[-1]:
            return self
        return Series(times=np.append(self.times, time), values=np.append(self.values, value))

    def since(self, start: float) -> Series:
        """The samples at or after ``start``."""
        first = int(np.searchsorted(self.times, start, side="left"))
        return Series(times=self.times[first:], values=self.values[first:])


@dataclasses.dataclass(frozen=True)
class Prediction:
    """The metric's expected value ``lead`` seconds after ``now``, or why there is none.

    ``value`` is None when the history is missing or too short (``shortfall`` says which); ``level``
    is the latest value (where the prediction starts), ``slope`` the trend per second (of the residual
    for the seasonal model), ``seasonal_change`` the daily term's change over the lead (0 for the trend
    model).
    """

    lead: float
    value: float | None
    model: Model | None = None
    level: float = 0.0
    slope: float = 0.0
    seasonal_change: float = 0.0
    points: int = 0
    shortfall: str | None = None

    def to_input(self) -> dict[str, object]:
        """The prediction as JSON for ``status.lastDecision.inputs``."""
        if self.value is None:
            return {"leadSeconds": self.lead, "points": self.points, "missing": self.shortfall}
        return {
            "leadSeconds": self.lead,
            "model": self.model,
            "predicted": round(self.value, 6),
            "level": round(self.level, 6),
            "slopePerSecond": round(self.slope, 9),
            "seasonalChange": round(self.seasonal_change, 6),
            "points": self.points,
        }


def trend_window(lead: float) -> float:
    """Seconds of history the trend is fitted on: four leads, within ``MIN_WINDOW``..``MAX_WINDOW``."""
    return float(min(max(4.0 * lead, MIN_WINDOW), MAX_WINDOW))


def lead_for(policy: spec.BurstPolicySpec, *, ecs_full: bool | None) -> tuple[float, Tier]:
    """The lead (seconds) and tier of the next replica of ``policy``.

    The principle: lead by the start-up of the tier the next replica would land on. With room on ECS
    (``ecs_full`` False) that is a base pod's start-up (``drainBack.podStartupSeconds``). With ECS full
    or unknown, the next replica goes to the virtual node when burst is enabled
    (``forecast.burstStartupSeconds``); without burst, on a growable pool (``bridge.enabled``) it waits
    for a node (``bridge.nodeBootSeconds``); otherwise it waits for ECS room like any base pod.
    """
    if ecs_full is False:
        return float(policy.drain_back.pod_startup_seconds), "ecs"
    if policy.burst.enabled:
        return float(policy.forecast.burst_startup_seconds), "burst"
    if policy.bridge.enabled:
        return float(policy.bridge.node_boot_seconds), "node"
    return float(policy.drain_back.pod_startup_seconds), "ecs"


def predict(history: Series | None, *, now: float, lead: float) -> Prediction:
    """The metric's value at ``now + lead`` from ``history`` (samples after ``now`` are ignored)."""
    if history is None or len(history) == 0:
        return Prediction(lead=lead, value=None, shortfall="no-history")
    past = history.times <= now
    times, values = history.times[past], history.values[past]
    window = trend_window(lead)
    recent = times >= now - window
    t, y = times[recent], values[recent]
    if t.size < MIN_POINTS or t[-1] - t[0] < window / 2:
        return Prediction(lead=lead, value=None, points=int(t.size), shortfall="short-history")
    seasonal = times.size > 0 and times[0] <= now - window - 2 * DAY
    change = 0.0
    fitted = y
    if seasonal:
        baseline = _daily_mean(times, values, at=t)
        fitted = y - baseline
        change = _seasonal_change(times, values, now=now, lead=lead)
    slope = _theil_sen_slope(t, fitted)
    span = float(t[-1] - t[0])
    spread = float(fitted.max() - fitted.min())
    slope = float(np.clip(slope, -spread / span, spread / span))
    rise = float(np.clip(slope * lead, -spread, spread))
    level = float(y[-1])
    value = max(0.0, level + change + rise)
    model: Model = "seasonal" if seasonal else "trend"
    return Prediction(
        lead=lead,
        value=value,
        model=model,
        level=level,
        slope=slope,
        seasonal_change=change,
        points=int(t.size),
    )


def _theil_sen_slope(t: FloatArray, y: FloatArray) -> float:
    """The Theil-Sen slope: the median of the slopes between every pair of points."""
    if t.size > MAX_FIT_POINTS:
        pick = np.linspace(0, t.size - 1, MAX_FIT_POINTS).round().astype(np.int64)
        t, y = t[pick], y[pick]
    i, j = _pairs(int(t.size))
    return float(np.median((y[j] - y[i]) / (t[j] - t[i])))


@functools.lru_cache(maxsize=MAX_FIT_POINTS + 1)
def _pairs(size: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    # Every (i < j) pair of `size` points; the same few sizes recur every tick, so built once each.
    i, j = np.triu_indices(size, k=1)
    i.flags.writeable = False
    j.flags.writeable = False
    return i, j


def _daily_mean(times: FloatArray, values: FloatArray, *, at: FloatArray) -> FloatArray:
    """The mean of the values one and two days before each of ``at`` (linear between samples)."""
    one = np.interp(at - DAY, times, values)
    two = np.interp(at - 2 * DAY, times, values)
    return np.asarray((one + two) / 2.0, dtype=np.float64)


def _seasonal_change(times: FloatArray, values: FloatArray, *, now: float, lead: float) -> float:
    """The change over the lead a day and two days ago, as far as both days agree (see the docstring)."""
    ends = np.interp(np.array([now + lead - DAY, now + lead - 2 * DAY]), times, values)
    starts = np.interp(np.array([now - DAY, now - 2 * DAY]), times, values)
    changes = ends - starts
    if changes[0] > 0 and changes[1] > 0:
        return float(changes.min())
    if changes[0] < 0 and changes[1] < 0:
        return float(changes.max())
    return 0.0
