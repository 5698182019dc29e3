"""Tenant safety through the real operator (issue 12): what a namespace owner's BurstPolicy cannot make it do.

Two scenarios, each one operator run covering several findings:
1. refusals: a podTemplatePatch carrying a pod spec gets a condition and no twin; a `web-burst` the
   policy does not own is never adopted, scaled or rewritten, and survives the policy's deletion; a
   second policy on the same target is a Conflict; a serverUrl at loopback or the metadata address is
   refused, and one the operator does not allow says how to allow it;
2. hostile metrics: another namespace's policies read a dripping answer and a flood from the
   operator's own Prometheus; the victim policy still reacts to its load, every tick ends within a
   tick or so, and the operator's memory stays flat.
Eventual conditions with generous timeouts; the only time bound is a tick's duration from the
operator's own log, with a margin far below what an unbounded read would take (a minute of drip).
"""

from __future__ import annotations

import pathlib
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.fixtures.prometheus import PrometheusServer

from .harness import actor, client, hosting, objects
from .harness.waiting import eventually
from .hostile_prometheus import HostilePrometheus
from .operator_process import OperatorProcess

pytestmark = [pytest.mark.e2e, pytest.mark.prometheus]

TIMEOUT = 40.0
LOAD = "requests_per_second"
TICK = 1.0


@pytest.fixture
def cluster(apiserver: hosting.ApiServer) -> Iterator[actor.ClusterActor]:
    rest = client.RestClient(apiserver.url)
    running = actor.ClusterActor(api=rest, startup_delay={"ecs": 0.5, "virtual": 0.5}).start()
    yield running
    running.stop()
    rest.close()


@pytest.fixture
def start_operator(
    apiserver: hosting.ApiServer, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., OperatorProcess]]:
    """Start `burstscaler run` against `prometheus_url`, with the Deployment's environment; its log is
    printed on failure."""
    monkeypatch.setenv("MALLOC_ARENA_MAX", "2")  # as manifests/base/deployment.yaml sets it
    started: list[OperatorProcess] = []
    log = tmp_path / "operator.log"

    def start(*, prometheus_url: str, extra: tuple[str, ...] = ()) -> OperatorProcess:
        process = OperatorProcess(
            kubeconfig=apiserver.kubeconfig, log_path=log, prometheus_url=prometheus_url, tick_seconds=TICK, extra=extra
        ).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
    print(log.read_text(errors="replace")[-20000:] if log.exists() else "")


def metric(query: str, **extra: Any) -> dict[str, Any]:
    return {"prometheus": {"query": query, "target": {"type": "AverageValue", "averageValue": "10"}, **extra}}


def policy(name: str, *, target: str, namespace: str = "default", **spec: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "minReplicas": 1,
        "maxReplicas": 30,
        "metrics": [metric(f'sum({LOAD}{{app="{target}"}})')],
        # Straight to the recommendation: the scenarios are about refusals, not the HPA's pace.
        "behavior": {"scaleUp": {"policies": [{"type": "Pods", "value": 100, "periodSeconds": 1}]}},
    }
    values.update(spec)
    return objects.burst_policy(name, target=target, namespace=namespace, **values)


def condition(api: client.RestClient, name: str, kind: str, namespace: str = "default") -> dict[str, Any] | None:
    body = api.find("BurstPolicy", name, namespace=namespace) or {}
    return next((c for c in body.get("status", {}).get("conditions", []) if c["type"] == kind), None)


def refused(api: client.RestClient, name: str, reason: str, namespace: str = "default") -> dict[str, Any] | None:
    found = condition(api, name, "Ready", namespace)
    return found if found and (found["status"], found["reason"]) == ("False", reason) else None


def spec_of(api: client.RestClient, name: str) -> dict[str, Any] | None:
    found = api.find("Deployment", name)
    if found is None:
        return None
    meta = found["metadata"]
    return {"spec": found["spec"], "owners": meta.get("ownerReferences"), "annotations": meta.get("annotations")}


def events(api: client.RestClient, reason: str) -> list[dict[str, Any]]:
    return [e for e in api.list("Event", namespace="default") if e["reason"] == reason]


