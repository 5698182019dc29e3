"""Spot ECI end to end (issue 16 item 3): the real operator, the API emulator, the cluster actor whose virtual
node plays ECI's spot rules (``harness/spot.py``), and a real Prometheus.

1. The virtual node refuses spot pods: the twin falls back to on-demand, and burst becomes Ready.
2. A spot pod announces its release: a replacement starts and is Ready before the pod goes, so Ready burst
   pods never dip.

The actor's own spot rules are checked first, on a manual clock. Times are eventual conditions with
generous timeouts, never asserted durations.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.fixtures.prometheus import PrometheusServer

from .harness import actor, client, hosting, objects, spot
from .harness.waiting import eventually
from .operator_process import OperatorProcess

TIMEOUT = 60.0
LOAD = "requests_per_second"
SPOT_ANNOTATION = spot.SPOT_STRATEGY


def spot_deployment(name: str, *, replicas: int) -> dict[str, Any]:
    body = objects.deployment(name, replicas=replicas, cpu="500m")
    body["spec"]["template"]["metadata"]["annotations"] = {SPOT_ANNOTATION: "SpotAsPriceGo"}
    body["spec"]["template"]["spec"]["nodeSelector"] = {"type": "virtual-kubelet"}
    body["spec"]["template"]["spec"]["tolerations"] = [{"operator": "Exists"}]
    return body


def pods_of(api: client.RestClient, app: str) -> list[dict[str, Any]]:
    return [p for p in api.list("Pod", namespace="default") if p["metadata"]["labels"].get("app") == app]


def ready(pod: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod.get("status", {}).get("conditions", []))


# -- the actor's spot rules, on a manual clock --------------------------------------------------------


@pytest.mark.e2e
def test_the_virtual_node_refuses_spot_pods_as_the_virtual_kubelet_reports_it(
    api: client.RestClient, cluster_actor: actor.ClusterActor, clock: actor.ManualClock
) -> None:
    cluster_actor.spot_rules = spot.SpotRules(refuse=True)
    api.create(objects.virtual_node())
    api.create(spot_deployment("spot", replicas=2))
    on_demand = spot_deployment("plain", replicas=1)
    del on_demand["spec"]["template"]["metadata"]["annotations"]
    api.create(on_demand)
    for _ in range(3):
        cluster_actor.step()
        clock.advance(10)
    refused = pods_of(api, "spot")
    assert len(refused) == 2, "a refused Deployment pod stays Pending: it is not replaced"
    for pod in refused:
        assert (pod["status"]["phase"], pod["status"]["reason"]) == ("Pending", "ProviderFailed")
        assert "out of stock" in pod["status"]["message"]
        assert not ready(pod)
    assert all(ready(pod) for pod in pods_of(api, "plain")), "on-demand pods run"


@pytest.mark.e2e
def test_a_released_spot_pod_is_announced_then_failed_and_replaced(
    api: client.RestClient, cluster_actor: actor.ClusterActor, clock: actor.ManualClock
) -> None:
    cluster_actor.spot_rules = spot.SpotRules(release=1, release_after=30, notice_seconds=20)
    api.create(objects.virtual_node())
    api.create(spot_deployment("spot", replicas=2))
    for _ in range(3):
        cluster_actor.step()
        clock.advance(5)  # started (the virtual start-up delay is 5 s) and Running
    assert sum(map(ready, pods_of(api, "spot"))) == 2
    clock.advance(30)
    cluster_actor.step()

    def expired(pod: dict[str, Any]) -> bool:
        conditions = pod["status"].get("conditions") or []
        return any(c["type"] == spot.EXPIRED_CONDITION and c["status"] == "True" for c in conditions)

    noticed = [pod for pod in pods_of(api, "spot") if expired(pod)]
    assert len(noticed) == 1 and ready(noticed[0]), "announced, still serving"
    clock.advance(20)
    cluster_actor.step()
    gone = api.get("Pod", noticed[0]["metadata"]["name"], namespace="default")
    assert (gone["status"]["phase"], gone["status"]["reason"]) == ("Failed", "BidFailed")
    cluster_actor.step()
    active = [p for p in pods_of(api, "spot") if p["status"].get("phase") != "Failed"]
    assert len(active) == 2, "its ReplicaSet replaces a released pod"


# -- the operator ------------------------------------------------------------------------------------


@pytest.fixture
def spot_cluster(apiserver: hosting.ApiServer) -> Iterator[actor.ClusterActor]:
    """An actor on real time (ECS pods Ready after 1 s, ECI after 1.5 s) whose virtual node has spot rules."""
    rest = client.RestClient(apiserver.url)
    running = actor.ClusterActor(
        api=rest, startup_delay={"ecs": 1.0, "virtual": 1.5}, spot_rules=spot.SpotRules()
    ).start()
    yield running
    running.stop()
    rest.close()


@pytest.fixture
def operator(
    apiserver: hosting.ApiServer, prometheus_server: PrometheusServer, tmp_path: Any
) -> Iterator[Callable[..., OperatorProcess]]:
    started: list[OperatorProcess] = []

    def start(**options: Any) -> OperatorProcess:
        process = OperatorProcess(
            kubeconfig=apiserver.kubeconfig,
            log_path=tmp_path / "operator.log",
            prometheus_url=prometheus_server.url,
            **options,
        ).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
    log = tmp_path / "operator.log"
    print(log.read_text(errors="replace")[-20000:] if log.exists() else "")


def spot_policy(**burst: Any) -> dict[str, Any]:
    """`web` scaled on sum(requests_per_second) at 10 per replica, burst on spot."""
    return objects.burst_policy(
        "web",
        target="web",
        minReplicas=1,
        maxReplicas=30,
        metrics=[
            {
                "prometheus": {
                    "query": f'sum({LOAD}{{app="web"}})',
                    "target": {"type": "AverageValue", "averageValue": "10"},
                }
            }
        ],
        behavior={"scaleDown": {"stabilizationWindowSeconds": 0}},
        drainBack={"enabled": False},
        burst={"spot": {"enabled": True}, **burst},
    )


def burst_pods(api: client.RestClient) -> list[dict[str, Any]]:
    return [
        pod
        for pod in pods_of(api, "web")
        if pod["metadata"]["labels"].get("burstscaler.io/tier") == "burst"
        and not pod["metadata"].get("deletionTimestamp")
        and pod["status"].get("phase") != "Failed"
    ]


def start_bursting(api: client.RestClient, prometheus: PrometheusServer, operator: Callable[..., Any]) -> None:
    """ECS room for 4 replicas of 500m; the load asks for 9: 5 burst."""
    api.create(objects.ecs_node("ecs-1", cpu="2", memory="8Gi"))
    api.create(objects.virtual_node())
    api.create(objects.deployment("web", replicas=2, cpu="500m"))
    prometheus.push_now(LOAD, 90, {"app": "web"})
    api.create(spot_policy())
    operator()


@pytest.mark.e2e
@pytest.mark.prometheus
def test_refused_spot_falls_back_to_on_demand_and_burst_becomes_ready(
    api: client.RestClient,
    spot_cluster: actor.ClusterActor,
    prometheus_server: PrometheusServer,
    operator: Callable[..., OperatorProcess],
) -> None:
    assert spot_cluster.spot_rules is not None
    spot_cluster.spot_rules.refuse = True  # no spot stock at the bid
    start_bursting(api, prometheus_server, operator)
    eventually(lambda: spot_cluster.spot_rules and spot_cluster.spot_rules.refused, timeout=TIMEOUT,
               message="the twin asked for spot and was refused")  # fmt: skip

    def on_demand_and_ready() -> bool:
        pods = burst_pods(api)
        return len(pods) == 5 and all(ready(p) and SPOT_ANNOTATION not in p["metadata"].get("annotations", {})
                                      for p in pods)  # fmt: skip

    eventually(on_demand_and_ready, timeout=TIMEOUT, message="5 on-demand burst pods Ready")
    twin = api.get("Deployment", "web-burst")
    assert SPOT_ANNOTATION not in (twin["spec"]["template"]["metadata"].get("annotations") or {})
    assert twin["metadata"]["annotations"].get("burstscaler.io/spot-fallback-until"), "kept for a restart"

    def explained() -> dict[str, Any] | None:
        status = api.get("BurstPolicy", "web").get("status") or {}
        spot_inputs = ((status.get("lastDecision") or {}).get("inputs") or {}).get("plan", {}).get("spot") or {}
        return status if spot_inputs.get("reason") == "spot-fallback" else None

    status = eventually(explained, timeout=TIMEOUT, message="status says spot-fallback")
    assert status["spotBurstReplicas"] == 0
    events = api.list("Event", namespace="default")
    assert any(e["reason"] == "SpotFallback" and e["involvedObject"]["kind"] == "BurstPolicy" for e in events)


@pytest.mark.e2e
@pytest.mark.prometheus
def test_a_spot_pod_to_be_released_is_replaced_before_it_goes(
    api: client.RestClient,
    spot_cluster: actor.ClusterActor,
    prometheus_server: PrometheusServer,
    operator: Callable[..., OperatorProcess],
) -> None:
    start_bursting(api, prometheus_server, operator)
    eventually(lambda: sum(map(ready, burst_pods(api))) == 5, timeout=TIMEOUT, message="5 spot burst pods Ready")
    assert all(SPOT_ANNOTATION in p["metadata"]["annotations"] for p in burst_pods(api))
    eventually(lambda: (api.get("BurstPolicy", "web").get("status") or {}).get("spotBurstReplicas") == 5,
               timeout=TIMEOUT)  # fmt: skip

    samples: list[int] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            with contextlib.suppress(Exception):  # the sampler races the actor; a missed sample is fine
                samples.append(sum(map(ready, burst_pods(api))))
            stop.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        # One pod announced now, released 10 s later: a tick (1 s) and an ECI start (1.5 s) fit in between.
        assert spot_cluster.spot_rules is not None
        spot_cluster.spot_rules.notice_seconds = 10.0
        spot_cluster.spot_rules.release = 1
        eventually(lambda: spot_cluster.spot_rules and spot_cluster.spot_rules.released, timeout=TIMEOUT,
                   message="the announced pod was released")  # fmt: skip
        eventually(lambda: len(burst_pods(api)) == 5 and sum(map(ready, burst_pods(api))) == 5, timeout=TIMEOUT,
                   message="back to 5 burst pods once the announced one is gone")  # fmt: skip
    finally:
        stop.set()
        sampler.join(5)
    assert samples and min(samples) >= 5, f"Ready burst pods dipped: {min(samples)}"
    assert max(samples) >= 6, "a replacement was Ready before the release"
