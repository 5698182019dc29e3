"""Benchmarks of the operator's planning tick at cluster scale, and of its reaction time end to end.

``scale``: 5,000 nodes and 50,000 pods turned into index records exactly as the Kopf indexers do
(``cluster.objects.node_record`` / ``pod_record`` from API-shaped dicts), 1,000 BurstPolicies over
1,000 Deployments, then the planner's tick (validation, lint, recommendation, snapshot, one core
call) run repeatedly, with ``--churn`` of the pod records rebuilt between ticks as watch events do
(the snapshot keeps its pod table between ticks, so an unchanged cluster would flatter it). Prints
the records' memory (tracemalloc and RSS growth), the tick's median/min/max, the core's plan time
and the snapshot build's within those same ticks (timed around ``core.plan.plan`` and
``cluster.snapshot.build``), each tick's time outside the core call (the operator's own work: snapshot,
validation, recommendation, slicing; in wall and in CPU time, the latter less stretched by other processes
on a shared machine), and RSS after every round of ticks (it must stay flat: nothing
accumulates).

``emulator``: the real operator process with ``--nodes`` nodes and ``--policies`` BurstPolicies in the
API emulator (scaled down: KMock keeps every object version in memory), watched for ``--seconds``:
policy ticks per second against the expected rate, and the operator's RSS every 5 s.

``reaction``: the real operator process (``burstscaler run``, default 5 s tick) against the KMock API
emulator with the cluster actor and a real Prometheus; a load step is pushed to Prometheus (queryable
at once) and the time until the twin's spec.replicas changes is measured, ``--runs`` times.

Run: ``python benchmarks/bench_operator.py scale`` and ``python benchmarks/bench_operator.py reaction``
(``--json`` for one JSON object). Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import pathlib
import random
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from typing import Any

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from burstscaler.cluster import objects  # noqa: E402
from burstscaler.cluster import snapshot as cluster_snapshot  # noqa: E402
from burstscaler.core import plan as core_plan  # noqa: E402
from burstscaler.operator import planner  # noqa: E402

NOW = 1_800_000_000.0
VIRTUAL = (("type", "virtual-kubelet"),)


def _rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _node(index: int) -> dict[str, Any]:
    return {
        "metadata": {"name": f"ecs-{index}", "labels": {"pool": f"pool-{index % 4}"}},
        "spec": {},
        "status": {
            "allocatable": {"cpu": "15890m", "memory": "60Gi", "pods": "110", "ephemeral-storage": "100Gi"},
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }


def _template(app: str, *, cpu: str, memory: str) -> dict[str, Any]:
    return {
        "metadata": {"labels": {"app": app}},
        "spec": {
            "containers": [{"name": "app", "image": "app:1", "resources": {"requests": {"cpu": cpu, "memory": memory}}}]
        },
    }


def _pod(index: int, *, app: str, node: str, template: dict[str, Any]) -> dict[str, Any]:
    return {
        "metadata": {
            "name": f"{app}-abcde-{index}",
            "namespace": "default",
            "labels": {"app": app, "pod-template-hash": "abcde"},
            "ownerReferences": [{"kind": "ReplicaSet", "name": f"{app}-abcde", "controller": True}],
            "creationTimestamp": "2026-11-27T00:00:00Z",
        },
        "spec": {"nodeName": node, **template["spec"]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
    }


def scale(
    *, nodes: int, pods: int, policies: int, ticks: int, rounds: int, churn: float, turnover: int = 0
) -> dict[str, Any]:
    """Index records for a large cluster, then the planner's tick, with memory over rounds."""
    rss_start = _rss_mib()
    tracemalloc.start()
    node_records = [objects.node_record(_node(i), virtual_labels=VIRTUAL) for i in range(nodes)]
    node_records.append(
        objects.node_record({"metadata": {"name": "vk", "labels": {"type": "virtual-kubelet"}}}, virtual_labels=VIRTUAL)
    )
    workloads: dict[tuple[str, str, str], planner.Workload] = {}
    bodies: dict[planner.Key, dict[str, Any]] = {}
    pod_records = []
    per_app = max(1, pods // policies)
    for p in range(policies):
        app = f"app-{p}"
        template = _template(app, cpu=f"{250 * (1 + p % 4)}m", memory=f"{256 * (1 + p % 3)}Mi")
        body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": app, "namespace": "default"}}
        body["spec"] = {"replicas": per_app, "selector": {"matchLabels": {"app": app}}, "template": template}
        workloads[("default", "Deployment", app)] = planner.Workload(
            namespace="default",
            kind="Deployment",
            name=app,
            replicas=per_app,
            ready=per_app,
            labels={},
            annotations={},
            selector=body["spec"]["selector"],
            template=template,
            body=body,
            generation=1,
        )
        bodies[("default", app)] = {
            "metadata": {"name": app, "namespace": "default", "generation": 1},
            "spec": {
                "targetRef": {"name": app},
                "minReplicas": per_app + p % 7,
                "maxReplicas": per_app * 4,
                "priority": p % 5,
            },
        }
        for i in range(per_app):
            node = f"ecs-{(p * per_app + i) % nodes}"
            pod_records.append(objects.pod_record(_pod(i, app=app, node=node, template=template)))
    traced_records, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_records = _rss_mib()
    inputs = planner.TickInputs(policies=bodies, workloads=workloads, nodes=node_records, pods=pod_records)
    planner_ = planner.Planner(fetcher=None)
    times: list[float] = []
    core_times: list[float] = []
    build_times: list[float] = []
    outside_core: list[float] = []  # each tick's time less its core call: the operator's own share
    # The same in CPU time: on a shared machine other processes stretch wall time, far less CPU time.
    outside_core_cpu: list[float] = []
    rss_over_time = []
    original_plan, original_build = core_plan.plan, cluster_snapshot.build

    core_cpu: list[float] = []

    def timed(call: Any, into: list[float], cpu: list[float] | None = None) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started, started_cpu = time.perf_counter(), time.process_time()
            try:
                return call(*args, **kwargs)
            finally:
                into.append((time.perf_counter() - started) * 1000)
                if cpu is not None:
                    cpu.append((time.process_time() - started_cpu) * 1000)

        return wrapper

    core_plan.plan = timed(
        original_plan, core_times, core_cpu
    )  # the planner calls plan.plan / build by module attribute
    cluster_snapshot.build = timed(original_build, build_times)
    churned = max(0, round(churn * len(pod_records)))
    shuffle = random.Random(0)
    try:
        for round_ in range(rounds):
            for tick in range(ticks):
                # Watch events between ticks: the index rebuilds those pods' records (new objects; the
                # same content, so every tick plans the same cluster). Not timed: Kopf does it on events.
                for position in shuffle.sample(range(len(pod_records)), churned):
                    pod_records[position] = dataclasses.replace(pod_records[position])
                # Pods deleted and created (a rollout's, a Job's): gone from their place, new ones at the end,
                # as the indices' dicts hand them. The same workloads and requests: the cluster stays the same.
                for position in sorted(shuffle.sample(range(len(pod_records)), turnover), reverse=True):
                    gone = pod_records.pop(position)
                    pod_records.append(dataclasses.replace(gone, name=f"{gone.name}-{round_}-{tick}"))
                inputs = dataclasses.replace(inputs, pods=list(pod_records))
                cores_before = len(core_times)
                started, started_cpu = time.perf_counter(), time.process_time()
                asyncio.run(planner_.tick(inputs, now=NOW + 5 * (round_ * ticks + tick)))
                times.append((time.perf_counter() - started) * 1000)
                cpu = (time.process_time() - started_cpu) * 1000
                outside_core.append(times[-1] - sum(core_times[cores_before:]))
                outside_core_cpu.append(cpu - sum(core_cpu[cores_before:]))
            rss_over_time.append(round(_rss_mib(), 1))
    finally:
        core_plan.plan, cluster_snapshot.build = original_plan, original_build
    return {
        "nodes": nodes,
        "pods": len(pod_records),
        "policies": policies,
        "pods_changed_per_tick": churned,
        "pods_replaced_per_tick": turnover,
        "records_traced_mib": round(traced_records / 2**20, 1),
        "rss_start_mib": round(rss_start, 1),
        "rss_after_records_mib": round(rss_records, 1),
        "tick_median_ms": round(statistics.median(times), 1),
        "tick_min_ms": round(min(times), 1),
        "tick_max_ms": round(max(times), 1),
        "core_plan_median_ms": round(statistics.median(core_times), 1) if core_times else None,
        "tick_outside_core_median_ms": round(statistics.median(outside_core), 1),
        "tick_outside_core_min_ms": round(min(outside_core), 1),
        "core_plan_cpu_median_ms": round(statistics.median(core_cpu), 1) if core_cpu else None,
        "tick_outside_core_cpu_median_ms": round(statistics.median(outside_core_cpu), 1),
        "snapshot_build_median_ms": round(statistics.median(build_times), 1) if build_times else None,
        "tick_over_core": round(statistics.median(times) / statistics.median(core_times), 1) if core_times else None,
        "rss_after_each_round_mib": rss_over_time,
        "ticks": len(times),
    }


def reaction(*, runs: int, tick_seconds: float) -> dict[str, Any]:
    """Seconds from a load step queryable in Prometheus to the twin's spec.replicas changing."""
    import yaml

    from tests.e2e.harness import actor, client, hosting, waiting
    from tests.e2e.harness import objects as e2e_objects
    from tests.e2e.operator_process import OperatorProcess
    from tests.fixtures.prometheus import PrometheusServer

    workdir = pathlib.Path(tempfile.mkdtemp(prefix="bench-reaction-"))
    (workdir / "prometheus").mkdir()
    prometheus = PrometheusServer(workdir / "prometheus")
    prometheus.start()
    results: list[float] = []
    with hosting.ApiServer(directory=workdir / "api") as server:
        server.install_crd(yaml.safe_load((REPO / "crds" / "burstpolicy.yaml").read_text()))
        api = client.RestClient(server.url)
        api.create(e2e_objects.ecs_node("ecs-1", cpu="2", memory="8Gi"))
        api.create(e2e_objects.virtual_node())
        api.create(e2e_objects.deployment("web", replicas=4, cpu="500m"))
        cluster = actor.ClusterActor(
            api=client.RestClient(server.url), startup_delay={"ecs": 0.5, "virtual": 0.5}
        ).start()
        prometheus.push_now("rps", 40, {"app": "web"})
        policy = e2e_objects.burst_policy(
            "web",
            target="web",
            minReplicas=1,
            maxReplicas=100,
            metrics=[
                {
                    "prometheus": {
                        "query": 'sum(rps{app="web"})',
                        "target": {"type": "AverageValue", "averageValue": "10"},
                    }
                }
            ],
            behavior={
                "scaleDown": {"stabilizationWindowSeconds": 0},
                "scaleUp": {"policies": [{"type": "Pods", "value": 100, "periodSeconds": 1}]},
            },
        )
        api.create(policy)
        operator = OperatorProcess(
            kubeconfig=server.kubeconfig,
            log_path=workdir / "operator.log",
            prometheus_url=prometheus.url,
            tick_seconds=tick_seconds,
        ).start()
        try:
            waiting.eventually(
                lambda: api.get("BurstPolicy", "web").get("status", {}).get("desiredReplicas") == 4, timeout=60
            )
            for run in range(runs):
                # Alternate between 9 and 14 replicas: always above ECS room (4), and each step well past
                # the HPA's 10% tolerance, which would (rightly) ignore a smaller one.
                burst = 5 if run % 2 == 0 else 10
                before = (api.find("Deployment", "web-burst") or {}).get("spec", {}).get("replicas", 0)
                target_rps = (4 + burst) * 10
                pushed = time.monotonic()
                prometheus.push_now("rps", target_rps, {"app": "web"})
                waiting.eventually(
                    lambda b=before: (
                        (api.find("Deployment", "web-burst") or {}).get("spec", {}).get("replicas", 0) != b
                    ),
                    timeout=60,
                    interval=0.02,
                )
                results.append(time.monotonic() - pushed)
                time.sleep(tick_seconds * 1.5)
        except Exception:
            print(operator.log()[-6000:], file=sys.stderr)
            raise
        finally:
            operator.stop()
            cluster.stop()
            prometheus.stop()
    return {
        "runs": runs,
        "tick_seconds": tick_seconds,
        "reaction_median_s": round(statistics.median(results), 2),
        "reaction_min_s": round(min(results), 2),
        "reaction_max_s": round(max(results), 2),
        "samples_s": [round(value, 2) for value in results],
    }


def emulator(*, nodes: int, policies: int, seconds: float, tick_seconds: float) -> dict[str, Any]:
    """The real operator process against the emulator holding `nodes` nodes and `policies` policies.

    Samples the operator's RSS every 5 s and counts, from its log, the planning ticks it ran; every
    policy wants more than its node share, so every tick plans base and burst for all of them.
    """
    import re

    import yaml

    from tests.e2e.harness import actor, client, hosting, waiting
    from tests.e2e.harness import objects as e2e_objects
    from tests.e2e.operator_process import OperatorProcess

    workdir = pathlib.Path(tempfile.mkdtemp(prefix="bench-emulator-"))
    rss: list[float] = []
    with hosting.ApiServer(directory=workdir / "api") as server:
        server.install_crd(yaml.safe_load((REPO / "crds" / "burstpolicy.yaml").read_text()))
        api = client.RestClient(server.url)
        for index in range(nodes):
            api.create(e2e_objects.ecs_node(f"ecs-{index}", cpu="4", memory="16Gi"))
        api.create(e2e_objects.virtual_node())
        for index in range(policies):
            api.create(e2e_objects.deployment(f"app-{index}", replicas=2, cpu="500m"))
            api.create(e2e_objects.burst_policy(f"app-{index}", target=f"app-{index}", minReplicas=4, maxReplicas=8))
        cluster = actor.ClusterActor(api=client.RestClient(server.url), interval=0.5).start()
        operator = OperatorProcess(
            kubeconfig=server.kubeconfig, log_path=workdir / "operator.log", tick_seconds=tick_seconds
        ).start()
        try:
            waiting.eventually(
                lambda: all(
                    (p.get("status") or {}).get("desiredReplicas") == 4
                    for p in api.list("BurstPolicy", namespace="default")
                ),
                timeout=300,
                interval=1,
            )
            started = time.monotonic()
            log_at_start = len(operator.log())
            assert operator.process is not None
            while time.monotonic() - started < seconds:
                with open(f"/proc/{operator.process.pid}/status") as status:
                    rss.extend(int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS:"))
                time.sleep(5)
            elapsed = time.monotonic() - started
            with open(f"/proc/{operator.process.pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            cpu_seconds = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            ticks = len(re.findall(r"Timer 'tick' succeeded", operator.log()[log_at_start:]))
        finally:
            operator.stop()
            cluster.stop()
    return {
        "nodes": nodes,
        "policies": policies,
        "tick_seconds": tick_seconds,
        "observed_seconds": round(elapsed, 1),
        "policy_ticks_per_second": round(ticks / elapsed, 1),
        "expected_policy_ticks_per_second": round(policies / tick_seconds, 1),
        "operator_cpu_seconds_total": round(cpu_seconds, 1),
        "operator_rss_mib_every_5s": [round(value, 1) for value in rss],
    }


def main() -> None:
    """Command line: `scale` or `reaction`, table or --json."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("which", choices=["scale", "reaction", "emulator"])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--pods", type=int, default=50000)
    parser.add_argument("--policies", type=int, default=1000)
    parser.add_argument("--ticks", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument(
        "--churn",
        type=float,
        default=0.01,
        help="scale: fraction of pod records rebuilt between ticks, as watch events do (default 1%%: 500 of "
        "50,000 pods every 5 s tick, a busy cluster's status updates)",
    )
    parser.add_argument(
        "--turnover",
        type=int,
        default=0,
        help="scale: pods deleted and created between ticks (new records at the end of the index, as a rollout's)",
    )
    parser.add_argument("--tick-seconds", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=120.0, help="emulator: how long to watch the operator")
    args = parser.parse_args()
    if args.which == "scale":
        result = scale(
            nodes=args.nodes,
            pods=args.pods,
            policies=args.policies,
            ticks=args.ticks,
            rounds=args.rounds,
            churn=args.churn,
            turnover=args.turnover,
        )
    elif args.which == "reaction":
        result = reaction(runs=args.runs, tick_seconds=args.tick_seconds)
    else:
        result = emulator(
            nodes=args.nodes, policies=args.policies, seconds=args.seconds, tick_seconds=args.tick_seconds
        )
    if args.json:
        print(json.dumps(result))
        return
    command = "python benchmarks/bench_operator.py " + " ".join(sys.argv[1:])
    print(f"# {command}")
    for key, value in result.items():
        print(f"{key:28} {value}")


if __name__ == "__main__":
    main()
