"""The HPA's replica calculator: one metric, its target, the pods -> the replicas that metric asks for.

Pure arithmetic, restated from the rules of the Kubernetes HPA (``pkg/controller/podautoscaler``,
described in prose in ``../shared/data/hpa/README.md``) so that an SRE gets the answer the HPA would
give for the same inputs. Quantities are integer milli-units, as the HPA's are: the integer truncations
(average usage, integer utilization percent) are part of its behaviour and change results at the edges.

Four shapes of metric, as in autoscaling/v2:
- ``resource_replicas``: per-pod usage against per-pod requests, type Utilization (the CPU rules,
  with pod readiness and the initialization window);
- ``pods_replicas``: per-pod values, type AverageValue;
- ``value_replicas``: one value for the whole workload, type Value (Object/External);
- ``average_value_replicas``: one value spread over the replicas, type AverageValue (External).
Missing pods (no sample) and unready pods are handled as the HPA handles them; see ``group_pods``.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
from collections.abc import Mapping, Sequence

MAX_INT32 = 2**31 - 1
MAX_INT64 = 2**63 - 1
#: kube-controller-manager defaults (``--horizontal-pod-autoscaler-cpu-initialization-period`` and
#: ``--horizontal-pod-autoscaler-initial-readiness-delay``).
CPU_INITIALIZATION_PERIOD = datetime.timedelta(minutes=5)
INITIAL_READINESS_DELAY = datetime.timedelta(seconds=30)


class CalculationError(ValueError):
    """The metric cannot produce a replica count (no samples, no requests...); the message says why."""


@dataclasses.dataclass(frozen=True)
class Tolerances:
    """Relative change ignored per direction (the HPA default 0.1 both ways; KEP-4951 per direction)."""

    down: float = 0.1
    up: float = 0.1

    def within(self, ratio: float) -> bool:
        """True when ``ratio`` is close enough to 1 to leave the replicas alone (bounds included)."""
        return 1.0 - self.down <= ratio <= 1.0 + self.up


@dataclasses.dataclass(frozen=True)
class Pod:
    """What the calculator needs to know of one pod the workload's selector matches.

    ``ready`` is the Ready condition (None: the pod has none), ``ready_since`` its lastTransitionTime,
    ``started`` the pod's start time (None: not started). ``request_milli`` is the pod's request of
    the resource (Utilization only; None: some container has no request).
    """

    name: str
    phase: str = "Running"
    deleted: bool = False
    ready: bool | None = True
    ready_since: datetime.datetime | None = None
    started: datetime.datetime | None = None
    request_milli: int | None = None


@dataclasses.dataclass(frozen=True)
class Sample:
    """One pod's metric sample: the value (milli-units), when it was taken, over which window."""

    value: int
    timestamp: datetime.datetime
    window: datetime.timedelta = datetime.timedelta(seconds=60)


@dataclasses.dataclass(frozen=True)
class PodGroups:
    """The pods sorted as the HPA sorts them before it trusts their metrics."""

    ready_count: int
    unready: frozenset[str]
    missing: frozenset[str]
    ignored: frozenset[str]


@dataclasses.dataclass(frozen=True)
class Result:
    """The replicas a metric asks for, and the usage the HPA reports alongside (milli-units or %)."""

    replicas: int
    usage: int
    raw_usage: int | None = None


@dataclasses.dataclass(frozen=True)
class Readiness:
    """The two controller timings that decide whether a CPU sample of a young pod is trusted."""

    cpu_initialization_period: datetime.timedelta = CPU_INITIALIZATION_PERIOD
    initial_readiness_delay: datetime.timedelta = INITIAL_READINESS_DELAY


