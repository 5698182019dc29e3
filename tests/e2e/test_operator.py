"""The real operator process against the API emulator, a cluster actor and a real Prometheus.

Each scenario is one thing an SRE relies on: a spike overflows to the twin, burst goes first on the
way down, drain-back is make-before-break, a template ECI cannot run is refused, metrics failing
fall back, a restart mid-drain does not double-scale, competing policies never over-commit, and
`kubectl get bp` shows the columns. Times are eventual conditions with generous timeouts, never
asserted durations.
"""

from __future__ import annotations

import pathlib
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.fixtures.prometheus import PrometheusServer

from .harness import actor, client, hosting, objects, sampling
from .harness.waiting import eventually
from .operator_process import OperatorProcess

pytestmark = [pytest.mark.e2e, pytest.mark.prometheus]

TIMEOUT = 40.0
LOAD = "requests_per_second"


@pytest.fixture
def cluster(apiserver: hosting.ApiServer) -> Iterator[actor.ClusterActor]:
    """A running cluster actor on real time: ECS pods Ready after 1 s, ECI pods after 1.5 s."""
    rest = client.RestClient(apiserver.url)
    running = actor.ClusterActor(api=rest, startup_delay={"ecs": 1.0, "virtual": 1.5}).start()
    yield running
    running.stop()
    rest.close()


@pytest.fixture
def prometheus(prometheus_server: PrometheusServer) -> PrometheusServer:
    """The suite's real Prometheus (skipped with the install command when the binary is absent)."""
    return prometheus_server


@pytest.fixture
def start_operator(
    apiserver: hosting.ApiServer, prometheus: PrometheusServer, tmp_path: pathlib.Path
) -> Iterator[Callable[..., OperatorProcess]]:
    """Start `burstscaler run` (as many times as a scenario needs); its log is printed on failure."""
    started: list[OperatorProcess] = []

    def start(**options: Any) -> OperatorProcess:
        process = OperatorProcess(
            kubeconfig=apiserver.kubeconfig,
            log_path=tmp_path / "operator.log",
            prometheus_url=prometheus.url,
            **options,
        ).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
    log = (tmp_path / "operator.log").read_text(errors="replace") if (tmp_path / "operator.log").exists() else ""
    print(log[-20000:])


def load_policy(name: str = "web", **spec: Any) -> dict[str, Any]:
    """A policy scaling `name` on `sum(requests_per_second{app=name})` at 10 requests/s per replica."""
    values: dict[str, Any] = {
        "minReplicas": 1,
        "maxReplicas": 30,
        "metrics": [
            {
                "prometheus": {
                    "query": f'sum({LOAD}{{app="{name}"}})',
                    "target": {"type": "AverageValue", "averageValue": "10"},
                }
            }
        ],
        "behavior": {"scaleDown": {"stabilizationWindowSeconds": 0}},
        # A move costs no start-up here, so drain-back is always worth it (issue 16 decides moves by cost):
        # these scenarios check its make-before-break mechanics, not its economics (tests/e2e/test_bridge.py).
        "drainBack": {"minBurstSeconds": 0, "stabilizationSeconds": 0, "maxMovesPerTick": 10, "podStartupSeconds": 0},
    }
    values.update(spec)
    return objects.burst_policy(name, target=name, **values)


def workload_pods(api: client.RestClient, name: str) -> list[dict[str, Any]]:
    """Live pods of the base `name` and of its twin."""
    return [
        pod
        for pod in api.list("Pod", namespace="default")
        if pod["metadata"]["labels"].get("app") == name and not pod["metadata"].get("deletionTimestamp")
    ]


def ready(pod: dict[str, Any]) -> bool:
    """True when the pod's Ready condition is True."""
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod.get("status", {}).get("conditions", []))


def replicas(api: client.RestClient, name: str) -> int | None:
    """spec.replicas of a Deployment, or None when it does not exist."""
    found = api.find("Deployment", name)
    return None if found is None else int(found["spec"]["replicas"])


def condition(api: client.RestClient, policy: str, kind: str) -> dict[str, Any] | None:
    """A condition of a BurstPolicy's status."""
    body = api.find("BurstPolicy", policy) or {}
    return next((c for c in body.get("status", {}).get("conditions", []) if c["type"] == kind), None)


