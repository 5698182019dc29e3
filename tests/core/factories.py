"""Factories for core tests: nodes, policies and snapshots from a few readable keywords.

Quantities use the snapshot's units: cpu in millicores, memory in MiB here (any unit works, it only
has to be the same for nodes and pods).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from burstscaler.core import snapshot

RESOURCES = ("cpu", "memory", "pods")


@dataclasses.dataclass(frozen=True)
class NodeSpec:
    name: str
    allocatable: dict[str, float]
    requested: dict[str, float]
    virtual: bool = False
    unschedulable: bool = False


def make_node(
    name: str = "node",
    *,
    cpu: float = 4000,
    memory: float = 8192,
    pods: float = 110,
    used_cpu: float = 0,
    used_memory: float = 0,
    used_pods: float = 0,
    virtual: bool = False,
    unschedulable: bool = False,
) -> NodeSpec:
    return NodeSpec(
        name=name,
        allocatable={"cpu": cpu, "memory": memory, "pods": pods},
        requested={"cpu": used_cpu, "memory": used_memory, "pods": used_pods},
        virtual=virtual,
        unschedulable=unschedulable,
    )


POLICY_DEFAULTS: dict[str, Any] = {
    "cpu": 500.0,
    "memory": 512.0,
    "recommended": 1,
    "min_replicas": 0,
    "max_replicas": snapshot.UNLIMITED,
    "base_replicas": 0,
    "base_ready": None,  # defaults to base_replicas
    "base_unschedulable": 0,
    "burst_replicas": 0,
    "burst_ready": None,  # defaults to burst_replicas
    "base_max": snapshot.UNLIMITED,
    "burst_max": snapshot.UNLIMITED,
    "burst_enabled": True,
    "eci_compatible": True,
    "max_cost_per_second": math.inf,
    "burst_cost_per_second": 0.0,
    "priority": 0,
    "drain_enabled": True,
    "min_burst_seconds": 0.0,
    "stabilization_seconds": 0.0,
    "max_moves_per_tick": 10,
    "drain_timeout_seconds": 300.0,
    "eligible": None,  # node names, or None for all nodes
    "burst_started": None,  # start times of burst pods; defaults to all at time 0
}


def make_policy(name: str = "default/web", **overrides: Any) -> dict[str, Any]:
    unknown = set(overrides) - set(POLICY_DEFAULTS)
    if unknown:
        raise TypeError(f"unknown policy fields: {sorted(unknown)}")
    return {"name": name, **POLICY_DEFAULTS, **overrides}


#: One policy's economics: the API's defaults (nodeBootSeconds 180, scaleDownDelaySeconds 600,
#: podStartupSeconds 60) on a growable pool whose added node costs a replica 0.0004 per second.
ECONOMICS_DEFAULTS: dict[str, Any] = {
    "pool_growable": True,
    "ecs_cost_per_second": 0.0004,
    "node_boot_seconds": 180.0,
    "scale_down_delay_seconds": 600.0,
    "pod_startup_seconds": 60.0,
    "min_savings": math.nan,
    "max_placeholders": snapshot.UNLIMITED,
    "placeholders": 0,
    "placeholders_bound": 0,
    "window_ends": math.nan,
}


def make_economics(**overrides: Any) -> dict[str, Any]:
    """One policy's row of ``snapshot.Economics``, for ``make_snapshot(economics=[...])``."""
    unknown = set(overrides) - set(ECONOMICS_DEFAULTS)
    if unknown:
        raise TypeError(f"unknown economics fields: {sorted(unknown)}")
    return {**ECONOMICS_DEFAULTS, **overrides}


def economics_of(rows: Sequence[dict[str, Any]]) -> snapshot.Economics:
    """``snapshot.Economics`` from one ``make_economics`` row per policy."""
    dtypes = {"pool_growable": bool, "max_placeholders": np.int64, "placeholders": np.int64}
    dtypes["placeholders_bound"] = np.int64
    return snapshot.Economics(
        **{
            key: np.array([row[key] for row in rows], dtype=dtypes.get(key, np.float64)).reshape(len(rows))
            for key in ECONOMICS_DEFAULTS
        }
    )


