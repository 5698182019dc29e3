"""Kubernetes API faults at the emulator while the operator bursts and drains back.

One scenario per kind of stream: request faults (409 on scale and on status, 429 with Retry-After,
500/503 bursts, a slow API) and watch/object faults (streams dropped and stalled, the twin and the
base deleted between the operator's read and its write). In each, the operator must retry, converge,
stay alive without an escaped exception, and never double-apply a move or dip serving capacity.
Every fault is armed for the operator's client identity only and must catch it at least once: the
cluster actor polls the same paths and must not consume them.
"""

from __future__ import annotations

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

DEPLOYMENTS = r"/apis/apps/v1/namespaces/default/deployments"
# (method, path, fault options): armed before the operator starts, consumed as it bursts. Faults are
# tried in arming order and catch only the operator's requests, so each phase arms what that phase's
# writes will meet: a fault still armed from an earlier phase would catch the next phase's requests.
REQUEST_FAULTS: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", DEPLOYMENTS, {"status": 503, "count": 2}),  # twin creation: a 5xx burst within one retry cycle
    # More than one retry cycle (4 attempts): one tick's status write fails for good, the next succeeds.
    ("PATCH", r".*/burstpolicies/web/status", {"status": 409, "count": 5}),
    ("PATCH", r".*/burstpolicies/web", {"status": 500, "count": 2}),  # Kopf's annotations/finalizer
    ("GET", r"/api/v1/pods", {"delay": 3.0, "count": 2}),  # a slow API: the pods list/watch stalls for seconds
]
# Armed when drain-back starts, in the order of its writes: the base raised with the move's record
# (500 x2), the twin lowered (429 with Retry-After x2, then 503 x5: beyond one retry cycle of 4
# attempts, so a tick fails), then the deployment writes that follow are slow (2 s x3).
DRAIN_FAULTS: list[tuple[str, str, dict[str, Any]]] = [
    ("PATCH", DEPLOYMENTS + r"/web", {"status": 500, "count": 2}),
    ("PATCH", DEPLOYMENTS + r"/web-burst/scale", {"status": 429, "retry_after": 1, "count": 2}),
    ("PATCH", DEPLOYMENTS + r"/web-burst/scale", {"status": 503, "count": 5}),
    ("PATCH", DEPLOYMENTS + r"/.*", {"delay": 2.0, "count": 3}),
]
# Armed when load falls: the base scales in through /scale.
SCALE_IN_FAULTS: list[tuple[str, str, dict[str, Any]]] = [
    ("PATCH", DEPLOYMENTS + r"/web/scale", {"status": 409, "count": 2}),
    ("PATCH", r".*/burstpolicies/web/status", {"status": 503, "count": 2}),
]


def test_request_faults_during_burst_and_drain_back(
    api: client.RestClient,
    apiserver: hosting.ApiServer,
    cluster: Any,
    prometheus: PrometheusServer,
    operators: Any,
) -> None:
    cluster_of(api, ecs_cpu=("2",))  # room for 4 replicas of 500m
    api.create(objects.deployment("web", replicas=4, cpu="500m"))
    prometheus.push_now(LOAD, 70, {"app": "web"})  # 7 replicas: 4 on ECS, 3 burst
    api.create(load_policy())
    actor_before = apiserver.call(lambda emulator: emulator.requests_by_client["actor"])
    armed = [apiserver.faults.arm(method, path, **options) for method, path, options in REQUEST_FAULTS]
    operator = operators(tick_seconds=1.0)

    eventually(lambda: replicas(api, "web-burst") == 3, timeout=TIMEOUT, message="twin created at 3")
    eventually(lambda: ready_pods(api, "web") == 7, timeout=TIMEOUT, message="7 Ready")
    eventually(lambda: (condition(api, "web", "Bursting") or {}).get("status") == "True", timeout=TIMEOUT)
    converged = apiserver.call(lambda emulator: emulator.resource_version)
    reached_only_the_operator(apiserver, armed, actor_before=actor_before)  # each in its own phase

    drain = [apiserver.faults.arm(method, path, **options) for method, path, options in DRAIN_FAULTS]
    api.create(objects.ecs_node("ecs-2", cpu="2", memory="8Gi"))  # room for the 3 burst replicas
    eventually(lambda: replicas(api, "web-burst") == 0, timeout=TIMEOUT, message="drain-back completed")
    eventually(lambda: ready_pods(api, "web") == 7 and replicas(api, "web") == 7, timeout=TIMEOUT)
    eventually(lambda: "burstscaler.io/drain-back" not in base_annotations(api, "web"), timeout=TIMEOUT)
    drained = apiserver.call(lambda emulator: emulator.resource_version)

    scale_in = [apiserver.faults.arm(method, path, **options) for method, path, options in SCALE_IN_FAULTS]
    prometheus.push_now(LOAD, 30, {"app": "web"})  # 3 replicas
    eventually(lambda: replicas(api, "web") == 3, timeout=TIMEOUT, message="scaled in to 3")
    eventually(lambda: api.get("BurstPolicy", "web")["status"].get("desiredReplicas") == 3, timeout=TIMEOUT)

    reached_only_the_operator(apiserver, armed + drain + scale_in, actor_before=actor_before)
    timeline = bounded(apiserver, "web", min_replicas=1, max_replicas=30, since=converged)
    assert timeline.base_values(since=converged) == [4, 7, 3], "one move of 3, applied once; then the scale-in"
    assert timeline.min_ready(since=converged, until=drained) >= 7, "serving capacity dipped during drain-back"
    assert "status not written" in operator.log(), "the failed status write was survived, and said so"
    settled(operator)


def base_annotations(api: client.RestClient, name: str) -> dict[str, str]:
    """The annotations of a Deployment."""
    return dict(api.get("Deployment", name)["metadata"].get("annotations") or {})
