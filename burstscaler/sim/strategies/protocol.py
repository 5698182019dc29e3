"""The one small interface every simulated strategy implements, and what it returns.

A strategy is built once per run (``Build``: settings and the trace in, a strategy and its model
cluster out) and then asked at every step what replica counts it wants (``Strategy.decide``). It
reads the model cluster, never changes it: the engine applies the ``Targets``.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol

from burstscaler.sim import cluster, settings, traces


@dataclasses.dataclass(frozen=True)
class Targets:
    """What a strategy wants now: replicas of the base (ECS) and of the burst twin (virtual node).

    ``moves`` counts drain-back moves (burst replicas moved to ECS) completed at this step.
    """

    base: int
    burst: int
    moves: int = 0


class Strategy(Protocol):
    """Decides replica counts from the observed load and the model cluster's state."""

    def decide(self, *, state: cluster.ModelCluster, load: float, now: float) -> Targets:
        """Return the targets for ``now``; ``load`` is the metric (requests/s), NaN when missing."""
        ...


@dataclasses.dataclass(frozen=True)
class Setup:
    """A strategy ready to run, with the model cluster it runs on (in its steady state at t=0)."""

    strategy: Strategy
    state: cluster.ModelCluster


class Build(Protocol):
    """Builds a strategy and its cluster for a run; ``initial_load`` is the metric at t=0."""

    def __call__(self, config: settings.Settings, *, load: traces.StepLoad, initial_load: float) -> Setup: ...
