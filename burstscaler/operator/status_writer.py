"""Writes BurstPolicy statuses beside the ticks, never in their way.

A tick hands its status block over and returns: its timer keeps its interval however slow the API
server answers. Blocks are coalesced per policy (a newer one replaces one not yet written, so a slow
API means fewer writes, never a growing queue), written by a few workers on their own threads (so
status writes never wait behind, or hold up, the calls that scale workloads), and skipped when they
would change only what changes every tick (the decision's time and inputs, the cost counters;
``status.settled``): those are refreshed every ``refresh_seconds``. With 1,000 policies on a 5 s tick,
a steady cluster costs one write per policy per refresh instead of 200 writes a second.

A failed write (after ``kube.Policies``' retries) is logged and counted; the policy's next tick
writes again, because a failure forgets when that policy was last written.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from burstscaler.cluster import kube
from burstscaler.operator import metrics as operator_metrics
from burstscaler.operator import planner, status

logger = logging.getLogger(__name__)


def compose(first: Mapping[str, Any], second: Mapping[str, Any]) -> dict[str, Any]:
    """One JSON merge patch (RFC 7386) with the effect of ``first`` then ``second``.

    Objects are composed key by key; anything else (lists, scalars, null: a deletion) in ``second``
    wins. Keys only ``first`` sets are kept.
    """
    result = dict(first)
    for key, value in second.items():
        earlier = result.get(key)
        if isinstance(value, Mapping) and isinstance(earlier, Mapping):
            result[key] = compose(earlier, value)
        else:
            result[key] = value
    return result


class StatusWriter:
    """Coalescing, skipping, bounded-concurrency writer of policy statuses."""

    def __init__(
        self,
        policies: kube.Policies,
        *,
        metrics: operator_metrics.Metrics,
        refresh_seconds: float,
        concurrency: int = 4,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policies = policies
        self.metrics = metrics
        self.refresh_seconds = refresh_seconds
        self.concurrency = concurrency
        self.clock = clock
        self.pending: dict[planner.Key, dict[str, Any]] = {}  # newest block per policy, not yet written
        self.written_at: dict[planner.Key, float] = {}  # clock() of each policy's last successful write
        self.in_flight: set[planner.Key] = set()  # one write per policy at a time, so the newest lands last
        self.dropped: set[planner.Key] = set()  # forgotten while in flight: nothing kept when the write lands
        self._queue: asyncio.Queue[planner.Key] | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None

    def submit(self, key: planner.Key, block: dict[str, Any], *, current: Mapping[str, Any] | None) -> bool:
        """Queue ``block`` for the policy unless it is settled over ``current`` and was written lately.

        Returns whether it was queued. Must be called from the event loop the writer works in.
        """
        written = self.written_at.get(key)
        if written is not None and self.clock() - written < self.refresh_seconds and status.settled(block, current):
            return False
        queued = key in self.pending or key in self.in_flight  # in flight: queued again when it lands
        # Both are merge patches: writing their composition is writing one then the other, so a field
        # only the older one sets (lastDrainTime, an input to null) is not lost by coalescing.
        older = self.pending.get(key)
        self.pending[key] = block if older is None else compose(older, block)
        if not queued:
            self._start().put_nowait(key)
        return True

    def forget(self, key: planner.Key) -> None:
        """Drop what is known of a deleted policy (a queued write of it finds nothing to write)."""
        self.pending.pop(key, None)
        self.written_at.pop(key, None)
        if key in self.in_flight:
            self.dropped.add(key)

    async def drain(self) -> None:
        """Wait until every queued block is written or has failed (for shutdown and tests)."""
        while self.pending or self.in_flight:
            await asyncio.sleep(0.01)

    async def close(self) -> None:
        """Stop the workers and their threads; what is still queued is not written."""
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers.clear()
        self._queue = None
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def _start(self) -> asyncio.Queue[planner.Key]:
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=self.concurrency, thread_name_prefix="status-writer"
            )
            self._workers = [asyncio.create_task(self._work(self._queue)) for _ in range(self.concurrency)]
        return self._queue

    async def _work(self, queue: asyncio.Queue[planner.Key]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            key = await queue.get()
            block = self.pending.pop(key, None)
            if block is None:
                continue  # forgotten since it was queued
            namespace, name = key
            self.in_flight.add(key)
            try:
                await loop.run_in_executor(self._executor, self.policies.patch_status, namespace, name, block)
            except kube.KubeError as error:
                self.metrics.api_errors.labels(status=str(error.status)).inc()
                self.written_at.pop(key, None)
                logger.warning("%s/%s: status not written (%s); the next tick writes it again", namespace, name, error)
            except Exception:  # a worker must outlive any one write: log it, the next tick writes again
                self.written_at.pop(key, None)
                logger.exception("%s/%s: status not written; the next tick writes it again", namespace, name)
            else:
                self.written_at[key] = self.clock()
            finally:
                self.in_flight.discard(key)
                if key in self.dropped:
                    self.dropped.discard(key)
                    self.written_at.pop(key, None)
                if key in self.pending:  # a newer block arrived while this one was written
                    queue.put_nowait(key)
