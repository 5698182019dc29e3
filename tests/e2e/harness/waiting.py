"""Poll until a condition holds: eventual conditions without wall-clock assertions."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(probe: Callable[[], T], *, timeout: float = 10, interval: float = 0.05, message: str = "") -> T:
    """Call `probe` until it returns a truthy value (returned) or raises nothing past `timeout`.

    Exceptions inside `probe` count as "not yet" (objects may not exist yet); the last one is
    chained to the TimeoutError for diagnosis.
    """
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while True:
        try:
            result = probe()
            if result:
                return result
            last = None
        except Exception as e:
            last = e
        if time.monotonic() >= deadline:
            raise TimeoutError(f"condition not met within {timeout}s: {message or probe}") from last
        time.sleep(interval)