def group_pods(
    pods: Sequence[Pod],
    samples: Mapping[str, Sample],
    *,
    cpu: bool,
    now: datetime.datetime,
    readiness: Readiness = Readiness(),
) -> PodGroups:
    """Sort pods into ready (counted), unready, missing (no sample) and ignored (terminal or deleting).

    Readiness is checked for CPU only: a starting pod burns CPU that says nothing about load.
    """
    ready_count = 0
    unready: set[str] = set()
    missing: set[str] = set()
    ignored: set[str] = set()
    for pod in pods:
        # Terminal and deleting pods are on their way out: their metrics describe nothing we scale.
        if pod.deleted or pod.phase in ("Failed", "Succeeded"):
            ignored.add(pod.name)
            continue
        # A pod not running yet has no meaningful usage.
        if pod.phase == "Pending":
            unready.add(pod.name)
            continue
        sample = samples.get(pod.name)
        if sample is None:
            missing.add(pod.name)
            continue
        if cpu and _cpu_unready(pod, sample, now=now, readiness=readiness):
            unready.add(pod.name)
            continue
        ready_count += 1
    return PodGroups(ready_count, frozenset(unready), frozenset(missing), frozenset(ignored))


def _cpu_unready(pod: Pod, sample: Sample, *, now: datetime.datetime, readiness: Readiness) -> bool:
    if pod.ready is None or pod.started is None or pod.ready_since is None:
        return True
    if pod.started + readiness.cpu_initialization_period > now:
        # Still initializing: trust the sample only once a full window was measured after Ready.
        return not pod.ready or sample.timestamp < pod.ready_since + sample.window
    # Past initialization: a pod that was once ready and became unready still counts (its CPU is load);
    # only one that has never been ready since start is left out.
    return not pod.ready and pod.started + readiness.initial_readiness_delay > pod.ready_since


