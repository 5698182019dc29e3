"""A metric's recent history for the forecast: a bounded Prometheus range query, cached between ticks.

``spec.forecast`` needs each metric's values over ``lookback``. Reading the whole window every tick
would cost a policy ``lookback / step`` points per tick (1,440 for 6 h at 15 s); the values of past
evaluation times do not change, so ``HistoryCache`` keeps them per (server, query) and each tick asks
Prometheus only for the steps since the last one it has, that one included (a scrape stamped just
before it may have landed after it was read): one or two points at a 5 s tick.

Bounds, as for every metric read (issue 12):
- the step is ``step_for(lookback)``: the scrape interval (15 s), or coarser so that a full read is at
  most ``MAX_POINTS`` (10,000, under Prometheus's own 11,000 points per series), so a 7-day lookback is
  read at 61 s steps and a cache entry holds at most 10,000 floats of each (160 KB);
- one GET of ``/api/v1/query_range`` through ``sources.bounded_http`` with the server's settings: the
  same total deadline (``timeout_seconds``), size cap (``max_response_bytes``: 10,000 points are about
  250 KB of JSON), no redirects, and the address guard of a policy's own server;
- the tenancy guard is the caller's (``sources.metrics.Fetcher`` pins the query before it gets here),
  so the cache key is the query as sent: a pinned query never shares an entry with an unpinned one;
- cache entries live as long as a policy asks for them: ``retain`` (called by the fetcher with every
  tick's keys) drops the rest, so a deleted policy, or one that turned its forecast off, frees its
  history at the next tick.

Failures are typed as for instant queries (``fallback.MetricsFailure``); the forecast then falls back
to the reactive recommendation for that policy only. Calls block: they run in the fetcher's pool.
"""

from __future__ import annotations

import dataclasses
import json
import math
import threading
from collections.abc import Iterable
from typing import Any

import numpy as np

from burstscaler.api import addresses
from burstscaler.core import fallback, forecast
from burstscaler.sources import bounded_http, prometheus

#: Most points one range read returns (Prometheus refuses more than 11,000 per series).
MAX_POINTS = 10_000
#: The finest step: Prometheus's default scrape interval (a finer step repeats the same samples).
MIN_STEP = 15.0
_BAD_QUERY_STATUS = (400, 422)

Key = tuple[prometheus.Settings, str]


def step_for(lookback: float) -> float:
    """The range query's step for ``lookback`` seconds: at least ``MIN_STEP``, at most ``MAX_POINTS`` points."""
    return float(max(MIN_STEP, math.ceil(lookback / MAX_POINTS)))


@dataclasses.dataclass(frozen=True)
class HistoryReading:
    """A metric's history, or why there is none."""

    series: forecast.Series | None = None
    failure: fallback.MetricsFailure | None = None


class RangeSource:
    """Range queries to one Prometheus server (the same credentials, TLS and guard as its instant queries)."""

    def __init__(self, settings: prometheus.Settings) -> None:
        self.settings = settings
        # One definition of how a server's credentials are sent: the instant-query source's.
        self._headers = prometheus.PrometheusSource(settings).headers
        self._client = bounded_http.Client(
            settings.url,
            tls=lambda: bounded_http.tls_context(ca_file=settings.ca_file, insecure=settings.insecure_skip_verify),
            guard=addresses.refusal if settings.restrict_addresses else None,
        )

    def fetch_range(self, query: str, *, start: float, end: float, step: float) -> HistoryReading:
        """The values of ``query`` at ``start, start + step, ... <= end``; a typed failure, never an exception."""
        timeout = self.settings.timeout_seconds
        params = {
            "query": query,
            "start": f"{start:.3f}",
            "end": f"{end:.3f}",
            "step": f"{step:g}",
            "timeout": str(timeout),
        }
        try:
            answer = self._client.get(
                "/api/v1/query_range",
                params=params,
                headers=self._headers,
                deadline_seconds=timeout,
                max_bytes=self.settings.max_response_bytes,
            )
        except bounded_http.DeadlineExceeded:
            return _failed("PrometheusTimeout", f"no complete history within {timeout}s")
        except bounded_http.TooLarge as error:
            return _failed("PrometheusError", f"{error}; shorten forecast.lookback or aggregate the query")
        except (bounded_http.Refused, bounded_http.Unreachable) as error:
            return _failed("PrometheusUnreachable", str(error))
        if answer.status in _BAD_QUERY_STATUS:
            return _failed("QueryError", f"Prometheus rejected the range query: HTTP {answer.status}")
        if not 200 <= answer.status < 300:
            return _failed("PrometheusError", f"HTTP {answer.status}")
        try:
            return parse(json.loads(answer.body)["data"]["result"])
        except (ValueError, KeyError, TypeError) as error:
            return _failed("PrometheusError", f"unexpected answer: {type(error).__name__}")

    def close(self) -> None:
        """Release the idle connections."""
        self._client.close()


