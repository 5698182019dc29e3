"""A fixed generated cluster, ticked several times, as a digest of every outcome: the planner's golden run.

Why: the tick caches what it derives from policies, workloads and pods between ticks (for speed at 1,000
policies); a cache that serves a stale or wrong value changes plans. ``test_planner_golden`` compares this
run's digest with one saved from the planner before those caches existed (regenerate with
``python -m tests.operator.tickgolden`` only when a change of the plans is intended, and say so in the commit).

The cluster mixes what the tick reads: twins with burst pods (some failing), unbound and unschedulable base
pods, terminating pods, placeholders, spot, budgets, node constraints and inter-pod terms, invalid specs,
refusals, a StatefulSet, a drain record. Between ticks pods churn (records rebuilt, some changing state),
workloads change replicas and generation, and one policy's spec changes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import decimal
import enum
import hashlib
import json
import pathlib
import random
from collections.abc import Mapping
from typing import Any

import numpy as np
import pydantic

from burstscaler.api import spec as api
from burstscaler.cluster import apply, objects
from burstscaler.core import cost
from burstscaler.operator import planner

NOW = 1_800_000_000.0
VIRTUAL = (("type", "virtual-kubelet"),)
GOLDEN = pathlib.Path(__file__).with_name("data") / "planner_golden.json"
TICKS = 9
#: From this tick on, churn is small and in place (a few records rebuilt, no pod added or removed), as
#: between most ticks of a real cluster: caches of per-workload pod groups update rather than rebuild.
QUIET_FROM = 5


def _iso(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC).isoformat().replace("+00:00", "Z")


def _node(index: int) -> objects.NodeRecord:
    body: dict[str, Any] = {
        "metadata": {
            "name": f"ecs-{index}",
            "labels": {
                "pool": f"pool-{index % 3}",
                "topology.kubernetes.io/zone": f"zone-{index % 2}",
                "kubernetes.io/hostname": f"ecs-{index}",
            },
        },
        "spec": {"taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]} if index % 11 == 5 else {},
        "status": {"allocatable": {"cpu": "4", "memory": "16Gi", "pods": "30", "ephemeral-storage": "100Gi"}},
    }
    return objects.node_record(body, virtual_labels=VIRTUAL)


def _template(app: str, index: int) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [
            {
                "name": "app",
                "image": "app:1",
                "resources": {"requests": {"cpu": f"{250 * (1 + index % 4)}m", "memory": f"{256 * (1 + index % 3)}Mi"}},
            }
        ]
    }
    if index % 5 == 1:
        spec["nodeSelector"] = {"pool": f"pool-{index % 3}"}
    if index % 6 == 2:
        spec["tolerations"] = [{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}]
    if index % 7 == 3:
        spec["affinity"] = {
            "podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": "kubernetes.io/hostname"}
                ]
            }
        }
    if index % 8 == 4:
        spec["topologySpreadConstraints"] = [
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": {"matchLabels": {"app": app}},
            }
        ]
    if index % 9 == 6:
        spec["initContainers"] = [{"name": "init", "resources": {"requests": {"cpu": "2", "memory": "64Mi"}}}]
    return {"metadata": {"labels": {"app": app}}, "spec": spec}


def _workload(
    app: str, *, kind: str, replicas: int, template: dict[str, Any], generation: int, owner: str | None = None
) -> planner.Workload:
    metadata: dict[str, Any] = {"name": app, "namespace": "shop", "generation": generation, "annotations": {}}
    if owner is not None:
        metadata["ownerReferences"] = [
            {"kind": "BurstPolicy", "name": owner, "uid": f"uid-{owner}", "controller": True}
        ]
    body = {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": metadata,
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": app}}, "template": template},
    }
    return planner.Workload(
        namespace="shop",
        kind=kind,
        name=app,
        replicas=replicas,
        ready=replicas,
        labels={},
        annotations={},
        selector=body["spec"]["selector"],
        template=template,
        body=body,
        generation=generation,
    )


def _pod(
    name: str, *, owner: tuple[str, str], template: dict[str, Any], state: str, node: str, burst: bool, since: float
) -> objects.PodRecord:
    kind, workload = owner
    labels = dict((template.get("metadata") or {}).get("labels") or {})
    reference: dict[str, Any]
    if kind == "StatefulSet":
        labels["controller-revision-hash"] = f"{workload}-rev1"
        reference = {"kind": "StatefulSet", "name": workload, "controller": True}
    else:
        labels["pod-template-hash"] = "abcde"
        reference = {"kind": "ReplicaSet", "name": f"{workload}-abcde", "controller": True}
    if burst:
        labels["burstscaler.io/tier"] = "burst"
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": "shop",
        "labels": labels,
        "ownerReferences": [reference],
        "creationTimestamp": _iso(since),
    }
    status: dict[str, Any] = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
    spec = dict(template["spec"])
    if state == "pending":
        status = {
            "phase": "Pending",
            "conditions": [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "reason": "Unschedulable",
                    "lastTransitionTime": _iso(since),
                }
            ],
        }
        node = ""
    elif state == "starting":
        status = {"phase": "Pending", "conditions": [{"type": "Ready", "status": "False"}]}
    elif state == "deleting":
        metadata["deletionTimestamp"] = _iso(since + 30)
    elif state == "failed":
        status = {"phase": "Failed", "conditions": [{"type": "Ready", "status": "False"}]}
    elif state == "pulling":
        status = {
            "phase": "Pending",
            "conditions": [{"type": "Ready", "status": "False"}],
            "containerStatuses": [{"state": {"waiting": {"reason": "ImagePullBackOff", "message": "no such image"}}}],
        }
    elif state == "expiring":
        metadata["annotations"] = {objects.SPOT_STRATEGY_ANNOTATION: "SpotAsPriceGo"}
        status["conditions"] = [*status["conditions"], {"type": objects.SPOT_EXPIRING_CONDITION, "status": "True"}]
    if node:
        spec["nodeName"] = node
    return objects.pod_record({"metadata": metadata, "spec": spec, "status": status})


_STATES = ("running",) * 12 + ("pending", "starting", "deleting", "failed")
_BURST_STATES = ("running",) * 6 + ("starting", "pulling", "failed", "expiring")


@dataclasses.dataclass
class Cluster:
    """The generated cluster's indices, changed in place between ticks by ``churn``."""

    nodes: list[objects.NodeRecord]
    workloads: dict[tuple[str, str, str], planner.Workload]
    policies: dict[planner.Key, dict[str, Any]]
    pods: list[objects.PodRecord]
    templates: dict[str, dict[str, Any]]
    kinds: dict[str, str]
    random: random.Random

    def inputs(self) -> planner.TickInputs:
        """This tick's inputs (a fresh pods list, as the handlers hand the planner)."""
        return planner.TickInputs(
            policies=dict(self.policies),
            workloads=dict(self.workloads),
            nodes=list(self.nodes),
            pods=list(self.pods),
            services=(planner.Service(namespace="shop", name="svc-0", type="NodePort", selector={"app": "app-0"}),),
            autoscalers=(
                planner.Autoscaler(
                    namespace="shop",
                    kind="HorizontalPodAutoscaler",
                    name="hpa-13",
                    target_kind="Deployment",
                    target_name="app-13",
                ),
            ),
        )


