"""Burst health: the twin's pods that do not serve, and the cause their status gives.

A twin pod counts as burst capacity only when it is Ready (the snapshot's ``burst_ready``; the core
never sees the others as serving). This module says *why* the rest do not serve, from the pod's own
status, so the policy can report it (condition ``BurstDegraded``) instead of silently paying for
capacity that is not there:
- the virtual kubelet could not create the instance: ``status.reason`` (``ProviderFailed`` with the
  provider's error as ``status.message``, virtual-kubelet ``node/pod.go``; ECI's ``NoStock``,
  ``BidFailed`` for a reclaimed spot instance);
- a container that will not start by itself: image pull and runtime errors, a crash loop
  (``objects.CONTAINER_FAILURES``);
- the virtual node refused it: ``PodScheduled=False`` with reason ``Unschedulable``;
- it failed: phase ``Failed``;
- it is not Ready ``burst.readyTimeoutSeconds`` after it started (Running but not Ready, or still
  Pending): ``NotReadyInTime``.
A pod merely starting (ContainerCreating, PodInitializing, not yet Ready within the timeout) has no
such cause and is not reported: only evidence counts, and elapsed time only past the stated bound.
Failed pods stay in the API until garbage-collected, long after their ReplicaSet replaced them, so the
twin is degraded only while it has fewer Ready pods than its replicas: an old failure that has been
made good says nothing about the capacity now.
A spot pod the provider refused (``cluster.spot.refused``) is reported too, but it is not a failed pod
for the plan (``BurstHealth.failed``): its remedy is the spot fallback, which rolls the twin out
on-demand and so replaces it; counting it would also move its replica off burst for the hold.
Pure: pod records in, a summary out.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Sequence

from burstscaler.cluster import objects, spot


@dataclasses.dataclass(frozen=True)
class Problem:
    """One twin pod that does not serve, with the cause its status gives."""

    pod: str
    reason: str
    message: str = ""
    spot_refused: bool = False  # a spot pod refused for stock or price: the spot fallback's matter


@dataclasses.dataclass(frozen=True)
class BurstHealth:
    """The twin's pods that do not serve for a stated cause, while the twin is short of Ready pods."""

    replicas: int
    ready: int
    problems: tuple[Problem, ...] = ()

    @property
    def degraded(self) -> bool:
        """True when some replicas are not Ready and pods say why."""
        return bool(self.problems)

    @property
    def failed(self) -> int:
        """Pods failed with a provider reason that the plan counts (``Policies.burst_failed``): spot refusals aside."""
        return sum(1 for problem in self.problems if not problem.spot_refused)

    def condition_reason(self) -> str:
        """The commonest cause as a condition reason (CamelCase letters and digits; ties by name)."""
        if not self.problems:
            return "BurstHealthy"
        cause = collections.Counter(problem.reason for problem in self.problems).most_common(1)[0][0]
        safe = "".join(ch for ch in cause if ch.isascii() and ch.isalnum())
        return safe[:1].upper() + safe[1:] if safe[:1].isalpha() else f"PodsNotServing{safe}"

    def counts(self) -> dict[str, int]:
        """Pods not serving per cause (the ``burstscaler_burst_degraded_pods`` metric's rows)."""
        return dict(collections.Counter(problem.reason for problem in self.problems))

    def message(self) -> str:
        """``3 burst pod(s) not serving (2/5 Ready): ProviderFailed x2 (the provider's words); ...``."""
        counts = collections.Counter(problem.reason for problem in self.problems)
        first: dict[str, Problem] = {}
        for problem in self.problems:
            first.setdefault(problem.reason, problem)
        parts = []
        for reason, count in counts.most_common():
            words = first[reason].message
            parts.append(f"{reason} x{count}" + (f" ({first[reason].pod}: {words})" if words else ""))
        return f"{len(self.problems)} burst pod(s) not serving ({self.ready}/{self.replicas} Ready): " + "; ".join(
            parts
        )


#: The reason of a pod not Ready within ``burst.readyTimeoutSeconds`` (and with no other cause).
NOT_READY_IN_TIME = "NotReadyInTime"


def problem(
    pod: objects.PodRecord, *, now: float | None = None, ready_timeout_seconds: float | None = None
) -> Problem | None:
    """Why a twin pod does not serve, from its status; None when it is Ready or only starting.

    With `now` and `ready_timeout_seconds`, a live pod not Ready that long after it started (its
    ``startTime``, else its creation) is ``NotReadyInTime``.
    """
    found = _cause(pod)
    if found is None and now is not None and ready_timeout_seconds is not None:
        found = _late(pod, now=now, timeout=ready_timeout_seconds)
    if found is not None and spot.refused(pod):
        return dataclasses.replace(found, spot_refused=True)
    return found


def _cause(pod: objects.PodRecord) -> Problem | None:
    if pod.phase == "Failed":
        return Problem(pod.name, pod.status_reason or pod.container_reason or "Failed", pod.status_message)
    if pod.ready or pod.deleting:
        return None
    if pod.status_reason:  # the virtual kubelet's word (ProviderFailed, NoStock...)
        return Problem(pod.name, pod.status_reason, pod.status_message)
    if pod.container_reason:
        return Problem(pod.name, pod.container_reason, pod.container_message)
    if pod.scheduled is False and pod.scheduled_reason == "Unschedulable":
        return Problem(pod.name, "Unschedulable", "the virtual node did not accept the pod")
    return None


def _late(pod: objects.PodRecord, *, now: float, timeout: float) -> Problem | None:
    if pod.ready or pod.terminal or pod.started is None:
        return None
    waited = now - pod.started
    if waited < timeout:
        return None
    state = "Running" if pod.phase == "Running" else "Pending"
    return Problem(
        pod.name,
        NOT_READY_IN_TIME,
        f"{state}, not Ready {waited:.0f} s after start (burst.readyTimeoutSeconds {timeout:g})",
    )


def assess(
    *,
    live: Sequence[objects.PodRecord],
    failed: Sequence[objects.PodRecord],
    replicas: int,
    ready: int,
    now: float | None = None,
    ready_timeout_seconds: float | None = None,
) -> BurstHealth:
    """The twin's health: `live` are its unfinished pods, `failed` its pods in phase Failed.

    `now` and `ready_timeout_seconds` (``burst.readyTimeoutSeconds``) also count live pods not Ready
    in time; without them only a stated cause counts.
    """
    if ready >= replicas:
        return BurstHealth(replicas=replicas, ready=ready)
    found = [
        found
        for pod in [*live, *failed]
        if (found := problem(pod, now=now, ready_timeout_seconds=ready_timeout_seconds)) is not None
    ]
    found.sort(key=lambda item: (item.reason, item.pod))
    return BurstHealth(replicas=replicas, ready=ready, problems=tuple(found))
