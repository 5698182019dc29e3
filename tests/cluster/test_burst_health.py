"""Burst health's count of failed pods for the plan (``BurstHealth.failed``): what the core moves off burst."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from burstscaler.cluster import burst_health, objects, spot

NO_STOCK = "Create ECI failed because the specified instance is out of stock"


def twin_pod(name: str, *, spot_pod: bool = False, ready: bool = False, **status_: Any) -> objects.PodRecord:
    body = {
        "metadata": {
            "name": name,
            "namespace": "shop",
            "labels": {"burstscaler.io/tier": "burst"},
            "annotations": {spot.STRATEGY_ANNOTATION: "SpotAsPriceGo"} if spot_pod else {},
        },
        "spec": {"nodeName": "vk", "containers": [{"name": "c"}]},
        "status": {
            "phase": "Running" if ready else "Pending",
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            **status_,
        },
    }
    return objects.pod_record(body)


@pytest.mark.parametrize(
    ("pods", "failed", "reported"),
    [
        pytest.param([twin_pod("a", reason="ProviderFailed", message=NO_STOCK)], 1, 1, id="on-demand-no-stock"),
        pytest.param(
            [twin_pod("a", spot_pod=True, reason="ProviderFailed", message=NO_STOCK)],
            0,
            1,
            id="spot-refusal-falls-back",
        ),
        pytest.param(
            [twin_pod("a", spot_pod=True, reason="ProviderFailed", message="volume not found")],
            1,
            1,
            id="spot-pod-failed-for-another-cause",
        ),
        pytest.param([twin_pod("a")], 0, 0, id="merely-starting"),
    ],
)
def test_failed_counts_provider_failures_but_not_spot_refusals(
    pods: list[objects.PodRecord], failed: int, reported: int
) -> None:
    health = burst_health.assess(live=pods, failed=[], replicas=2, ready=1)
    assert (health.failed, len(health.problems)) == (failed, reported)


NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("phase", "waited", "timeout", "expected"),
    [
        pytest.param("Running", 299.0, 300.0, [], id="running-within-the-timeout"),
        pytest.param("Running", 301.0, 300.0, ["NotReadyInTime"], id="running-not-ready-in-time"),
        pytest.param("Pending", 900.0, 300.0, ["NotReadyInTime"], id="pending-on-the-virtual-node-too-long"),
        pytest.param("Pending", 900.0, 1200.0, [], id="a-longer-timeout-waits"),
    ],
)
def test_not_ready_after_the_timeout_is_a_failure(
    phase: str, waited: float, timeout: float, expected: list[str]
) -> None:
    pod = dataclasses.replace(twin_pod("a"), phase=phase, started=NOW - waited)
    health = burst_health.assess(live=[pod], failed=[], replicas=1, ready=0, now=NOW, ready_timeout_seconds=timeout)
    assert [problem.reason for problem in health.problems] == expected
    assert health.failed == len(expected)
    if expected:
        assert "burst.readyTimeoutSeconds" in health.problems[0].message


def test_a_stated_cause_wins_over_the_timeout() -> None:
    pod = dataclasses.replace(twin_pod("a", reason="ProviderFailed", message=NO_STOCK), started=NOW - 900)
    health = burst_health.assess(live=[pod], failed=[], replicas=1, ready=0, now=NOW, ready_timeout_seconds=300)
    assert [(p.reason, p.message) for p in health.problems] == [("ProviderFailed", NO_STOCK)]
