"""Turning a ``sched_cases.json`` case into scheduler-model objects, and CA's bin-packing estimator.

The file's format is described in ``../shared/data/sched/README.md``: cpu in millicores, memory and
ephemeral storage in bytes, extended resources under ``scalar``; request maps carry only the keys
the source test set (absence matters for the non-zero scoring defaults).
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Mapping, Sequence
from typing import Any

from burstscaler import scheduler
from burstscaler.scheduler import profile

DEFAULT_PATH = pathlib.Path(__file__).resolve().parents[2].parent / "shared" / "data" / "sched" / "sched_cases.json"


def cases_path() -> pathlib.Path:
    """Where the cases are read from: ``BURSTSCALER_SCHED_CASES`` or the shared data file."""
    return pathlib.Path(os.environ.get("BURSTSCALER_SCHED_CASES") or DEFAULT_PATH)


def resources(raw: Mapping[str, Any] | None) -> dict[str, int]:
    """A case's request or allocatable map in the model's names (only the keys present)."""
    out: dict[str, int] = {}
    if not raw:
        return out
    for case_key, name in (
        ("cpu_milli", "cpu"),
        ("memory_bytes", "memory"),
        ("ephemeral_storage_bytes", "ephemeral-storage"),
        ("pods", "pods"),
    ):
        if case_key in raw:
            out[name] = int(raw[case_key])
    for name, amount in (raw.get("scalar") or {}).items():
        out[name] = int(amount)
    return out


def node(raw: Mapping[str, Any]) -> scheduler.Node:
    """A case node."""
    return scheduler.Node(
        name=raw["name"],
        labels=dict(raw.get("labels") or {}),
        taints=tuple(
            scheduler.Taint(key=t["key"], value=t.get("value") or "", effect=t.get("effect") or "NoSchedule")
            for t in raw.get("taints") or ()
        ),
        allocatable=resources(raw.get("allocatable")),
        unschedulable=bool(raw.get("unschedulable")),
    )


def _containers(raw: Sequence[Mapping[str, Any]]) -> tuple[scheduler.Container, ...]:
    return tuple(
        scheduler.Container(requests=resources(c.get("requests")), restart_policy=c.get("restart_policy"))
        for c in raw or ()
    )


def pod(raw: Mapping[str, Any], *, name: str) -> scheduler.Pod:
    """A case pod (incoming or existing) under the given unique name."""
    level = raw.get("pod_level_resources")
    return scheduler.Pod(
        name=name,
        namespace=raw.get("namespace") or "",
        labels=dict(raw.get("labels") or {}),
        containers=_containers(raw.get("containers") or ()),
        init_containers=_containers(raw.get("init_containers") or ()),
        overhead=resources(raw.get("overhead")),
        pod_requests=resources(level.get("requests")) if level else None,
        node_selector=dict(raw.get("node_selector") or {}),
        affinity=raw.get("affinity") or None,
        tolerations=tuple(raw.get("tolerations") or ()),
        topology_spread_constraints=tuple(raw.get("topology_spread_constraints") or ()),
    )


def cluster(case: Mapping[str, Any], *, pod_level_resources: bool = True) -> scheduler.Cluster:
    """The case's nodes with its existing pods bound (pods on nodes outside the case count for nothing)."""
    namespaces = {ns["name"]: dict(ns.get("labels") or {}) for ns in case.get("namespaces") or ()}
    settings = scheduler.Profile(pod_level_resources=pod_level_resources)
    model = scheduler.Cluster(
        [node(n) for n in case.get("nodes") or ()], namespaces=namespaces, scheduling_profile=settings
    )
    names = {n.name for n in model.nodes()}
    for i, raw in enumerate(case.get("existing_pods") or ()):
        if raw.get("node") not in names:
            continue
        existing = pod(raw, name=f"{raw.get('name') or 'existing'}-{i}")
        model.bind(existing, raw["node"])
        if raw.get("terminating"):
            model.mark_terminating(existing.key)
    return model


def _size(p: scheduler.Pod, template: scheduler.Node) -> float:
    """DecreasingPodOrderer's size: the pod's cpu and memory share of the template node."""
    request = scheduler.pod_request(p)
    share = 0.0
    for name in ("cpu", "memory"):
        if template.allocatable.get(name):
            share += request.get(name, 0) / template.allocatable[name]
    return share


def estimate_binpacking(case: Mapping[str, Any]) -> tuple[int, int]:
    """cluster-autoscaler's BinpackingNodeEstimator on the model: (new nodes with pods, scheduled pods).

    Follows ``estimator/binpacking_estimator.go``: equivalence groups by decreasing size; each pod
    tries the new nodes added so far, then the last added node, then a fresh copy of the template
    (own hostname label ``e-<i>``); a pod that does not fit a fresh empty node stops its group.
    Fits are the model's whole filter chain (CA's CheckPredicates runs the scheduler's filters).
    """
    model = cluster(case)
    template = node(case["node_template"])
    max_nodes = int(case.get("plugin_args", {}).get("maxNodes") or 0)
    groups = []
    for g, entry in enumerate(case.get("pods") or ()):
        members = [
            pod(entry["pod"], name=f"{entry['pod'].get('name') or 'pod'}-{g}-{i}") for i in range(entry["count"])
        ]
        groups.append(members)
    groups.sort(key=lambda members: -_size(members[0], template) if members else 0.0)
    new_nodes: list[str] = []
    with_pods: set[str] = set()
    scheduled = 0

    def fits(p: scheduler.Pod, name: str) -> bool:
        filtered = profile.run_filters(model.state, p, model.profile)
        return bool(filtered.feasible[model.state.index[name]])

    for members in groups:
        remaining = list(members)
        while remaining:
            placed = next((n for n in new_nodes if fits(remaining[0], n)), None)
            if placed is None:
                break
            model.bind(remaining.pop(0), placed)
            with_pods.add(placed)
            scheduled += 1
        for p in remaining:
            if new_nodes and fits(p, new_nodes[-1]):
                model.bind(p, new_nodes[-1])
                with_pods.add(new_nodes[-1])
                scheduled += 1
                continue
            if new_nodes and new_nodes[-1] not in with_pods:
                break
            if max_nodes and len(new_nodes) >= max_nodes:
                break
            name = f"e-{len(new_nodes)}"
            labels = {**template.labels, "kubernetes.io/hostname": name}
            model.add_node(
                scheduler.Node(name=name, labels=labels, taints=template.taints, allocatable=template.allocatable)
            )
            new_nodes.append(name)
            if not fits(p, name):
                break
            model.bind(p, name)
            with_pods.add(name)
            scheduled += 1
    return len(with_pods), scheduled
