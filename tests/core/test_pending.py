"""pending: base pods unschedulable past the grace period -> replicas that cannot go on ECS now."""

from __future__ import annotations

import datetime

import pytest

from burstscaler.api import spec
from burstscaler.core import pending

NOW = datetime.datetime(2024, 6, 1, 12, 0, tzinfo=datetime.UTC)


def make_pod(name: str = "web-1", *, waited: float | None = 60, **fields: object) -> pending.PendingPod:
    since = None if waited is None else NOW - datetime.timedelta(seconds=waited)
    defaults: dict[str, object] = {"scheduled": False, "scheduled_reason": "Unschedulable", "scheduled_since": since}
    return pending.PendingPod(name=name, **(defaults | fields))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("pod", "counted"),
    [
        pytest.param(make_pod(), True, id="unschedulable-past-grace"),
        pytest.param(make_pod(waited=15), True, id="exactly-at-grace"),
        pytest.param(make_pod(waited=14), False, id="within-grace"),
        pytest.param(make_pod(waited=None), False, id="no-transition-time"),
        pytest.param(make_pod(scheduled_reason="SchedulerError"), False, id="other-reason"),
        pytest.param(make_pod(scheduled=True, scheduled_reason=None), False, id="scheduled"),
        pytest.param(make_pod(scheduled=None, scheduled_reason=None), False, id="no-condition-yet"),
        pytest.param(make_pod(node_name="ecs-1"), False, id="bound-to-a-node"),
        pytest.param(make_pod(deleted=True), False, id="deleting"),
        pytest.param(make_pod(phase="Running"), False, id="running"),
    ],
)
def test_which_pods_count(pod: pending.PendingPod, counted: bool) -> None:
    result = pending.signal([pod], settings=spec.PendingPods(grace_seconds=15), now=NOW)
    assert result.unplaceable == int(counted)


def test_signal_counts_and_names() -> None:
    pods = [
        make_pod("web-b", waited=100),
        make_pod("web-a", waited=30),
        make_pod("web-c", waited=5),
        make_pod("x", scheduled=True),
    ]
    result = pending.signal(pods, settings=spec.PendingPods(grace_seconds=15), now=NOW)
    assert result == pending.PendingSignal(
        unplaceable=2, pods=("web-a", "web-b"), oldest_since=NOW - datetime.timedelta(seconds=100), waiting=1
    )


def test_disabled_signal_is_zero() -> None:
    result = pending.signal([make_pod()], settings=spec.PendingPods(enabled=False), now=NOW)
    assert result.unplaceable == 0


def terminating(name: str) -> pending.PendingPod:
    return pending.PendingPod(name=name, phase="Running", deleted=True, node_name="ecs-0", scheduled=True)


@pytest.mark.parametrize(
    ("pods", "expected"),
    [
        pytest.param(
            [make_pod("new-1"), terminating("old-1")],
            pending.PendingSignal(unplaceable=0, waiting=1),
            id="rollout-waits-for-the-terminating-pod",
        ),
        pytest.param(
            [make_pod("new-1", waited=100), make_pod("new-2", waited=30), terminating("old-1")],
            pending.PendingSignal(
                unplaceable=1, pods=("new-1",), oldest_since=NOW - datetime.timedelta(seconds=100), waiting=1
            ),
            id="more-pending-than-terminating-the-oldest-is-evidence",
        ),
        pytest.param(
            [make_pod("new-1"), pending.PendingPod(name="gone", phase="Pending", deleted=True)],
            pending.PendingSignal(
                unplaceable=1, pods=("new-1",), oldest_since=NOW - datetime.timedelta(seconds=60), waiting=0
            ),
            id="an-unbound-deleting-pod-holds-no-room",
        ),
        pytest.param(
            [terminating("old-1"), terminating("old-2")], pending.PendingSignal(unplaceable=0), id="nothing-pending"
        ),
    ],
)
def test_terminating_pods_room_is_waited_for(pods: list[pending.PendingPod], expected: pending.PendingSignal) -> None:
    # kube-scheduler frees a terminating pod's room only once it is gone: a rollout on a full pool is not ECS-full.
    assert pending.signal(pods, settings=spec.PendingPods(grace_seconds=15), now=NOW) == expected