def generate(seed: int = 7, *, policies: int = 24, nodes: int = 60) -> Cluster:
    """The fixed cluster (same seed, same cluster)."""
    rng = random.Random(seed)
    node_records = [_node(index) for index in range(nodes)]
    node_records.append(
        objects.node_record({"metadata": {"name": "vk", "labels": {"type": "virtual-kubelet"}}}, virtual_labels=VIRTUAL)
    )
    cluster = Cluster(node_records, {}, {}, [], {}, {}, rng)
    for index in range(policies):
        app = f"app-{index}"
        kind = "StatefulSet" if index % 10 == 7 else "Deployment"
        template = _template(app, index)
        cluster.templates[app], cluster.kinds[app] = template, kind
        replicas = 3 + index % 6
        base = _workload(app, kind=kind, replicas=replicas, template=template, generation=1)
        if index == 4:  # a drain-back move in flight, recorded on the base
            record = planner.DrainRecord(moves=2, since=NOW - 60, goal=5, base_from=3, burst_from=4)
            base = dataclasses.replace(base, annotations={apply.DRAIN_ANNOTATION: record.to_annotation()})
        cluster.workloads[base.key] = base
        spec: dict[str, Any] = {
            "targetRef": {"name": app, "kind": kind},
            "minReplicas": replicas + index % 9,
            "maxReplicas": 4 * replicas + 10,
            "priority": index % 4,
        }
        if index % 4 == 1:
            spec["burst"] = {"budget": {"maxCostPerHour": "0.05"}}
        if index % 6 == 3:
            spec["burst"] = {"spot": {"enabled": True}}
        if index % 5 == 2:
            spec["bridge"] = {"enabled": True, "maxPlaceholders": 3}
        if index == 9:
            spec["paused"] = True
        if index == 10:
            spec["dryRun"] = True
        if index == 11:
            spec["maxReplicas"] = 0  # invalid
        if index == 12:
            spec["targetRef"] = {"name": "missing"}
        if index % 7 == 0:
            spec["pricing"] = {"ecsPerVCPUHour": "0.04", "ecsPerGiBHour": "0.005"}
        cluster.policies[("shop", app)] = {
            "metadata": {"name": app, "namespace": "shop", "generation": 1, "uid": f"uid-{app}"},
            "spec": spec,
        }
        since = NOW - 600 + index
        for replica in range(replicas):
            state = rng.choice(_STATES)
            node = f"ecs-{rng.randrange(nodes)}"
            cluster.pods.append(
                _pod(
                    f"{app}-{replica}",
                    owner=(kind, app),
                    template=template,
                    state=state,
                    node=node,
                    burst=False,
                    since=since,
                )
            )
        if index % 3 == 0 and index != 12:  # a twin with burst pods on the virtual node
            twin_name = f"{app}-burst"
            owner = app if index != 15 else "someone-else"  # 15: the twin's name is taken
            burst = 1 + index % 4
            twin_template = {"metadata": {"labels": {"app": app}}, "spec": template["spec"]}
            twin_workload = _workload(
                twin_name, kind=kind, replicas=burst, template=twin_template, generation=1, owner=owner
            )
            cluster.workloads[twin_workload.key] = twin_workload
            for replica in range(burst):
                cluster.pods.append(
                    _pod(
                        f"{twin_name}-{replica}",
                        owner=(kind, twin_name),
                        template=twin_template,
                        state=rng.choice(_BURST_STATES),
                        node="vk",
                        burst=True,
                        since=since + 100,
                    )
                )
        if index % 5 == 2:  # the policy's own placeholder Deployment, with a bound and a pending pod
            name = f"{app}-placeholder"
            holder_template = {
                "metadata": {"labels": {"burstscaler.io/placeholder-for": app}},
                "spec": template["spec"],
            }
            holder = _workload(name, kind="Deployment", replicas=2, template=holder_template, generation=1, owner=app)
            cluster.workloads[holder.key] = holder
            for replica, state in enumerate(("running", "pending")):
                cluster.pods.append(
                    _pod(
                        f"{name}-{replica}",
                        owner=("Deployment", name),
                        template=holder_template,
                        state=state,
                        node=f"ecs-{rng.randrange(nodes)}",
                        burst=False,
                        since=since,
                    )
                )
    return cluster


