"""Factories for scheduler-model tests: nodes in zones, pods of a template, random clusters."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from burstscaler import scheduler

GI = 1024**3


def node(
    name: str,
    *,
    zone: str = "z1",
    cpu: int = 4000,
    memory: int = 16 * GI,
    pods: int = 110,
    labels: Mapping[str, str] | None = None,
    taints: tuple[scheduler.Taint, ...] = (),
    unschedulable: bool = False,
) -> scheduler.Node:
    """A node with hostname and zone labels."""
    return scheduler.Node(
        name=name,
        labels={"kubernetes.io/hostname": name, "topology.kubernetes.io/zone": zone, **(labels or {})},
        taints=taints,
        allocatable={"cpu": cpu, "memory": memory, "pods": pods},
        unschedulable=unschedulable,
    )


def pod(
    name: str,
    *,
    cpu: int = 500,
    memory: int = GI,
    app: str | None = "web",
    namespace: str = "default",
    priority: int = 0,
    affinity: Mapping[str, Any] | None = None,
    spread: tuple[Mapping[str, Any], ...] = (),
    tolerations: tuple[Mapping[str, Any], ...] = (),
    node_selector: Mapping[str, str] | None = None,
    host_port: int | None = None,
) -> scheduler.Pod:
    """A one-container pod labelled ``app=<app>``."""
    ports = (("0.0.0.0", "TCP", host_port),) if host_port else ()
    return scheduler.Pod(
        name=name,
        namespace=namespace,
        labels={"app": app} if app else {},
        containers=(scheduler.Container(requests={"cpu": cpu, "memory": memory}, host_ports=ports),),
        priority=priority,
        affinity=affinity,
        topology_spread_constraints=spread,
        tolerations=tolerations,
        node_selector=node_selector or {},
    )


def anti_affinity(app: str, key: str = "kubernetes.io/hostname") -> dict[str, Any]:
    """Required anti-affinity against pods labelled ``app``, per ``key`` domain."""
    term = {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": key}
    return {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}}


def affinity(app: str, key: str = "topology.kubernetes.io/zone") -> dict[str, Any]:
    """Required affinity to pods labelled ``app``, per ``key`` domain."""
    term = {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": key}
    return {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}}


def spread(app: str, *, key: str = "topology.kubernetes.io/zone", skew: int = 1, hard: bool = True) -> dict[str, Any]:
    """A topology spread constraint over pods labelled ``app``."""
    return {
        "maxSkew": skew,
        "topologyKey": key,
        "whenUnsatisfiable": "DoNotSchedule" if hard else "ScheduleAnyway",
        "labelSelector": {"matchLabels": {"app": app}},
    }


def random_templates(rng: random.Random) -> list[scheduler.Pod]:
    """A handful of pod templates mixing every feature the model scores or filters on."""
    preferred_anti = {
        "podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 50,
                    "podAffinityTerm": {
                        "labelSelector": {"matchLabels": {"app": "db"}},
                        "topologyKey": "kubernetes.io/hostname",
                    },
                }
            ]
        }
    }
    node_pref = {
        "nodeAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 10, "preference": {"matchExpressions": [{"key": "pool", "operator": "In", "values": ["a"]}]}}
            ]
        }
    }
    tolerate = ({"key": "dedicated", "operator": "Exists"},)
    return [
        pod("web", cpu=rng.choice([250, 500]), app="web"),
        pod("db", cpu=1000, memory=4 * GI, app="db", affinity=anti_affinity("db")),
        pod("cache", cpu=300, app="cache", spread=(spread("cache", skew=1),)),
        pod("batch", cpu=700, app="batch", affinity=preferred_anti, tolerations=tolerate),
        pod("soft", cpu=200, app="soft", spread=(spread("soft", key="kubernetes.io/hostname", hard=False),)),
        pod("pinned", cpu=400, app=None, affinity=node_pref),
        pod("zonal", cpu=300, app="zonal", affinity=anti_affinity("zonal", "topology.kubernetes.io/zone")),
        pod("ported", cpu=100, app="ported", host_port=8080),
    ]


def random_cluster(rng: random.Random, *, nodes: int) -> scheduler.Cluster:
    """Nodes in three zones and two pools, some tainted, of two sizes."""
    built = []
    for i in range(nodes):
        tainted = rng.random() < 0.2
        built.append(
            node(
                f"n{i:03d}",
                zone=f"z{i % 3}",
                cpu=rng.choice([2000, 4000, 8000]),
                memory=rng.choice([8, 16]) * GI,
                labels={"pool": rng.choice(["a", "b"])},
                taints=(scheduler.Taint("dedicated", "x", rng.choice(["NoSchedule", "PreferNoSchedule"])),)
                if tainted
                else (),
            )
        )
    return scheduler.Cluster(built)