def test_a_tenant_cannot_make_the_operator_run_adopt_or_reach_what_it_must_not(
    api: client.RestClient, cluster: actor.ClusterActor, prometheus_server: PrometheusServer, start_operator: Any
) -> None:
    api.create(objects.ecs_node("ecs-1", cpu="2", memory="8Gi"))
    api.create(objects.virtual_node())
    for name in ("evil", "web", "shared", "own"):
        api.create(objects.deployment(name, replicas=1, cpu="500m"))
        prometheus_server.push_now(LOAD, 90, {"app": name})  # 9 replicas wanted: a burst for each
    # Someone else's workload with the twin's name, not owned by any policy.
    squatter = objects.deployment("web-burst", replicas=1, cpu="500m")
    api.create(squatter)
    evil_patch = {
        "spec": {
            "serviceAccountName": "deployer-admin",
            "containers": [{"name": "x", "image": "evil/x", "securityContext": {"privileged": True}}],
            "volumes": [{"name": "root", "hostPath": {"path": "/"}}],
            "hostPID": True,
            "nodeName": "master-1",
        }
    }
    api.create(policy("evil", target="evil", burst={"podTemplatePatch": evil_patch}))
    api.create(policy("web", target="web"))
    api.create(policy("shared-first", target="shared"))
    api.create(policy("shared-second", target="shared"))
    loopback = metric("up", serverUrl="http://127.0.0.1:9090")
    metadata = metric("up", serverUrl="http://169.254.169.254/latest")
    api.create(policy("own-loopback", target="own", metrics=[loopback]))
    api.create(policy("own-metadata", target="own", metrics=[metadata]))
    api.create(policy("own-named", target="own", metrics=[metric("up", serverUrl="http://prometheus.team.svc:9090")]))
    before = spec_of(api, "web-burst")
    start_operator(prometheus_url=prometheus_server.url)

    # 1. A pod spec in the patch: a condition naming each refused field, and no twin, ever.
    invalid = eventually(lambda: refused(api, "evil", "InvalidSpec"), timeout=TIMEOUT)
    for field in ("containers", "serviceAccountName", "volumes", "hostPID", "nodeName"):
        assert f"spec.burst.podTemplatePatch.spec.{field}" in invalid["message"], field
    # 2. The unowned web-burst: a TwinNameTaken condition and Event; untouched.
    eventually(lambda: refused(api, "web", "TwinNameTaken"), timeout=TIMEOUT)
    eventually(lambda: events(api, "TwinNameTaken"), timeout=TIMEOUT, message="a Warning Event names the refusal")
    # 3. Two policies on one target: the older drives it, the other says so.
    conflict = eventually(lambda: refused(api, "shared-second", "Conflict"), timeout=TIMEOUT)
    assert "shared-first" in conflict["message"]
    eventually(lambda: spec_of(api, "shared-burst"), timeout=TIMEOUT, message="the older policy bursts")
    # 4. serverUrl: loopback and metadata addresses refused by validation; a name not allowed says how.
    assert "loopback" in eventually(lambda: refused(api, "own-loopback", "InvalidSpec"), timeout=TIMEOUT)["message"]
    assert "link-local" in eventually(lambda: refused(api, "own-metadata", "InvalidSpec"), timeout=TIMEOUT)["message"]
    named = eventually(lambda: refused(api, "own-named", "ServerNotAllowed"), timeout=TIMEOUT)
    assert "--allowed-prometheus-url" in named["message"]

    assert api.find("Deployment", "evil-burst") is None
    assert spec_of(api, "web-burst") == before, "the operator changed a workload it does not own"
    assert api.get("Deployment", "web")["spec"]["replicas"] == 1, "a refused policy scaled its target"
    api.delete("BurstPolicy", "web")
    eventually(lambda: api.find("BurstPolicy", "web") is None, timeout=TIMEOUT, message="the policy is deleted")
    time.sleep(2 * TICK)  # the hand-back and the garbage collector have had their chance
    assert spec_of(api, "web-burst") == before, "deleting the policy touched a workload it does not own"