def parse(result: Any) -> HistoryReading:
    """The ``data.result`` of a range query as one series: none is an empty history, several ambiguous."""
    if not isinstance(result, list):
        return _failed("NonNumeric", f"unexpected result of type {type(result).__name__}")
    if not result:
        return HistoryReading(series=forecast.Series.empty())
    if len(result) > 1:
        return _failed(
            "AmbiguousResult", f"the range query returned {len(result)} series where one is needed; aggregate it"
        )
    values = result[0].get("values") if isinstance(result[0], dict) else None
    if not isinstance(values, list):
        return _failed("NonNumeric", "an instant or malformed result where a range was expected")
    try:
        pairs = np.array([(float(t), float(v)) for t, v in values], dtype=np.float64).reshape(-1, 2)
    except (TypeError, ValueError):
        return _failed("NonNumeric", "a sample of the range is not a number")
    return HistoryReading(series=forecast.Series.of(pairs[:, 0], pairs[:, 1]))


@dataclasses.dataclass
class _Entry:
    step: float
    last: float  # the last evaluation time asked for (points may be missing: a gap stays a gap)
    series: forecast.Series


class HistoryCache:
    """Each (server, query)'s history, read in full once and then only for the steps since the last read."""

    def __init__(self) -> None:
        self._entries: dict[Key, _Entry] = {}
        self._lock = threading.Lock()
        self.points_read = 0  # points received from Prometheus since start (tests and logs)

    def read(self, source: RangeSource, query: str, *, now: float, lookback: float) -> HistoryReading:
        """The history of ``query`` over the ``lookback`` seconds before ``now``, asking only for what is new."""
        step = step_for(lookback)
        key = (source.settings, query)
        end = math.floor(now / step) * step  # on the step grid, so consecutive reads line up
        with self._lock:
            entry = self._entries.get(key)
        oldest = now - lookback
        if entry is not None and entry.step == step and entry.last >= oldest:
            # The last point again: a scrape stamped just before it may have landed after it was read.
            start = entry.last
        else:
            entry, start = None, math.ceil(oldest / step) * step
        if start <= end:
            fresh = source.fetch_range(query, start=start, end=end, step=step)
            if fresh.failure is not None or fresh.series is None:
                return fresh
            self.points_read += len(fresh.series)
            known = entry.series if entry is not None else forecast.Series.empty()
            kept = int(np.searchsorted(known.times, start, side="left"))
            series = forecast.Series(
                times=np.concatenate([known.times[:kept], fresh.series.times]),
                values=np.concatenate([known.values[:kept], fresh.series.values]),
            )
            entry = _Entry(step=step, last=end, series=series)
        assert entry is not None
        entry = dataclasses.replace(entry, series=entry.series.since(oldest))
        with self._lock:
            self._entries[key] = entry
        return HistoryReading(series=entry.series)

    def retain(self, keys: Iterable[Key]) -> None:
        """Keep only the entries of ``keys`` (the queries some policy still asks for)."""
        wanted = set(keys)
        with self._lock:
            for key in [key for key in self._entries if key not in wanted]:
                del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)


def _failed(reason: fallback.FailureReason, message: str) -> HistoryReading:
    return HistoryReading(failure=fallback.MetricsFailure(reason, message))
