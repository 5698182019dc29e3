"""Benchmark of the scheduler model (``burstscaler.scheduler``): pods placed per second.

Scenarios, each placing pods one by one with ``Cluster.schedule_and_bind`` on 5,000 empty nodes
(8 cores, 32 GiB, 110 pods; three zones, hostname labels):
- ``identical``: 10,000 replicas of one template without labels, so no inter-pod term and no
  system-default spreading: filters and resource scores only (the target: >= 5,000 pods/s);
- ``identical-labelled``: the same with ``app=web``: the default profile's system spreading
  (zone maxSkew 5, hostname maxSkew 3, ScheduleAnyway) scores every pod;
- ``hostname-anti-affinity``: 4 Deployments of 2,500 replicas, each with required anti-affinity on
  ``kubernetes.io/hostname`` against its own replicas;
- ``zone-spread``: 10,000 replicas with a DoNotSchedule zone spread constraint, maxSkew 1;
- ``preemption``: every node filled with 16 placeholders (500m, priority -10), then a tenth of
  ``--pods`` workload pods (1 core, priority 0), each displacing two placeholders (DefaultPreemption);
  filling the nodes is not timed.
kube-scheduler's own scheduler_perf threshold at 5,000 nodes is about 90-100 pods/s.

Measured (fc3c30b, ``python benchmarks/bench_scheduler.py --repeat 3``, a 2-core VM shared with other
agents; pods/s min / median / max, then median pods per CPU-second): identical 11,830 / 12,210 /
12,212 (12,235); identical-labelled 2,221 / 3,504 / 4,241 (4,818); hostname-anti-affinity 1,486 /
2,349 / 2,351 (2,354); zone-spread 3,984 / 4,041 / 4,106 (4,042); preemption 785 / 806 / 816 (806).
Under heavier load (load average ~6, 85bb13d) wall-clock rates were about half of these.

Run: ``python benchmarks/bench_scheduler.py`` (table), ``--json`` (one object per scenario per line),
``--repeat N`` (fresh cluster each time; min/median/max reported), ``--pods``/``--nodes`` to resize,
``--only NAME``. Not a test: nothing here asserts a time; on a shared VM wall-clock includes the time
other processes held the core.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from burstscaler import scheduler  # noqa: E402

GI = 1024**3
HOSTNAME = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"


def nodes(count: int) -> list[scheduler.Node]:
    """``count`` empty nodes in three zones."""
    return [
        scheduler.Node(
            name=f"node-{i:05d}",
            labels={HOSTNAME: f"node-{i:05d}", ZONE: f"zone-{i % 3}"},
            allocatable={"cpu": 8000, "memory": 32 * GI, "pods": 110, "ephemeral-storage": 100 * GI},
        )
        for i in range(count)
    ]


def _container() -> tuple[scheduler.Container, ...]:
    return (scheduler.Container(name="app", requests={"cpu": 250, "memory": GI // 2}),)


def identical(count: int, *, labelled: bool) -> list[scheduler.Pod]:
    """Replicas of one template."""
    labels = {"app": "web"} if labelled else {}
    return [scheduler.Pod(name=f"web-{i}", labels=labels, containers=_container()) for i in range(count)]


def anti_affinity(count: int) -> list[scheduler.Pod]:
    """Four Deployments' replicas, interleaved, each one per node against its own kind."""
    pods = []
    for i in range(count):
        app = f"app-{i % 4}"
        term = {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": HOSTNAME}
        affinity = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}}
        pods.append(scheduler.Pod(name=f"{app}-{i}", labels={"app": app}, containers=_container(), affinity=affinity))
    return pods


def zone_spread(count: int) -> list[scheduler.Pod]:
    """Replicas spread evenly over zones (DoNotSchedule, maxSkew 1)."""
    constraint = {
        "maxSkew": 1,
        "topologyKey": ZONE,
        "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": {"app": "web"}},
    }
    return [
        scheduler.Pod(
            name=f"web-{i}", labels={"app": "web"}, containers=_container(), topology_spread_constraints=(constraint,)
        )
        for i in range(count)
    ]


def placeholders(cluster: scheduler.Cluster) -> None:
    """Fill every node with 16 low-priority placeholders of 500m (bound directly: setup, not timed)."""
    for node in cluster.nodes():
        for k in range(16):
            pod = scheduler.Pod(
                name=f"placeholder-{node.name}-{k}",
                labels={"app": "placeholder"},
                containers=(scheduler.Container(name="pause", requests={"cpu": 500, "memory": GI // 4}),),
                priority=-10,
            )
            cluster.bind(pod, node.name)


def workload(count: int) -> list[scheduler.Pod]:
    """Workload pods that only fit by displacing placeholders."""
    container = (scheduler.Container(name="app", requests={"cpu": 1000, "memory": GI}),)
    return [scheduler.Pod(name=f"work-{i}", labels={"app": "work"}, containers=container) for i in range(count // 10)]


SETUP: dict[str, Callable[[scheduler.Cluster], None]] = {"preemption": placeholders}

SCENARIOS: dict[str, Callable[[int], list[scheduler.Pod]]] = {
    "identical": lambda n: identical(n, labelled=False),
    "identical-labelled": lambda n: identical(n, labelled=True),
    "hostname-anti-affinity": anti_affinity,
    "zone-spread": zone_spread,
    "preemption": workload,
}


def run(name: str, *, node_count: int, pod_count: int, repeat: int) -> dict[str, Any]:
    """Place the scenario's pods ``repeat`` times on fresh clusters; rates in pods per second."""
    rates, cpu_rates, placed = [], [], 0
    for _ in range(repeat):
        cluster = scheduler.Cluster(nodes(node_count))
        if name in SETUP:
            SETUP[name](cluster)
        pods = SCENARIOS[name](pod_count)
        wall, cpu = time.perf_counter(), time.process_time()
        placed = sum(cluster.schedule_and_bind(pod).node is not None for pod in pods)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        rates.append(len(pods) / wall)
        cpu_rates.append(len(pods) / max(cpu, 1e-9))
    return {
        "scenario": name,
        "nodes": node_count,
        "pods": len(pods),
        "placed": placed,
        "pods_per_s_min": round(min(rates)),
        "pods_per_s_median": round(statistics.median(rates)),
        "pods_per_s_max": round(max(rates)),
        "pods_per_cpu_s_median": round(statistics.median(cpu_rates)),
    }


def main(argv: list[str] | None = None) -> None:
    """Command line: run the scenarios and print a table or JSON lines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--pods", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=sorted(SCENARIOS), action="append")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    results = [
        run(name, node_count=args.nodes, pod_count=args.pods, repeat=args.repeat) for name in args.only or SCENARIOS
    ]
    if args.json:
        for result in results:
            print(json.dumps(result))
        return
    print("command: python benchmarks/bench_scheduler.py " + " ".join(argv if argv is not None else sys.argv[1:]))
    header = (
        f"{'scenario':24} {'nodes':>6} {'pods':>6} {'placed':>6} {'min/s':>7} {'median/s':>9} {'max/s':>7}"
        f" {'median/cpu-s':>13}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r['scenario']:24} {r['nodes']:>6} {r['pods']:>6} {r['placed']:>6} {r['pods_per_s_min']:>7}"
            f" {r['pods_per_s_median']:>9} {r['pods_per_s_max']:>7} {r['pods_per_cpu_s_median']:>13}"
        )


if __name__ == "__main__":
    main()
