"""Watch expiry: after a 410 Expired relist, nothing deleted during the gap stays in the plan.

The real operator process against the emulator, a cluster actor and a real Prometheus. The operator's
watch connections are cut and its reconnects held (``faults.cut_watches``, the operator's User-Agent
only) while a node, the pods on it and another workload are deleted; the emulator then compacts its
history, so each resumed watch gets ERROR 410 Expired and Kopf lists again. The operator must stop
counting the deleted node's room and the deleted pods' usage: the base target drops to what the one
remaining ECS node holds, and the twin takes the rest (issue 17, item 5).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.prometheus import PrometheusServer

from .harness import client, hosting, objects
from .harness.scenario import LOAD, load_policy, ready_on, replicas, written
from .harness.waiting import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.prometheus]

TIMEOUT = 40.0
# The gap: long enough for every deletion below to happen while the operator is disconnected.
GAP_SECONDS = 4.0
NODE_INDEXED = "Indexer 'burstscaler_nodes' succeeded"  # Kopf's line (the operator runs --verbose)


def test_a_node_deleted_during_an_expired_watch_is_no_phantom_room(
    api: client.RestClient,
    apiserver: hosting.ApiServer,
    run_cluster: Any,
    prometheus: PrometheusServer,
    start_operator: Any,
) -> None:
    run_cluster()
    api.create(objects.ecs_node("ecs-1", cpu="2", memory="8Gi"))  # room for 4 replicas of 500m each
    api.create(objects.virtual_node())
    api.create(objects.deployment("filler", replicas=2, cpu="500m"))  # 2 of ecs-1's 4 slots
    api.create(objects.deployment("web", replicas=2, cpu="500m"))
    prometheus.push_now(LOAD, 20, {"app": "web"})  # 2 replicas: ecs-1 full with the filler
    api.create(load_policy())
    operator = start_operator()
    eventually(lambda: replicas(api, "web") == 2 and ready_on(api, "web", virtual=False) == 2, timeout=TIMEOUT)
    eventually(lambda: ready_on(api, "filler", virtual=False) == 2, timeout=TIMEOUT)
    indexed = operator.log().count(NODE_INDEXED)
    api.create(objects.ecs_node("ecs-2", cpu="2", memory="8Gi"))  # 4 free slots the operator sees
    eventually(lambda: operator.log().count(NODE_INDEXED) > indexed, timeout=TIMEOUT, message="ecs-2 indexed")

    cut = apiserver.faults.cut_watches(hold=GAP_SECONDS)
    filler_pods = [p["metadata"]["name"] for p in api.list("Pod", labels="app=filler")]
    api.delete("Node", "ecs-2")  # this write wakes the watches: each sees the cut and ends
    api.delete("Deployment", "filler")
    for name in filler_pods:  # 2 slots free on ecs-1 now, unseen by the operator
        if api.find("Pod", name) is not None:
            api.delete("Pod", name, gracePeriodSeconds=0)
    assert apiserver.call(lambda emulator: emulator.compact()) > 0
    eventually(lambda: cut.hold_seconds() == 0, timeout=TIMEOUT, message="the gap is over")
    eventually(
        lambda: "Restarting the watch-stream for nodes" in operator.log(),
        timeout=TIMEOUT,
        message="Kopf relisted nodes after the 410",
    )
    eventually(
        lambda: "after a relist of nodes, 1 deleted" in operator.log() and "after a relist of pods" in operator.log(),
        timeout=TIMEOUT,
        message="the operator dropped what was deleted during the gap",
    )

    # 8 replicas: ecs-1 holds 4 (web's 2 and the filler's freed 2), the virtual node the other 4.
    # With ecs-2's room in the view the base would be scaled to 8 (4 pods Pending); with the
    # filler's pods still counted, it would stay at 2.
    prometheus.push_now(LOAD, 80, {"app": "web"})
    eventually(
        lambda: replicas(api, "web") == 4 and replicas(api, "web-burst") == 4,
        timeout=TIMEOUT,
        message="base 4 on the one ECS node left, twin 4",
    )
    print(f"watch cut: {cut.ended} streams ended, {cut.held} reconnects held")
    assert max(v for v in written(apiserver, "Deployment", "web", ("spec", "replicas")) if v is not None) == 4, (
        "the base was scaled into the deleted node's room"
    )
