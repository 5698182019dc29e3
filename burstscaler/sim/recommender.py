"""The one recommender every autoscaled strategy runs: ``core.recommend`` for one workload's policy.

hpa-ca, eci-only, resourcepolicy and burstscaler all get their replica totals from here, with the same
BurstPolicy (``settings.Settings.policy_for``), so a difference in their results is a difference in
where replicas run and how capacity is bought, never in how many are asked for. Every Prometheus
metric of the policy reads the workload's request rate as the engine's metric shows it (the window's
mean, one scrape old); schedules see the trace's wall clock; a step without trace data is a failed
metric read, which the policy's ``fallback`` handles.
"""

from __future__ import annotations

import dataclasses
import datetime
import math

from burstscaler.api import spec
from burstscaler.core import fallback, recommend
from burstscaler.sim import errors


@dataclasses.dataclass
class CoreRecommender:
    """``core.recommend.recommend`` for one policy, its state carried from tick to tick.

    ``start`` is the epoch second of the trace's step 0.
    """

    policy: spec.BurstPolicySpec
    start: float = 0.0
    state: recommend.State = dataclasses.field(default_factory=recommend.State)

    def __post_init__(self) -> None:
        if any(metric.cpu is not None for metric in self.policy.metrics):
            raise errors.SettingsError(
                "the simulator replays request rates: a policy's cpu metric cannot be simulated; "
                "use a prometheus metric with an AverageValue target per replica"
            )

    def recommend(self, *, load: float, current: int, ready: int, now: float) -> int:
        """The recommender's total for ``load`` requests/s (NaN: the metric failed this tick)."""
        failure = fallback.MetricsFailure("EmptyResult", "no trace data") if math.isnan(load) else None
        reading = recommend.Reading(value=None if failure else load, failure=failure)
        request = recommend.Request(
            spec=self.policy,
            current=current,
            ready=ready,
            readings=(reading,) * len(self.policy.metrics),
            state=self.state,
        )
        result = recommend.recommend(request, now=datetime.datetime.fromtimestamp(self.start + now, tz=datetime.UTC))
        self.state = result.state
        return result.replicas
