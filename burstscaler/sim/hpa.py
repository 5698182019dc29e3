"""A plain model of the Kubernetes HPA, for the ``hpa-ca`` baseline.

The baseline stands for what an SRE runs today: an HPA with the default ``behavior``. This is a small,
independent re-statement of the controller's arithmetic (AverageValue target, 10% tolerance,
scale-up limited to max(4 pods, 100%) per 15 s, scale-down stabilised over 300 s, metrics missing ->
hold), written here rather than borrowed from ``burstscaler.core`` so that the baseline does not
inherit a bug of the recommender it is compared with.
"""

from __future__ import annotations

import collections
import dataclasses
import math


@dataclasses.dataclass
class Hpa:
    """One HPA for one workload; call ``recommend`` at every sync with a monotonic ``now``."""

    capacity_per_replica: float
    min_replicas: int
    max_replicas: int
    tolerance: float = 0.1
    scale_down_window: float = 300.0
    scale_up_pods: int = 4
    scale_up_percent: float = 100.0
    scale_up_period: float = 15.0
    _history: collections.deque[tuple[float, int]] = dataclasses.field(default_factory=collections.deque)
    _last: float | None = None

    def recommend(self, *, load: float, current: int, now: float) -> int:
        """Return the replicas the HPA would set for ``load`` requests/s with ``current`` replicas.

        ``load`` is NaN when the metric is missing: the HPA then keeps ``current``.
        """
        elapsed = self.scale_up_period if self._last is None else max(now - self._last, self.scale_up_period)
        self._last = now
        if math.isnan(load):
            return current
        raw = self._raw(load=load, current=current)
        # Scale-down stabilisation: never go below the highest recommendation of the window.
        self._history.append((now, raw))
        # Only recommendations strictly younger than the window count (the controller keeps those
        # ``After(cutoff)``): one exactly a window old has aged out.
        while self._history and self._history[0][0] <= now - self.scale_down_window:
            self._history.popleft()
        highest = max(recommendation for _, recommendation in self._history)
        desired = raw if raw >= current else min(current, highest)
        # Scale-up rate limit, once per elapsed period: max(+4 pods, +100%).
        limit = current
        for _ in range(max(1, round(elapsed / self.scale_up_period))):
            limit = max(limit + self.scale_up_pods, math.floor(limit * (1 + self.scale_up_percent / 100)))
        desired = min(desired, limit)
        return max(self.min_replicas, min(self.max_replicas, desired))

    def _raw(self, *, load: float, current: int) -> int:
        needed = load / self.capacity_per_replica
        if current > 0 and abs(needed / current - 1.0) <= self.tolerance:
            return current
        return math.ceil(needed - 1e-9)
