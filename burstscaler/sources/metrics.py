"""Metric sources behind one small protocol, a registry of metric kinds, and off-loop fetching.

KEDA-style: a source can ``fetch`` a query, ``describe`` itself and ``close``. The registry turns
each ``metrics[]`` entry of a policy into (the server to ask, the query to send):

====================  ======================================================================
kind (spec field)     query
====================  ======================================================================
``prometheus``        the user's PromQL, on ``serverUrl`` or the operator-wide server
``cpu``               the generated utilisation PromQL of ``sources.cpu``, operator-wide server
====================  ======================================================================

Adding a kind: write a module with a ``query_for``-style builder, add a ``MetricSpec`` field in
``api.spec``, and one entry to ``_BUILDERS`` below.

``Fetcher.fetch_all`` runs every query of a tick in a bounded thread pool, so the event loop never
blocks on HTTP and a thousand policies never open a thousand connections at once. One
``PrometheusSource`` (one connection pool) is shared per distinct server.

Credentials: the operator-wide bearer token goes only to the operator-wide URL. A policy's own
``serverUrl`` gets the same TLS settings but no token: a namespace user must not be able to point
the operator's credentials at a server of their choosing.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Protocol

from burstscaler.api import spec
from burstscaler.core import fallback, recommend
from burstscaler.sources import cpu, prometheus

logger = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 8


class MetricSource(Protocol):
    """Where readings come from. Implementations never raise from ``fetch``: failures are readings."""

    def fetch(self, query: str) -> recommend.Reading: ...

    def describe(self) -> str: ...

    def close(self) -> None: ...


@dataclasses.dataclass(frozen=True)
class MetricQuery:
    """One metric of one policy to read this tick."""

    policy: str  # "namespace/name", for logs
    namespace: str
    target: spec.TargetRef
    metric: spec.MetricSpec


def _prometheus_query(query: MetricQuery) -> str:
    assert query.metric.prometheus is not None
    return query.metric.prometheus.query


def _cpu_query(query: MetricQuery) -> str:
    return cpu.query_for(query.target, namespace=query.namespace)


#: Metric kinds in the order they are checked; the first whose spec field is set builds the query.
_BUILDERS: tuple[tuple[str, Callable[[MetricQuery], str]], ...] = (
    ("prometheus", _prometheus_query),  # the user's own PromQL
    ("cpu", _cpu_query),  # generated: average CPU utilisation vs requests
)


def kind_of(metric: spec.MetricSpec) -> str:
    """The registry kind of a metrics[] entry."""
    for kind, _ in _BUILDERS:
        if getattr(metric, kind) is not None:
            return kind
    raise ValueError("a metric with no source set")


def promql_for(query: MetricQuery) -> str:
    """The PromQL that ``query`` sends."""
    kind = kind_of(query.metric)
    return dict(_BUILDERS)[kind](query)


class Fetcher:
    """Reads many metrics off the event loop, with at most ``concurrency`` requests in flight."""

    def __init__(
        self,
        defaults: prometheus.Settings,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        source_factory: Callable[[prometheus.Settings], MetricSource] = prometheus.PrometheusSource,
    ) -> None:
        self.defaults = defaults
        self._factory = source_factory
        self._sources: dict[prometheus.Settings, MetricSource] = {}
        self._lock = threading.Lock()
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="metrics")

    def settings_for(self, metric: spec.MetricSpec) -> prometheus.Settings:
        """The server a metric is read from (see the module docstring about tokens)."""
        url = metric.prometheus.server_url if metric.prometheus is not None else None
        if url is None or url.rstrip("/") == self.defaults.url.rstrip("/"):
            return self.defaults
        return dataclasses.replace(self.defaults, url=url, bearer_token=None)

    def source_for(self, settings: prometheus.Settings) -> MetricSource:
        """The shared source of one server, created on first use."""
        with self._lock:
            source = self._sources.get(settings)
            if source is None:
                source = self._sources[settings] = self._factory(settings)
                logger.info("metric source: %s", source.describe())
            return source

    def fetch(self, query: MetricQuery) -> recommend.Reading:
        """Read one metric, blocking; never raises."""
        try:
            return self.source_for(self.settings_for(query.metric)).fetch(promql_for(query))
        except Exception as error:  # a bug in a source must cost one reading, not the operator's tick
            logger.exception("metric source failed for %s", query.policy)
            return recommend.Reading(failure=fallback.MetricsFailure("PrometheusError", type(error).__name__))

    async def fetch_all(self, queries: Sequence[MetricQuery]) -> list[recommend.Reading]:
        """Read all metrics of a tick concurrently in the thread pool; one reading per query, in order."""
        loop = asyncio.get_running_loop()
        return list(await asyncio.gather(*(loop.run_in_executor(self._pool, self.fetch, query) for query in queries)))

    def close(self) -> None:
        """Stop the pool and close every source."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            for source in self._sources.values():
                source.close()
            self._sources.clear()
