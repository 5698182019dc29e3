"""The planner in a closed loop with the kube-scheduler model: HA anti-affinity settles and stays put.

Issue 15's scenario: 3 ECS nodes, required hostname anti-affinity, 6 desired. Each tick the planner
(``cluster.snapshot.build`` + ``core.plan``) reads the cluster's manifests, its base target is applied
(new base pods go through the scheduler model, which leaves them Pending where kube-scheduler would;
surplus pods are deleted, Pending ones first), its burst target creates or deletes pods on the virtual
node, and a base pod Pending for a tick is reported unschedulable (the pending-pod signal after its
grace). The cluster here is the scheduler model, not the API emulator: what is checked is the
planner's prediction and memory, tick by tick, every base write included.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from burstscaler import scheduler
from burstscaler.api import spec as api
from burstscaler.cluster import objects
from burstscaler.cluster import snapshot as cluster_snapshot
from burstscaler.core import plan

HOSTNAME = "kubernetes.io/hostname"
VIRTUAL = [("type", "virtual-kubelet")]
TICK = 15.0
TIME = "2027-01-15T08:00:00Z"


def _node(name: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {HOSTNAME: name}},
        "spec": {},
        "status": {
            "allocatable": {"cpu": "8", "memory": "32Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }


VIRTUAL_NODE = {
    "metadata": {"name": "virtual-eci", "labels": {"type": "virtual-kubelet"}},
    "spec": {"taints": [{"key": "virtual-kubelet.io/provider", "value": "alibabacloud", "effect": "NoSchedule"}]},
    "status": {"allocatable": {"cpu": "1000", "memory": "4000Gi", "pods": "1000"}},
}

TEMPLATE = {
    "metadata": {"labels": {"app": "web"}},
    "spec": {
        "containers": [{"name": "app", "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}}}],
        "affinity": {
            "podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": HOSTNAME}
                ]
            }
        },
    },
}


@dataclasses.dataclass
class Loop:
    """The cluster (scheduler model + manifests) and the planner's state between ticks."""

    burst_enabled: bool
    sees_terms: bool = True  # False: the planner is not told of the anti-affinity (its memory must cope)
    nodes: list[dict[str, Any]] = dataclasses.field(default_factory=lambda: [_node(f"ecs-{i}") for i in range(3)])
    pods: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    pending_since: dict[str, int] = dataclasses.field(default_factory=dict)
    base: int = 0
    burst: int = 0
    serial: int = 0
    history: Any = None

    def __post_init__(self) -> None:
        self.model = scheduler.Cluster([scheduler.Node.from_manifest(n) for n in self.nodes])

    def _new_pod(self, *, burst: bool) -> dict[str, Any]:
        self.serial += 1
        owner = "web-burst-h1" if burst else "web-h1"
        labels = {"app": "web", "pod-template-hash": "h1", **({"burstscaler.io/tier": "burst"} if burst else {})}
        return {
            "metadata": {
                "name": f"{owner}-{self.serial}",
                "namespace": "shop",
                "labels": labels,
                "ownerReferences": [{"kind": "ReplicaSet", "name": owner, "controller": True}],
                "creationTimestamp": TIME,
            },
            "spec": {**TEMPLATE["spec"], "nodeName": None},
            "status": {"phase": "Pending"},
        }

    def _apply(self, tick: int) -> None:
        base_pods = [
            n for n, p in self.pods.items() if "burst" not in p["metadata"]["labels"].get("burstscaler.io/tier", "")
        ]
        burst_pods = [n for n in self.pods if n not in base_pods]
        # Scale the base: delete Pending pods first, then bound ones; create and schedule new ones.
        base_pods.sort(key=lambda n: self.pods[n]["spec"]["nodeName"] is not None)
        for name in base_pods[: max(len(base_pods) - self.base, 0)]:
            if self.pods[name]["spec"]["nodeName"]:
                self.model.delete_pod(f"shop/{name}")
            del self.pods[name]
            self.pending_since.pop(name, None)
        for _ in range(max(self.base - len(base_pods), 0)):
            pod = self._new_pod(burst=False)
            self.pods[pod["metadata"]["name"]] = pod
            self.pending_since[pod["metadata"]["name"]] = tick
        for name in [n for n in self.pending_since if n in self.pods]:
            manifest = self.pods[name]
            decision = self.model.schedule(scheduler.Pod.from_manifest(manifest))
            if decision.node is not None and not decision.victims:
                self.model.bind(scheduler.Pod.from_manifest(manifest), decision.node)
                manifest["spec"]["nodeName"] = decision.node
                manifest["status"] = {"phase": "Running", "startTime": TIME, "conditions": [_ready()]}
                del self.pending_since[name]
        for name in burst_pods[: max(len(burst_pods) - self.burst, 0)]:
            del self.pods[name]
        for _ in range(max(self.burst - len(burst_pods), 0)):
            pod = self._new_pod(burst=True)
            pod["spec"]["nodeName"] = "virtual-eci"
            pod["status"] = {"phase": "Running", "startTime": TIME, "conditions": [_ready()]}
            self.pods[pod["metadata"]["name"]] = pod

    def tick(self, tick: int) -> tuple[int, int]:
        """One planner tick then its actuation; returns the (base, burst) targets written."""
        now = 1_800_000_000.0 + tick * TICK
        unschedulable = sum(1 for started in self.pending_since.values() if tick - started >= 1)
        policy = api.BurstPolicySpec.model_validate(
            {
                "targetRef": {"name": "web"},
                "minReplicas": 6,
                "maxReplicas": 6,
                "burst": {"enabled": self.burst_enabled},
                "drainBack": {"stabilizationSeconds": 0, "minBurstSeconds": 0},
            }
        )
        view = cluster_snapshot.PolicyView(
            namespace="shop",
            name="web",
            spec=policy,
            base_replicas=self.base,
            twin_replicas=self.burst,
            requests=objects.pod_requests(TEMPLATE["spec"]),
            placement=objects.placement_of(TEMPLATE["spec"]),
            constraints=objects.pod_constraints(TEMPLATE) if self.sees_terms else None,
            recommended=6,
            eci_compatible=True,
            burst_cost_per_second=0.0,
            base_unschedulable=unschedulable,
        )
        built, _ = cluster_snapshot.build(
            nodes=[objects.node_record(n, virtual_labels=VIRTUAL) for n in [*self.nodes, VIRTUAL_NODE]],
            pods=[objects.pod_record(p) for p in self.pods.values()],
            policies=[view],
            history=self.history,
            now=now,
        )
        result = plan.plan(built, now=now)
        self.history = result.history
        self.base, self.burst = int(result.base[0]), int(result.burst[0])
        self._apply(tick)
        return self.base, self.burst


