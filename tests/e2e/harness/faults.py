"""Fault injection: arm the next N matching requests of one client to fail or to stall.

Reliability tests arm a fault from the test thread; the emulator consumes it in its own loop,
so the registry is guarded by a threading lock (held only for a few dict operations).

    fault = apiserver.faults.arm("PATCH", r".*/deployments/web/scale", status=409)
    fault = apiserver.faults.arm("GET", r"/api/v1/pods", status=429, retry_after=2, count=3)
    fault = apiserver.faults.arm("*", r".*", delay=0.5, client="any")   # stall anyone, then serve
    ...
    assert fault.hits == 1 and set(fault.caught) == {"operator"}

Matching: the client's identity (below), the method (case-insensitive, ``*`` for any) and a
regular expression that must match the whole request path (without the query string). Armed
faults are tried in arming order; the first with charges left wins. A request that matched a fault
with a status never reaches the store, so it changes nothing (as a real rejected write).

**Client identity** (:func:`client_of`), from the ``User-Agent`` each client sends on its own (no
product code sets one):

- ``operator``: the two clients of the process under test, ``burstscaler run``: Kopf's aiohttp
  session (``kopf/<version>``, for watches, Kopf's own patches and events) and the official
  ``kubernetes`` client of ``burstscaler.cluster.kube`` (``OpenAPI-Generator/<version>/python``, for
  scaling, the twin and status writes); ``burstscaler/`` is accepted too, should the product
  identify itself one day;
- ``actor``: the cluster actor (its :class:`~.client.RestClient` sends :data:`ACTOR_AGENT`);
- ``kubectl``: ``kubectl/<version>``;
- ``test``: anything else (the tests' own ``RestClient`` and ``requests`` calls).

A fault is armed for the ``operator`` by default, so the actor, which polls the same cluster-wide
paths many times a second, never consumes a stall or an error meant for the operator. Tests of the
harness itself pass ``client="any"`` (the old behaviour) or a specific identity. Caveat: test code
that runs Kopf or the official client *in the test process* is also ``operator``.
"""

from __future__ import annotations

import collections
import re
import threading
import time

import attrs

ACTOR_AGENT = "e2e-cluster-actor/1.0"
ANY = "any"
CLIENTS = ("operator", "actor", "kubectl", "test")
# User-Agent prefix -> identity; the first that matches wins.
_AGENTS = (
    ("kopf/", "operator"),
    ("OpenAPI-Generator/", "operator"),
    ("burstscaler/", "operator"),
    (ACTOR_AGENT.split("/")[0] + "/", "actor"),
    ("kubectl/", "kubectl"),
)

_REASONS = {
    409: "Conflict",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


def client_of(user_agent: str | None) -> str:
    """The identity of the client that sent `user_agent` (see the module docstring)."""
    for prefix, identity in _AGENTS:
        if (user_agent or "").startswith(prefix):
            return identity
    return "test"


@attrs.define(kw_only=True, eq=False)
class Fault:
    """One armed fault; `hits` counts the requests it has caught so far, `caught` them by client."""

    method: str
    pattern: re.Pattern[str]
    client: str = "operator"
    status: int | None = None
    retry_after: float | None = None
    delay: float = 0.0
    message: str = "injected fault"
    remaining: int = 1
    hits: int = 0
    caught: collections.Counter[str] = attrs.field(factory=collections.Counter)

    @property
    def reason(self) -> str:
        return _REASONS.get(self.status or 0, "InjectedFault")

    def matches(self, method: str, path: str, *, client: str = ANY) -> bool:
        """True if a request of `client` with `method` and `path` is caught (charges left)."""
        client_ok = self.client == ANY or self.client == client
        method_ok = self.method == "*" or self.method.upper() == method.upper()
        return client_ok and method_ok and self.remaining > 0 and self.pattern.fullmatch(path) is not None


@attrs.define(kw_only=True, eq=False)
class WatchCut:
    """Open watch streams of `client` were cut; its watches arriving before `until`
    (``time.monotonic()``) are held until then, then served (from the resourceVersion they ask).

    `ended` counts the streams it closed, `held` the reconnects it held."""

    client: str
    generation: int
    until: float
    ended: int = 0
    held: int = 0

    def hold_seconds(self) -> float:
        """How long a watch arriving now waits (0 once the hold is over)."""
        return max(0.0, self.until - time.monotonic())


@attrs.define
class Faults:
    """The registry of armed faults, shared by the test thread and the emulator's loop."""

    _armed: list[Fault] = attrs.field(factory=list)
    _lock: threading.Lock = attrs.field(factory=threading.Lock)
    _cuts: list[WatchCut] = attrs.field(factory=list)

    def arm(
        self,
        method: str,
        path: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        delay: float = 0.0,
        count: int = 1,
        message: str = "injected fault",
        client: str = "operator",
    ) -> Fault:
        """Make the next `count` requests of `client` matching `method` and `path` fail with
        `status` (with a ``Retry-After`` header if given), after sleeping `delay` seconds. With no
        status, the requests are only delayed and then served normally. `client` is an identity of
        :data:`CLIENTS`, or ``"any"`` for every client."""
        if status is None and not delay:
            raise ValueError("a fault needs a status, a delay, or both")
        if client != ANY and client not in CLIENTS:
            raise ValueError(f"unknown client {client!r}: one of {CLIENTS} or {ANY!r}")
        fault = Fault(
            method=method,
            pattern=re.compile(path),
            client=client,
            status=status,
            retry_after=retry_after,
            delay=delay,
            remaining=count,
            message=message,
        )
        with self._lock:
            self._armed.append(fault)
        return fault

    def take(self, method: str, path: str, *, client: str = ANY) -> Fault | None:
        """Consume one charge of the first armed fault that matches a request of `client`, if any.

        The default ``client="any"`` (an unidentified request) is caught only by faults armed for
        any client."""
        with self._lock:
            for fault in self._armed:
                if fault.client != ANY and client == ANY:
                    continue
                if fault.matches(method, path, client=client):
                    fault.remaining -= 1
                    fault.hits += 1
                    fault.caught[client] += 1
                    return fault
        return None

    def clear(self) -> None:
        """Disarm everything."""
        with self._lock:
            self._armed.clear()

    # -- watch streams: a dropped connection, then a reconnect held for a while -------------------

    def cut_watches(self, *, hold: float, client: str = "operator") -> WatchCut:
        """End every open watch stream of `client` before it sends another event, and hold its
        watches arriving in the next `hold` seconds until then (the gap of a lost connection). The
        emulator notices the cut at its next write (every write wakes the watches)."""
        if client != ANY and client not in CLIENTS:
            raise ValueError(f"unknown client {client!r}: one of {CLIENTS} or {ANY!r}")
        with self._lock:
            cut = WatchCut(client=client, generation=len(self._cuts) + 1, until=time.monotonic() + hold)
            self._cuts.append(cut)
        return cut

    def watch_generation(self) -> int:
        """The number of cuts so far: a watch started now is cut only by later ones."""
        with self._lock:
            return len(self._cuts)

    def cut_since(self, generation: int, *, client: str) -> WatchCut | None:
        """The first cut after `generation` that applies to a watch of `client`, if any."""
        with self._lock:
            for cut in self._cuts[generation:]:
                if cut.client in (ANY, client):
                    return cut
        return None

    def watch_hold(self, *, client: str) -> WatchCut | None:
        """The cut holding a watch of `client` arriving now, if one is still holding."""
        with self._lock:
            for cut in reversed(self._cuts):
                if cut.client in (ANY, client) and cut.hold_seconds() > 0:
                    return cut
        return None
