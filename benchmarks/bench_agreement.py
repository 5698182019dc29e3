"""How often today's planner agrees with the scheduler model on how many replicas go on ECS.

For each seeded random cluster (several node pools in three zones, a tainted pool, a virtual node,
background pods of mixed shapes, some with sidecars and some terminating, and 3-5 policies with
priorities whose templates may carry a sidecar, required anti-affinity on hostname or on zone, a
zone spread constraint, a pool nodeSelector or a toleration):
1. the planner (``burstscaler.core.plan``, fed by ``burstscaler.cluster.snapshot.build`` from the
   same Kubernetes manifests the operator would read) says how many base replicas each policy gets;
2. the scheduler model (``burstscaler.scheduler``) places the new ones one by one, in the order
   kube-scheduler's queue would take them: higher priority first, then by policy name;
3. then, for each policy that the planner sent partly to burst, the model keeps placing replicas
   (up to the policy's desired total) to see whether more would have fit on ECS.
A cluster is *over* when the model placed fewer replicas than planned for some policy (the planner
promised room kube-scheduler does not give), *under* when more would have fit for some policy, and
*exact* when neither (a cluster can be both over and under, so the three need not add up to 1).
``over_pods`` / ``under_pods`` are fractions of all planned new ECS replicas. A planned replica the
model places by preempting lower-priority pods counts as placed (kube-scheduler would put it there);
an extra replica counts only when it fits without evicting anything.

Measured (200 clusters each; exact / over / under, pods over / under):
- 85bb13d, before issue 15, seed 0: 0.42 / 0.565 / 0.05, 0.142 / 0.0066;
- 3e0a3c0 (room as the scheduler's, inter-pod terms), seed 0: 0.845 / 0.06 / 0.11, 0.0031 / 0.0096;
  seed 1: 0.84 / 0.05 / 0.115, 0.0064 / 0.0086;
- 3e0a3c0 with ``--spread`` (a LeastAllocated score threshold, since replaced by the walk), seed 0:
  0.91 / 0.06 / 0.035, 0.0033 / 0.0023; seed 1: 0.865 / 0.075 / 0.07, 0.011 / 0.0047;
- 0e11a29, the default-profile walk (``core.scoring``: the operator's planner since issue 15, and this
  benchmark's default; ``--first-fit`` gives the 3e0a3c0 rows), seeds 0 and 1 (200 clusters each), 2
  and 3 (500 each): 1.0 / 0 / 0, 0 / 0 on every seed.

Run: ``python benchmarks/bench_agreement.py [--cases N] [--seed S] [--json] [--first-fit]``. Not a test and no
threshold: it shows where the planner's picture of scheduling differs from kube-scheduler's.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import random
import sys
from typing import Any

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from burstscaler import scheduler  # noqa: E402
from burstscaler.api import spec as api  # noqa: E402
from burstscaler.cluster import objects  # noqa: E402
from burstscaler.cluster import snapshot as cluster_snapshot  # noqa: E402
from burstscaler.core import plan  # noqa: E402

NOW = 1_800_000_000.0
NAMESPACE = "shop"
VIRTUAL = [("type", "virtual-kubelet")]
HOSTNAME = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"
TIME = "2027-01-15T08:00:00Z"


@dataclasses.dataclass(frozen=True)
class Policy:
    """One generated policy: its Deployment template and its counts."""

    name: str
    priority: int
    template: dict[str, Any]  # the pod template (metadata + spec)
    base: int  # current replicas, already bound
    desired: int  # what the recommender wants


@dataclasses.dataclass(frozen=True)
class Case:
    """One random cluster as Kubernetes manifests."""

    nodes: list[dict[str, Any]]
    pods: list[dict[str, Any]]
    policies: list[Policy]


def _node(name: str, *, pool: str, zone: str, cpu: int, memory_gi: int, tainted: bool) -> dict[str, Any]:
    taints = [{"key": "dedicated", "value": pool, "effect": "NoSchedule"}] if tainted else []
    return {
        "metadata": {"name": name, "labels": {HOSTNAME: name, ZONE: zone, "pool": pool}},
        "spec": {"taints": taints},
        "status": {
            "allocatable": {"cpu": f"{cpu}m", "memory": f"{memory_gi}Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }


def _virtual_node() -> dict[str, Any]:
    return {
        "metadata": {"name": "virtual-eci", "labels": {"type": "virtual-kubelet", ZONE: "zone-0"}},
        "spec": {"taints": [{"key": "virtual-kubelet.io/provider", "value": "alibabacloud", "effect": "NoSchedule"}]},
        "status": {
            "allocatable": {"cpu": "10000", "memory": "40000Gi", "pods": "10000"},
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }


def _containers(rng: random.Random, *, cpu: int, memory_mi: int, sidecar: bool) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [{"name": "app", "resources": {"requests": {"cpu": f"{cpu}m", "memory": f"{memory_mi}Mi"}}}]
    }
    if sidecar:
        # A native sidecar (restartable init container): kube-scheduler adds it to the sum.
        mesh = {"cpu": f"{rng.choice([100, 200])}m", "memory": f"{rng.choice([64, 128])}Mi"}
        spec["initContainers"] = [{"name": "mesh", "restartPolicy": "Always", "resources": {"requests": mesh}}]
    return spec


def _template(rng: random.Random, name: str, *, pools: list[str], tainted_pool: str) -> dict[str, Any]:
    labels = {"app": name}
    spec = _containers(
        rng,
        cpu=rng.choice([250, 500, 1000, 1500]),
        memory_mi=rng.choice([256, 512, 1024, 2048]),
        sidecar=rng.random() < 0.3,
    )
    roll = rng.random()
    selector = {"matchLabels": {"app": name}}
    if roll < 0.2:
        term = {"labelSelector": selector, "topologyKey": HOSTNAME}
        spec["affinity"] = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}}
    elif roll < 0.3:
        term = {"labelSelector": selector, "topologyKey": ZONE}
        spec["affinity"] = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}}
    elif roll < 0.5:
        spec["topologySpreadConstraints"] = [
            {"maxSkew": 1, "topologyKey": ZONE, "whenUnsatisfiable": "DoNotSchedule", "labelSelector": selector}
        ]
    if rng.random() < 0.3:
        spec["nodeSelector"] = {"pool": rng.choice(pools)}
    if rng.random() < 0.3:
        spec["tolerations"] = [{"key": "dedicated", "operator": "Equal", "value": tainted_pool, "effect": "NoSchedule"}]
    return {"metadata": {"labels": labels}, "spec": spec}


def _pod(name: str, *, template: dict[str, Any], node: str, owner: str, terminating: bool = False) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": NAMESPACE,
        "labels": {**template["metadata"]["labels"], "pod-template-hash": "h1"},
        "ownerReferences": [{"kind": "ReplicaSet", "name": f"{owner}-h1", "controller": True}],
        "creationTimestamp": TIME,
    }
    if terminating:
        metadata["deletionTimestamp"] = TIME
    return {
        "metadata": metadata,
        "spec": {**template["spec"], "nodeName": node, "priority": 0},
        "status": {"phase": "Running", "startTime": TIME, "conditions": [{"type": "Ready", "status": "True"}]},
    }


def generate(rng: random.Random) -> Case:
    """One random cluster: nodes, bound pods (background and the policies' current base), policies."""
    pools = ["general", "compute", "tainted"][: rng.choice([2, 3])]
    tainted_pool = pools[-1]
    nodes = []
    for i in range(rng.randint(6, 18)):
        pool = rng.choice(pools)
        nodes.append(
            _node(
                f"ecs-{i:02d}",
                pool=pool,
                zone=f"zone-{i % 3}",
                cpu=rng.choice([4000, 8000, 16000]),
                memory_gi=rng.choice([8, 16, 32]),
                tainted=pool == tainted_pool and len(pools) == 3,
            )
        )
    nodes.append(_virtual_node())
    scheduler_view = scheduler.Cluster([scheduler.Node.from_manifest(n) for n in nodes[:-1]])
    pods: list[dict[str, Any]] = []

    def place(manifest: dict[str, Any]) -> bool:
        """Bind a background or base pod where kube-scheduler would have put it (both views then agree)."""
        pod = scheduler.Pod.from_manifest({**manifest, "spec": {**manifest["spec"], "nodeName": None}})
        decision = scheduler_view.schedule(pod)
        if decision.node is None or decision.victims:
            return False
        scheduler_view.bind(pod, decision.node)
        manifest["spec"]["nodeName"] = decision.node
        pods.append(manifest)
        return True

    for i in range(rng.randint(len(nodes), 4 * len(nodes))):
        template = {
            "metadata": {"labels": {"app": f"bg-{i % 4}"}},
            "spec": _containers(
                rng,
                cpu=rng.choice([100, 500, 1000, 2000]),
                memory_mi=rng.choice([128, 512, 2048]),
                sidecar=rng.random() < 0.2,
            ),
        }
        place(_pod(f"bg-{i}", template=template, node="", owner=f"bg-{i % 4}", terminating=rng.random() < 0.1))
    policies = []
    for p in range(rng.randint(3, 5)):
        name = f"app{p}"
        template = _template(rng, name, pools=pools, tainted_pool=tainted_pool)
        base = 0
        for r in range(rng.randint(0, 3)):
            base += place(_pod(f"{name}-h1-{r}", template=template, node="", owner=name))
        policies.append(
            Policy(
                name=name,
                priority=rng.choice([0, 0, 10, 100]),
                template=template,
                base=base,
                desired=base + rng.randint(1, 12),
            )
        )
    return Case(nodes=nodes, pods=pods, policies=policies)


def planner_targets(case: Case, *, spread: bool = True) -> list[int]:
    """The planner: the base target of each policy (``spread=False``: first fit in node order)."""
    nodes = [objects.node_record(n, virtual_labels=VIRTUAL) for n in case.nodes]
    records = [objects.pod_record(p) for p in case.pods]
    views = []
    for policy in case.policies:
        spec = api.BurstPolicySpec.model_validate(
            {"targetRef": {"name": policy.name}, "maxReplicas": 1000, "priority": policy.priority}
        )
        views.append(
            cluster_snapshot.PolicyView(
                namespace=NAMESPACE,
                name=policy.name,
                spec=spec,
                base_replicas=policy.base,
                twin_replicas=0,
                requests=objects.pod_requests(policy.template["spec"]),
                placement=objects.placement_of(policy.template["spec"]),
                constraints=objects.pod_constraints(policy.template),
                recommended=policy.desired,
                eci_compatible=True,
                burst_cost_per_second=0.0,
            )
        )
    built, _pods = cluster_snapshot.build(nodes=nodes, pods=records, policies=views, history=None, now=NOW)
    result = plan.plan(built, now=NOW, spread=spread)
    return [int(value) for value in result.base]


def judge(case: Case, targets: list[int]) -> tuple[list[int], list[int]]:
    """Per policy: new replicas the scheduler model placed of those planned, and extra ones that would fit."""
    cluster = scheduler.Cluster(
        [scheduler.Node.from_manifest(n) for n in case.nodes if n["metadata"]["name"] != "virtual-eci"]
    )
    for manifest in case.pods:
        pod = scheduler.Pod.from_manifest(manifest)
        cluster.bind(pod, manifest["spec"]["nodeName"])
        if manifest["metadata"].get("deletionTimestamp"):
            cluster.mark_terminating(pod.key)
    order = sorted(range(len(case.policies)), key=lambda i: (-case.policies[i].priority, case.policies[i].name))
    placed = [0] * len(case.policies)
    extra = [0] * len(case.policies)

    def replica(policy: Policy, index: int) -> scheduler.Pod:
        manifest = _pod(f"{policy.name}-h1-new{index}", template=policy.template, node="", owner=policy.name)
        manifest["spec"]["nodeName"] = None
        manifest["spec"]["priority"] = policy.priority
        return scheduler.Pod.from_manifest(manifest)

    for i in order:
        policy = case.policies[i]
        for k in range(max(targets[i] - policy.base, 0)):
            placed[i] += cluster.schedule_and_bind(replica(policy, k)).node is not None
    for i in order:
        policy = case.policies[i]
        planned = max(targets[i] - policy.base, 0)
        for k in range(planned, max(policy.desired - policy.base, planned)):
            decision = cluster.schedule(replica(policy, k))
            if decision.node is None or decision.victims:
                break
            cluster.bind(replica(policy, k), decision.node)
            extra[i] += 1
    return placed, extra


def run(*, cases: int, seed: int, spread: bool = True) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Every case, and the summary object ``--json`` prints."""
    rng = random.Random(seed)
    rows = []
    for index in range(cases):
        case = generate(rng)
        targets = planner_targets(case, spread=spread)
        placed, extra = judge(case, targets)
        planned = [max(t - p.base, 0) for t, p in zip(targets, case.policies, strict=True)]
        short = sum(max(a - b, 0) for a, b in zip(planned, placed, strict=True))
        rows.append(
            {
                "case": index,
                "nodes": len(case.nodes) - 1,
                "policies": len(case.policies),
                "planned": sum(planned),
                "placed": sum(placed),
                "short": short,
                "extra": sum(extra),
            }
        )
    total_planned = sum(r["planned"] for r in rows)
    over = sum(r["short"] > 0 for r in rows)
    under = sum(r["extra"] > 0 for r in rows)
    exact = sum(r["short"] == 0 and r["extra"] == 0 for r in rows)
    summary = {
        "cases": cases,
        "seed": seed,
        "exact": exact / cases if cases else 0.0,
        "over": over / cases if cases else 0.0,
        "under": under / cases if cases else 0.0,
        "over_pods": sum(r["short"] for r in rows) / total_planned if total_planned else 0.0,
        "under_pods": sum(r["extra"] for r in rows) / total_planned if total_planned else 0.0,
    }
    return summary, rows


def main(argv: list[str] | None = None) -> None:
    """Command line: a table per cluster and the summary, or ``--json`` for the summary object alone."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--first-fit", action="store_true", help="plan with first fit in node order (plan(spread=False)), not the walk"
    )
    args = parser.parse_args(argv)
    summary, rows = run(cases=args.cases, seed=args.seed, spread=not args.first_fit)
    if args.json:
        print(json.dumps(summary))
        return
    print(f"{'case':>5} {'nodes':>5} {'policies':>8} {'planned':>7} {'placed':>6} {'short':>5} {'extra':>5}  verdict")
    for r in rows:
        verdict = "over" if r["short"] else ("under" if r["extra"] else "exact")
        if r["short"] and r["extra"]:
            verdict = "over+under"
        print(
            f"{r['case']:>5} {r['nodes']:>5} {r['policies']:>8} {r['planned']:>7} {r['placed']:>6}"
            f" {r['short']:>5} {r['extra']:>5}  {verdict}"
        )
    print()
    print(
        f"clusters: {summary['cases']} (seed {summary['seed']}): exact {summary['exact']:.1%},"
        f" over {summary['over']:.1%}, under {summary['under']:.1%};"
        f" pods: over {summary['over_pods']:.1%}, under {summary['under_pods']:.1%}"
    )


if __name__ == "__main__":
    main()
