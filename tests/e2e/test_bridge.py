"""The bridge end to end (issue 16 item 1): the real operator, the API emulator, the cluster actor playing a
node autoscaler (``harness/autoscaler.py``: cluster-autoscaler's rules on one node group), a real Prometheus.

1. A sustained spike bursts at once; once the burst has outlasted a new node's break-even, placeholders
   appear on ECS, the autoscaler adds nodes for them, drain-back moves burst onto those nodes with no dip
   in Ready pods (every 50 ms observation), and the placeholders scale to 0.
2. A spike shorter than the break-even bursts and ends without a single placeholder.

Prices make the bridge worth it: ECS at 0.001 USD per vCPU-hour against ECI's list price (a replica of
500m / 512Mi is billed as ECI's 0.5 vCPU / 1 GiB, ~0.0000048 USD/s; its ECS share ~0.00000014 USD/s). The
break-even is then R* = (e*B + c*D + m) / (e - c), about B + podStartupSeconds with D = 0: the policies
declare short delays so a test takes seconds, not minutes. Times are eventual conditions with generous
timeouts, never asserted durations.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.fixtures.prometheus import PrometheusServer

from .harness import actor, autoscaler, client, hosting, objects, sampling
from .harness.waiting import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.prometheus]

TIMEOUT = 60.0
LOAD = "requests_per_second"
PLACEHOLDER = "web-placeholder"
PLACEHOLDER_LABEL = "burstscaler.io/placeholder-for"


@pytest.fixture
def node_group() -> autoscaler.NodeAutoscaler:
    """A growable ECS pool: nodes of 1 vCPU (two replicas of 500m) for pods Pending 1 s, Ready 2 s later."""
    return autoscaler.NodeAutoscaler(
        node=lambda name: objects.ecs_node(name, cpu="1", memory="4Gi"),
        pending_seconds=1.0,
        boot_seconds=2.0,
        idle_seconds=120.0,
        max_nodes=4,
    )


@pytest.fixture
def cluster(apiserver: hosting.ApiServer, node_group: autoscaler.NodeAutoscaler) -> Iterator[actor.ClusterActor]:
    """A running cluster actor on real time with the node group: ECS pods Ready after 1 s, ECI after 1.5 s."""
    rest = client.RestClient(apiserver.url)
    running = actor.ClusterActor(
        api=rest, startup_delay={"ecs": 1.0, "virtual": 1.5}, node_autoscaler=node_group
    ).start()
    yield running
    running.stop()
    rest.close()


def bridge_policy(**spec: Any) -> dict[str, Any]:
    """`web` on sum(requests_per_second) at 10 per replica, drain-back without hysteresis, a cheap ECS price."""
    values: dict[str, Any] = {
        "minReplicas": 1,
        "maxReplicas": 30,
        "metrics": [
            {
                "prometheus": {
                    "query": f'sum({LOAD}{{app="web"}})',
                    "target": {"type": "AverageValue", "averageValue": "10"},
                }
            }
        ],
        # The whole spike at once (the HPA's default scale-up allows at most 4 pods or 100% per 15 s).
        "behavior": {
            "scaleUp": {
                "stabilizationWindowSeconds": 0,
                "policies": [{"type": "Pods", "value": 30, "periodSeconds": 1}],
            },
            "scaleDown": {"stabilizationWindowSeconds": 0},
        },
        "drainBack": {"minBurstSeconds": 0, "stabilizationSeconds": 0, "maxMovesPerTick": 10, "podStartupSeconds": 3},
    }
    values.update(spec)
    return objects.burst_policy("web", target="web", **values)


def ready(pod: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod.get("status", {}).get("conditions", []))


def replicas(api: client.RestClient, name: str) -> int | None:
    found = api.find("Deployment", name)
    return None if found is None else int(found["spec"]["replicas"])


def pods(api: client.RestClient) -> list[dict[str, Any]]:
    return [pod for pod in api.list("Pod", namespace="default") if not pod["metadata"].get("deletionTimestamp")]


def web_ready(api: client.RestClient) -> int:
    return sum(1 for pod in pods(api) if pod["metadata"]["labels"].get("app") == "web" and ready(pod))


def placeholder_pods(api: client.RestClient) -> list[dict[str, Any]]:
    return [pod for pod in pods(api) if PLACEHOLDER_LABEL in pod["metadata"]["labels"]]


def policy_status(api: client.RestClient) -> dict[str, Any]:
    return dict((api.find("BurstPolicy", "web") or {}).get("status") or {})


def start_cluster(api: client.RestClient, prometheus: PrometheusServer) -> None:
    """ECS room for 4 replicas of 500m, the virtual node, `web` at 2 replicas and a load of 2 replicas."""
    api.create(objects.ecs_node("ecs-1", cpu="2", memory="8Gi"))
    api.create(objects.virtual_node())
    api.create(objects.deployment("web", replicas=2, cpu="500m"))
    prometheus.push_now(LOAD, 20, {"app": "web"})


def test_a_sustained_spike_buys_nodes_drains_back_onto_them_and_the_placeholders_vanish(
    api: client.RestClient,
    cluster: actor.ClusterActor,
    node_group: autoscaler.NodeAutoscaler,
    prometheus: PrometheusServer,
    start_operator: Any,
) -> None:
    start_cluster(api, prometheus)
    # R* ~ nodeBootSeconds + podStartupSeconds = 8 s: the burst must last that long before nodes are bought.
    api.create(
        bridge_policy(
            bridge={"enabled": True, "nodeBootSeconds": 5, "scaleDownDelaySeconds": 0},
            pricing={"ecsPerVCPUHour": "0.001"},
        )
    )
    start_operator()
    eventually(lambda: policy_status(api).get("desiredReplicas") == 2 and web_ready(api) == 2, timeout=TIMEOUT)

    prometheus.push_now(LOAD, 80, {"app": "web"})  # 8 replicas: 4 fit ECS, 4 burst at once
    eventually(lambda: replicas(api, "web-burst") == 4, timeout=TIMEOUT, message="burst at once")
    assert replicas(api, "web") == 4
    eventually(lambda: web_ready(api) == 8, timeout=TIMEOUT)

    with sampling.Sampler(lambda: bridge_sample(api)) as sampler:
        eventually(lambda: (replicas(api, PLACEHOLDER) or 0) > 0, timeout=TIMEOUT, message="placeholders appear")
        placeholder = api.get("Deployment", PLACEHOLDER)
        assert placeholder["metadata"]["ownerReferences"][0]["kind"] == "BurstPolicy"
        assert placeholder["spec"]["template"]["spec"]["priorityClassName"] == "burstscaler-placeholder"
        eventually(lambda: len(node_group.nodes) >= 2, timeout=TIMEOUT, message="the autoscaler adds nodes")
        eventually(
            lambda: replicas(api, "web-burst") == 0 and replicas(api, "web") == 8,
            timeout=TIMEOUT,
            message="burst drained back onto the new nodes",
        )
        eventually(lambda: replicas(api, PLACEHOLDER) == 0 and not placeholder_pods(api), timeout=TIMEOUT)
        eventually(lambda: web_ready(api) == 8, timeout=TIMEOUT)
        eventually(lambda: policy_status(api).get("placeholderReplicas") == 0, timeout=TIMEOUT)

    counts = [count for count, _, _ in sampler.samples]
    assert counts and min(counts) >= 8, f"Ready pods dipped to {min(counts)} while the bridge worked"
    assert max(p or 0 for _, p, _ in sampler.samples) <= 4, "never more placeholders than burst replicas"
    assert any((s or 0) > 0 for _, _, s in sampler.samples), "status.placeholderReplicas reported them"
    on_new_nodes = [pod for pod in pods(api) if pod["spec"].get("nodeName") in node_group.nodes]
    assert len(on_new_nodes) == 4 and all(pod["metadata"]["labels"].get("app") == "web" for pod in on_new_nodes)
    reasons = {event["reason"] for event in api.list("Event", namespace="default")}
    assert {"PlaceholdersStarted", "PlaceholdersStopped"} <= reasons


def test_a_short_spike_creates_no_placeholders(
    api: client.RestClient,
    cluster: actor.ClusterActor,
    node_group: autoscaler.NodeAutoscaler,
    prometheus: PrometheusServer,
    start_operator: Any,
) -> None:
    start_cluster(api, prometheus)
    # The pool's growth and the ECS price from the operator's flags this time; R* ~ 23 s.
    api.create(bridge_policy(bridge={"nodeBootSeconds": 20, "scaleDownDelaySeconds": 0}))
    start_operator(extra=["--node-growth", "--ecs-price-per-vcpu-hour", "0.001"])
    eventually(lambda: policy_status(api).get("desiredReplicas") == 2 and web_ready(api) == 2, timeout=TIMEOUT)

    with sampling.Sampler(lambda: bridge_sample(api)) as sampler:
        prometheus.push_now(LOAD, 80, {"app": "web"})
        eventually(lambda: replicas(api, "web-burst") == 4, timeout=TIMEOUT, message="the spike bursts")
        prometheus.push_now(LOAD, 20, {"app": "web"})  # over before a node would pay
        eventually(lambda: replicas(api, "web-burst") == 0, timeout=TIMEOUT, message="burst goes first")
        decided = policy_status(api).get("lastDecision", {}).get("time")
        # A few more ticks after the burst ended: still nothing.
        eventually(
            lambda: (
                (policy_status(api).get("lastDecision") or {}).get("time") not in (None, decided)
                and (policy_status(api).get("lastDecision") or {}).get("inputs", {}).get("plan", {}).get("burst") == 0
            ),
            timeout=TIMEOUT,
        )

    assert sampler.samples
    assert all(p is None for _, p, _ in sampler.samples), "no placeholder Deployment was ever created"
    assert all((s or 0) == 0 for _, _, s in sampler.samples)
    assert node_group.events == [], "no node was bought"
    plan = policy_status(api)["lastDecision"]["inputs"]["plan"]
    assert plan["placeholders"] == 0


def bridge_sample(api: client.RestClient) -> tuple[int, int | None, int | None]:
    """(Ready web pods, the placeholder Deployment's replicas, status.placeholderReplicas)."""
    return web_ready(api), replicas(api, PLACEHOLDER), policy_status(api).get("placeholderReplicas")
