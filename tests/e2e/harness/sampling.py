"""Sample a probe every few milliseconds in a thread, to check an invariant over a whole scenario.

``eventually`` (``waiting``) answers "did it happen"; a sampler answers "did it ever break": every
observation between enter and exit is kept (no dip in Ready pods, a cap never passed).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Sampler(Generic[T]):
    """Calls ``probe`` every ``interval`` seconds from enter to exit and keeps each answer in ``samples``."""

    def __init__(self, probe: Callable[[], T], *, interval: float = 0.05) -> None:
        self.probe, self.interval = probe, interval
        self.samples: list[T] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler[T]:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(Exception):  # the probe races the actor's writes: a missed sample is fine
                self.samples.append(self.probe())
            self._stop.wait(self.interval)