def resource_replicas(
    *,
    current: int,
    pods: Sequence[Pod],
    samples: Mapping[str, int],
    sample_times: Mapping[str, Sample] | None = None,
    target_utilization: int,
    tolerances: Tolerances = Tolerances(),
    now: datetime.datetime,
    readiness: Readiness = Readiness(),
    resource: str = "cpu",
) -> Result:
    """Replicas for a Utilization target over per-pod usage; ``usage`` is the integer % utilization.

    ``samples`` maps pod names to usage (milli); ``sample_times`` gives each sample's timestamp and
    window for the readiness check (default: taken at ``now``). Raises CalculationError.
    """
    if not samples:
        raise CalculationError(
            f"unable to get metrics for resource {resource}: no metrics returned from resource metrics API"
        )
    if not pods:
        raise CalculationError("no pods returned by selector while calculating replica count")
    timed = {name: (sample_times or {}).get(name, Sample(value, now)) for name, value in samples.items()}
    groups = group_pods(pods, timed, cpu=resource == "cpu", now=now, readiness=readiness)
    metrics = {name: value for name, value in samples.items() if name not in groups.ignored | groups.unready}
    requests: dict[str, int] = {}
    for pod in pods:
        if pod.request_milli is None:
            raise CalculationError(f"missing request for {resource} in Pod {pod.name}")
        requests[pod.name] = pod.request_milli
    if not metrics:
        raise CalculationError("did not receive metrics for targeted pods (pods might be unready)")
    ratio, utilization, raw = _utilization(metrics, requests, target_utilization)
    scale_up_with_unready = bool(groups.unready) and ratio > 1.0
    if not scale_up_with_unready and not groups.missing:
        if tolerances.within(ratio):
            return Result(current, utilization, raw)
        return Result(_cap32(math.ceil(ratio * groups.ready_count)), utilization, raw)
    # Slow path: assume the worst for the direction we are going, so missing or unready pods can only
    # damp a scale, never cause or amplify one.
    # (exactly on target nothing is filled in: the pods that answered already say "no change").
    if ratio < 1.0:
        fill = max(100, target_utilization)
        metrics |= {name: requests[name] * fill // 100 for name in groups.missing}
    elif ratio > 1.0:
        metrics |= dict.fromkeys(groups.missing, 0)
    if scale_up_with_unready:
        metrics |= dict.fromkeys(groups.unready, 0)
    new_ratio, _, _ = _utilization(metrics, requests, target_utilization)
    return Result(_settle(current, ratio, new_ratio, len(metrics), tolerances), utilization, raw)


def pods_replicas(
    *,
    current: int,
    pods: Sequence[Pod],
    samples: Mapping[str, int],
    target_milli: int,
    tolerances: Tolerances = Tolerances(),
    now: datetime.datetime,
) -> Result:
    """Replicas for a per-pod AverageValue target; ``usage`` is the average per-pod value (milli)."""
    if not pods:
        raise CalculationError("no pods returned by selector while calculating replica count")
    timed = {name: Sample(value, now) for name, value in samples.items()}
    groups = group_pods(pods, timed, cpu=False, now=now)
    metrics = {name: value for name, value in samples.items() if name not in groups.ignored | groups.unready}
    if not metrics:
        raise CalculationError("did not receive metrics for targeted pods (pods might be unready)")
    usage = sum(metrics.values()) // len(metrics)
    ratio = usage / target_milli
    scale_up_with_unready = bool(groups.unready) and ratio > 1.0
    if not scale_up_with_unready and not groups.missing:
        if tolerances.within(ratio):
            return Result(current, usage)
        return Result(_cap32(math.ceil(ratio * groups.ready_count)), usage)
    if ratio != 1.0:
        metrics |= dict.fromkeys(groups.missing, target_milli if ratio < 1.0 else 0)
    if scale_up_with_unready:
        metrics |= dict.fromkeys(groups.unready, 0)
    new_ratio = (sum(metrics.values()) // len(metrics)) / target_milli
    return Result(_settle(current, ratio, new_ratio, len(metrics), tolerances), usage)


def value_replicas(
    *, current: int, usage_milli: int, target_milli: int, ready_pods: int, tolerances: Tolerances = Tolerances()
) -> Result:
    """Replicas for one workload-wide value against a Value target (HPA Object/External Value).

    Scales the *ready* pods (Running and Ready): counting starting pods would over-scale. From zero
    replicas the ratio itself is the answer (scale from zero).
    """
    usage = min(usage_milli, MAX_INT64)
    ratio = usage / target_milli
    if current == 0:
        return Result(_cap32(math.ceil(ratio)), usage)
    if tolerances.within(ratio):
        return Result(current, usage)
    return Result(_cap32(math.ceil(ratio * ready_pods)), usage)


def average_value_replicas(
    *, current: int, usage_milli: int, target_milli: int, tolerances: Tolerances = Tolerances()
) -> Result:
    """Replicas for one workload-wide value against a per-replica AverageValue target.

    ``usage`` reported is the per-replica value, ceil(usage / current), 0 with no replicas.
    """
    usage = min(usage_milli, MAX_INT64)
    # With no replicas the ratio is infinite or NaN: go straight to the formula (scale from zero).
    if current == 0 or not tolerances.within(usage / (float(target_milli) * current)):
        replicas = _cap32(math.ceil(usage / target_milli))
    else:
        replicas = current
    return Result(replicas, per_replica_usage(usage, current))


def per_replica_usage(usage_milli: int, replicas: int) -> int:
    """``ceil(usage / replicas)``; 0 for no replicas; saturates at MaxInt64 as the HPA's int64 does."""
    if replicas == 0:
        return 0
    return min(-(-usage_milli // replicas), MAX_INT64)


def _utilization(metrics: Mapping[str, int], requests: Mapping[str, int], target: int) -> tuple[float, int, int]:
    # Samples of pods the selector no longer lists have no request: skipped, as the HPA does.
    counted = [(value, requests[name]) for name, value in metrics.items() if name in requests]
    total_request = sum(request for _, request in counted)
    if total_request == 0:
        raise CalculationError("no metrics returned matched known pods")
    total_usage = sum(value for value, _ in counted)
    utilization = total_usage * 100 // total_request
    # The ratio uses the truncated integer percent: part of the HPA's observable behaviour.
    return utilization / target, utilization, total_usage // len(counted)


def _settle(current: int, ratio: float, new_ratio: float, count: int, tolerances: Tolerances) -> int:
    # Filling in missing/unready pods may bring the ratio into tolerance or flip its direction:
    # either way the honest answer is "no change".
    if tolerances.within(new_ratio) or (ratio < 1.0 < new_ratio) or (ratio > 1.0 > new_ratio):
        return current
    replicas = _cap32(math.ceil(new_ratio * count))
    if (new_ratio < 1.0 and replicas > current) or (new_ratio > 1.0 and replicas < current):
        return current
    return replicas


def _cap32(replicas: float | int) -> int:
    if math.isnan(replicas):
        return 0
    return int(min(replicas, MAX_INT32))
