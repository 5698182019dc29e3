"""The cluster actor binds with the kube-scheduler model (burstscaler.scheduler), through the API:
default scoring spreads, preemption evicts lower priorities gracefully, inter-pod terms hold, and
the actor stays independent of the planner's core."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from .harness import actor, client, hosting, objects, scenario

pytestmark = pytest.mark.e2e


def placement(api: client.RestClient, app: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for pod in api.list("Pod", labels=f"app={app}"):
        node = pod["spec"].get("nodeName") or ""
        counts[node] = counts.get(node, 0) + 1
    return counts


@pytest.mark.parametrize(
    ("replicas", "anti_affinity", "expected"),
    [
        # LeastAllocated + BalancedAllocation spread identical pods; first fit would fill ecs-a first.
        pytest.param(4, False, {"ecs-a": 2, "ecs-b": 2}, id="default-scoring-spreads"),
        pytest.param(3, True, {"ecs-a": 1, "ecs-b": 1, "": 1}, id="hostname-anti-affinity-one-per-node"),
    ],
)
def test_the_model_places_pending_pods(
    api: client.RestClient,
    cluster_actor: actor.ClusterActor,
    replicas: int,
    anti_affinity: bool,
    expected: dict[str, int],
) -> None:
    api.create(objects.ecs_node("ecs-a", cpu="4"))
    api.create(objects.ecs_node("ecs-b", cpu="4"))
    deploy = objects.deployment("web", replicas=replicas, cpu="500m")
    if anti_affinity:
        deploy["spec"]["template"]["spec"]["affinity"] = {
            "podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}
                ]
            }
        }
    api.create(deploy)
    cluster_actor.step()
    assert placement(api, "web") == expected
    if anti_affinity:
        (pending,) = [pod for pod in api.list("Pod") if not pod["spec"].get("nodeName")]
        message = pending["status"]["conditions"][0]["message"]
        assert message.startswith("0/2 nodes are available:") and "anti-affinity" in message


def test_a_higher_priority_pod_preempts_a_placeholder_gracefully(
    api: client.RestClient, cluster_actor: actor.ClusterActor, clock: actor.ManualClock
) -> None:
    api.create(objects.ecs_node("ecs-a", cpu="2"))
    placeholder = objects.deployment("placeholder", replicas=2, cpu="1")
    placeholder["spec"]["template"]["spec"]["priority"] = -10
    api.create(placeholder)
    cluster_actor.step()
    assert placement(api, "placeholder") == {"ecs-a": 2}

    workload: dict[str, Any] = objects.deployment("web", replicas=1, cpu="1")
    workload["spec"]["template"]["spec"]["priority"] = 1000
    api.create(workload)
    cluster_actor.step()
    terminating = [pod for pod in api.list("Pod", labels="app=placeholder") if pod["metadata"].get("deletionTimestamp")]
    assert len(terminating) == 1, "one victim: the fewest that make room"
    (web,) = api.list("Pod", labels="app=web")
    assert web["status"]["nominatedNodeName"] == "ecs-a" and not web["spec"].get("nodeName")

    clock.advance(5.0)
    cluster_actor.step()
    still = [pod for pod in api.list("Pod", labels="app=placeholder") if pod["metadata"].get("deletionTimestamp")]
    assert len(still) == 1, "no second victim while the first still terminates"
    clock.advance(actor.DEFAULT_GRACE_SECONDS)
    cluster_actor.step()
    cluster_actor.step()
    (web,) = api.list("Pod", labels="app=web")
    assert web["spec"].get("nodeName") == "ecs-a"
    assert placement(api, "placeholder") == {"ecs-a": 1, "": 1}, "the replacement placeholder waits"


def test_the_actor_does_not_import_the_planner_core() -> None:
    probe = (
        "import sys, tests.e2e.harness.actor; print(sorted(m for m in sys.modules if m.startswith('burstscaler.core')))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"


def test_pods_wait_the_scheduling_delay_before_binding(api: client.RestClient, clock: actor.ManualClock) -> None:
    delayed = actor.ClusterActor(api=client.RestClient(api.url), clock=clock, scheduling_delay=2.0)
    api.create(objects.ecs_node("ecs-a", cpu="4"))
    api.create(objects.deployment("web", replicas=2, cpu="500m"))
    delayed.step()
    clock.advance(1.9)
    delayed.step()
    assert placement(api, "web") == {"": 2}, "queued, not bound yet: observers see them Pending"
    clock.advance(0.1)
    delayed.step()
    assert placement(api, "web") == {"ecs-a": 2}


def test_the_version_history_gives_every_value_written(
    apiserver: hosting.ApiServer, api: client.RestClient, cluster_actor: actor.ClusterActor
) -> None:
    api.create(objects.deployment("web", replicas=1))
    for value in (3, 3, 5, 2):
        api.scale("Deployment", "web", value)
        cluster_actor.step()  # status writes in between must not show up as values
    assert scenario.written(apiserver, "Deployment", "web", ("spec", "replicas")) == [1, 3, 5, 2]
    assert scenario.written(apiserver, "Deployment", "absent", ("spec", "replicas")) == []
