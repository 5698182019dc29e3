"""Delays and failures drawn from distributions (seeded), and the metric's lag: what makes a run realistic.

Defaults and their sources (``../shared/data/prices/README.md``, "Timing"); all are printed with results:
- ECI start-up (creation to Ready): log-normal, median 45 s, p95 about 90 s. Image pull dominates; ECI's
  own figure for a 386 MB image is 50 s without an image cache and ~5 s with one (official). No
  official per-pod cold-start distribution exists, so the spread is an assumption.
- ECI creation failing (stock-out) with probability ``eci_failure_fraction`` (default 2%, an
  assumption: the vendor publishes none); a failed creation is retried after ``eci_retry_seconds``
  (30 s) and is not billed (ECI bills from the image download, which a stock-out never reaches).
- Node boot (a cluster-autoscaler request to a schedulable node): CA's reaction, uniform 5-30 s (CA
  FAQ: <= 30 s, average ~5 s on small clusters), plus a boot, log-normal with median 150 s (third
  party: 3-5 min pending-to-Ready for CA on EKS).
- ECS pod start-up: 20 s fixed (image cached on the node).
- Metric lag: the scrape interval (15 s, Prometheus' common setting) plus the rate window (60 s,
  ``rate(...[1m])``): the recommender sees the mean rate of ``[t - lag - window, t - lag]``.

``Realism.fixed()`` turns every draw into its median and failures off, for tests that need exact
arithmetic.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np


@dataclasses.dataclass(frozen=True)
class Realism:
    """Distribution parameters; ``sigma`` 0 makes a log-normal a constant."""

    eci_startup_median: float = 45.0
    eci_startup_sigma: float = 0.42  # log-normal: p95 = median x e^(1.645 sigma) ~ 2x median
    eci_failure_fraction: float = 0.02
    eci_retry_seconds: float = 30.0
    node_reaction_low: float = 5.0
    node_reaction_high: float = 30.0
    node_boot_median: float = 150.0
    node_boot_sigma: float = 0.25
    pod_startup_seconds: float = 20.0
    scrape_interval_seconds: float = 15.0
    metric_window_seconds: float = 60.0

    @classmethod
    def fixed(cls, *, eci_startup: float = 45.0, node_boot: float = 180.0, scrape: float = 0.0) -> Realism:
        """Constant delays, no failures: exact arithmetic for tests and like-for-like checks."""
        return cls(
            eci_startup_median=eci_startup,
            eci_startup_sigma=0.0,
            eci_failure_fraction=0.0,
            node_reaction_low=0.0,
            node_reaction_high=0.0,
            node_boot_median=node_boot,
            node_boot_sigma=0.0,
            scrape_interval_seconds=scrape,
        )

    @property
    def metric_lag_seconds(self) -> float:
        """How old the newest sample in the metric is: one scrape interval."""
        return self.scrape_interval_seconds

    def as_dict(self) -> dict[str, Any]:
        """The parameters with their sources, for printing."""
        return {
            "eci_startup": f"log-normal, median {self.eci_startup_median:g} s, sigma {self.eci_startup_sigma:g} "
            "(ECI image preparation 50 s uncached, official; spread assumed)",
            "eci_failure_fraction": self.eci_failure_fraction,
            "eci_failure_note": f"stock-out, retried after {self.eci_retry_seconds:g} s, not billed (assumed rate)",
            "node_boot": f"CA reaction uniform {self.node_reaction_low:g}-{self.node_reaction_high:g} s "
            f"(CA FAQ) + boot log-normal median {self.node_boot_median:g} s, sigma {self.node_boot_sigma:g} "
            "(third-party 3-5 min)",
            "pod_startup_seconds": self.pod_startup_seconds,
            "metric": f"mean rate over {self.metric_window_seconds:g} s, {self.metric_lag_seconds:g} s old (scrape)",
        }


@dataclasses.dataclass
class Draws:
    """A seeded source of delays; one per run, so each strategy of a seed sees its own stream."""

    realism: Realism
    rng: np.random.Generator

    @classmethod
    def seeded(cls, realism: Realism, *, seed: int) -> Draws:
        """Draws from ``seed`` (the same seed gives the same delays)."""
        return cls(realism=realism, rng=np.random.default_rng(seed))

    def eci_ready_after(self, count: int) -> np.ndarray[Any, np.dtype[np.float64]]:
        """Seconds from creation to Ready for ``count`` new ECI pods, retries after stock-outs included.

        Returns (delay, billed_from) stacked: ``[0]`` the delay to Ready, ``[1]`` when billing starts
        (after the failed attempts).
        """
        r = self.realism
        startup = self._lognormal(r.eci_startup_median, r.eci_startup_sigma, count)
        if r.eci_failure_fraction > 0:
            failures = (self.rng.geometric(1.0 - r.eci_failure_fraction, size=count) - 1).astype(np.float64)
        else:
            failures = np.zeros(count)
        waited = failures * r.eci_retry_seconds
        return np.vstack([waited + startup, waited])

    def node_ready_after(self) -> float:
        """Seconds from a node autoscaler's trigger to a schedulable node."""
        r = self.realism
        reaction = r.node_reaction_low
        if r.node_reaction_high > r.node_reaction_low:
            reaction = float(self.rng.uniform(r.node_reaction_low, r.node_reaction_high))
        return reaction + float(self._lognormal(r.node_boot_median, r.node_boot_sigma, 1)[0])

    def _lognormal(self, median: float, sigma: float, count: int) -> np.ndarray[Any, np.dtype[np.float64]]:
        if sigma <= 0:
            return np.full(count, median)
        return median * np.exp(sigma * self.rng.standard_normal(count))


def t_interval(values: np.ndarray[Any, np.dtype[np.float64]]) -> tuple[float, float, float]:
    """Mean and the two-sided 95% Student-t interval of ``values`` (one sample: the value itself)."""
    n = values.size
    mean = float(values.mean())
    if n < 2:
        return mean, mean, mean
    half = _T95[min(n - 1, len(_T95)) - 1] * float(values.std(ddof=1)) / math.sqrt(n)
    return mean, mean - half, mean + half


# Two-sided 95% quantiles of Student's t for 1..30 degrees of freedom (beyond: the normal's 1.96 is
# within 2%; the last entry stands for all larger samples).
_T95 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042, 1.960,
)  # fmt: skip