def test_spike_overflows_to_the_twin_then_burst_goes_first(
    api: client.RestClient, cluster: actor.ClusterActor, prometheus: PrometheusServer, start_operator: Any
) -> None:
    api.create(objects.ecs_node("ecs-1", cpu="2", memory="8Gi"))  # room for 4 replicas of 500m
    api.create(objects.virtual_node())
    api.create(objects.deployment("web", replicas=2, cpu="500m"))
    prometheus.push_now(LOAD, 20, {"app": "web"})
    api.create(load_policy())
    start_operator()
    eventually(lambda: replicas(api, "web") == 2 and condition(api, "web", "Ready"), timeout=TIMEOUT)

    prometheus.push_now(LOAD, 90, {"app": "web"})  # 9 replicas: 4 fit on ECS, 5 burst
    eventually(lambda: replicas(api, "web-burst") == 5, timeout=TIMEOUT, message="twin scaled to 5")
    assert replicas(api, "web") == 4
    twin = api.get("Deployment", "web-burst")
    assert twin["spec"]["template"]["spec"]["nodeSelector"] == {"type": "virtual-kubelet"}
    assert twin["metadata"]["ownerReferences"][0]["kind"] == "BurstPolicy"
    eventually(lambda: condition(api, "web", "Bursting")["status"] == "True", timeout=TIMEOUT)

    with sampling.Sampler(lambda: web_sample(api, "web")) as sampler:
        prometheus.push_now(LOAD, 30, {"app": "web"})  # 3 replicas: burst goes first
        eventually(lambda: replicas(api, "web-burst") == 0 and replicas(api, "web") == 3, timeout=TIMEOUT)
    # Base never shrank while burst replicas remained.
    assert all(base == 4 for base, burst, _ in sampler.samples if burst not in (None, 0))


def test_drain_back_is_make_before_break(
    api: client.RestClient, cluster: actor.ClusterActor, prometheus: PrometheusServer, start_operator: Any
) -> None:
    api.create(objects.ecs_node("ecs-1", cpu="2", memory="8Gi"))
    api.create(objects.virtual_node())
    api.create(objects.deployment("web", replicas=4, cpu="500m"))
    prometheus.push_now(LOAD, 70, {"app": "web"})  # 7 replicas: 4 on ECS, 3 burst
    api.create(load_policy())
    start_operator()
    eventually(lambda: replicas(api, "web-burst") == 3, timeout=TIMEOUT)
    eventually(lambda: sum(map(ready, workload_pods(api, "web"))) == 7, timeout=TIMEOUT)

    with sampling.Sampler(lambda: web_sample(api, "web")) as sampler:
        api.create(objects.ecs_node("ecs-2", cpu="2", memory="8Gi"))  # room appears for 4 more
        eventually(lambda: replicas(api, "web-burst") == 0 and replicas(api, "web") == 7, timeout=TIMEOUT)
        eventually(lambda: sum(map(ready, workload_pods(api, "web"))) == 7, timeout=TIMEOUT)
    assert min(ready_count for _, _, ready_count in sampler.samples) >= 7, "serving capacity dipped during drain-back"
    # Status is written beside the ticks (coalesced): it lands shortly after the workloads change.
    eventually(lambda: api.get("BurstPolicy", "web")["status"].get("lastDrainTime"), timeout=TIMEOUT)
    assert float(api.get("BurstPolicy", "web")["status"]["cost"]["eciCost"]) > 0


def test_a_hostpath_template_is_refused_with_the_alternative(
    api: client.RestClient, cluster: actor.ClusterActor, prometheus: PrometheusServer, start_operator: Any
) -> None:
    api.create(objects.ecs_node("ecs-1", cpu="2", memory="8Gi"))
    api.create(objects.virtual_node())
    deployment = objects.deployment("web", replicas=2, cpu="500m")
    deployment["spec"]["template"]["spec"]["volumes"] = [{"name": "logs", "hostPath": {"path": "/var/log"}}]
    api.create(deployment)
    prometheus.push_now(LOAD, 90, {"app": "web"})
    api.create(load_policy())
    start_operator()
    compatible = eventually(
        lambda: (c := condition(api, "web", "EciCompatible")) and c["status"] == "False" and c, timeout=TIMEOUT
    )
    assert "use an emptyDir, a cloud disk or a NAS volume instead" in compatible["message"]
    eventually(lambda: replicas(api, "web") == 4, timeout=TIMEOUT, message="the base keeps scaling")
    assert api.find("Deployment", "web-burst") is None

    def refused_event() -> bool:
        events = api.list("Event", namespace="default")
        return any(
            e.get("involvedObject", {}).get("kind") == "BurstPolicy" and e["reason"] == "IncompatibleHostPath"
            for e in events
        )

    eventually(refused_event, timeout=TIMEOUT, message="a Warning Event names the refusal")


def test_prometheus_down_applies_the_fallback(
    api: client.RestClient, cluster: actor.ClusterActor, prometheus: PrometheusServer, start_operator: Any
) -> None:
    api.create(objects.ecs_node("ecs-1", cpu="4", memory="8Gi"))
    api.create(objects.virtual_node())
    api.create(objects.deployment("web", replicas=2, cpu="500m"))
    prometheus.push_now(LOAD, 30, {"app": "web"})
    api.create(load_policy(fallback={"onMetricsFailure": "fixed", "failureThreshold": 2, "replicas": 5}))
    start_operator()
    eventually(lambda: replicas(api, "web") == 3, timeout=TIMEOUT)
    prometheus.kill()
    available = eventually(
        lambda: (c := condition(api, "web", "MetricsAvailable")) and c["status"] == "False" and c, timeout=TIMEOUT
    )
    assert available["reason"] == "PrometheusUnreachable"
    eventually(lambda: replicas(api, "web") == 5, timeout=TIMEOUT, message="fixed fallback replicas")
    prometheus.restart()
    prometheus.push_now(LOAD, 30, {"app": "web"})
    eventually(lambda: condition(api, "web", "MetricsAvailable")["status"] == "True", timeout=TIMEOUT)
    eventually(lambda: replicas(api, "web") == 3, timeout=TIMEOUT, message="recovered to the metric")


