"""What is simulated: a cluster of workloads sharing one ECS pool, from YAML or built in.

A workload is a load trace (a CSV file or a built-in shape), a pod shape (what kube-scheduler counts:
requests; what ECI bills: the effective spec of the pod template, ``burstscaler.core.ecispec``), the
requests/s one replica serves, a priority and optionally its own BurstPolicy. The scenario adds the ECS
pool (nodes, or ``auto``) and the price profile.

The built-in cluster (``burstscaler simulate`` with no arguments) is three workloads of different
shapes and phases on one pool, so that shared capacity, priorities and drain-back all act:
- ``web`` (1 vCPU / 2 GiB, priority 100): diurnal, trough at 04:00, peak at 16:00, a flash crowd at
  11:10 (a launch) that no node autoscaler can boot nodes for in time;
- ``api`` (0.5 vCPU / 1 GiB, priority 50): diurnal with its peak shifted to 20:00 (another region's
  day), and limits of 1 vCPU / 2 GiB (ECI bills the limits, kube-scheduler counts the requests);
- ``batch`` (2 vCPU / 4 GiB, priority 0): a nightly job, high from 00:00 to 07:00, then a trickle:
  it frees ECS room in the morning, when web ramps up, so web's burst replicas can drain back.
Each is seeded noise on a smooth shape; the shapes were written before any result was looked at and
are not tuned to one.

Capacity rule for a bare trace (``--trace`` without a scenario): one replica serves the trace's peak
step rate / ``AUTO_PEAK_REPLICAS`` requests/s (the peak needs 40 replicas). It is printed with results.

Scenario YAML::

    pool: {nodes: auto, max_nodes: 200}     # nodes: an integer, or auto (settings.base_pool's rule)
    prices: alibaba-intl                    # optional, --prices overrides
    workloads:
      - name: web
        builtin: web                        # or trace: {path: f.csv, skip_column: server_down, ...}
        capacity_per_replica: 10            # optional for a trace: the rule above
        pod: {cpu: 1, memory_gib: 2, limits: {cpu: 1, memory_gib: 2}, annotations: {}}
        priority: 100
        policy: web-policy.yaml             # optional BurstPolicy (validated as lint does)
"""

from __future__ import annotations

import dataclasses
import datetime
import pathlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import yaml

from burstscaler.api import spec, validation
from burstscaler.core import ecispec
from burstscaler.sim import errors, traces

#: Where the built-in day starts (labels charts only; the simulation counts seconds from 0).
START = datetime.datetime(2024, 3, 12, tzinfo=datetime.UTC)
#: Replicas a bare trace's peak needs (the capacity rule for traces without one).
AUTO_PEAK_REPLICAS = 40
_MINUTES = 24 * 60
_NOISE = 0.04  # relative, log-normal, per minute


@dataclasses.dataclass(frozen=True)
class PodShape:
    """One replica: requests (what the scheduler counts) and the ECI spec it is billed at."""

    cpu: float
    memory_gib: float
    eci: ecispec.EciSpec

    @classmethod
    def of(
        cls,
        *,
        cpu: float,
        memory_gib: float,
        limits: Mapping[str, float] | None = None,
        annotations: Mapping[str, str] | None = None,
    ) -> PodShape:
        """A shape from requests, optional limits and annotations; the ECI spec by ``ecispec``."""
        resources: dict[str, Any] = {"requests": {"cpu": f"{round(cpu * 1000)}m", "memory": _mi(memory_gib)}}
        if limits:
            resources["limits"] = {
                **({"cpu": f"{round(float(limits['cpu']) * 1000)}m"} if "cpu" in limits else {}),
                **({"memory": _mi(float(limits["memory_gib"]))} if "memory_gib" in limits else {}),
            }
        pod_spec = {"containers": [{"name": "app", "resources": resources}]}
        try:
            eci = ecispec.effective_spec(pod_spec=pod_spec, annotations=dict(annotations or {}))
        except ValueError as error:
            raise errors.SettingsError(f"no ECI spec fits a pod of {cpu} vCPU / {memory_gib} GiB: {error}") from None
        return cls(cpu=cpu, memory_gib=memory_gib, eci=eci)


def _mi(gib: float) -> str:
    return f"{round(gib * 1024)}Mi"


@dataclasses.dataclass(frozen=True)
class Workload:
    """One workload of the cluster."""

    name: str
    trace: traces.Trace
    capacity_per_replica: float
    pod: PodShape
    priority: int = 0
    policy: spec.BurstPolicySpec | None = None  # None: the run's one policy
    capacity_source: str = "given"


