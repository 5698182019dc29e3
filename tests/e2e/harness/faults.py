"""Fault injection: arm the next N matching requests to fail or to stall.

Reliability tests arm a fault from the test thread; the emulator consumes it in its own loop,
so the registry is guarded by a threading lock (held only for a few dict operations).

    fault = apiserver.faults.arm("PATCH", r".*/deployments/web/scale", status=409)
    fault = apiserver.faults.arm("GET", r"/api/v1/pods", status=429, retry_after=2, count=3)
    fault = apiserver.faults.arm("*", r".*", delay=0.5)       # stall, then serve normally
    ...
    assert fault.hits == 1

Matching: the method (case-insensitive, ``*`` for any) and a regular expression that must match
the whole request path (without the query string). Armed faults are tried in arming order; the
first with charges left wins. A request that matched a fault with a status never reaches the
store, so it changes nothing (as a real rejected write).
"""

from __future__ import annotations

import re
import threading

import attrs

_REASONS = {
    409: "Conflict",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


@attrs.define(kw_only=True, eq=False)
class Fault:
    """One armed fault; `hits` counts the requests it has caught so far."""

    method: str
    pattern: re.Pattern[str]
    status: int | None = None
    retry_after: float | None = None
    delay: float = 0.0
    message: str = "injected fault"
    remaining: int = 1
    hits: int = 0

    @property
    def reason(self) -> str:
        return _REASONS.get(self.status or 0, "InjectedFault")

    def matches(self, method: str, path: str) -> bool:
        method_ok = self.method == "*" or self.method.upper() == method.upper()
        return method_ok and self.remaining > 0 and self.pattern.fullmatch(path) is not None


@attrs.define
class Faults:
    """The registry of armed faults, shared by the test thread and the emulator's loop."""

    _armed: list[Fault] = attrs.field(factory=list)
    _lock: threading.Lock = attrs.field(factory=threading.Lock)

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
    ) -> Fault:
        """Make the next `count` requests matching `method` and `path` fail with `status`
        (with a ``Retry-After`` header if given), after sleeping `delay` seconds. With no status,
        the requests are only delayed and then served normally."""
        if status is None and not delay:
            raise ValueError("a fault needs a status, a delay, or both")
        fault = Fault(
            method=method,
            pattern=re.compile(path),
            status=status,
            retry_after=retry_after,
            delay=delay,
            remaining=count,
            message=message,
        )
        with self._lock:
            self._armed.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        """Consume one charge of the first armed fault that matches, if any."""
        with self._lock:
            for fault in self._armed:
                if fault.matches(method, path):
                    fault.remaining -= 1
                    fault.hits += 1
                    return fault
        return None

    def clear(self) -> None:
        """Disarm everything."""
        with self._lock:
            self._armed.clear()
