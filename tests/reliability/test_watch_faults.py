"""Watch and object faults: streams that drop or stall, and workloads deleted under the operator's feet.

The operator reads the cluster from Kopf's watch-fed indices and writes with separate calls, so a
stream that drops (it must resume from its resourceVersion), a stream that stalls for seconds, and an
object deleted between the read and the write (the write gets 404) must all end in convergence, with
the process alive and no escaped exception.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.e2e.harness import client, hosting, objects
from tests.e2e.harness.waiting import eventually
from tests.fixtures.prometheus import PrometheusServer

from .scenario import (
    LOAD,
    TIMEOUT,
    bounded,
    cluster_of,
    condition,
    load_policy,
    reached_only_the_operator,
    ready_pods,
    replicas,
    settled,
)

pytestmark = [pytest.mark.e2e, pytest.mark.prometheus]


def drop_watches(apiserver: hosting.ApiServer) -> None:
    """End every open watch stream at once (as an API server restart or a load balancer would)."""

    def close(emulator: Any) -> None:
        emulator._closing = True
        emulator._wake()

    apiserver.call(close)
    time.sleep(0.5)  # every stream wakes, sees the flag and ends; then the server serves watches again
    apiserver.call(lambda emulator: setattr(emulator, "_closing", False))


def test_dropped_and_stalled_watches_and_deleted_workloads(
    api: client.RestClient, apiserver: hosting.ApiServer, cluster: Any, prometheus: PrometheusServer, operators: Any
) -> None:
    cluster_of(api, ecs_cpu=("2",))  # room for 4 replicas of 500m
    api.create(objects.deployment("web", replicas=2, cpu="500m"))
    prometheus.push_now(LOAD, 90, {"app": "web"})  # 9 replicas: 4 on ECS, 5 burst
    api.create(load_policy())
    operator = operators(tick_seconds=1.0)
    eventually(lambda: replicas(api, "web-burst") == 5 and ready_pods(api, "web") == 9, timeout=TIMEOUT)
    converged = apiserver.call(lambda emulator: emulator.resource_version)

    # Streams drop twice; the reconnections of pods and deployments then stall for 4 s each.
    drop_watches(apiserver)
    actor_before = apiserver.call(lambda emulator: emulator.requests_by_client["actor"])
    stalls = [
        apiserver.faults.arm("GET", r"/api/v1/pods", delay=4.0, count=1),
        apiserver.faults.arm("GET", r"/apis/apps/v1/deployments", delay=4.0, count=1),
    ]
    drop_watches(apiserver)
    prometheus.push_now(LOAD, 120, {"app": "web"})  # 12 replicas: 4 on ECS, 8 burst
    eventually(lambda: replicas(api, "web-burst") == 8, timeout=TIMEOUT, message="twin follows after the drops")
    reached_only_the_operator(apiserver, stalls, actor_before=actor_before)

    # The twin deleted between the operator's read and its next write: it is created again.
    api.delete("Deployment", "web-burst")
    eventually(lambda: replicas(api, "web-burst") == 8, timeout=TIMEOUT, message="twin re-created")
    eventually(lambda: ready_pods(api, "web") == 12, timeout=TIMEOUT)

    # The base deleted: the policy says so and leaves the twin alone; the base back: it converges again.
    api.delete("Deployment", "web")
    eventually(lambda: (condition(api, "web", "Ready") or {}).get("reason") == "TargetNotFound", timeout=TIMEOUT)
    assert replicas(api, "web-burst") == 8, "a policy without its target changes nothing"
    api.create(objects.deployment("web", replicas=4, cpu="500m"))
    eventually(lambda: (condition(api, "web", "Ready") or {}).get("status") == "True", timeout=TIMEOUT)
    eventually(lambda: (replicas(api, "web"), replicas(api, "web-burst")) == (4, 8), timeout=TIMEOUT)

    bounded(apiserver, "web", min_replicas=1, max_replicas=30, since=converged)
    settled(operator)
