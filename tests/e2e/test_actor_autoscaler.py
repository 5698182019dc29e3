"""The cluster actor's node autoscaler (harness/autoscaler.py) against cluster-autoscaler's rules,
through the API: growth only for pods Pending long enough that a template node would take,
binpacked and capped, upcoming nodes counted, expendable pods ignored, preemption left to the
scheduler, empty nodes of the group cordoned then deleted after the idle time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .harness import actor, autoscaler, client, hosting, objects

pytestmark = pytest.mark.e2e

MakeActor = Callable[..., tuple[actor.ClusterActor, autoscaler.NodeAutoscaler]]


@pytest.fixture
def make_actor(apiserver: hosting.ApiServer, clock: actor.ManualClock) -> Iterator[MakeActor]:
    """A cluster actor with a node autoscaler; `template_cpu` sizes the group's node template."""
    clients: list[client.RestClient] = []

    def make(*, template_cpu: str = "4", **options: Any) -> tuple[actor.ClusterActor, autoscaler.NodeAutoscaler]:
        rest = client.RestClient(apiserver.url)
        clients.append(rest)
        group = autoscaler.NodeAutoscaler(node=lambda name: objects.ecs_node(name, cpu=template_cpu), **options)
        return actor.ClusterActor(api=rest, clock=clock, node_autoscaler=group), group

    yield make
    for rest in clients:
        rest.close()


def placement(api: client.RestClient, app: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for pod in api.list("Pod", labels=f"app={app}"):
        node = pod["spec"].get("nodeName") or ""
        counts[node] = counts.get(node, 0) + 1
    return counts


def node_names(api: client.RestClient) -> list[str]:
    return sorted(node["metadata"]["name"] for node in api.list("Node"))


def anti_affine(deploy: dict[str, Any]) -> dict[str, Any]:
    app = deploy["metadata"]["name"]
    deploy["spec"]["template"]["spec"]["affinity"] = {
        "podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": "kubernetes.io/hostname"}
            ]
        }
    }
    return deploy


def with_priority(deploy: dict[str, Any], priority: int) -> dict[str, Any]:
    deploy["spec"]["template"]["spec"]["priority"] = priority
    return deploy


@pytest.mark.parametrize(
    ("workload", "template_cpu", "max_nodes", "added"),
    [
        # ecs-a (2 CPU) takes two 1-CPU pods, four wait: one 4-CPU template or two 2-CPU ones hold them.
        pytest.param(objects.deployment("web", replicas=6, cpu="1"), "4", 10, 1, id="binpacked-onto-one-node"),
        pytest.param(objects.deployment("web", replicas=6, cpu="1"), "2", 10, 2, id="two-smaller-nodes"),
        pytest.param(objects.deployment("web", replicas=6, cpu="1"), "2", 1, 1, id="capped-by-max-nodes"),
        pytest.param(objects.deployment("web", replicas=3, cpu="8"), "4", 10, 0, id="template-too-small"),
        pytest.param(anti_affine(objects.deployment("web", replicas=4, cpu="100m")), "4", 10, 3, id="one-per-node"),
        pytest.param(
            with_priority(objects.deployment("web", replicas=6, cpu="1"), -1), "4", 10, 1, id="placeholder-priority"
        ),
        pytest.param(
            with_priority(objects.deployment("web", replicas=6, cpu="1"), -11), "4", 10, 0, id="expendable-ignored"
        ),
    ],
)
def test_scale_up_follows_the_template_simulation(
    api: client.RestClient,
    make_actor: MakeActor,
    clock: actor.ManualClock,
    workload: dict[str, Any],
    template_cpu: str,
    max_nodes: int,
    added: int,
) -> None:
    cluster, group = make_actor(template_cpu=template_cpu, max_nodes=max_nodes, pending_seconds=5.0)
    api.create(objects.ecs_node("ecs-a", cpu="2"))
    api.create(workload)
    cluster.step()
    cluster.step()
    before = placement(api, "web")
    clock.advance(4.9)
    cluster.step()
    assert node_names(api) == ["ecs-a"], "not before the pods have been Pending for pending_seconds"
    clock.advance(0.2)
    cluster.step()
    assert len(group.nodes) == added and [e[0] for e in group.events] == ["scale-up"] * added
    cluster.step()
    after = placement(api, "web")
    assert after.get("", 0) == before.get("", 0) - sum(after.get(name, 0) for name in group.nodes)
    if added:
        assert all(after.get(name, 0) > 0 for name in group.nodes), "every added node took a pod"
    clock.advance(10.0)
    cluster.step()
    assert len(group.nodes) == added, "no more nodes for pods no template can take"