def test_operator_killed_mid_drain_resumes_without_double_scaling(
    api: client.RestClient, apiserver: hosting.ApiServer, prometheus: PrometheusServer, start_operator: Any
) -> None:
    rest = client.RestClient(apiserver.url)
    slow = actor.ClusterActor(api=rest, startup_delay={"ecs": 6.0, "virtual": 0.5}).start()
    try:
        api.create(objects.ecs_node("ecs-1", cpu="2", memory="8Gi"))
        api.create(objects.virtual_node())
        api.create(objects.deployment("web", replicas=4, cpu="500m"))
        prometheus.push_now(LOAD, 70, {"app": "web"})
        api.create(load_policy())
        operator = start_operator()
        eventually(lambda: replicas(api, "web-burst") == 3, timeout=TIMEOUT)
        eventually(lambda: sum(map(ready, workload_pods(api, "web"))) == 7, timeout=TIMEOUT)

        api.create(objects.ecs_node("ecs-2", cpu="2", memory="8Gi"))
        eventually(lambda: replicas(api, "web") == 7, timeout=TIMEOUT, message="drain-back raised base")
        assert replicas(api, "web-burst") == 3, "burst must wait for the new base pods to be Ready"
        operator.kill()  # mid-drain: base raised, its new pods not Ready yet (6 s ECS start-up)
        with sampling.Sampler(lambda: web_sample(api, "web")) as sampler:
            start_operator()
            eventually(lambda: replicas(api, "web-burst") == 0, timeout=TIMEOUT, message="drain-back finished")
            eventually(lambda: sum(map(ready, workload_pods(api, "web"))) == 7, timeout=TIMEOUT)
        assert replicas(api, "web") == 7, "no second surge after the restart"
        assert max(base or 0 for base, _, _ in sampler.samples) == 7
        assert min(count for _, _, count in sampler.samples) >= 7
    finally:
        slow.stop()
        rest.close()


def test_competing_policies_never_over_commit_ecs(
    api: client.RestClient, cluster: actor.ClusterActor, prometheus: PrometheusServer, start_operator: Any
) -> None:
    api.create(objects.ecs_node("ecs-1", cpu="3", memory="8Gi"))  # room for 6 replicas of 500m
    api.create(objects.virtual_node())
    for name in ("shop", "blog"):
        api.create(objects.deployment(name, replicas=1, cpu="500m"))
        prometheus.push_now(LOAD, 50, {"app": name})  # each wants 5: 10 in all, 6 fit
    api.create(load_policy("shop", priority=10))
    api.create(load_policy("blog", priority=0))
    start_operator()
    eventually(
        lambda: (replicas(api, "shop"), replicas(api, "blog")) == (5, 1) and replicas(api, "blog-burst") == 4,
        timeout=TIMEOUT,
        message="priority shop takes ECS room first; blog overflows",
    )
    pods = api.list("Pod", namespace="default")
    stuck = [p for p in pods if not p["spec"].get("nodeName") and "burst" not in p["metadata"]["name"]]
    assert stuck == [], "a planned base pod could not be placed: ECS was over-committed"


def test_kubectl_get_bp_shows_the_columns(
    api: client.RestClient, apiserver: hosting.ApiServer, cluster: actor.ClusterActor, start_operator: Any
) -> None:
    api.create(objects.ecs_node("ecs-1", cpu="2", memory="8Gi"))
    api.create(objects.virtual_node())
    api.create(objects.deployment("web", replicas=1, cpu="500m"))
    api.create(objects.burst_policy("web", target="web", minReplicas=6, maxReplicas=10))
    start_operator()
    eventually(lambda: replicas(api, "web-burst") == 2, timeout=TIMEOUT)
    eventually(lambda: api.get("BurstPolicy", "web").get("status", {}).get("burstReplicas") == 2, timeout=TIMEOUT)
    output = subprocess.run(
        ["kubectl", "--kubeconfig", str(apiserver.kubeconfig), "get", "bp"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    header, row = output.splitlines()[:2]
    assert header.split() == ["NAME", "TARGET", "DESIRED", "BASE", "BURST", "BUDGET", "COST", "AGE"]
    assert row.split()[:5] == ["web", "web", "6", "4", "2"]


def web_sample(api: client.RestClient, name: str) -> tuple[int | None, int | None, int]:
    """(base spec.replicas, twin spec.replicas, Ready pods of both), one observation for a sampler."""
    pods = workload_pods(api, name)
    return replicas(api, name), replicas(api, f"{name}-burst"), sum(map(ready, pods))
