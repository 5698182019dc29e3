"""Probes and policies of the operator scenarios (operator process + cluster actor + Prometheus).

What the e2e scenarios read back from the API, in one place: a workload's replicas, its live and
Ready pods, a policy's conditions, and every value a field has taken (from the emulator's version
history, so no write is missed between two polls). ``load_policy`` is the policy the scenarios
share: 10 requests/s per replica of ``sum(requests_per_second{app=<name>})``, no stabilisation.
"""

from __future__ import annotations

from typing import Any

from . import client, hosting, objects

LOAD = "requests_per_second"


def load_policy(name: str = "web", **spec: Any) -> dict[str, Any]:
    """A policy scaling `name` on its load at 10 requests/s per replica (`spec` overrides any field)."""
    values: dict[str, Any] = {
        "minReplicas": 1,
        "maxReplicas": 30,
        "metrics": [
            {
                "prometheus": {
                    "query": f'sum({LOAD}{{app="{name}"}})',
                    "target": {"type": "AverageValue", "averageValue": "10"},
                }
            }
        ],
        "behavior": {"scaleDown": {"stabilizationWindowSeconds": 0}},
        "drainBack": {"minBurstSeconds": 0, "stabilizationSeconds": 0, "maxMovesPerTick": 10},
    }
    values.update(spec)
    return objects.burst_policy(name, target=name, **values)


def replicas(api: client.RestClient, name: str, *, namespace: str = "default") -> int | None:
    """spec.replicas of a Deployment, or None when it does not exist."""
    found = api.find("Deployment", name, namespace=namespace)
    return None if found is None else int(found["spec"]["replicas"])


def ready(pod: dict[str, Any]) -> bool:
    """True when the pod's Ready condition is True."""
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod.get("status", {}).get("conditions", []))


def workload_pods(api: client.RestClient, app: str, *, namespace: str = "default") -> list[dict[str, Any]]:
    """Live (not terminating) pods labelled ``app=<app>``: the base's and its twin's."""
    return [
        pod
        for pod in api.list("Pod", namespace=namespace, labels=f"app={app}")
        if not pod["metadata"].get("deletionTimestamp")
    ]


def ready_on(api: client.RestClient, app: str, *, virtual: bool) -> int:
    """Ready pods of `app` on the virtual node(s) (`virtual`) or on ECS nodes."""
    nodes = {n["metadata"]["name"]: n for n in api.list("Node")}
    count = 0
    for pod in workload_pods(api, app):
        node = nodes.get(pod["spec"].get("nodeName") or "")
        on_virtual = node is not None and (node["metadata"].get("labels") or {}).get("type") == "virtual-kubelet"
        if node is not None and ready(pod) and on_virtual == virtual:
            count += 1
    return count


def condition(api: client.RestClient, policy: str, kind: str) -> dict[str, Any] | None:
    """A condition of a BurstPolicy's status, or None."""
    body = api.find("BurstPolicy", policy) or {}
    return next((c for c in body.get("status", {}).get("conditions", []) if c["type"] == kind), None)


def written(apiserver: hosting.ApiServer, kind: str, name: str, path: tuple[str, ...]) -> list[Any]:
    """Each value the field at `path` took, in write order, consecutive repeats collapsed (None: absent)."""
    values: list[Any] = []
    for version in apiserver.versions(kind, name):
        value: Any = version
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        if not values or values[-1] != value:
            values.append(value)
    return values
