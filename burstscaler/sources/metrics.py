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
``PrometheusSource`` (a few kept-alive connections) is shared per distinct server; at most
``MAX_SOURCES`` are kept, the least recently used closed first.

No tenant stalls the others (issue 12): every read has a total deadline (``sources.bounded_http``);
a namespace has at most ``per_namespace`` reads in flight (half the pool), counting reads still running
from earlier ticks, so one namespace's slow servers cannot take the whole pool; and ``fetch_all``
returns at the tick's deadline (``tick_deadline_seconds``): a reading not in by then is a
``PrometheusTimeout`` for its own policy while every other policy plans.

Histories for the forecast (``spec.forecast``): ``fetch_history_all`` reads each metric's range
(``sources.history``) the same way, through the same server choice, tenancy pinning, pool, namespace
slots and tick deadline; its cache keeps only the histories that tick asked for.

Credentials and servers: the operator-wide bearer token goes only to the operator-wide URL. A policy's
own ``serverUrl`` gets the same TLS settings but no token (a namespace user must not be able to point
the operator's credentials at a server of their choosing), is used only when it matches one of the
operator's ``allowed_urls`` patterns (none by default), and is connected to only at addresses
``api.addresses`` allows (checked after DNS resolution). With ``tenancy="namespace"`` a tenant's query on
the operator's server is pinned to the policy's namespace (``sources.tenancy``).
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import dataclasses
import fnmatch
import logging
import threading
import urllib.parse
from collections.abc import Callable, Sequence
from typing import Literal, Protocol, TypeVar

from burstscaler.api import spec
from burstscaler.core import fallback, recommend
from burstscaler.sources import cpu, history, prometheus, tenancy

logger = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 8
#: ``--prometheus-tenancy``: none, or every tenant query pinned to its policy's namespace (``sources.tenancy``).
TENANCIES = ("none", "namespace")
#: Distinct servers whose sources (and kept-alive connections) are kept; more are closed LRU-first.
MAX_SOURCES = 64
Q = TypeVar("Q")
R = TypeVar("R")


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


@dataclasses.dataclass(frozen=True)
class HistoryQuery:
    """One metric's history over ``lookback`` seconds before ``now`` (``spec.forecast``)."""

    metric: MetricQuery
    now: float
    lookback: float


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


class _Gate(asyncio.Semaphore):
    """A namespace's read slots; knows when none is taken (then it may be forgotten)."""

    def __init__(self, slots: int) -> None:
        super().__init__(slots)
        self.taken = 0

    async def acquire(self) -> Literal[True]:
        await super().acquire()
        self.taken += 1
        return True

    def release(self) -> None:
        self.taken -= 1
        super().release()

    def idle(self) -> bool:
        """True when no slot is taken and nobody waits for one."""
        return self.taken == 0 and not self.locked()


def allowed(url: str, patterns: Sequence[str]) -> bool:
    """True when a policy's `url` matches one of the operator's ``--allowed-prometheus-url`` patterns.

    Patterns are shell-style globs over the normalised ``scheme://host:port/path`` (the port always
    written), for example ``http://prometheus.*.svc:9090`` or ``https://*.monitoring.svc.cluster.local:9090``.
    """
    parts = urllib.parse.urlsplit(url)
    if not parts.hostname:
        return False
    port = parts.port or (443 if parts.scheme == "https" else 80)
    normal = f"{parts.scheme}://{parts.hostname}:{port}{parts.path.rstrip('/')}"
    return any(fnmatch.fnmatchcase(normal, pattern.rstrip("/")) for pattern in patterns)


class Fetcher:
    """Reads many metrics off the event loop, with at most ``concurrency`` requests in flight."""

    def __init__(
        self,
        defaults: prometheus.Settings,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        source_factory: Callable[[prometheus.Settings], MetricSource] = prometheus.PrometheusSource,
        allowed_urls: Sequence[str] = (),
        per_namespace: int | None = None,
        tick_deadline_seconds: float | None = None,
        max_sources: int = MAX_SOURCES,
        tenancy: str = "none",
    ) -> None:
        self.defaults = defaults
        self.allowed_urls = tuple(allowed_urls)
        if tenancy not in TENANCIES:
            raise ValueError(f"tenancy must be one of {', '.join(TENANCIES)}, got {tenancy!r}")
        self.tenancy = tenancy
        self._factory = source_factory
        self._sources: collections.OrderedDict[prometheus.Settings, MetricSource] = collections.OrderedDict()
        self._max_sources = max_sources
        self._lock = threading.Lock()
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="metrics")
        # Half the pool per namespace (at least one): a tenant's slow servers and queries leave the other
        # half to everyone else, and a namespace holding most policies still reads at half speed at worst.
        self._per_namespace = per_namespace or max(1, concurrency // 2)
        # Each read ends by its own deadline; the tick waits that long plus a little for the pool.
        self.tick_deadline_seconds = tick_deadline_seconds or defaults.timeout_seconds + 1.0
        self._gates: dict[str, _Gate] = {}
        self._gates_loop: asyncio.AbstractEventLoop | None = None
        self._ranges: collections.OrderedDict[prometheus.Settings, history.RangeSource] = collections.OrderedDict()
        self.histories = history.HistoryCache()

    def refusal(self, metric: spec.MetricSpec) -> str | None:
        """Why the operator will not read `metric` from its own ``serverUrl``, or None when it will."""
        url = metric.prometheus.server_url if metric.prometheus is not None else None
        if url is None or url.rstrip("/") == self.defaults.url.rstrip("/"):
            return None
        if not allowed(url, self.allowed_urls):
            return (
                f"serverUrl {prometheus.redact(url)} is not allowed by the operator; drop serverUrl to use the "
                "operator's Prometheus, or ask the cluster admin to allow it (burstscaler run "
                "--allowed-prometheus-url PATTERN)"
            )
        return None

    def settings_for(self, metric: spec.MetricSpec) -> prometheus.Settings:
        """The server a metric is read from (see the module docstring about tokens)."""
        url = metric.prometheus.server_url if metric.prometheus is not None else None
        if url is None or url.rstrip("/") == self.defaults.url.rstrip("/"):
            return self.defaults
        return dataclasses.replace(self.defaults, url=url, bearer_token=None, restrict_addresses=True)

    def source_for(self, settings: prometheus.Settings) -> MetricSource:
        """The shared source of one server, created on first use (the least recently used beyond the cap closed)."""
        evicted = []
        with self._lock:
            source = self._sources.get(settings)
            if source is None:
                source = self._sources[settings] = self._factory(settings)
                logger.info("metric source: %s", source.describe())
                while len(self._sources) > self._max_sources:
                    evicted.append(self._sources.popitem(last=False)[1])
            self._sources.move_to_end(settings)
        for old in evicted:
            old.close()
        return source

    def resolve(self, query: MetricQuery) -> tuple[prometheus.Settings, str] | fallback.MetricsFailure:
        """The server and the PromQL as sent for ``query`` (tenancy pinning applied), or why it is not read."""
        why = self.refusal(query.metric)
        if why is not None:
            return fallback.MetricsFailure("PrometheusUnreachable", why)
        settings = self.settings_for(query.metric)
        promql = promql_for(query)
        if self.tenancy == "namespace" and settings is self.defaults and kind_of(query.metric) == "prometheus":
            # The operator's server sees every namespace: the tenant's query sees only its own.
            try:
                promql = tenancy.pin(promql, namespace=query.namespace)
            except tenancy.Unpinnable as error:
                return fallback.MetricsFailure(
                    "QueryError", f"the query cannot be pinned to namespace {query.namespace}: {error}"
                )
        return settings, promql

    def fetch(self, query: MetricQuery) -> recommend.Reading:
        """Read one metric, blocking; never raises."""
        try:
            resolved = self.resolve(query)
            if isinstance(resolved, fallback.MetricsFailure):
                return recommend.Reading(failure=resolved)
            settings, promql = resolved
            return self.source_for(settings).fetch(promql)
        except Exception as error:  # a bug in a source must cost one reading, not the operator's tick
            logger.exception("metric source failed for %s", query.policy)
            return recommend.Reading(failure=fallback.MetricsFailure("PrometheusError", type(error).__name__))

    # -- histories for the forecast (``sources.history``) -------------------------------------------

    def range_source_for(self, settings: prometheus.Settings) -> history.RangeSource:
        """The shared range-query source of one server (the least recently used beyond the cap closed)."""
        evicted = []
        with self._lock:
            source = self._ranges.get(settings)
            if source is None:
                source = self._ranges[settings] = history.RangeSource(settings)
                while len(self._ranges) > self._max_sources:
                    evicted.append(self._ranges.popitem(last=False)[1])
            self._ranges.move_to_end(settings)
        for old in evicted:
            old.close()
        return source

    def fetch_history(self, query: HistoryQuery) -> history.HistoryReading:
        """Read one metric's history (cached between ticks), blocking; never raises."""
        try:
            resolved = self.resolve(query.metric)
            if isinstance(resolved, fallback.MetricsFailure):
                return history.HistoryReading(failure=resolved)
            settings, promql = resolved
            return self.histories.read(self.range_source_for(settings), promql, now=query.now, lookback=query.lookback)
        except Exception as error:  # a bug here must cost one policy's forecast, not the tick
            logger.exception("history read failed for %s", query.metric.policy)
            return history.HistoryReading(failure=fallback.MetricsFailure("PrometheusError", type(error).__name__))

    async def fetch_history_all(self, queries: Sequence[HistoryQuery]) -> list[history.HistoryReading]:
        """Read the histories of a tick like ``fetch_all`` reads readings: same pool, slots and deadline.

        The cache keeps only the histories asked for here: a policy gone, or its forecast turned off,
        frees its entries at this tick.
        """
        keys = []
        for query in queries:
            resolved = self.resolve(query.metric)
            if not isinstance(resolved, fallback.MetricsFailure):
                keys.append(resolved)
        self.histories.retain(keys)
        late = fallback.MetricsFailure(
            "PrometheusTimeout", f"no history within the tick's {self.tick_deadline_seconds:g}s deadline"
        )
        return await self._gather(
            queries,
            read=self.fetch_history,
            namespace=lambda query: query.metric.namespace,
            late=history.HistoryReading(failure=late),
        )

    async def fetch_all(self, queries: Sequence[MetricQuery]) -> list[recommend.Reading]:
        """Read all metrics of a tick concurrently; one reading per query, in order, by the tick's deadline."""
        late = fallback.MetricsFailure(
            "PrometheusTimeout", f"no reading within the tick's {self.tick_deadline_seconds:g}s deadline"
        )
        return await self._gather(
            queries, read=self.fetch, namespace=lambda query: query.namespace, late=recommend.Reading(failure=late)
        )

    async def _gather(
        self,
        queries: Sequence[Q],
        *,
        read: Callable[[Q], R],
        namespace: Callable[[Q], str],
        late: R,
    ) -> list[R]:
        """``read`` every query in the pool, a namespace's slots held, by the tick's deadline (``late`` after)."""
        if not queries:
            return []
        loop = asyncio.get_running_loop()
        gates = self._gates_for(loop)

        async def one(query: Q) -> R:
            gate = gates.setdefault(namespace(query), _Gate(self._per_namespace))
            await gate.acquire()
            # The slot is held until the read itself ends (by its own deadline), not until this tick
            # gives up on it: a read still running from an earlier tick counts against its namespace.
            future = loop.run_in_executor(self._pool, read, query)
            future.add_done_callback(lambda _: gate.release())
            return await asyncio.shield(future)

        tasks = [asyncio.ensure_future(one(query)) for query in queries]
        done, pending = await asyncio.wait(tasks, timeout=self.tick_deadline_seconds)
        for task in pending:
            task.cancel()  # a read not started is dropped; a started one ends by its own deadline
        return [task.result() if task in done else late for task in tasks]

    def _gates_for(self, loop: asyncio.AbstractEventLoop) -> dict[str, _Gate]:
        """The per-namespace slots, kept across ticks (semaphores belong to one event loop)."""
        if self._gates_loop is not loop:
            self._gates_loop, self._gates = loop, {}
        if len(self._gates) > 4096:  # namespaces come and go: forget the idle ones
            idle = [namespace for namespace, gate in self._gates.items() if gate.idle()]
            for namespace in idle:
                del self._gates[namespace]
        return self._gates

    def close(self) -> None:
        """Stop the pool and close every source."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            for source in self._sources.values():
                source.close()
            self._sources.clear()
            for ranges in self._ranges.values():
                ranges.close()
            self._ranges.clear()
