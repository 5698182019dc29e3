"""One plan per tick window, shared by every policy's timer.

Each BurstPolicy has its own Kopf timer (so peering pauses it on non-leaders and one policy's failure
never stalls another), but the plan must be made for all policies together: the first timer to run in
a tick window computes it, the others in the same window reuse it. Targets are absolute replica
counts, so applying a slice twice is harmless.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable

from burstscaler.operator import metrics as operator_metrics
from burstscaler.operator import planner

logger = logging.getLogger(__name__)


class Ticker:
    """Runs the planner at most once per `interval`-second window and caches its outcomes."""

    def __init__(
        self, *, planner_: planner.Planner, interval: float, metrics: operator_metrics.Metrics | None = None
    ) -> None:
        self.planner = planner_
        self.interval = interval
        self._metrics = metrics
        self._lock = asyncio.Lock()
        self._window: int | None = None
        self._outcomes: dict[planner.Key, planner.Outcome] = {}
        self.ticks = 0

    async def outcomes(
        self, *, now: float, collect: Callable[[], planner.TickInputs]
    ) -> dict[planner.Key, planner.Outcome]:
        """The outcomes of the current window's plan, computing it first if this window has none."""
        window = math.floor(now / self.interval)
        async with self._lock:
            if self._window != window:
                started = time.perf_counter()
                inputs = collect()
                self._outcomes = await self.planner.tick(inputs, now=now)
                self._window = window
                self.ticks += 1
                elapsed = time.perf_counter() - started
                if self._metrics is not None:
                    self._metrics.tick_seconds.observe(elapsed)
                    self._metrics.policies.set(len(inputs.policies))
                logger.debug("tick %d: %d policies in %.3fs", self.ticks, len(inputs.policies), elapsed)
        return self._outcomes
