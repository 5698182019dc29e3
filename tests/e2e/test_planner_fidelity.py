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
import time
from collections.abc import Callable
from typing import Any

import pytest

from burstscaler import scheduler
from burstscaler.api import spec as api
from burstscaler.cluster import objects
from burstscaler.cluster import snapshot as cluster_snapshot
from burstscaler.core import plan

from .harness import actor, admission, client, hosting, scenario
from .harness import objects as harness_objects
from .harness.waiting import eventually

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


# -- end to end: the operator process, the cluster actor (the scheduler model) and Prometheus -------
#
# Every base write is checked from the emulator's version history of the Deployment (polling could
# miss one). The actor binds a pod only after it has been queued for SCHEDULING_DELAY: kube-scheduler
# binds asynchronously (seconds under load), so the operator's next tick (1 s) always sees the pods it
# just asked for as Pending and unbound; with no delay that happens only when a tick falls inside the
# actor's pass, which makes the outcome depend on timing instead of on the planner.

TIMEOUT = 60.0
SCHEDULING_DELAY = 2.0
STEADY_SECONDS = 12.0  # a dozen 1 s ticks of steady load once the first decision is written

# The twin inherits the hostname anti-affinity; on one virtual node it allows one burst pod (the plan
# says burst-anti-affinity), unless the policy relaxes it for burst pods, as the user guide advises.
RELAXED = {"spec": {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": []}}}}


def _anti_affine(deploy: dict[str, Any]) -> dict[str, Any]:
    deploy["spec"]["template"]["spec"]["affinity"] = TEMPLATE["spec"]["affinity"]
    return deploy


def _decision(api: client.RestClient) -> dict[str, Any] | None:
    status = (api.find("BurstPolicy", "web") or {}).get("status") or {}
    return ((status.get("lastDecision") or {}).get("inputs") or {}).get("plan")


def _plans(apiserver: hosting.ApiServer) -> list[tuple[Any, ...]]:
    """Each plan the operator wrote to status (base, burst, base reason, burst reason, unplaceable), in order."""
    plans = scenario.written(apiserver, "BurstPolicy", "web", ("status", "lastDecision", "inputs", "plan"))
    rows = [(p["base"], p["burst"], p["base_reason"], p["burst_reason"], p["unplaceable"]) for p in plans if p]
    return [row for index, row in enumerate(rows) if index == 0 or rows[index - 1] != row]


# The settled plan's reasons: with all 6 served (3 + 3) nothing more is wanted on ECS (base
# within-capacity) and drain-back finds no room (ecs-full); with replicas left unplaced, ECS is full
# for the base itself.
SERVED = {"base_reason": "within-capacity", "drain_reason": "ecs-full", "burst_reason": "steady"}
CAPPED = {"base_reason": "ecs-full", "burst_reason": "burst-anti-affinity"}
NO_BURST = {"base_reason": "ecs-full", "burst_reason": "burst-disabled"}


@pytest.mark.parametrize(
    ("burst", "on_eci", "reasons"),
    [
        pytest.param({"enabled": True, "podTemplatePatch": RELAXED}, 3, SERVED, id="with-burst"),
        pytest.param({"enabled": True}, 1, CAPPED, id="with-burst-capped-on-one-virtual-node"),
        pytest.param({"enabled": False}, 0, NO_BURST, id="without-burst"),
    ],
)
@pytest.mark.e2e
@pytest.mark.prometheus
def test_e2e_hostname_anti_affinity_settles_and_base_is_never_rewritten(
    apiserver: hosting.ApiServer,
    api: client.RestClient,
    run_cluster: Callable[..., actor.ClusterActor],
    start_operator: Callable[..., Any],
    burst: dict[str, Any],
    on_eci: int,
    reasons: dict[str, str],
) -> None:
    run_cluster(scheduling_delay=SCHEDULING_DELAY)
    for index in range(3):
        api.create(harness_objects.ecs_node(f"ecs-{index}", cpu="4", memory="16Gi"))
    api.create(harness_objects.virtual_node())
    api.create(_anti_affine(harness_objects.deployment("web", replicas=1, cpu="500m", memory="512Mi")))
    api.create(
        harness_objects.burst_policy(
            "web",
            target="web",
            minReplicas=6,
            maxReplicas=6,
            burst=burst,
            drainBack={"minBurstSeconds": 0, "stabilizationSeconds": 0},
        )
    )
    start_operator()
    eventually(lambda: _decision(api), timeout=TIMEOUT, message="the operator's first decision")
    time.sleep(STEADY_SECONDS)
    base = scenario.written(apiserver, "Deployment", "web", ("spec", "replicas"))
    twin = scenario.written(apiserver, "Deployment", "web-burst", ("spec", "replicas"))
    plans = _plans(apiserver)
    assert base[0] == 1 and base[1:] in ([3], [6, 3]), f"base writes (settled in two ticks, then none): {base} {plans}"
    assert (twin[-1] if twin else 0) == on_eci, f"twin writes: {twin}"
    assert scenario.ready_on(api, "web", virtual=False) == 3
    assert scenario.ready_on(api, "web", virtual=True) == on_eci
    plan_inputs = _decision(api)
    assert plan_inputs is not None and (plan_inputs["base"], plan_inputs["burst"]) == (3, on_eci)
    assert {key: plan_inputs[key] for key in reasons} == reasons
    pending = [p for p in scenario.workload_pods(api, "web") if not p["spec"].get("nodeName")]
    assert not pending, "the plan predicted every placement: nothing left Pending"


@pytest.mark.parametrize(
    "native", [pytest.param(False, id="sidecar-container"), pytest.param(True, id="native-sidecar")]
)
@pytest.mark.e2e
@pytest.mark.prometheus
def test_e2e_a_sidecar_injected_at_admission_bursts_the_right_number(
    apiserver: hosting.ApiServer,
    api: client.RestClient,
    run_cluster: Callable[..., actor.ClusterActor],
    start_operator: Callable[..., Any],
    native: bool,
) -> None:
    # Template 400m; admitted 500m with the mesh's 100m proxy. 2 CPU of ECS: 5 by the template, 4 admitted.
    apiserver.admit_with(admission.SidecarInjector(native=native))
    run_cluster()
    api.create(harness_objects.ecs_node("ecs-0", cpu="2", memory="8Gi"))
    api.create(harness_objects.virtual_node())
    api.create(harness_objects.deployment("web", replicas=1, cpu="400m", memory="256Mi"))
    api.create(
        harness_objects.burst_policy(
            "web",
            target="web",
            minReplicas=6,
            maxReplicas=6,
            drainBack={"minBurstSeconds": 0, "stabilizationSeconds": 0},
        )
    )
    start_operator()
    eventually(
        lambda: scenario.ready_on(api, "web", virtual=False) == 4 and scenario.ready_on(api, "web", virtual=True) == 2,
        timeout=TIMEOUT,
        message="4 Ready on ECS (admitted requests) and 2 on ECI",
    )
    time.sleep(5.0)  # a few more ticks of steady load
    base = scenario.written(apiserver, "Deployment", "web", ("spec", "replicas"))
    assert base == [1, 4], f"base planned with the admitted pods' requests from the first write: {base}"
    assert scenario.written(apiserver, "Deployment", "web-burst", ("spec", "replicas"))[-1] == 2
    plan_inputs = _decision(api)
    assert plan_inputs is not None and plan_inputs["requests_from"] == "pods"
    assert not [p for p in scenario.workload_pods(api, "web") if not p["spec"].get("nodeName")]
    template = api.get("Deployment", "web")["spec"]["template"]["spec"]
    assert [c["name"] for c in template["containers"]] == ["app"], "the mesh changes pods, never the template"


@pytest.mark.e2e
@pytest.mark.prometheus
def test_e2e_a_rolling_update_does_not_burst_for_the_terminating_pods_room(
    apiserver: hosting.ApiServer,
    api: client.RestClient,
    run_cluster: Callable[..., actor.ClusterActor],
    start_operator: Callable[..., Any],
) -> None:
    # ECS holds exactly 2 replicas; the rollout replaces one pod at a time (maxUnavailable 1, no surge).
    # Old pods take 20 s to terminate (longer than the pending-pod signal's 15 s grace), holding their room
    # while the new pod waits Pending for it. Before core.pending counted terminating pods' room as waited
    # for (and the planner restarted the clock when it was freed) this burst in 3 of 4 runs at 20 s.
    run_cluster()
    api.create(harness_objects.ecs_node("ecs-0", cpu="1", memory="4Gi"))
    api.create(harness_objects.virtual_node())
    deploy = harness_objects.deployment("web", replicas=2, cpu="500m", memory="512Mi")
    deploy["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 20
    deploy["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}
    api.create(deploy)
    api.create(
        harness_objects.burst_policy(
            "web",
            target="web",
            minReplicas=2,
            maxReplicas=2,
            drainBack={"minBurstSeconds": 0, "stabilizationSeconds": 0},
        )
    )
    start_operator()
    eventually(lambda: _decision(api), timeout=TIMEOUT, message="the operator's first decision")
    eventually(lambda: scenario.ready_on(api, "web", virtual=False) == 2, timeout=TIMEOUT)
    api.patch("Deployment", "web", {"spec": {"template": {"metadata": {"annotations": {"rollout": "2"}}}}})

    def rolled() -> bool:
        pods = scenario.workload_pods(api, "web")
        fresh = [p for p in pods if (p["metadata"].get("annotations") or {}).get("rollout") == "2"]
        return len(pods) == 2 and len(fresh) == 2 and all(scenario.ready(p) for p in fresh)

    eventually(rolled, timeout=120.0, message="the rollout finished: 2 new pods Ready")
    base = scenario.written(apiserver, "Deployment", "web", ("spec", "replicas"))
    twin = scenario.written(apiserver, "Deployment", "web-burst", ("spec", "replicas"))
    plans = _plans(apiserver)
    assert base == [2], f"base never rewritten during the rollout: {base}, twin {twin}, plans {plans}"
    assert not [value for value in twin if value], f"no burst for the terminating pods' room: twin {twin}, {plans}"