def test_booting_nodes_are_counted_as_upcoming_and_become_ready(
    api: client.RestClient, make_actor: MakeActor, clock: actor.ManualClock
) -> None:
    cluster, group = make_actor(pending_seconds=5.0, boot_seconds=20.0)
    api.create(objects.ecs_node("ecs-a", cpu="1"))
    api.create(objects.deployment("web", replicas=3, cpu="1"))
    cluster.step()
    clock.advance(5.0)
    cluster.step()
    (name,) = group.nodes
    node = api.get("Node", name, namespace=None)
    ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False"
    for _ in range(3):
        clock.advance(5.0)
        cluster.step()
        assert group.nodes == (name,), "the booting node is upcoming: no second node for the same pods"
        assert placement(api, "web").get(name, 0) == 0, "nothing lands on a NotReady node"
    clock.advance(5.0)
    cluster.step()  # Ready now
    cluster.step()  # the lifecycle controller lifts the not-ready taints; the scheduler binds
    assert placement(api, "web") == {"ecs-a": 1, name: 2}
    taints = api.get("Node", name, namespace=None)["spec"].get("taints") or []
    assert not [t for t in taints if t["key"] == actor.NOT_READY_TAINT]


def test_a_preempting_pod_does_not_grow_the_group(
    api: client.RestClient, make_actor: MakeActor, clock: actor.ManualClock
) -> None:
    cluster, group = make_actor(pending_seconds=5.0)
    api.create(objects.ecs_node("ecs-a", cpu="2"))
    for index in range(2):  # bare pods: no controller replaces the victim
        api.create(bare_pod(f"placeholder-{index}", cpu="1", priority=-1))
    cluster.step()
    assert placement(api, "placeholder") == {"ecs-a": 2}
    api.create(with_priority(objects.deployment("web", replicas=1, cpu="1"), 1000))
    cluster.step()
    (web,) = api.list("Pod", labels="app=web")
    assert web["status"]["nominatedNodeName"] == "ecs-a"
    clock.advance(6.0)
    cluster.step()
    assert group.events == [], "the web pod is nominated: preemption places it, not a new node"
    clock.advance(actor.DEFAULT_GRACE_SECONDS)
    cluster.step()
    cluster.step()
    assert placement(api, "web") == {"ecs-a": 1} and group.events == []