def _tick_durations(log: str) -> list[float]:
    return [float(seconds) for seconds in re.findall(r"tick \d+: \d+ policies in ([0-9.]+)s", log)]


def _rss_mib(process: OperatorProcess) -> float:
    assert process.process is not None
    status = pathlib.Path(f"/proc/{process.process.pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024  # type: ignore[union-attr]


def test_hostile_metrics_stall_no_other_policy_and_cost_no_memory(
    api: client.RestClient, cluster: actor.ClusterActor, prometheus_server: PrometheusServer, start_operator: Any
) -> None:
    api.create(objects.ecs_node("ecs-1", cpu="2", memory="8Gi"))
    api.create(objects.virtual_node())
    api.create(objects.deployment("web", replicas=2, cpu="500m"))
    prometheus_server.push_now(LOAD, 20, {"app": "web"})
    api.create(policy("web", target="web"))
    with HostilePrometheus(prometheus_server.url) as hostile:
        operator = start_operator(prometheus_url=hostile.url, extra=("--prometheus-timeout", "2"))
        eventually(lambda: condition(api, "web", "Ready"), timeout=TIMEOUT, message="the victim is planned")
        time.sleep(3 * TICK)  # past start-up: the baseline memory of a running operator
        baseline = _rss_mib(operator)
        ticks_before = len(_tick_durations(operator.log()))

        # Other namespaces' policies: 16 dripping reads (the pool has 16 threads) and 4 floods per tick.
        for index in range(2):
            api.create(objects.deployment(f"drip{index}", replicas=1, cpu="100m", namespace="evil"))
            drips = [metric(f"sum(drip_{index}_{n})") for n in range(8)]
            api.create(policy(f"drip{index}", target=f"drip{index}", namespace="evil", metrics=drips))
        # A third namespace floods: its reads are not queued behind the drips (those hold evil's slots).
        api.create(objects.deployment("flood", replicas=1, cpu="100m", namespace="flood"))
        floods = [metric(f"sum(flood_{n})") for n in range(4)]
        api.create(policy("flood", target="flood", namespace="flood", metrics=floods))

        timeout = eventually(
            lambda: (c := condition(api, "drip0", "MetricsAvailable", "evil")) and c["status"] == "False" and c,
            timeout=TIMEOUT,
        )
        assert timeout["reason"] == "PrometheusTimeout"
        # Capped, not waited for (a flood read may also miss a busy tick's deadline: then it says that).
        eventually(
            lambda: "byte cap" in ((condition(api, "flood", "MetricsAvailable", "flood") or {}).get("message") or ""),
            timeout=TIMEOUT,
            message="the flood is cut at the size cap",
        )
        # The victim still plans on its own load while the attack goes on.
        prometheus_server.push_now(LOAD, 90, {"app": "web"})

        def victim_scaled() -> bool:  # 9 replicas wanted, the overflow on the twin
            base, burst = api.get("Deployment", "web")["spec"]["replicas"], (spec_of(api, "web-burst") or {})
            return burst.get("spec", {}).get("replicas", 0) > 0 and base + burst["spec"]["replicas"] == 9

        eventually(victim_scaled, timeout=TIMEOUT, message="the victim follows its own load")
        time.sleep(5 * TICK)
        attacked = _tick_durations(operator.log())[ticks_before:]
        grown = _rss_mib(operator) - baseline

    print(
        f"ticks under attack: {len(attacked)}, max {max(attacked):.3f}s; RSS {baseline:.1f} MiB, grew {grown:.1f} MiB"
    )
    assert len(attacked) >= 5
    # The tick waits for readings one interval (1 s) at most, while a read may take its 2 s deadline: a
    # tick of 2 s or more would have waited for a hostile read (a drip alone lasts a minute).
    assert max(attacked) < 2 * TICK, attacked
    # Each flood would be gigabytes if read whole; capped at 1 MiB a read, memory stays where it was.
    assert grown < 32, f"RSS grew {grown:.0f} MiB under the flood (baseline {baseline:.0f} MiB)"
