"""Status writes beside the ticks: coalesced, skipped when settled, bounded, and surviving failures.

The Kubernetes API is the boundary: ``FakePolicies`` stands where ``kube.Policies`` talks HTTP, and
can be slow (a gate the test opens) or fail.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import prometheus_client
import pytest

from burstscaler.cluster import kube
from burstscaler.operator import metrics as operator_metrics
from burstscaler.operator import status
from burstscaler.operator.status_writer import StatusWriter

KEY = ("shop", "web")


class FakePolicies:
    """Records patch_status calls; optionally holds them at a gate or fails the first few."""

    def __init__(self, *, gated: bool = False, failures: int = 0) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.gate = threading.Event()
        if not gated:
            self.gate.set()
        self.failures = failures
        self.in_flight = 0
        self.most_in_flight = 0
        self._lock = threading.Lock()

    def patch_status(self, namespace: str, name: str, block: dict[str, Any]) -> None:
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            assert self.gate.wait(10), "the test never opened the gate"
            with self._lock:
                if self.failures > 0:
                    self.failures -= 1
                    raise kube.KubeError("PATCH status: 503 Service Unavailable", status=503)
                self.calls.append((namespace, name, block))
        finally:
            with self._lock:
                self.in_flight -= 1


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def block(*, base: int = 3, time: str = "2026-11-27T10:00:00Z", cpu: float = 0.5, cost: str = "0.1") -> dict[str, Any]:
    return {
        "observedGeneration": 1,
        "conditions": [{"type": "Ready", "status": "True", "reason": "Planning", "message": "planning"}],
        "baseReplicas": base,
        "lastDecision": {"time": time, "reason": "ecs-full", "message": f"cpu {cpu}", "inputs": {"cpu": cpu}},
        "cost": {"eciCost": cost},
    }


def writer(api: FakePolicies, clock: Clock, **kwargs: Any) -> tuple[StatusWriter, operator_metrics.Metrics]:
    metrics = operator_metrics.Metrics()
    return StatusWriter(api, metrics=metrics, refresh_seconds=30, clock=clock, **kwargs), metrics  # type: ignore[arg-type]


def test_settled_ignores_only_the_clock_the_inputs_and_the_cost() -> None:
    written = block()
    assert status.settled(block(time="2026-11-27T10:00:05Z", cpu=0.6, cost="0.2"), written)
    assert not status.settled(block(base=4), written), "a count changed"
    changed = block()
    changed["conditions"][0]["status"] = "False"
    assert not status.settled(changed, written), "a condition changed"
    other_reason = block()
    other_reason["lastDecision"]["reason"] = "steady"
    assert not status.settled(other_reason, written), "the decision changed"
    assert not status.settled(block(), None), "nothing written yet"
    assert not status.settled(block(), {"baseReplicas": 3}), "fields missing from the status"


def test_a_settled_status_is_refreshed_not_rewritten_every_tick() -> None:
    async def scenario() -> None:
        api, clock = FakePolicies(), Clock()
        status_writer, _ = writer(api, clock)
        current: dict[str, Any] | None = None
        for tick in range(13):  # a minute of 5 s ticks; nothing changes but time, inputs and cost
            clock.now += 5
            new = block(time=f"2026-11-27T10:00:{tick:02d}Z", cpu=0.5 + tick / 100, cost=str(tick))
            status_writer.submit(KEY, new, current=current)
            await status_writer.drain()
            current = api.calls[-1][2]
        # The first write (tick 0), then one refresh every 30 s (ticks 6 and 12).
        assert [call[2]["lastDecision"]["time"][-3:-1] for call in api.calls] == ["00", "06", "12"]
        status_writer.submit(KEY, block(base=5), current=current)
        await status_writer.drain()
        assert api.calls[-1][2]["baseReplicas"] == 5, "a change is written at once"
        await status_writer.close()

    asyncio.run(scenario())


def test_a_slow_api_coalesces_writes_and_never_blocks_the_tick() -> None:
    async def scenario() -> None:
        api, clock = FakePolicies(gated=True), Clock()
        status_writer, _ = writer(api, clock, concurrency=2)
        for base in range(1, 11):  # ten ticks while the first write is stuck
            assert status_writer.submit(KEY, block(base=base), current=None)  # returns at once
            await asyncio.sleep(0)
        for index in range(5):  # and other policies
            status_writer.submit(("shop", f"other-{index}"), block(), current=None)
        await asyncio.sleep(0.05)
        assert api.in_flight == 2, "writes are bounded by the writer's concurrency"
        api.gate.set()
        await status_writer.drain()
        web = [call[2]["baseReplicas"] for call in api.calls if call[1] == "web"]
        assert web == [1, 10], "the stuck write, then only the newest block"
        assert api.most_in_flight == 2
        assert len(api.calls) == 7
        await status_writer.close()

    asyncio.run(scenario())


def test_coalescing_keeps_what_only_the_older_block_said() -> None:
    async def scenario() -> None:
        api, clock = FakePolicies(gated=True), Clock()
        status_writer, _ = writer(api, clock, concurrency=1)
        status_writer.submit(KEY, block(base=1), current=None)
        await asyncio.sleep(0.01)  # in flight
        drained = {**block(base=2), "lastDrainTime": "2026-11-27T10:00:00Z"}
        drained["lastDecision"]["inputs"] = {"cpu": 0.5, "memory": None}  # an input gone: nulled
        status_writer.submit(KEY, drained, current=None)
        status_writer.submit(KEY, block(base=3), current=None)  # replaces the drained block before it is written
        api.gate.set()
        await status_writer.drain()
        last = api.calls[-1][2]
        assert (last["baseReplicas"], last["lastDrainTime"]) == (3, "2026-11-27T10:00:00Z")
        assert last["lastDecision"]["inputs"] == {"cpu": 0.5, "memory": None}
        await status_writer.close()

    asyncio.run(scenario())


def test_a_failed_write_is_counted_and_the_next_tick_writes_again(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> operator_metrics.Metrics:
        api, clock = FakePolicies(failures=1), Clock()
        status_writer, metrics = writer(api, clock)
        status_writer.submit(KEY, block(), current=None)
        await status_writer.drain()
        assert api.calls == []
        clock.now += 5
        # The status the policy has is settled (someone else wrote it), yet this writer's write failed.
        assert status_writer.submit(KEY, block(), current=block())
        await status_writer.drain()
        assert len(api.calls) == 1
        await status_writer.close()
        return metrics

    with caplog.at_level(logging.WARNING):
        metrics = asyncio.run(scenario())
    assert "status not written" in caplog.text
    text = prometheus_client.generate_latest(metrics.registry).decode()
    assert 'burstscaler_api_errors_total{status="503"} 1.0' in text


def test_a_forgotten_policy_is_not_written() -> None:
    async def scenario() -> None:
        api, clock = FakePolicies(gated=True), Clock()
        status_writer, _ = writer(api, clock, concurrency=1)
        status_writer.submit(("shop", "first"), block(), current=None)
        await asyncio.sleep(0.01)  # the first write is in flight, holding the only worker
        status_writer.submit(KEY, block(), current=None)
        status_writer.forget(KEY)  # the policy was deleted before its write
        api.gate.set()
        await status_writer.drain()
        assert [call[1] for call in api.calls] == ["first"]
        await status_writer.close()

    asyncio.run(scenario())


def test_a_policy_forgotten_during_its_write_leaves_nothing_behind() -> None:
    async def scenario() -> None:
        api, clock = FakePolicies(gated=True), Clock()
        status_writer, _ = writer(api, clock)
        status_writer.submit(KEY, block(), current=None)
        await asyncio.sleep(0.01)  # in flight
        status_writer.forget(KEY)  # deleted meanwhile
        api.gate.set()
        await status_writer.drain()
        assert len(api.calls) == 1, "the write in flight lands (a 404 if the policy is gone, which is fine)"
        assert (status_writer.written_at, status_writer.pending, status_writer.dropped) == ({}, {}, set())
        await status_writer.close()

    asyncio.run(scenario())
