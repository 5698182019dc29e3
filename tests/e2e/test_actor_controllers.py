"""The cluster actor plays the controllers as Kubernetes does, through the emulated API, on a
ManualClock: rolling updates, the ReplicaSet's victims, graceful termination, StatefulSet
ordering and NotReady nodes evicting their pods after a toleration."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from .harness import actor, client, hosting, objects

pytestmark = pytest.mark.e2e


def live(api: client.RestClient, app: str) -> list[dict[str, Any]]:
    """Pods of `app` not being deleted."""
    return [pod for pod in api.list("Pod", labels=f"app={app}") if not pod["metadata"].get("deletionTimestamp")]


def is_ready(pod: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions") or [])


def image(pod: dict[str, Any]) -> str:
    return str(pod["spec"]["containers"][0]["image"])


def settle(
    cluster_actor: actor.ClusterActor, clock: actor.ManualClock, *, steps: int = 2, seconds: float = 2.0
) -> None:
    for _ in range(steps):
        cluster_actor.step()
        clock.advance(seconds)
    cluster_actor.step()


# -- Deployment rollouts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("replicas", "strategy", "max_total", "min_ready"),
    [
        pytest.param(4, None, 5, 3, id="defaults-25%-of-4"),
        pytest.param(10, {"maxSurge": "25%", "maxUnavailable": "25%"}, 13, 8, id="10-surge-up-unavailable-down"),
        pytest.param(3, {"maxSurge": 0, "maxUnavailable": 1}, 3, 2, id="no-surge"),
        pytest.param(3, {"maxSurge": 1, "maxUnavailable": 0}, 4, 3, id="no-unavailability"),
        pytest.param(4, {"maxSurge": "0%", "maxUnavailable": "0%"}, 4, 3, id="both-zero-means-one-unavailable"),
    ],
)
def test_rolling_update_keeps_within_surge_and_unavailability(
    api: client.RestClient,
    cluster_actor: actor.ClusterActor,
    clock: actor.ManualClock,
    replicas: int,
    strategy: dict[str, Any] | None,
    max_total: int,
    min_ready: int,
) -> None:
    cluster_actor.termination_seconds = 0.0  # old pods go as soon as they are deleted
    api.create(objects.ecs_node("ecs-a", shape="ecs.c7.4xlarge"))
    deploy = objects.deployment("web", replicas=replicas, cpu="100m")
    if strategy is not None:
        deploy["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": strategy}
    api.create(deploy)
    settle(cluster_actor, clock)
    assert [is_ready(pod) for pod in live(api, "web")] == [True] * replicas

    template = api.get("Deployment", "web")["spec"]["template"]
    template["spec"]["containers"][0]["image"] = "nginx:1.28"
    api.patch("Deployment", "web", {"spec": {"template": template}})
    totals, ready = [], []
    for _ in range(60):
        cluster_actor.step()
        pods = live(api, "web")
        totals.append(len(pods))
        ready.append(sum(map(is_ready, pods)))
        if len(pods) == replicas and all(image(p) == "nginx:1.28" and is_ready(p) for p in pods):
            break
        clock.advance(1.0)  # half the ECS start-up delay: old pods go before their replacements are Ready
    else:
        pytest.fail(f"the rollout did not finish: totals {totals}, ready {ready}")
    assert max(totals) == max_total, "the surge is used, never exceeded"
    assert min(ready) == min_ready, "availability drops to replicas - maxUnavailable, never below"
    status = api.get("Deployment", "web")["status"]
    assert (status["updatedReplicas"], status["readyReplicas"], status["replicas"]) == (replicas, replicas, replicas)
    old = [rs for rs in api.list("ReplicaSet") if rs["spec"]["replicas"] == 0]
    assert len(old) == 1, "the old ReplicaSet is kept at 0 (revision history), not deleted"


def test_recreate_removes_every_old_pod_before_creating_new_ones(
    api: client.RestClient, cluster_actor: actor.ClusterActor, clock: actor.ManualClock
) -> None:
    api.create(objects.ecs_node("ecs-a"))
    deploy = objects.deployment("web", replicas=2, cpu="100m")
    deploy["spec"]["strategy"] = {"type": "Recreate"}
    api.create(deploy)
    settle(cluster_actor, clock)
    template = api.get("Deployment", "web")["spec"]["template"]
    template["spec"]["containers"][0]["image"] = "nginx:1.28"
    api.patch("Deployment", "web", {"spec": {"template": template}})
    seen = []
    for _ in range(10):
        cluster_actor.step()
        seen.append(sorted(image(pod) for pod in api.list("Pod", labels="app=web")))
        clock.advance(actor.DEFAULT_GRACE_SECONDS)
    assert ["nginx:1.27", "nginx:1.28"] not in [sorted(set(images)) for images in seen], seen
    assert [] in seen, "a moment with no pod at all"
    assert seen[-1] == ["nginx:1.28", "nginx:1.28"]


def test_scaling_mid_rollout_is_proportional(
    api: client.RestClient, cluster_actor: actor.ClusterActor, clock: actor.ManualClock
) -> None:
    api.create(objects.ecs_node("ecs-a", shape="ecs.c7.4xlarge"))
    deploy = objects.deployment("web", replicas=10, cpu="100m")
    deploy["spec"]["strategy"] = {"rollingUpdate": {"maxSurge": 3, "maxUnavailable": 2}}
    api.create(deploy)
    settle(cluster_actor, clock)
    template = api.get("Deployment", "web")["spec"]["template"]
    template["spec"]["containers"][0]["image"] = "nginx:does-not-exist"
    template["metadata"]["annotations"] = {actor.NEVER_READY: "true"}  # the rollout gets stuck
    api.patch("Deployment", "web", {"spec": {"template": template}})
    settle(cluster_actor, clock, steps=4)
    sizes = {
        rs["spec"]["template"]["spec"]["containers"][0]["image"]: rs["spec"]["replicas"]
        for rs in api.list("ReplicaSet")
    }
    assert sizes == {"nginx:1.27": 8, "nginx:does-not-exist": 5}  # stuck: 13 = 10 + maxSurge
    api.scale("Deployment", "web", 15)
    cluster_actor.step()
    sizes = {
        rs["spec"]["template"]["spec"]["containers"][0]["image"]: rs["spec"]["replicas"]
        for rs in api.list("ReplicaSet")
    }
    assert sizes == {"nginx:1.27": 11, "nginx:does-not-exist": 7}  # 3 to the old, 2 to the new (the docs' example)


# -- the ReplicaSet's victims ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mark", "expected_victim"),
    [
        pytest.param(
            lambda api, pods: api.patch("Pod", pods[1], {"metadata": {"annotations": {actor.DELETION_COST: "-1"}}}),
            1,
            id="cheaper",
        ),
        pytest.param(lambda api, pods: restart(api, pods[2], 3), 2, id="more-restarts"),
        pytest.param(lambda api, pods: None, 3, id="newest"),
    ],
)
def test_scale_in_picks_the_upstream_victim(
    api: client.RestClient,
    cluster_actor: actor.ClusterActor,
    clock: actor.ManualClock,
    mark: Callable[[client.RestClient, list[str]], Any],
    expected_victim: int,
) -> None:
    api.create(objects.ecs_node("ecs-a", shape="ecs.c7.4xlarge"))
    api.create(objects.deployment("web", replicas=1, cpu="100m"))
    names = []
    for replicas in (1, 2, 3, 4):  # created one by one, and all Ready at the same instant
        api.scale("Deployment", "web", replicas)
        cluster_actor.step()
        names += [pod["metadata"]["name"] for pod in live(api, "web") if pod["metadata"]["name"] not in names]
    clock.advance(2.0)
    cluster_actor.step()
    mark(api, names)
    api.scale("Deployment", "web", 3)
    cluster_actor.step()
    assert {pod["metadata"]["name"] for pod in live(api, "web")} == set(names) - {names[expected_victim]}


def restart(api: client.RestClient, name: str, count: int) -> None:
    pod = api.get("Pod", name)
    statuses = [{**s, "restartCount": count} for s in pod["status"]["containerStatuses"]]
    api.patch("Pod", name, {"status": {"containerStatuses": statuses}}, subresource="status")


# -- graceful termination ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("grace_in_spec", "actor_override", "grace"),
    [
        pytest.param(None, None, 30.0, id="default-30s"),
        pytest.param(5, None, 5.0, id="the-pods-own-period"),
        pytest.param(None, 1.0, 1.0, id="actor-override"),
    ],
)
def test_a_terminating_pod_is_not_ready_and_holds_its_room_for_its_grace_period(
    api: client.RestClient,
    cluster_actor: actor.ClusterActor,
    clock: actor.ManualClock,
    grace_in_spec: int | None,
    actor_override: float | None,
    grace: float,
) -> None:
    cluster_actor.termination_seconds = actor_override
    api.create(objects.ecs_node("ecs-a", cpu="2"))
    deploy = objects.deployment("web", replicas=2, cpu="1")
    if grace_in_spec is not None:
        deploy["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = grace_in_spec
    api.create(deploy)
    settle(cluster_actor, clock)
    api.scale("Deployment", "web", 1)
    cluster_actor.step()
    api.scale("Deployment", "web", 2)  # a replacement: it cannot fit while the old pod holds its cpu
    cluster_actor.step()

    terminating = [pod for pod in api.list("Pod") if pod["metadata"].get("deletionTimestamp")]
    assert len(terminating) == 1 and not is_ready(terminating[0])
    assert terminating[0]["spec"]["nodeName"] == "ecs-a"
    pending = [pod for pod in api.list("Pod") if not pod["spec"].get("nodeName")]
    assert len(pending) == 1 and "Insufficient cpu" in pending[0]["status"]["conditions"][0]["message"]
    assert api.get("Deployment", "web")["status"]["readyReplicas"] == 1

    clock.advance(grace - 0.5)
    cluster_actor.step()
    assert api.find("Pod", terminating[0]["metadata"]["name"]) is not None
    clock.advance(0.5)
    cluster_actor.step()  # removed; the next pass schedules the replacement
    assert api.find("Pod", terminating[0]["metadata"]["name"]) is None
    cluster_actor.step()
    assert [pod["spec"].get("nodeName") for pod in live(api, "web")] == ["ecs-a", "ecs-a"]


def test_unbound_pods_are_deleted_at_once(api: client.RestClient, cluster_actor: actor.ClusterActor) -> None:
    api.create(objects.deployment("web", replicas=2))  # no node: both stay Pending
    cluster_actor.step()
    api.scale("Deployment", "web", 0)
    cluster_actor.step()
    assert api.list("Pod") == []


# -- StatefulSets --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "created_per_pass"),
    [
        pytest.param(
            None,
            # A pod is Ready in the third pass after its creation (2 s of ECS start-up, 1 s a pass),
            # after the controller's turn: the next ordinal comes one pass later.
            [["db-0"]] * 3 + [["db-0", "db-1"]] * 3 + [["db-0", "db-1", "db-2"]],
            id="OrderedReady-by-default",
        ),
        pytest.param("Parallel", [["db-0", "db-1", "db-2"]] * 7, id="Parallel"),
    ],
)
def test_statefulset_creates_in_order_when_ordered(
    api: client.RestClient,
    cluster_actor: actor.ClusterActor,
    clock: actor.ManualClock,
    policy: str | None,
    created_per_pass: list[list[str]],
) -> None:
    api.create(objects.ecs_node("ecs-a"))
    sts = objects.statefulset("db", replicas=3, cpu="100m")
    if policy:
        sts["spec"]["podManagementPolicy"] = policy
    api.create(sts)
    seen = []
    for _ in created_per_pass:
        cluster_actor.step()
        seen.append(sorted(pod["metadata"]["name"] for pod in api.list("Pod")))
        clock.advance(1.0)
    assert seen == created_per_pass


@pytest.mark.parametrize(
    ("policy", "left_per_pass"),
    [
        pytest.param(None, [["db-0", "db-1"], ["db-0", "db-1"], ["db-0"], ["db-0"]], id="OrderedReady-one-at-a-time"),
        pytest.param("Parallel", [["db-0"], ["db-0"], ["db-0"], ["db-0"]], id="Parallel-at-once"),
    ],
)
def test_statefulset_scales_in_from_the_highest_ordinal(
    api: client.RestClient,
    cluster_actor: actor.ClusterActor,
    clock: actor.ManualClock,
    policy: str | None,
    left_per_pass: list[list[str]],
) -> None:
    cluster_actor.termination_seconds = 1.0
    api.create(objects.ecs_node("ecs-a"))
    sts = objects.statefulset("db", replicas=3, cpu="100m")
    if policy:
        sts["spec"]["podManagementPolicy"] = policy
    api.create(sts)
    settle(cluster_actor, clock, steps=8, seconds=1.0)
    assert sorted(pod["metadata"]["name"] for pod in live(api, "db")) == ["db-0", "db-1", "db-2"]
    api.scale("StatefulSet", "db", 1)
    seen = []
    for _ in left_per_pass:
        cluster_actor.step()
        seen.append(sorted(pod["metadata"]["name"] for pod in live(api, "db")))
        clock.advance(1.0)
    assert seen == left_per_pass


# -- NotReady nodes -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ready_status", "taint", "tolerations", "evicted_after"),
    [
        pytest.param("False", actor.NOT_READY_TAINT, None, 300.0, id="not-ready-default-300s"),
        pytest.param("Unknown", actor.UNREACHABLE_TAINT, None, 300.0, id="unreachable-default-300s"),
        pytest.param(
            "False",
            actor.NOT_READY_TAINT,
            [{"key": actor.NOT_READY_TAINT, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 20}],
            20.0,
            id="own-toleration-seconds",
        ),
        pytest.param(
            "False", actor.NOT_READY_TAINT, [{"operator": "Exists"}], None, id="tolerates-everything-for-ever"
        ),
    ],
)
def test_a_notready_node_taints_and_evicts_after_the_toleration(
    api: client.RestClient,
    cluster_actor: actor.ClusterActor,
    clock: actor.ManualClock,
    ready_status: str,
    taint: str,
    tolerations: list[dict[str, Any]] | None,
    evicted_after: float | None,
) -> None:
    api.create(objects.ecs_node("ecs-a", cpu="2"))
    api.create(objects.ecs_node("ecs-b", cpu="2"))
    deploy = objects.deployment("web", replicas=1, cpu="1", node_selector={"kubernetes.io/hostname": "ecs-a"})
    if tolerations is not None:
        deploy["spec"]["template"]["spec"]["tolerations"] = tolerations
    api.create(deploy)
    settle(cluster_actor, clock)
    (pod,) = live(api, "web")
    assert is_ready(pod)
    api.patch("Deployment", "web", {"spec": {"template": {"spec": {"nodeSelector": None}}}})
    settle(cluster_actor, clock)  # the template changed: the new pod lands on either node...
    (pod,) = live(api, "web")
    node = pod["spec"]["nodeName"]
    status = api.get("Node", node, namespace=None)["status"]
    conditions = [{**c, "status": ready_status} if c["type"] == "Ready" else c for c in status["conditions"]]
    api.patch("Node", node, {"status": {"conditions": conditions}}, namespace=None, subresource="status")

    cluster_actor.step()
    taints = {(t["key"], t["effect"]) for t in api.get("Node", node, namespace=None)["spec"]["taints"]}
    assert taints == {(taint, "NoSchedule"), (taint, "NoExecute")}
    assert not is_ready(api.get("Pod", pod["metadata"]["name"])), "pods of a NotReady node are marked not Ready"
    if evicted_after is None:
        clock.advance(10_000)
        cluster_actor.step()
        assert not api.get("Pod", pod["metadata"]["name"])["metadata"].get("deletionTimestamp")
        return
    clock.advance(evicted_after - 1)
    cluster_actor.step()
    assert not api.get("Pod", pod["metadata"]["name"])["metadata"].get("deletionTimestamp")
    clock.advance(1)
    cluster_actor.step()
    evicted = api.get("Pod", pod["metadata"]["name"])
    assert evicted["metadata"]["deletionTimestamp"], "evicted; its dead kubelet never finishes the deletion"
    settle(cluster_actor, clock)
    (replacement,) = live(api, "web")
    assert replacement["spec"]["nodeName"] != node and is_ready(replacement)

    healthy = [{**c, "status": "True"} if c["type"] == "Ready" else c for c in status["conditions"]]
    api.patch("Node", node, {"status": {"conditions": healthy}}, namespace=None, subresource="status")
    settle(cluster_actor, clock, steps=1, seconds=actor.DEFAULT_GRACE_SECONDS)
    assert not api.get("Node", node, namespace=None)["spec"].get("taints")
    assert api.find("Pod", pod["metadata"]["name"]) is None, "back, the kubelet completes the deletion"


def test_pods_get_the_default_not_ready_tolerations(apiserver: hosting.ApiServer, api: client.RestClient) -> None:
    apiserver.call(lambda emulator: setattr(emulator, "default_toleration_seconds", 7))
    pod = api.create({"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": []}})
    assert {(t["key"], t["tolerationSeconds"]) for t in pod["spec"]["tolerations"]} == {
        (actor.NOT_READY_TAINT, 7),
        (actor.UNREACHABLE_TAINT, 7),
    }
    own = {"key": actor.NOT_READY_TAINT, "operator": "Exists", "effect": "NoExecute"}
    pod = api.create({"kind": "Pod", "metadata": {"name": "q"}, "spec": {"containers": [], "tolerations": [own]}})
    assert [t["key"] for t in pod["spec"]["tolerations"]] == [actor.NOT_READY_TAINT, actor.UNREACHABLE_TAINT]


def test_pods_of_a_deleted_node_are_collected(
    api: client.RestClient, cluster_actor: actor.ClusterActor, clock: actor.ManualClock
) -> None:
    api.create(objects.ecs_node("ecs-a"))
    api.create(objects.deployment("web", replicas=1, cpu="100m"))
    settle(cluster_actor, clock)
    (pod,) = live(api, "web")
    api.delete("Node", "ecs-a", namespace=None)
    cluster_actor.step()
    assert api.find("Pod", pod["metadata"]["name"]) is None
