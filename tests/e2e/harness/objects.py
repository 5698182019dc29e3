"""Factories of the objects the e2e tests put into the emulator: plain dicts, no I/O.

ECS nodes come in Alibaba Cloud instance shapes; the virtual node is what the ECI virtual-kubelet
registers (label ``type=virtual-kubelet``, taint ``virtual-kubelet.io/provider=alibabacloud:
NoSchedule``), which the cluster actor treats as bottomless.
"""

from __future__ import annotations

import copy
from typing import Any

VIRTUAL_LABEL = ("type", "virtual-kubelet")
VIRTUAL_TAINT = {"key": "virtual-kubelet.io/provider", "value": "alibabacloud", "effect": "NoSchedule"}
ECI_TOLERATION = {
    "key": "virtual-kubelet.io/provider",
    "operator": "Equal",
    "value": "alibabacloud",
    "effect": "NoSchedule",
}

# Alibaba Cloud ECS shapes: name -> (vCPU, memory); allocatable keeps a little for the system.
ECS_SHAPES = {
    "ecs.c7.large": ("2", "4Gi"),
    "ecs.g7.large": ("2", "8Gi"),
    "ecs.g7.xlarge": ("4", "16Gi"),
    "ecs.g7.2xlarge": ("8", "32Gi"),
    "ecs.c7.4xlarge": ("16", "32Gi"),
}


def ecs_node(
    name: str,
    *,
    shape: str = "ecs.g7.xlarge",
    cpu: str | None = None,
    memory: str | None = None,
    pods: int = 110,
    labels: dict[str, str] | None = None,
    taints: list[dict[str, str]] | None = None,
    zone: str = "cn-hangzhou-k",
) -> dict[str, Any]:
    """A Ready ECS worker node; `cpu`/`memory` override the shape's allocatable."""
    shape_cpu, shape_memory = ECS_SHAPES[shape]
    allocatable = {"cpu": cpu or shape_cpu, "memory": memory or shape_memory, "pods": str(pods)}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "node.kubernetes.io/instance-type": shape,
                "topology.kubernetes.io/zone": zone,
                **(labels or {}),
            },
        },
        "spec": {"taints": taints} if taints else {},
        "status": _node_status(allocatable),
    }


def virtual_node(name: str = "virtual-kubelet-cn-hangzhou-k", *, zone: str = "cn-hangzhou-k") -> dict[str, Any]:
    """The ECI virtual node: tainted, labelled, with nominal (not limiting) capacity."""
    allocatable = {"cpu": "10000", "memory": "100Ti", "pods": "10000"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                VIRTUAL_LABEL[0]: VIRTUAL_LABEL[1],
                "kubernetes.io/role": "agent",
                "kubernetes.io/hostname": name,
                "topology.kubernetes.io/zone": zone,
                "alibabacloud.com/virtual-node": "true",
            },
        },
        "spec": {"taints": [dict(VIRTUAL_TAINT)]},
        "status": _node_status(allocatable),
    }


def pod_template(
    labels: dict[str, str],
    *,
    image: str = "nginx:1.27",
    cpu: str = "500m",
    memory: str = "512Mi",
    node_selector: dict[str, str] | None = None,
    tolerations: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [
            {"name": "app", "image": image, "resources": {"requests": {"cpu": cpu, "memory": memory}}},
        ],
    }
    if node_selector:
        spec["nodeSelector"] = dict(node_selector)
    if tolerations:
        spec["tolerations"] = copy.deepcopy(tolerations)
    return {"metadata": {"labels": dict(labels)}, "spec": spec}


def deployment(
    name: str,
    *,
    replicas: int = 1,
    namespace: str = "default",
    labels: dict[str, str] | None = None,
    template: dict[str, Any] | None = None,
    **template_options: Any,
) -> dict[str, Any]:
    """A Deployment selecting ``app=<name>`` (plus `labels`); `template_options` go to pod_template."""
    selector = {"app": name, **(labels or {})}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(selector)},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(selector)},
            "template": template or pod_template(selector, **template_options),
        },
    }


def statefulset(name: str, *, replicas: int = 1, namespace: str = "default", **template_options: Any) -> dict[str, Any]:
    obj = deployment(name, replicas=replicas, namespace=namespace, **template_options)
    obj["kind"] = "StatefulSet"
    obj["spec"]["serviceName"] = name
    return obj


def service(
    name: str,
    *,
    selector: dict[str, str] | None = None,
    namespace: str = "default",
    type: str = "ClusterIP",
    port: int = 80,
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"type": type, "selector": selector or {"app": name}, "ports": [{"port": port, "targetPort": port}]},
    }


def burst_policy_crd() -> dict[str, Any]:
    """A minimal BurstPolicy CRD (the committed ``crds/burstpolicy.yaml`` is the real one)."""
    columns = [
        {"name": "Target", "type": "string", "jsonPath": ".spec.targetRef.name"},
        {"name": "Desired", "type": "integer", "jsonPath": ".status.desiredReplicas"},
        {"name": "Base", "type": "integer", "jsonPath": ".status.baseReplicas"},
        {"name": "Burst", "type": "integer", "jsonPath": ".status.burstReplicas"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "burstpolicies.burstscaler.io"},
        "spec": {
            "group": "burstscaler.io",
            "scope": "Namespaced",
            "names": {
                "kind": "BurstPolicy",
                "listKind": "BurstPolicyList",
                "plural": "burstpolicies",
                "singular": "burstpolicy",
                "shortNames": ["bp"],
            },
            "versions": [
                {
                    "name": "v1alpha1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": columns,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                }
            ],
        },
    }


def burst_policy(name: str, *, target: str, namespace: str = "default", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "burstscaler.io/v1alpha1",
        "kind": "BurstPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target}, **spec},
    }


def _node_status(allocatable: dict[str, str]) -> dict[str, Any]:
    return {
        "capacity": dict(allocatable),
        "allocatable": dict(allocatable),
        "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
        "nodeInfo": {"kubeletVersion": "v1.30.1-aliyun.1"},
    }