@dataclasses.dataclass(frozen=True)
class Scenario:
    """Workloads on one ECS pool; ``pool_nodes`` None means sized by ``settings.base_pool``."""

    name: str
    workloads: tuple[Workload, ...]
    pool_nodes: int | None = None
    max_nodes: int = 500
    prices: str | None = None

    def __post_init__(self) -> None:
        if not self.workloads:
            raise errors.SettingsError(f"scenario {self.name!r} has no workloads")
        names = [workload.name for workload in self.workloads]
        if len(set(names)) != len(names):
            raise errors.SettingsError(f"scenario {self.name!r}: workload names must be unique: {names}")

    @property
    def start(self) -> float:
        """The epoch second of the earliest workload's first slot."""
        return min(workload.trace.start for workload in self.workloads)


# --- the built-in cluster -----------------------------------------------------------------------------


def _diurnal(hours: np.ndarray[Any, Any], *, trough_hour: float, low: float, swing: float) -> np.ndarray[Any, Any]:
    return low + swing * ((1.0 - np.cos(2.0 * np.pi * (hours - trough_hour) / 24.0)) / 2.0) ** 1.5


def _web(minutes: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    since = minutes % _MINUTES - (11 * 60 + 10)
    rise = np.clip((since + 1.0) / 3.0, 0.0, 1.0)
    flash = np.where(since >= -1.0, 250.0 * rise * np.exp(-np.clip(since - 3.0, 0.0, None) / 25.0), 0.0)
    return _diurnal(minutes / 60.0, trough_hour=4.0, low=60.0, swing=220.0) + flash


def _api(minutes: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return _diurnal(minutes / 60.0, trough_hour=8.0, low=30.0, swing=120.0)


def _batch(minutes: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    hour = (minutes % _MINUTES) / 60.0
    # A ramp up after midnight, a plateau, a drain from 06:00 to 07:00, a trickle by day.
    on = np.clip(hour / 0.5, 0.0, 1.0) * np.clip((7.0 - hour) / 1.0, 0.0, 1.0)
    return 2.0 + 30.0 * on


_SHAPES = {"web": _web, "api": _api, "batch": _batch}
_BUILTIN = (
    # name, capacity per replica (req/s), requests, limits, priority
    ("web", 10.0, (1.0, 2.0), None, 100),
    ("api", 5.0, (0.5, 1.0), {"cpu": 1.0, "memory_gib": 2.0}, 50),
    ("batch", 2.0, (2.0, 4.0), None, 0),
)


def builtin_shape(shape: str, *, seed: int, days: int = 1) -> traces.Trace:
    """One built-in load shape as a per-minute ``Trace`` (requests/s), seeded noise on top."""
    if shape not in _SHAPES:
        raise errors.SettingsError(f"unknown built-in load shape {shape!r}; choose from {', '.join(_SHAPES)}")
    minutes = np.arange(days * _MINUTES, dtype=np.float64)
    offset = sorted(_SHAPES).index(shape)
    noise = np.random.default_rng([seed, offset]).lognormal(mean=0.0, sigma=_NOISE, size=minutes.size)
    return traces.Trace(
        name=f"built-in {shape}", interval=60.0, start=START.timestamp(), rates=_SHAPES[shape](minutes) * noise
    )


def builtin(*, seed: int = 0, days: int = 1) -> Scenario:
    """The built-in cluster (see the module docstring) over ``days`` days."""
    workloads = tuple(
        Workload(
            name=name,
            trace=builtin_shape(name, seed=seed, days=days),
            capacity_per_replica=capacity,
            pod=PodShape.of(cpu=cpu, memory_gib=memory, limits=limits),
            priority=priority,
            capacity_source="built-in",
        )
        for name, capacity, (cpu, memory), limits, priority in _BUILTIN
    )
    return Scenario(name="built-in: web + api + nightly batch", workloads=workloads)


# --- bare traces and scenario files ---------------------------------------------------------------------


def auto_capacity(trace: traces.Trace, *, step: float) -> float:
    """The capacity rule for a bare trace: its peak step rate / ``AUTO_PEAK_REPLICAS``."""
    load = traces.resample(trace, step=step)
    peak = float(np.nanmax(load.rates)) if load.observed.any() else 0.0
    if peak <= 0:
        raise errors.TraceError(f"{trace.name}: no load above zero; give a capacity per replica to size it")
    return peak / AUTO_PEAK_REPLICAS


def from_traces(
    loaded: Sequence[traces.Trace], *, step: float, capacity: float | None, pod: PodShape, pool_nodes: int | None
) -> Scenario:
    """One workload per trace, each with ``capacity`` or the capacity rule, the same pod shape.

    Workloads are named after their files and get priorities in the order given (the first trace's
    highest), so ``--trace a.csv --trace b.csv`` gives ``a`` the ECS room first.
    """
    workloads = []
    for index, trace in enumerate(loaded):
        given = capacity is not None
        workloads.append(
            Workload(
                name=pathlib.Path(trace.name).stem if len(loaded) > 1 else "workload",
                trace=trace,
                capacity_per_replica=capacity if given else auto_capacity(trace, step=step),  # type: ignore[arg-type]
                pod=pod,
                priority=len(loaded) - index,
                capacity_source="given" if given else f"auto: trace peak / {AUTO_PEAK_REPLICAS}",
            )
        )
    names = [workload.name for workload in workloads]
    if len(set(names)) != len(names):
        workloads = [dataclasses.replace(w, name=f"{w.name}-{i}") for i, w in enumerate(workloads)]
    title = " + ".join(trace.name for trace in loaded)
    return Scenario(name=title, workloads=tuple(workloads), pool_nodes=pool_nodes)


def load_policy(path: pathlib.Path) -> spec.BurstPolicySpec:
    """A BurstPolicy (or a bare spec) from YAML, validated as ``burstscaler lint`` validates it."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise errors.SettingsError(f"cannot read policy {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise errors.SettingsError(f"{path}: not YAML: {error}") from None
    if isinstance(document, dict) and "spec" in document:
        policy, problems = validation.validate_policy(document)
        parsed = policy.spec if policy else None
    else:
        parsed, problems = validation.validate_spec(document)
    if parsed is None:
        raise errors.SettingsError(f"{path}: " + "; ".join(str(problem) for problem in problems))
    return parsed


def load(path: pathlib.Path, *, step: float, seed: int) -> Scenario:
    """A scenario file (see the module docstring); paths inside are relative to the file."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise errors.SettingsError(f"cannot read scenario {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise errors.SettingsError(f"{path}: not YAML: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("workloads"), list):
        raise errors.SettingsError(f"{path}: a scenario is a mapping with a list of workloads")
    here = path.parent
    pool = document.get("pool") or {}
    nodes = pool.get("nodes", "auto")
    if nodes != "auto" and (not isinstance(nodes, int) or nodes < 0):
        raise errors.SettingsError(f"{path}: pool.nodes must be auto or a whole number >= 0, not {nodes!r}")
    workloads = tuple(_workload(entry, here=here, origin=path, step=step, seed=seed) for entry in document["workloads"])
    return Scenario(
        name=str(document.get("name", path.stem)),
        workloads=workloads,
        pool_nodes=None if nodes == "auto" else nodes,
        max_nodes=int(pool.get("max_nodes", 500)),
        prices=document.get("prices"),
    )


def _workload(entry: Any, *, here: pathlib.Path, origin: pathlib.Path, step: float, seed: int) -> Workload:
    if not isinstance(entry, dict) or "name" not in entry:
        raise errors.SettingsError(f"{origin}: every workload is a mapping with a name")
    name = str(entry["name"])
    if "builtin" in entry:
        trace = builtin_shape(str(entry["builtin"]), seed=seed, days=int(entry.get("days", 1)))
    elif "trace" in entry:
        options = entry["trace"] if isinstance(entry["trace"], dict) else {"path": entry["trace"]}
        interval = options.get("interval")
        trace = traces.load_trace(
            here / str(options["path"]),
            time_column=options.get("time_column"),
            value_column=options.get("value_column"),
            interval=traces.parse_interval(str(interval)) if interval is not None else None,
            skip_column=options.get("skip_column"),
        )
    else:
        raise errors.SettingsError(f"{origin}: workload {name!r} needs a trace or a builtin load shape")
    pod = entry.get("pod") or {}
    capacity = entry.get("capacity_per_replica")
    policy = load_policy(here / str(entry["policy"])) if entry.get("policy") else None
    return Workload(
        name=name,
        trace=trace,
        capacity_per_replica=float(capacity) if capacity is not None else auto_capacity(trace, step=step),
        pod=PodShape.of(
            cpu=float(pod.get("cpu", 1.0)),
            memory_gib=float(pod.get("memory_gib", 2.0)),
            limits=pod.get("limits"),
            annotations=pod.get("annotations"),
        ),
        priority=int(entry.get("priority", 0)),
        policy=policy,
        capacity_source="given" if capacity is not None else f"auto: trace peak / {AUTO_PEAK_REPLICAS}",
    )


def describe(scenario: Scenario) -> list[dict[str, Any]]:
    """The workloads as printed with results."""
    return [
        {
            "name": w.name,
            "trace": w.trace.name,
            "capacity_per_replica_rps": w.capacity_per_replica,
            "capacity_source": w.capacity_source,
            "pod_requests": f"{w.pod.cpu:g} vCPU / {w.pod.memory_gib:g} GiB",
            "eci_billed_spec": f"{w.pod.eci.vcpu:g} vCPU / {w.pod.eci.memory_gib:g} GiB",
            "priority": w.priority,
            "hours": round(w.trace.duration / 3600.0, 3),
            "own_policy": w.policy is not None,
        }
        for w in scenario.workloads
    ]