def make_snapshot(
    *,
    nodes: Sequence[NodeSpec] = (),
    policies: Sequence[dict[str, Any]] = (),
    history: snapshot.History | None = None,
    pending: Sequence[tuple[dict[str, float], int]] = (),
    economics: Sequence[dict[str, Any]] | None = None,
) -> snapshot.Snapshot:
    node_names = tuple(node.name for node in nodes)
    n, r = len(nodes), len(RESOURCES)
    nodes_ = snapshot.Nodes(
        names=node_names,
        resources=RESOURCES,
        allocatable=np.array([[node.allocatable[k] for k in RESOURCES] for node in nodes], dtype=float).reshape(n, r),
        requested=np.array([[node.requested[k] for k in RESOURCES] for node in nodes], dtype=float).reshape(n, r),
        unschedulable=np.array([node.unschedulable for node in nodes], dtype=bool),
        virtual=np.array([node.virtual for node in nodes], dtype=bool),
    )
    names = tuple(p["name"] for p in policies)
    eligible = np.ones((len(policies), n), dtype=bool)
    for row, p in enumerate(policies):
        if p["eligible"] is not None:
            eligible[row] = [name in p["eligible"] for name in node_names]
    owners: list[int] = []
    started: list[float] = []
    for row, p in enumerate(policies):
        times = p["burst_started"] if p["burst_started"] is not None else [0.0] * int(p["burst_replicas"])
        owners += [row] * len(times)
        started += list(times)

    def column(key: str, dtype: type) -> Any:
        return np.array([p[key] for p in policies], dtype=dtype)

    def ready(key: str, fallback: str) -> Any:
        return np.array([p[fallback] if p[key] is None else p[key] for p in policies], dtype=np.int64)

    pols = snapshot.Policies(
        names=names,
        requests=np.array([[p["cpu"], p["memory"], 1.0] for p in policies], dtype=float).reshape(len(policies), r),
        eligible=eligible,
        recommended=column("recommended", np.int64),
        min_replicas=column("min_replicas", np.int64),
        max_replicas=column("max_replicas", np.int64),
        base_replicas=column("base_replicas", np.int64),
        base_ready=ready("base_ready", "base_replicas"),
        base_unschedulable=column("base_unschedulable", np.int64),
        burst_replicas=column("burst_replicas", np.int64),
        burst_ready=ready("burst_ready", "burst_replicas"),
        base_max=column("base_max", np.int64),
        burst_max=column("burst_max", np.int64),
        burst_enabled=column("burst_enabled", bool),
        eci_compatible=column("eci_compatible", bool),
        max_cost_per_second=column("max_cost_per_second", np.float64),
        burst_cost_per_second=column("burst_cost_per_second", np.float64),
        priority=column("priority", np.int64),
        drain_enabled=column("drain_enabled", bool),
        min_burst_seconds=column("min_burst_seconds", np.float64),
        stabilization_seconds=column("stabilization_seconds", np.float64),
        max_moves_per_tick=column("max_moves_per_tick", np.int64),
        drain_timeout_seconds=column("drain_timeout_seconds", np.float64),
        burst_pod_policy=np.array(owners, dtype=np.int64),
        burst_pod_started=np.array(started, dtype=np.float64),
    )
    reservations = snapshot.Reservations(
        requests=np.array([[req.get(k, 0.0) if k != "pods" else 1.0 for k in RESOURCES] for req, _ in pending])
        .reshape(len(pending), r)
        .astype(float),
        eligible=np.ones((len(pending), n), dtype=bool),
        counts=np.array([count for _, count in pending], dtype=np.int64),
    )
    return snapshot.Snapshot(
        nodes=nodes_,
        policies=pols,
        reservations=reservations,
        history=history if history is not None else snapshot.History.empty(names),
        economics=None if economics is None else economics_of(economics),
    )
