"""BurstDegraded: the planner's tick and the status it renders when twin pods do not serve."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from burstscaler.cluster import objects
from burstscaler.operator import planner, status

NOW = 1_800_000_000.0
POLICY_UID = "uid-web"
VIRTUAL = [("type", "virtual-kubelet")]
NO_STOCK = "Create ECI failed because the specified instance is out of stock"


def make_node(name: str, *, cpu: str, virtual: bool = False) -> objects.NodeRecord:
    body = {
        "metadata": {"name": name, "labels": {"type": "virtual-kubelet"} if virtual else {}},
        "status": {"allocatable": {"cpu": cpu, "memory": "64Gi", "pods": "110"}},
    }
    return objects.node_record(body, virtual_labels=VIRTUAL)


def make_workload(name: str, *, replicas: int) -> planner.Workload:
    template = {
        "metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "c", "image": "app:1", "resources": {"requests": {"cpu": "1"}}}]},
    }
    metadata: dict[str, Any] = {"name": name, "namespace": "shop"}
    if name.endswith("-burst"):
        metadata["ownerReferences"] = [{"kind": "BurstPolicy", "name": "web", "uid": POLICY_UID, "controller": True}]
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata,
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}}, "template": template},
    }
    return planner.Workload(
        namespace="shop",
        kind="Deployment",
        name=name,
        replicas=replicas,
        ready=replicas,
        labels={},
        annotations={},
        selector=body["spec"]["selector"],
        template=template,
        body=body,
    )


def make_pod(name: str, *, owner: str, node: str, ready: bool = True, **status_: Any) -> objects.PodRecord:
    labels = {"app": "web", "pod-template-hash": "abcde"}
    if owner.endswith("-burst"):
        labels["burstscaler.io/tier"] = "burst"
    body = {
        "metadata": {
            "name": name,
            "namespace": "shop",
            "labels": labels,
            "ownerReferences": [{"kind": "ReplicaSet", "name": f"{owner}-abcde", "controller": True}],
        },
        "spec": {"nodeName": node, "containers": [{"name": "c", "resources": {"requests": {"cpu": "1"}}}]},
        "status": {
            "phase": "Running" if ready else "Pending",
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            **status_,
        },
    }
    return objects.pod_record(body)


def tick(twin_pods: list[objects.PodRecord], *, ecs_cpu: str = "2") -> planner.Outcome:
    base = [make_pod(f"web-{i}", owner="web", node="ecs-1") for i in range(2)]
    inputs = planner.TickInputs(
        policies={
            ("shop", "web"): {
                "metadata": {"name": "web", "namespace": "shop", "generation": 1, "uid": POLICY_UID},
                "spec": {"targetRef": {"name": "web"}, "minReplicas": 5, "maxReplicas": 5},
            }
        },
        workloads={w.key: w for w in (make_workload("web", replicas=2), make_workload("web-burst", replicas=3))},
        nodes=[make_node("ecs-1", cpu=ecs_cpu), make_node("vk", cpu="1000", virtual=True)],
        pods=[*base, *twin_pods],
    )
    return asyncio.run(planner.Planner(fetcher=None).tick(inputs, now=NOW))[("shop", "web")]


def degraded(outcome: planner.Outcome) -> dict[str, Any]:
    block = status.render(outcome, previous=None, now=NOW)
    return next(c for c in block["conditions"] if c["type"] == "BurstDegraded")


@pytest.mark.parametrize(
    ("twin_pods", "condition", "reason", "words"),
    [
        pytest.param(
            [make_pod(f"b-{i}", owner="web-burst", node="vk") for i in range(3)],
            "False",
            "BurstHealthy",
            [],
            id="every-burst-pod-ready",
        ),
        pytest.param(
            [
                make_pod("b-0", owner="web-burst", node="vk"),
                make_pod("b-1", owner="web-burst", node="vk", ready=False, reason="ProviderFailed", message=NO_STOCK),
                make_pod("b-2", owner="web-burst", node="vk", ready=False, reason="ProviderFailed", message=NO_STOCK),
            ],
            "True",
            "ProviderFailed",
            ["2 burst pod(s) not serving (1/3 Ready)", "ProviderFailed x2", "out of stock"],
            id="eci-out-of-stock",
        ),
        pytest.param(
            [
                make_pod("b-0", owner="web-burst", node="vk"),
                make_pod("b-1", owner="web-burst", node="vk"),
                make_pod(
                    "b-2",
                    owner="web-burst",
                    node="vk",
                    ready=False,
                    containerStatuses=[{"state": {"waiting": {"reason": "ErrImagePull", "message": "not found"}}}],
                ),
            ],
            "True",
            "ErrImagePull",
            ["1 burst pod(s) not serving (2/3 Ready)", "ErrImagePull x1 (b-2: not found)"],
            id="image-pull-error",
        ),
    ],
)
def test_burst_degraded_reports_the_pods_that_do_not_serve(
    twin_pods: list[objects.PodRecord], condition: str, reason: str, words: list[str]
) -> None:
    outcome = tick(twin_pods)
    assert outcome.ready_burst == sum(pod.ready for pod in twin_pods)
    found = degraded(outcome)
    assert (found["status"], found["reason"]) == (condition, reason)
    for word in words:
        assert word in found["message"]


def test_burst_degraded_turning_true_posts_one_warning() -> None:
    failing = [make_pod("b-0", owner="web-burst", node="vk", ready=False, reason="ProviderFailed", message=NO_STOCK)]
    outcome = tick(failing)
    before = {"conditions": [{"type": "BurstDegraded", "status": "False"}]}
    warnings = [e for e in status.events(outcome, previous_reason=outcome.reason, previous=before)]
    assert [(e.type, e.reason) for e in warnings] == [("Warning", "ProviderFailed")]
    still = {"conditions": [{"type": "BurstDegraded", "status": "True"}]}
    assert status.events(outcome, previous_reason=outcome.reason, previous=still) == []


OUT_OF_STOCK = [
    make_pod("b-0", owner="web-burst", node="vk"),
    *(
        make_pod(f"b-{i}", owner="web-burst", node="vk", ready=False, reason="ProviderFailed", message=NO_STOCK)
        for i in (1, 2)
    ),
]


@pytest.mark.parametrize(
    ("ecs_cpu", "expected"),
    [
        pytest.param("2", {"base": 2, "burst": 1, "unplaceable": 2, "reason": "unplaceable"}, id="ecs-full"),
        pytest.param("4", {"base": 4, "burst": 1, "unplaceable": 0, "reason": "burst-degraded"}, id="ecs-takes-them"),
    ],
)
def test_failed_burst_pods_are_not_capacity_in_the_plan(ecs_cpu: str, expected: dict[str, Any]) -> None:
    # Two of three twin pods refused by ECI (no stock): the plan does not count them as burst, the base
    # grows where ECS has room, and what has no home is unplaceable with the reason burst-degraded.
    outcome = tick(OUT_OF_STOCK, ecs_cpu=ecs_cpu)
    got = {
        "base": outcome.base_target,
        "burst": outcome.burst_target,
        "unplaceable": outcome.unplaceable,
        "reason": outcome.reason,
    }
    assert got == expected
    assert outcome.decision["burst_reason"] == "burst-degraded"