def churn(cluster: Cluster, tick: int) -> None:
    """Between ticks: records rebuilt (same or new state), replicas and a generation changed, a spec edited."""
    rng = cluster.random
    if tick >= QUIET_FROM:
        quiet(cluster, tick)
        return
    for position in rng.sample(range(len(cluster.pods)), len(cluster.pods) // 5):
        pod = cluster.pods[position]
        if rng.random() < 0.5:
            cluster.pods[position] = dataclasses.replace(pod)  # a status update that changes nothing planned
            continue
        state = rng.choice(_BURST_STATES if pod.burst else _STATES)
        kind, name = pod.owner_kind, pod.owner_name
        app = name.removesuffix("-burst").removesuffix("-placeholder")
        template = cluster.templates[app] if name == app else cluster.workloads[(pod.namespace, kind, name)].template
        node = "vk" if pod.burst else f"ecs-{rng.randrange(len(cluster.nodes) - 1)}"
        since = NOW + 5 * tick - rng.randrange(120)
        cluster.pods[position] = _pod(
            pod.name, owner=(kind, name), template=dict(template), state=state, node=node, burst=pod.burst, since=since
        )
    if tick % 2 == 1:  # a new pod of a workload
        app = f"app-{tick}"
        cluster.pods.append(
            _pod(
                f"{app}-new-{tick}",
                owner=(cluster.kinds[app], app),
                template=cluster.templates[app],
                state="pending",
                node="",
                burst=False,
                since=NOW + 5 * tick,
            )
        )
    if tick == 2:  # a pod goes away
        del cluster.pods[rng.randrange(len(cluster.pods))]
    for key in rng.sample(sorted(cluster.workloads), 3):
        workload = cluster.workloads[key]
        cluster.workloads[key] = dataclasses.replace(workload, replicas=workload.replicas + 1)
    if tick == 3:  # a rollout: a new template and generation
        key = ("shop", "Deployment", "app-5")
        workload = cluster.workloads[key]
        template = json.loads(json.dumps(workload.template))
        template["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "1500m"
        body = {**workload.body, "spec": {**workload.body["spec"], "template": template}}
        cluster.workloads[key] = dataclasses.replace(
            workload, template=template, body=body, generation=(workload.generation or 0) + 1
        )
        cluster.templates["app-5"] = template
    if tick == 2:  # a policy's spec edited: a new generation
        body = json.loads(json.dumps(cluster.policies[("shop", "app-1")]))
        body["metadata"]["generation"] += 1
        body["spec"]["minReplicas"] += 5
        cluster.policies[("shop", "app-1")] = body


def quiet(cluster: Cluster, tick: int) -> None:
    """A few records rebuilt in place (some in a new state), and two pods of different workloads swapped."""
    rng = cluster.random
    for position in rng.sample(range(len(cluster.pods)), max(1, len(cluster.pods) // 40)):
        pod = cluster.pods[position]
        if pod.burst or rng.random() < 0.4:
            cluster.pods[position] = dataclasses.replace(pod)
            continue
        template = cluster.workloads[(pod.namespace, pod.owner_kind, pod.owner_name)].template
        state = rng.choice(("running", "pending", "deleting", "starting"))
        node = f"ecs-{rng.randrange(len(cluster.nodes) - 1)}"
        since = NOW + 5 * tick - rng.randrange(3)  # same-second transitions: ties the pending signal orders
        cluster.pods[position] = _pod(
            pod.name,
            owner=(pod.owner_kind, pod.owner_name),
            template=dict(template),
            state=state,
            node=node,
            burst=False,
            since=since,
        )
    if tick == QUIET_FROM + 1:  # the same pods, two of them in each other's place (the order of a group)
        first, second = rng.sample(range(len(cluster.pods)), 2)
        cluster.pods[first], cluster.pods[second] = cluster.pods[second], cluster.pods[first]


def digest(value: Any) -> Any:
    """A JSON-able picture of an outcome, exact: floats as their repr, models and arrays as their data."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, decimal.Decimal | datetime.datetime | datetime.timedelta | enum.Enum):
        return repr(value)
    if isinstance(value, np.ndarray | np.generic):
        return digest(value.tolist())
    if isinstance(value, planner.Workload):  # an input passed through: which one, and its version
        return {"workload": list(value.key), "replicas": value.replicas, "generation": value.generation}
    if isinstance(value, api.BurstPolicySpec):  # the validated input: which version of it (its data's hash)
        data = json.dumps(digest(value.model_dump(mode="python")), sort_keys=True)
        return {"spec_sha256": hashlib.sha256(data.encode()).hexdigest()}
    if isinstance(value, pydantic.BaseModel):
        return {"model": type(value).__name__, **digest(value.model_dump(mode="python"))}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {field.name: digest(getattr(value, field.name)) for field in dataclasses.fields(value)}
        return {"dataclass": type(value).__name__, **fields}
    if isinstance(value, Mapping):
        return {repr(key) if not isinstance(key, str) else key: digest(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [digest(item) for item in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    raise TypeError(f"no digest for {type(value).__name__}")


def run(seed: int = 7) -> list[dict[str, Any]]:
    """Every tick's outcomes, digested; drains the planner started are confirmed as the handlers do."""
    cluster = generate(seed)
    planner_ = planner.Planner(fetcher=None, spend=cost.SpendLimits(namespace_cap_per_hour=decimal.Decimal("1")))
    ticks = []
    for tick in range(TICKS):
        if tick:
            churn(cluster, tick)
        outcomes = asyncio.run(planner_.tick(cluster.inputs(), now=NOW + 5 * tick))
        for outcome in outcomes.values():
            if outcome.planned:
                planner_.confirm(outcome.key, outcome.drain, finished=outcome.moves_completed > 0)
        ticks.append({f"{key[0]}/{key[1]}": digest(outcome) for key, outcome in sorted(outcomes.items())})
    return ticks


def dumps(ticks: list[dict[str, Any]]) -> str:
    """The digests as JSON, one policy of one tick per line (a change shows as the lines it touches)."""
    lines = []
    for tick in ticks:
        lines.append(
            "  {" + ",\n   ".join(f"{json.dumps(k)}: {json.dumps(v, sort_keys=True)}" for k, v in tick.items()) + "}"
        )
    return "[\n" + ",\n".join(lines) + "\n]\n"


if __name__ == "__main__":
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(dumps(run()))
    print(f"wrote {GOLDEN}")
