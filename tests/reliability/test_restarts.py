"""SIGKILL the operator at each step of a twin creation and of a drain-back; the next process resumes.

Each step is held open with an injected fault, so the kill lands exactly there:
- twin creation: the POST stalls in the API and the operator dies waiting; the write lands after;
- drain-back, base raised and Ready, burst not lowered yet: the twin's scale fails until the kill;
- drain-back, burst lowered, the move's record not cleared yet: the base patch fails until the kill.
(Killed right after the base was raised, before its pods are Ready: tests/e2e, test_operator_killed_mid_drain.)
After each restart the new process must read the state from the cluster (the twin, the record on the
base) and finish the step: one twin owned by the policy, one move of the planned size, no dip.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.harness import client, hosting, objects
from tests.e2e.harness.waiting import eventually
from tests.fixtures.prometheus import PrometheusServer

from .invariants import DRAIN_ANNOTATION
from .scenario import LOAD, TIMEOUT, bounded, cluster_of, load_policy, ready_pods, replicas, settled

pytestmark = [pytest.mark.e2e, pytest.mark.prometheus]

DEPLOYMENTS = r"/apis/apps/v1/namespaces/default/deployments"
FOREVER = 10_000  # charges of a fault that holds a step until the test kills the operator


def record(api: client.RestClient) -> str | None:
    """The drain-back record on the base, if any."""
    return (api.get("Deployment", "web")["metadata"].get("annotations") or {}).get(DRAIN_ANNOTATION)


def test_killed_at_each_step_of_twin_creation_and_drain_back(
    api: client.RestClient, apiserver: hosting.ApiServer, cluster: Any, prometheus: PrometheusServer, operators: Any
) -> None:
    cluster_of(api, ecs_cpu=("2",))
    api.create(objects.deployment("web", replicas=4, cpu="500m"))
    prometheus.push_now(LOAD, 70, {"app": "web"})  # 7 replicas: 4 on ECS, 3 burst
    policy = api.create(load_policy())

    # 1. Twin creation: the POST stalls 6 s in the API; the operator is killed while waiting for it.
    stall = apiserver.faults.arm("POST", DEPLOYMENTS, delay=6.0, count=1)
    first = operators(tick_seconds=1.0)
    eventually(lambda: stall.hits == 1, timeout=TIMEOUT, message="the twin's creation is in flight")
    first.kill()
    second = operators(tick_seconds=1.0)
    eventually(lambda: replicas(api, "web-burst") == 3 and ready_pods(api, "web") == 7, timeout=TIMEOUT)
    twins = [d for d in api.list("Deployment", namespace="default") if d["metadata"]["name"].startswith("web-")]
    assert [d["metadata"]["name"] for d in twins] == ["web-burst"]
    # The policy controls the twin; its base is a second, non-controlling owner (issue 17: safe deletion).
    assert [ref["uid"] for ref in twins[0]["metadata"]["ownerReferences"] if ref.get("controller")] == [
        policy["metadata"]["uid"]
    ]
    converged = apiserver.call(lambda emulator: emulator.resource_version)

    # 2. Drain-back: base raised and Ready, the twin's scale-down refused until the kill.
    hold_burst = apiserver.faults.arm("PATCH", DEPLOYMENTS + r"/web-burst/scale", status=503, count=FOREVER)
    api.create(objects.ecs_node("ecs-2", cpu="2", memory="8Gi"))  # room for the 3 burst replicas
    eventually(lambda: replicas(api, "web") == 7 and ready_pods(api, "web") == 10, timeout=TIMEOUT)
    eventually(lambda: hold_burst.hits > 0, timeout=TIMEOUT, message="the operator tries to lower burst")
    second.kill()
    apiserver.faults.clear()

    # 3. The next process lowers burst; clearing the record is refused until the kill.
    hold_record = apiserver.faults.arm("PATCH", DEPLOYMENTS + r"/web", status=503, count=FOREVER)
    third = operators(tick_seconds=1.0)
    eventually(lambda: replicas(api, "web-burst") == 0, timeout=TIMEOUT, message="burst lowered after restart")
    eventually(lambda: hold_record.hits > 0 and record(api) is not None, timeout=TIMEOUT)
    third.kill()
    apiserver.faults.clear()

    # 4. The last process clears the record and changes nothing else.
    last = operators(tick_seconds=1.0)
    eventually(lambda: record(api) is None, timeout=TIMEOUT, message="the move's record cleared")
    eventually(lambda: ready_pods(api, "web") == 7, timeout=TIMEOUT)

    timeline = bounded(apiserver, "web", min_replicas=1, max_replicas=30, since=converged)
    # The replay shows base 4 only when some other write landed between `converged` and the move; either
    # way the base rose once, to 7 (a second surge would show 10, a dip anything below 7 after it).
    assert timeline.base_values(since=converged) in ([4, 7], [7]), "one move of 3, never applied twice"
    assert timeline.min_ready(since=converged) >= 7, "serving capacity dipped across the restarts"
    assert (replicas(api, "web"), replicas(api, "web-burst")) == (7, 0)
    settled(last)
