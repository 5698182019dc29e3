"""Factories for simulator tests: trace files, settings and small model clusters."""

from __future__ import annotations

import pathlib

import numpy as np

from burstscaler.sim import cluster, settings, traces

SHARED_TRACES = pathlib.Path(__file__).resolve().parents[3] / "shared" / "data" / "traces"
NASA = SHARED_TRACES / "nasa_http_1995-07_per_minute.csv"


def write_csv(directory: pathlib.Path, text: str, *, name: str = "trace.csv") -> pathlib.Path:
    """A CSV file in ``directory`` with ``text`` (dedented by the caller)."""
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def config(**overrides: object) -> settings.Settings:
    """Default settings with a capacity of 10 requests/s per replica, overridable."""
    values: dict[str, object] = {"capacity_per_replica": 10.0}
    values.update(overrides)
    return settings.Settings(**values)  # type: ignore[arg-type]


def flat_trace(rate: float, *, minutes: int, interval: float = 60.0) -> traces.Trace:
    """A constant rate for ``minutes`` minutes."""
    count = int(minutes * 60 / interval)
    return traces.Trace(name="flat", interval=interval, start=0.0, rates=np.full(count, rate))


def small_cluster(*, nodes: int = 2, autoscaling: bool = False, base: int = 0, burst: int = 0) -> cluster.ModelCluster:
    """A model cluster of 4-slot nodes with 20 s pod start-up and 45 s ECI start-up."""
    node = cluster.NodeShape(cpu=4.0, memory_gib=16.0, price_per_hour=0.12)
    spec = cluster.ClusterSpec(
        nodes=(node,) * nodes,
        pod=cluster.PodShape(cpu=1.0, memory_gib=2.0),
        pod_startup_seconds=20.0,
        eci_startup_seconds=45.0,
        eci_per_vcpu_second=0.0000077,
        eci_per_gib_second=0.00000096,
        autoscaling=cluster.NodeAutoscaling(shape=node, boot_seconds=180.0, idle_seconds=600.0)
        if autoscaling
        else None,
    )
    return cluster.ModelCluster(spec, base=base, burst=burst)