def _ready() -> dict[str, str]:
    return {"type": "Ready", "status": "True"}


@pytest.mark.parametrize(
    ("burst_enabled", "settled"),
    [
        pytest.param(True, (3, 3), id="with-burst"),
        pytest.param(False, (3, 0), id="without-burst"),
    ],
)
def test_hostname_anti_affinity_is_predicted_and_never_rewrites_base(
    burst_enabled: bool, settled: tuple[int, int]
) -> None:
    loop = Loop(burst_enabled=burst_enabled)
    writes = [loop.tick(t) for t in range(40)]
    assert all(write == settled for write in writes), writes
    running = sum(1 for p in loop.pods.values() if p["spec"]["nodeName"] and p["spec"]["nodeName"] != "virtual-eci")
    assert running == 3
    assert not loop.pending_since


@pytest.mark.parametrize(
    ("burst_enabled", "settled"),
    [
        pytest.param(True, (3, 3), id="with-burst"),
        pytest.param(False, (3, 0), id="without-burst"),
    ],
)
def test_an_unseen_constraint_is_learned_within_two_ticks_and_base_stays(
    burst_enabled: bool, settled: tuple[int, int]
) -> None:
    loop = Loop(burst_enabled=burst_enabled, sees_terms=False)
    writes = [loop.tick(t) for t in range(40)]
    assert writes[0] == (6, 0)  # the planner's guess without the term
    assert all(write == settled for write in writes[1:]), writes
