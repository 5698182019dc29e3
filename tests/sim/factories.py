"""Factories for simulator tests: trace files, settings, workloads, scenarios and small model clusters."""

from __future__ import annotations

import dataclasses
import pathlib

import numpy as np

from burstscaler.sim import cluster, prices, realism, scenario, settings, traces
from burstscaler.sim.strategies import protocol

SHARED_TRACES = pathlib.Path(__file__).resolve().parents[3] / "shared" / "data" / "traces"
NASA = SHARED_TRACES / "nasa_http_1995-07_per_minute.csv"
AZURE = SHARED_TRACES / "azure_llm_inference_2023-11-16_code_per_second.csv"
POD = scenario.PodShape.of(cpu=1.0, memory_gib=2.0)
NODE = cluster.NodeShape(cpu=4.0, memory_gib=16.0)


def write_csv(directory: pathlib.Path, text: str, *, name: str = "trace.csv") -> pathlib.Path:
    """A CSV file in ``directory`` with ``text`` (dedented by the caller)."""
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def config(**overrides: object) -> settings.Settings:
    """Settings on the international profile with constant delays (exact arithmetic), overridable."""
    values: dict[str, object] = {
        "prices": prices.load("alibaba-intl"),
        "realism": realism.Realism.fixed(),
        "placement": "auto",
    }
    values.update(overrides)
    return settings.Settings(**values)  # type: ignore[arg-type]


def flat_trace(rate: float, *, minutes: int, interval: float = 60.0) -> traces.Trace:
    """A constant rate for ``minutes`` minutes."""
    count = int(minutes * 60 / interval)
    return traces.Trace(name="flat", interval=interval, start=0.0, rates=np.full(count, rate))


def workload(
    rates: np.ndarray | list[float],
    *,
    name: str = "w",
    interval: float = 60.0,
    capacity: float = 10.0,
    pod: scenario.PodShape = POD,
    priority: int = 0,
) -> scenario.Workload:
    """A workload replaying ``rates`` (requests/s per slot of ``interval``)."""
    trace = traces.Trace(name=name, interval=interval, start=0.0, rates=np.asarray(rates, dtype=np.float64))
    return scenario.Workload(name=name, trace=trace, capacity_per_replica=capacity, pod=pod, priority=priority)


def one(rates: np.ndarray | list[float], *, pool: int | None = None, **options: object) -> scenario.Scenario:
    """A scenario of one workload."""
    return scenario.Scenario(name="test", workloads=(workload(rates, **options),), pool_nodes=pool)  # type: ignore[arg-type]


def run(scn: scenario.Scenario, **overrides: object) -> protocol.Run:
    """The shared inputs of a run of ``scn`` with ``config(**overrides)``."""
    from burstscaler.sim import engine

    return engine.prepare(scn, config=config(**overrides))


def small_cluster(*, nodes: int = 2, autoscaling: bool = False, workloads: int = 1) -> cluster.ModelCluster:
    """A model cluster of 4 vCPU / 16 GiB nodes (4 default pods each), constant delays."""
    fixed = realism.Realism.fixed()
    scaler = cluster.NodeAutoscaling(shape=NODE, price_per_hour=0.3, idle_seconds=600.0) if autoscaling else None
    state = cluster.ModelCluster(
        pods=[POD] * workloads,
        eci_per_second=[0.001] * workloads,
        draws=realism.Draws.seeded(fixed, seed=0),
        pool=nodes,
        pool_shape=NODE,
        pool_price_per_hour=0.1,
        autoscaling=scaler,
    )
    return state


def replace_realism(base: settings.Settings, **changes: object) -> settings.Settings:
    """``base`` with some realism parameters changed."""
    return dataclasses.replace(base, realism=dataclasses.replace(base.realism, **changes))  # type: ignore[arg-type]
