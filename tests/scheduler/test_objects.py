"""Parsing Kubernetes JSON into the model's objects, and rule R of the effective pod request."""

from __future__ import annotations

from typing import Any

import pytest

from burstscaler import scheduler

MI = 1024**2


def _container(requests: dict[str, int] | None = None, *, limits: dict[str, int] | None = None, sidecar: bool = False):  # type: ignore[no-untyped-def]
    return scheduler.Container(
        requests=requests or {}, limits=limits or {}, restart_policy="Always" if sidecar else None
    )


@pytest.mark.parametrize(
    ("pod", "expected"),
    [
        pytest.param(
            scheduler.Pod("p", containers=(_container({"cpu": 100}), _container({"cpu": 200, "memory": MI}))),
            {"cpu": 300, "memory": MI},
            id="regular-containers-sum",
        ),
        pytest.param(
            scheduler.Pod("p", containers=(_container({"cpu": 100}),), init_containers=(_container({"cpu": 500}),)),
            {"cpu": 500},
            id="init-container-larger-than-sum",
        ),
        pytest.param(
            scheduler.Pod(
                "p",
                containers=(_container({"cpu": 100}),),
                init_containers=(_container({"cpu": 50}, sidecar=True), _container({"cpu": 200})),
            ),
            {"cpu": 250},
            id="sidecar-added-and-counted-under-later-init",
        ),
        pytest.param(
            scheduler.Pod(
                "p",
                containers=(_container({"cpu": 100}),),
                init_containers=(_container({"cpu": 300}), _container({"cpu": 50}, sidecar=True)),
            ),
            {"cpu": 300},
            id="sidecar-after-init-does-not-add-to-it",
        ),
        pytest.param(
            scheduler.Pod("p", containers=(_container({"cpu": 100}),), overhead={"cpu": 250, "memory": 64 * MI}),
            {"cpu": 350, "memory": 64 * MI},
            id="overhead-on-top",
        ),
        pytest.param(
            scheduler.Pod("p", containers=(_container(limits={"cpu": 1000, "memory": MI}),)),
            {"cpu": 1000, "memory": MI},
            id="limits-only-container-requests-its-limits",
        ),
        pytest.param(
            scheduler.Pod(
                "p",
                containers=(_container({"cpu": 100, "nvidia.com/gpu": 1}),),
                pod_requests={"cpu": 2000, "nvidia.com/gpu": 4},
            ),
            {"cpu": 2000, "nvidia.com/gpu": 1},
            id="pod-level-replaces-cpu-not-extended",
        ),
    ],
)
def test_pod_request(pod: scheduler.Pod, expected: dict[str, int]) -> None:
    assert scheduler.pod_request(pod) == expected


@pytest.mark.parametrize(
    ("pod", "expected"),
    [
        pytest.param(scheduler.Pod("p", containers=(_container(),)), (100, 200 * MI), id="defaults-for-absent-keys"),
        pytest.param(scheduler.Pod("p", containers=(_container({"cpu": 0}),)), (0, 200 * MI), id="explicit-zero-kept"),
        pytest.param(scheduler.Pod("p"), (0, 0), id="no-containers"),
    ],
)
def test_non_zero_request(pod: scheduler.Pod, expected: tuple[int, int]) -> None:
    assert scheduler.non_zero_request(pod) == expected


NODE_JSON: dict[str, Any] = {
    "metadata": {"name": "n1", "labels": {"topology.kubernetes.io/zone": "z1"}},
    "spec": {"unschedulable": True, "taints": [{"key": "k", "value": "v", "effect": "NoExecute"}, {"key": "e"}]},
    "status": {"allocatable": {"cpu": "3920m", "memory": "15Gi", "pods": "110", "hugepages-2Mi": "0"}},
}

POD_JSON: dict[str, Any] = {
    "metadata": {"name": "w", "namespace": "shop", "labels": {"app": "web"}},
    "spec": {
        "priority": 100,
        "nodeName": "n1",
        "nodeSelector": {"pool": "a"},
        "overhead": {"cpu": "250m"},
        "resources": {"requests": {"cpu": "2"}},
        "tolerations": [{"key": "k", "operator": "Exists"}],
        "containers": [
            {
                "name": "app",
                "resources": {"requests": {"cpu": "500m"}, "limits": {"memory": "1Gi"}},
                "ports": [{"containerPort": 80, "hostPort": 8080}],
            }
        ],
        "initContainers": [{"name": "mesh", "restartPolicy": "Always", "resources": {"requests": {"cpu": "0.1"}}}],
    },
}


def test_node_from_manifest() -> None:
    node = scheduler.Node.from_manifest(NODE_JSON)
    assert node == scheduler.Node(
        name="n1",
        labels={"topology.kubernetes.io/zone": "z1"},
        taints=(scheduler.Taint("k", "v", "NoExecute"), scheduler.Taint("e", "", "NoSchedule")),
        allocatable={"cpu": 3920, "memory": 15 * 1024**3, "pods": 110, "hugepages-2Mi": 0},
        unschedulable=True,
    )


def test_pod_from_manifest() -> None:
    pod = scheduler.Pod.from_manifest(POD_JSON)
    assert pod.key == "shop/w"
    assert pod.priority == 100 and pod.node_name == "n1" and pod.node_selector == {"pool": "a"}
    assert pod.containers[0].requests == {"cpu": 500, "memory": 1024**3}
    assert pod.containers[0].host_ports == (("0.0.0.0", "TCP", 8080),)
    assert pod.init_containers[0].restart_policy == "Always"
    assert pod.tolerations == ({"key": "k", "operator": "Exists"},)
    assert scheduler.pod_request(pod) == {"cpu": 2250, "memory": 1024**3}