def test_empty_nodes_of_the_group_are_cordoned_then_deleted(
    api: client.RestClient, make_actor: MakeActor, clock: actor.ManualClock
) -> None:
    cluster, group = make_actor(pending_seconds=0.0, idle_seconds=30.0)
    api.create(objects.ecs_node("ecs-a", cpu="2"))
    api.create(objects.ecs_node("spare", cpu="2"))  # not the group's: never removed, even empty
    api.create(objects.deployment("web", replicas=6, cpu="1"))
    cluster.step()
    clock.advance(100.0)  # the added node's pods are Ready last (another log2 bucket): scaled in first
    cluster.step()
    assert len(group.nodes) == 1
    (added,) = group.nodes
    cluster.step()
    daemonset = api.create(daemon_set("agent"))
    api.create(daemon_pod("agent", node=added, owner=daemonset))
    api.scale("Deployment", "web", 4)
    clock.advance(1.0)
    cluster.step()
    clock.advance(actor.DEFAULT_GRACE_SECONDS)
    cluster.step()
    cluster.step()
    assert placement(api, "web").get(added, 0) == 0, "scale-in removed the pods of the newest node"
    clock.advance(29.0)
    cluster.step()
    assert [e[0] for e in group.events] == ["scale-up"], "only a DaemonSet pod, but not idle long enough"
    clock.advance(1.0)
    cluster.step()
    node = api.get("Node", added, namespace=None)
    assert node["spec"]["unschedulable"] is True
    assert any(t["key"] == autoscaler.TO_BE_DELETED_TAINT for t in node["spec"]["taints"])
    cluster.step()
    assert node_names(api) == ["ecs-a", "spare"]
    assert [e[0] for e in group.events] == ["scale-up", "cordon", "delete"]
    cluster.step()
    assert api.find("Pod", "agent") is None, "the pod garbage collector took the DaemonSet pod"


def test_a_cordoned_node_that_gets_a_pod_is_uncordoned(
    api: client.RestClient, make_actor: MakeActor, clock: actor.ManualClock
) -> None:
    cluster, group = make_actor(pending_seconds=0.0, idle_seconds=10.0)
    api.create(objects.ecs_node("ecs-a", cpu="1"))
    api.create(objects.deployment("web", replicas=2, cpu="1"))
    cluster.step()
    clock.advance(100.0)  # as above: the added node's pod goes first
    cluster.step()
    (added,) = group.nodes
    api.scale("Deployment", "web", 1)
    for _ in range(40):
        clock.advance(5.0)
        cluster.step()
        if "cordon" in [e[0] for e in group.events]:
            break
    assert placement(api, "web") == {"ecs-a": 1}
    assert [e[0] for e in group.events] == ["scale-up", "cordon"]
    pinned = bare_pod("pinned", cpu="100m", priority=0)
    pinned["spec"]["nodeName"] = added  # bound directly, as a static assignment would be
    api.create(pinned)
    cluster.step()
    assert [e[0] for e in group.events] == ["scale-up", "cordon", "uncordon"]
    assert not api.get("Node", added, namespace=None)["spec"].get("unschedulable")


def test_bad_settings_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="idle_seconds"):
        autoscaler.NodeAutoscaler(node=objects.ecs_node, idle_seconds=-1)
    with pytest.raises(ValueError, match="max_nodes"):
        autoscaler.NodeAutoscaler(node=objects.ecs_node, max_nodes=-1)


def bare_pod(name: str, *, cpu: str, priority: int) -> dict[str, Any]:
    """A pod without a controller (labelled ``app=<name before the last dash>``)."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": name.rsplit("-", 1)[0]}},
        "spec": {
            "priority": priority,
            "containers": [{"name": "app", "image": "pause:3.9", "resources": {"requests": {"cpu": cpu}}}],
        },
    }


def daemon_set(name: str) -> dict[str, Any]:
    """A DaemonSet object (the actor does not run DaemonSets: its pods are made by the test)."""
    deploy = objects.deployment(name, cpu="50m")
    deploy["kind"] = "DaemonSet"
    deploy["spec"].pop("replicas")
    return deploy


def daemon_pod(name: str, *, node: str, owner: dict[str, Any]) -> dict[str, Any]:
    """A pod as the DaemonSet controller makes it: owned by `owner`, bound to its node at creation."""
    meta = owner["metadata"]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "default",
            "labels": {"app": name},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "DaemonSet",
                    "name": meta["name"],
                    "uid": meta["uid"],
                    "controller": True,
                }
            ],
        },
        "spec": {
            "nodeName": node,
            "containers": [{"name": "agent", "image": "agent:1", "resources": {"requests": {"cpu": "50m"}}}],
        },
    }
