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
from typing import Literal, Protocol

from burstscaler.api import spec
from burstscaler.core import fallback, recommend
from burstscaler.sources import cpu, prometheus, tenancy

logger = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 8
#: ``--prometheus-tenancy``: none, or every tenant query pinned to its policy's namespace (``sources.tenancy``).
TENANCIES = ("none", "namespace")
#: Distinct servers whose sources (and kept-alive connections) are kept; more are closed LRU-first.
MAX_SOURCES = 64


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

    def fetch(self, query: MetricQuery) -> recommend.Reading:
        """Read one metric, blocking; never raises."""
        try:
            why = self.refusal(query.metric)
            if why is not None:
                return recommend.Reading(failure=fallback.MetricsFailure("PrometheusUnreachable", why))
            settings = self.settings_for(query.metric)
            promql = promql_for(query)
            if self.tenancy == "namespace" and settings is self.defaults and kind_of(query.metric) == "prometheus":
                # The operator's server sees every namespace: the tenant's query sees only its own.
                try:
                    promql = tenancy.pin(promql, namespace=query.namespace)
                except tenancy.Unpinnable as error:
                    message = f"the query cannot be pinned to namespace {query.namespace}: {error}"
                    return recommend.Reading(failure=fallback.MetricsFailure("QueryError", message))
            return self.source_for(settings).fetch(promql)
        except Exception as error:  # a bug in a source must cost one reading, not the operator's tick
            logger.exception("metric source failed for %s", query.policy)
            return recommend.Reading(failure=fallback.MetricsFailure("PrometheusError", type(error).__name__))

    async def fetch_all(self, queries: Sequence[MetricQuery]) -> list[recommend.Reading]:
        """Read all metrics of a tick concurrently; one reading per query, in order, by the tick's deadline."""
        if not queries:
            return []
        loop = asyncio.get_running_loop()
        gates = self._gates_for(loop)

        async def read(query: MetricQuery) -> recommend.Reading:
            gate = gates.setdefault(query.namespace, _Gate(self._per_namespace))
            await gate.acquire()
            # The slot is held until the read itself ends (by its own deadline), not until this tick
            # gives up on it: a read still running from an earlier tick counts against its namespace.
            future = loop.run_in_executor(self._pool, self.fetch, query)
            future.add_done_callback(lambda _: gate.release())
            return await asyncio.shield(future)

        tasks = [asyncio.ensure_future(read(query)) for query in queries]
        done, pending = await asyncio.wait(tasks, timeout=self.tick_deadline_seconds)
        for task in pending:
            task.cancel()  # a read not started is dropped; a started one ends by its own deadline
        late = fallback.MetricsFailure(
            "PrometheusTimeout", f"no reading within the tick's {self.tick_deadline_seconds:g}s deadline"
        )
        return [task.result() if task in done else recommend.Reading(failure=late) for task in tasks]

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
