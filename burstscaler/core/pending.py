"""The pending-pod signal: base pods the scheduler could not place are evidence that ECS is full.

Independently of metrics and of the capacity model, kube-scheduler's own verdict counts: a base pod
whose ``PodScheduled`` condition is ``False`` with reason ``Unschedulable`` for longer than
``pendingPods.graceSeconds`` means "this many base replicas cannot go on ECS right now". The planner
moves that many to the burst twin. The grace period skips the normal seconds a pod waits while
cluster state settles (a node just freed, a preemption in progress).

A base pod of the same workload that is terminating on a node still holds its room: kube-scheduler
frees it only when the pod is gone, after its grace period (30 s by default, longer than the signal's
15 s). So during a rolling update or a scale-in the new pods wait Pending for that room; as many
unschedulable pods as there are terminating base pods on nodes are *waiting for them*, not evidence
that ECS is full (otherwise every rollout on a full pool would burst).

Pure: pods are described by plain values, ``now`` is an argument.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable

from burstscaler.api import spec


@dataclasses.dataclass(frozen=True)
class PendingPod:
    """What the signal needs of one base pod.

    ``scheduled`` is the PodScheduled condition's status (None: no such condition yet),
    ``scheduled_reason`` its reason, ``scheduled_since`` its lastTransitionTime.
    """

    name: str
    phase: str = "Pending"
    deleted: bool = False
    node_name: str | None = None
    scheduled: bool | None = None
    scheduled_reason: str | None = None
    scheduled_since: datetime.datetime | None = None


@dataclasses.dataclass(frozen=True)
class PendingSignal:
    """How many base replicas cannot go on ECS now, which pods say so, and since when."""

    unplaceable: int
    pods: tuple[str, ...] = ()
    oldest_since: datetime.datetime | None = None
    waiting: int = 0  # unschedulable but still within the grace period


def signal(pods: Iterable[PendingPod], *, settings: spec.PendingPods, now: datetime.datetime) -> PendingSignal:
    """Count the base pods unschedulable for at least ``settings.grace_seconds``.

    ``pods`` may include the workload's terminating pods bound to nodes: as many unschedulable pods as
    there are of those wait for their room (the module docstring) and count as ``waiting``.
    """
    if not settings.enabled:
        return PendingSignal(0)
    pods = list(pods)
    grace = datetime.timedelta(seconds=settings.grace_seconds)
    counted: list[PendingPod] = []
    waiting = 0
    terminating = sum(1 for pod in pods if pod.deleted and pod.node_name)
    for pod in pods:
        if not _unschedulable(pod):
            continue
        # Without a transition time we cannot tell a blip from a full cluster: wait for one.
        if pod.scheduled_since is None or now - pod.scheduled_since < grace:
            waiting += 1
            continue
        counted.append(pod)
    if terminating:
        # The newest wait for the terminating pods' room: the oldest stay the evidence, if any is left.
        counted.sort(key=lambda pod: pod.scheduled_since or now)
        held = min(terminating, len(counted))
        counted, waiting = counted[: len(counted) - held], waiting + held
    oldest = min((pod.scheduled_since for pod in counted if pod.scheduled_since), default=None)
    return PendingSignal(len(counted), tuple(sorted(pod.name for pod in counted)), oldest, waiting)


def _unschedulable(pod: PendingPod) -> bool:
    # A deleting pod or one already bound to a node is not waiting for ECS room, whatever its condition says.
    if pod.deleted or pod.node_name or pod.phase != "Pending":
        return False
    return pod.scheduled is False and pod.scheduled_reason == "Unschedulable"
