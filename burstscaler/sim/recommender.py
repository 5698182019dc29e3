"""The one recommender every autoscaled strategy runs: ``core.recommend`` for one workload's policy.

hpa-ca, eci-only, resourcepolicy and burstscaler all get their replica totals from here, with the same
BurstPolicy (``settings.Settings.policy_for``), so a difference in their results is a difference in
where replicas run and how capacity is bought, never in how many are asked for. Every Prometheus
metric of the policy reads the workload's request rate as the engine's metric shows it (the window's
mean, one scrape old); schedules see the trace's wall clock; a step without trace data is a failed
metric read, which the policy's ``fallback`` handles.

With ``spec.forecast.enabled`` the recommender keeps the metric values it has seen (``LoadHistory``,
one per workload, shared by the strategies of a run: they see the same metric at the same steps) and
hands them to ``core.recommend`` as the metric's history, as the operator hands it Prometheus's range
query: only past steps, never the trace ahead. The lead is the one for an unknown tier
(``forecast.lead_for``: the burst start-up when burst is enabled), the same for every strategy.
"""

from __future__ import annotations

import dataclasses
import datetime
import math

import numpy as np

from burstscaler.api import spec
from burstscaler.core import fallback, forecast, recommend
from burstscaler.sim import errors


class LoadHistory:
    """The metric values one workload's recommender has seen, at most ``lookback`` seconds of them."""

    def __init__(self, *, lookback: float) -> None:
        self.lookback = lookback
        self._times = np.zeros(64)
        self._values = np.zeros(64)
        self._size = 0
        self._first = 0

    def observe(self, *, time: float, value: float) -> None:
        """Record the metric's ``value`` at ``time`` (ignored when missing or not newer than the last)."""
        if math.isnan(value) or (self._size and time <= self._times[self._size - 1]):
            return
        if self._size == self._times.size:
            # Drop what fell out of the lookback before growing: the arrays stay about one lookback long.
            self._first = int(np.searchsorted(self._times[: self._size], time - self.lookback, side="left"))
            kept = self._size - self._first
            grown = max(64, 2 * kept + 1)
            times, values = np.zeros(grown), np.zeros(grown)
            times[:kept], values[:kept] = self._times[self._first : self._size], self._values[self._first : self._size]
            self._times, self._values, self._size, self._first = times, values, kept, 0
        self._times[self._size], self._values[self._size] = time, value
        self._size += 1

    def series(self, *, now: float) -> forecast.Series:
        """The samples of the last ``lookback`` seconds up to ``now`` (views, not copies)."""
        times = self._times[: self._size]
        first = int(np.searchsorted(times, now - self.lookback, side="left"))
        last = int(np.searchsorted(times, now, side="right"))
        return forecast.Series(times=times[first:last], values=self._values[first:last])

    def __len__(self) -> int:
        return self._size


class _Key:
    """A cache key: exact equality over the whole input, a cheap hash over part of it.

    Hashing a whole carried state walks every remembered recommendation (as costly as a fifth of the
    call); the hash takes the history's lengths and newest entries instead, and equality still
    compares everything (the same state object compares at once by identity).
    """

    __slots__ = ("_hash", "parts", "state")

    def __init__(self, parts: tuple[object, ...], state: recommend.State) -> None:
        self.parts = (*parts, state)
        self.state = state
        history = state.history
        # The newest recommendation's fields, not the dataclass (its generated hash is a Python call).
        newest = history.recommendations[-1] if history.recommendations else None
        self._hash = hash(
            (
                *parts,
                len(history.recommendations),
                None if newest is None else newest.replicas,
                None if newest is None else newest.time,
                len(history.scale_up_events),
                len(history.scale_down_events),
            )
        )

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Key) and self._hash == other._hash and self.parts == other.parts


