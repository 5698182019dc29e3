"""What `burstscaler report` reads from Prometheus, as plain data: ``sources`` fills it, the rows read it.

It lives in ``reports`` (below ``sources`` in the layers) for the same reason as ``simulation``: the
reader fills these dataclasses and the row builders consume them, without ``reports`` importing I/O.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

#: A BurstPolicy as the operator's metrics label it: (namespace, policy).
PolicyKey = tuple[str, str]
#: A money counter's series: (namespace, policy, currency).
MoneyKey = tuple[str, str, str]


class ReportError(Exception):
    """Bad input or an unreadable source: shown to the user as one line, never as a traceback."""


@dataclasses.dataclass(frozen=True)
class TimeRange:
    """The reported range in whole epoch seconds, and the step of the time series (seconds)."""

    start: int
    end: int
    step: int

    @property
    def span(self) -> int:
        """Seconds from ``start`` to ``end``."""
        return self.end - self.start


@dataclasses.dataclass(frozen=True)
class ClusterData:
    """Everything the report needs from Prometheus over one ``window``.

    Totals are increases of the operator's counters over the whole window (``increase()``), peaks are
    ``max_over_time`` of the gauges. ``seconds`` is the time-series grid (epoch seconds); each array of
    ``base``/``burst``/``desired`` holds the policy's target replicas at each grid point (NaN: no
    sample), and ``cumulative_cost`` the spend since ``window.start`` at each grid point.
    """

    source: str
    window: TimeRange
    policies: tuple[PolicyKey, ...]
    burst_cost: Mapping[MoneyKey, float]
    drain_back_savings: Mapping[MoneyKey, float]
    burst_vcpu_seconds: Mapping[PolicyKey, float]
    burst_gib_seconds: Mapping[PolicyKey, float]
    drain_back_moves: Mapping[PolicyKey, float]
    peak_base: Mapping[PolicyKey, float]
    peak_burst: Mapping[PolicyKey, float]
    peak_desired: Mapping[PolicyKey, float]
    seconds: FloatArray
    base: Mapping[PolicyKey, FloatArray]
    burst: Mapping[PolicyKey, FloatArray]
    desired: Mapping[PolicyKey, FloatArray]
    cumulative_cost: Mapping[MoneyKey, FloatArray]


def counter_growth(values: FloatArray) -> FloatArray:
    """How much a counter grew since its first sample, at each point (NaN gaps hold the last growth).

    A drop is a restart (the counter began again from zero), so its growth is the new value, as in
    Prometheus' ``increase()``; unlike it, nothing is extrapolated to the range's edges.
    """
    growth = np.zeros(values.size)
    total, previous = 0.0, math.nan
    for index, value in enumerate(values.tolist()):
        if not math.isnan(value):
            if not math.isnan(previous):
                total += value - previous if value >= previous else value
            previous = value
        growth[index] = total
    return growth
