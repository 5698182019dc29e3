"""The scheduler model's view of Kubernetes objects: taints, nodes, containers and pods.

Frozen dataclasses with plain-int resources (cpu in millicores, memory and ephemeral storage in bytes,
everything else as an integer count), plus ``from_manifest`` parsers for the JSON the API server
returns. Affinity, tolerations and topology spread constraints stay raw Kubernetes JSON (camelCase):
the plugins read them exactly as kube-scheduler reads the API types, so nothing is lost in translation.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from collections.abc import Mapping
from typing import Any

from burstscaler.api import quantity

#: Node label kube-scheduler treats specially (per-node topology domain, matchFields' sibling).
HOSTNAME_LABEL = "kubernetes.io/hostname"
ZONE_LABEL = "topology.kubernetes.io/zone"


@dataclasses.dataclass(frozen=True)
class Taint:
    """A node taint; only ``NoSchedule`` and ``NoExecute`` filter, ``PreferNoSchedule`` scores."""

    key: str
    value: str = ""
    effect: str = "NoSchedule"


@dataclasses.dataclass(frozen=True)
class Node:
    """A node as the scheduler sees it: labels, taints, cordon flag and allocatable resources."""

    name: str
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)
    taints: tuple[Taint, ...] = ()
    allocatable: Mapping[str, int] = dataclasses.field(default_factory=dict)
    unschedulable: bool = False

    @classmethod
    def from_manifest(cls, obj: Mapping[str, Any]) -> Node:
        """Parse a Kubernetes Node object (metadata, spec.taints, spec.unschedulable, status.allocatable)."""
        metadata = obj.get("metadata") or {}
        spec = obj.get("spec") or {}
        status = obj.get("status") or {}
        taints = tuple(
            Taint(key=t.get("key", ""), value=t.get("value") or "", effect=t.get("effect", "NoSchedule"))
            for t in spec.get("taints") or ()
        )
        return cls(
            name=metadata.get("name", ""),
            labels=dict(metadata.get("labels") or {}),
            taints=taints,
            allocatable=parse_resources(status.get("allocatable") or {}),
            unschedulable=bool(spec.get("unschedulable", False)),
        )


@dataclasses.dataclass(frozen=True)
class Container:
    """A container's requests, limits and host ports; ``restart_policy="Always"`` on an init container is a sidecar."""

    name: str = ""
    requests: Mapping[str, int] = dataclasses.field(default_factory=dict)
    limits: Mapping[str, int] = dataclasses.field(default_factory=dict)
    host_ports: tuple[tuple[str, str, int], ...] = ()
    restart_policy: str | None = None

    @classmethod
    def from_manifest(cls, obj: Mapping[str, Any]) -> Container:
        """Parse a container spec: resources.requests/limits, ports with a hostPort, restartPolicy.

        Requests default to limits per resource, as the API server's defaulting does before the
        scheduler ever sees the pod.
        """
        resources = obj.get("resources") or {}
        limits = parse_resources(resources.get("limits") or {})
        requests = {**limits, **parse_resources(resources.get("requests") or {})}
        ports = tuple(
            (p.get("hostIP") or "0.0.0.0", p.get("protocol") or "TCP", int(p["hostPort"]))
            for p in obj.get("ports") or ()
            if p.get("hostPort")
        )
        return cls(
            name=obj.get("name", ""),
            requests=requests,
            limits=limits,
            host_ports=ports,
            restart_policy=obj.get("restartPolicy"),
        )


@dataclasses.dataclass(frozen=True)
class Pod:
    """A pod as the scheduler sees it; ``affinity``, ``tolerations`` and spread constraints are raw Kubernetes JSON."""

    name: str
    namespace: str = "default"
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)
    containers: tuple[Container, ...] = ()
    init_containers: tuple[Container, ...] = ()
    overhead: Mapping[str, int] = dataclasses.field(default_factory=dict)
    pod_requests: Mapping[str, int] | None = None
    node_selector: Mapping[str, str] = dataclasses.field(default_factory=dict)
    affinity: Mapping[str, Any] | None = None
    tolerations: tuple[Mapping[str, Any], ...] = ()
    topology_spread_constraints: tuple[Mapping[str, Any], ...] = ()
    priority: int = 0
    node_name: str | None = None
    scheduler_name: str = "default-scheduler"

    @property
    def key(self) -> str:
        """The pod's identity, ``namespace/name``."""
        return f"{self.namespace}/{self.name}"

    @functools.cached_property
    def placement_shape(self) -> str:
        """A canonical text of everything node-static filters and scores read (cache key across pods).

        Pods of one template share it, so taint, node-affinity and node-name results are computed
        once per template, not once per pod.
        """
        return json.dumps(
            [
                self.node_selector,
                (self.affinity or {}).get("nodeAffinity"),
                list(self.tolerations),
                self.node_name,
            ],
            sort_keys=True,
        )

    @functools.cached_property
    def scheduling_signature(self) -> str:
        """A canonical text of everything the filters and scores read: pods alike here are placed alike.

        Name and priority are left out (no filter or score reads them), so replicas of one template
        share one signature and the scheduler's per-class caches.
        """

        def containers(items: tuple[Container, ...]) -> list[Any]:
            return [[c.requests, c.limits, c.host_ports, c.restart_policy] for c in items]

        return json.dumps(
            [
                self.namespace,
                self.labels,
                containers(self.containers),
                containers(self.init_containers),
                self.overhead,
                self.pod_requests,
                self.node_selector,
                self.affinity,
                list(self.tolerations),
                list(self.topology_spread_constraints),
                self.node_name,
            ],
            sort_keys=True,
        )

    @functools.cached_property
    def label_shape(self) -> tuple[str, tuple[tuple[str, str], ...]]:
        """Namespace and sorted labels: what selectors of other pods' terms look at."""
        return (self.namespace, tuple(sorted(self.labels.items())))

    @classmethod
    def from_manifest(cls, obj: Mapping[str, Any]) -> Pod:
        """Parse a Kubernetes Pod object (containers, init containers, overhead, spec.resources, placement fields)."""
        metadata = obj.get("metadata") or {}
        spec = obj.get("spec") or {}
        pod_resources = (spec.get("resources") or {}).get("requests")
        return cls(
            name=metadata.get("name", ""),
            namespace=metadata.get("namespace") or "default",
            labels=dict(metadata.get("labels") or {}),
            containers=tuple(Container.from_manifest(c) for c in spec.get("containers") or ()),
            init_containers=tuple(Container.from_manifest(c) for c in spec.get("initContainers") or ()),
            overhead=parse_resources(spec.get("overhead") or {}),
            pod_requests=parse_resources(pod_resources) if pod_resources else None,
            node_selector=dict(spec.get("nodeSelector") or {}),
            affinity=spec.get("affinity") or None,
            tolerations=tuple(spec.get("tolerations") or ()),
            topology_spread_constraints=tuple(spec.get("topologySpreadConstraints") or ()),
            priority=int(spec.get("priority") or 0),
            node_name=spec.get("nodeName") or None,
            scheduler_name=spec.get("schedulerName") or "default-scheduler",
        )


def parse_resources(values: Mapping[str, Any]) -> dict[str, int]:
    """Turn a Kubernetes resource list into plain ints: cpu in millicores, everything else rounded up.

    kube-scheduler works in milli-units for cpu and in whole units (``Quantity.Value()``, which rounds
    up) for the rest; the same rounding is applied here.
    """
    out: dict[str, int] = {}
    for name, raw in values.items():
        amount = quantity.parse_quantity(raw)
        out[name] = math.ceil(amount * 1000) if name == "cpu" else math.ceil(amount)
    return out