class StepCache:
    """Recommendations of one step, shared by the strategies of a run (the engine steps them in lockstep).

    ``core.recommend`` is a pure function of the policy, the reading, current and ready replicas, the
    carried state and ``now``; strategies that keep up see the same inputs at the same step, so the
    second one reuses the first one's answer (exactly: the key is the whole input). Only the current
    step is kept. The carried state is part of the key by value (``_Key``); on the built-in cluster
    about 70% of the calls are answered from the cache. With one strategy nothing can be shared, and
    ``enabled`` is off.
    """

    def __init__(self) -> None:
        self._now: float | None = None
        self._entries: dict[_Key, tuple[int, recommend.State]] = {}
        self.enabled = True
        self.hits = 0
        self.misses = 0
        # This step's answers by the carried state's identity as well: strategies that keep up hold the
        # very same state object, so most hits need no value key (identity implies equality; the entry
        # keeps the state alive, so its id is not reused within the step).
        self._by_identity: dict[tuple[object, ...], tuple[int, recommend.State, recommend.State]] = {}
        self._initial: dict[int, recommend.State] = {}
        self._histories: dict[int, LoadHistory] = {}

    def initial(self, workload: int) -> recommend.State:
        """The one starting state every strategy's recommender of ``workload`` begins from."""
        return self._initial.setdefault(workload, recommend.State())

    def history(self, workload: int, *, lookback: float) -> LoadHistory:
        """The metric history of ``workload`` every strategy's recommender shares (see the module docstring)."""
        return self._histories.setdefault(workload, LoadHistory(lookback=lookback))

    def same(
        self, parts: tuple[object, ...], *, state: recommend.State, now: float
    ) -> tuple[int, recommend.State] | None:
        """The answer a strategy got this step for ``parts`` from this very ``state`` object, if any."""
        if now != self._now:
            self._now, self._entries, self._by_identity = now, {}, {}
            return None
        found = self._by_identity.get((*parts, id(state)))
        if found is None or found[2] is not state:
            return None
        self.hits += 1
        return found[0], found[1]

    def key(self, parts: tuple[object, ...], *, state: recommend.State) -> _Key | None:
        """The key of one call (None when the cache is off)."""
        return _Key(parts, state) if self.enabled else None

    def get(self, key: _Key, *, now: float) -> tuple[int, recommend.State] | None:
        """The answer for ``key`` at ``now``, if a strategy asked the same this step."""
        if now != self._now:
            self._now, self._entries, self._by_identity = now, {}, {}
        found = self._entries.get(key)
        if found is None:
            self.misses += 1
        else:
            self.hits += 1
        return found

    def put(self, key: _Key, answer: tuple[int, recommend.State]) -> None:
        """Remember this step's answer for ``key`` (and for its state object's identity)."""
        self._entries[key] = answer
        self._by_identity[(*key.parts[:-1], id(key.state))] = (answer[0], answer[1], key.state)


@dataclasses.dataclass
class CoreRecommender:
    """``core.recommend`` for one policy (``replicas_for``: its count and state), the state carried from tick to tick.

    ``start`` is the epoch second of the trace's step 0.
    """

    policy: spec.BurstPolicySpec
    start: float = 0.0
    state: recommend.State = dataclasses.field(default_factory=recommend.State)
    cache: StepCache | None = None
    workload: int = 0  # which of the run's workloads (the cache key's policy)
    history: LoadHistory | None = None  # set when the policy's forecast is on

    def __post_init__(self) -> None:
        if any(metric.cpu is not None for metric in self.policy.metrics):
            raise errors.SettingsError(
                "the simulator replays request rates: a policy's cpu metric cannot be simulated; "
                "use a prometheus metric with an AverageValue target per replica"
            )
        if self.policy.forecast.enabled and self.history is None:
            lookback = float(self.policy.forecast.lookback_seconds)
            self.history = (
                self.cache.history(self.workload, lookback=lookback)
                if self.cache is not None
                else LoadHistory(lookback=lookback)
            )

    def recommend(self, *, load: float, current: int, ready: int, now: float) -> int:
        """The recommender's total for ``load`` requests/s (NaN: the metric failed this tick)."""
        clock = self.start + now
        past: tuple[forecast.Series | None, ...] = ()
        size = 0
        if self.history is not None:
            # The history before this step (the reading itself is added by the core), then this step's.
            series = self.history.series(now=clock - 1e-6)
            past, size = (series,) * len(self.policy.metrics), len(series)
            self.history.observe(time=clock, value=load)
        key = None
        if self.cache is not None and self.cache.enabled and not math.isnan(load):
            parts = (self.workload, load, current, ready, size)
            same = self.cache.same(parts, state=self.state, now=now)
            if same is not None:
                replicas, self.state = same
                return replicas
            key = self.cache.key(parts, state=self.state)
        if key is not None and self.cache is not None:
            found = self.cache.get(key, now=now)
            if found is not None:
                replicas, self.state = found
                return replicas
        failure = fallback.MetricsFailure("EmptyResult", "no trace data") if math.isnan(load) else None
        reading = recommend.Reading(value=None if failure else load, failure=failure)
        request = recommend.Request(
            spec=self.policy,
            current=current,
            ready=ready,
            readings=(reading,) * len(self.policy.metrics),
            state=self.state,
            history=past,
        )
        # The count and state alone: the simulator never reads the explanation ``recommend`` builds.
        replicas, state = recommend.replicas_for(request, now=datetime.datetime.fromtimestamp(clock, tz=datetime.UTC))
        if key is not None and self.cache is not None:
            self.cache.put(key, (replicas, state))
        self.state = state
        return replicas
