"""The bridge in the operator: placeholder pods left out of the snapshot, the plan's placeholders applied,
reported (status, Events, the metric), and nothing written for a name someone else holds or in dry-run.

Plain data in place of Kopf's indices; the Kubernetes API faked at its boundary (``kube.Workloads``).
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
from typing import Any

import prometheus_client
import pytest

from burstscaler.cluster import objects, placeholders
from burstscaler.operator import config, handlers, planner, status, ticker
from burstscaler.operator import metrics as operator_metrics
from tests.operator import test_planner as factories

NOW = factories.NOW
UID = factories.POLICY_UID
# ECS at 0.01 USD per vCPU-hour: one replica (1 vCPU / 1 GiB) costs far less there than on ECI (0.0346 USD/h).
CHEAP_ECS = {"ecsPerVCPUHour": "0.01"}
BRIDGE = {"enabled": True, "nodeBootSeconds": 60, "scaleDownDelaySeconds": 60}


def policy(**spec: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"minReplicas": 8, "bridge": BRIDGE, "pricing": CHEAP_ECS}
    values.update(spec)
    return factories.policy(**values)


def placeholder_deployment(replicas: int, *, owner_uid: str = UID) -> planner.Workload:
    base = factories.workload(replicas=4).body
    rendered = placeholders.render(
        base,
        policy={"metadata": {"name": "web", "uid": owner_uid}},
        requests={"cpu": 1000.0, "memory": float(2**30)},
        replicas=replicas,
    )
    return planner.Workload(
        namespace="shop",
        kind="Deployment",
        name=rendered["metadata"]["name"],
        replicas=replicas,
        ready=0,
        labels=rendered["metadata"]["labels"],
        annotations=rendered["metadata"]["annotations"],
        selector=rendered["spec"]["selector"],
        template=rendered["spec"]["template"],
        body=rendered,
    )


def placeholder_pods(count: int, *, on: str = "") -> list[objects.PodRecord]:
    return [
        objects.pod_record(
            {
                "metadata": {
                    "name": f"web-placeholder-abc-{index}",
                    "namespace": "shop",
                    "labels": {placeholders.PLACEHOLDER_FOR_LABEL: "web", "pod-template-hash": "abc"},
                    "ownerReferences": [{"kind": "ReplicaSet", "name": "web-placeholder-abc", "controller": True}],
                },
                "spec": {
                    "nodeName": on,
                    "containers": [{"name": "pause", "resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}],
                },
                "status": {"phase": "Running" if on else "Pending"},
            }
        )
        for index in range(count)
    ]


def burst_pods(count: int, *, age: float) -> list[objects.PodRecord]:
    pods = factories.bound_pods(count, on="vk", owner="web-burst")
    return [dataclasses.replace(pod, started=NOW - age) for pod in pods]


def tick(
    *, body: dict[str, Any], extra: list[planner.Workload], pods: list[objects.PodRecord], base: int = 4
) -> planner.Outcome:
    workloads = [factories.workload(replicas=base), factories.workload("web-burst", replicas=4), *extra]
    return factories.tick(factories.inputs(body=body, workloads=workloads, pods=pods))


BASE_PODS = factories.bound_pods(2, on="ecs-1")


@pytest.mark.parametrize(
    ("owner", "base_target"),
    [
        pytest.param(UID, 4, id="ours-leave-their-room-to-the-base"),
        pytest.param("someone-else", 2, id="a-strangers-pods-hold-room"),
    ],
)
def test_bound_placeholder_pods_are_not_seen_as_pods(owner: str, base_target: int) -> None:
    # ecs-1 has 4 vCPU: 2 base pods and 2 placeholder pods of 1 vCPU each fill it.
    outcome = tick(
        body=policy(bridge={"enabled": False}),
        extra=[placeholder_deployment(2, owner_uid=owner)],
        pods=BASE_PODS + placeholder_pods(2, on="ecs-1"),
        base=2,
    )
    assert outcome.base_target == base_target


def test_pending_placeholders_hold_no_room_and_are_counted() -> None:
    outcome = tick(
        body=policy(),
        extra=[placeholder_deployment(3)],
        pods=BASE_PODS + placeholder_pods(2) + placeholder_pods(1, on="ecs-1"),
        base=2,
    )
    assert outcome.base_target == 4, "Pending placeholders are no reservations"
    assert outcome.placeholders_bound == 1


@pytest.mark.parametrize(
    ("body", "placeholders_", "reason"),
    [
        pytest.param(policy(), 4, "placeholders", id="a-lasting-burst-on-a-growable-pool"),
        pytest.param(policy(bridge={"enabled": False}), 0, "no-node-growth", id="pool-not-growable"),
        pytest.param(policy(pricing={}), 0, "no-node-growth", id="no-ecs-price"),
        pytest.param(policy(bridge={**BRIDGE, "maxPlaceholders": 1}), 1, "placeholder-cap", id="capped"),
    ],
)
def test_the_plans_placeholders_reach_the_outcome_and_the_status(
    body: dict[str, Any], placeholders_: int, reason: str
) -> None:
    # 8 wanted, 4 fit ECS, 4 burst pods running for an hour: long past a new node's break-even.
    outcome = tick(body=body, extra=[], pods=BASE_PODS + burst_pods(4, age=3600))
    assert (outcome.base_target, outcome.burst_target) == (4, 4)
    assert (outcome.placeholders, outcome.placeholder_reason) == (placeholders_, reason)
    rendered = status.render(outcome, previous=None, now=NOW)
    assert rendered["placeholderReplicas"] == placeholders_
    plan_inputs = rendered["lastDecision"]["inputs"]["plan"]
    assert (plan_inputs["placeholders"], plan_inputs["placeholder_reason"]) == (placeholders_, reason)


def test_a_young_burst_gets_no_placeholders_yet() -> None:
    outcome = tick(body=policy(), extra=[], pods=BASE_PODS + burst_pods(4, age=5))
    assert (outcome.placeholders, outcome.placeholder_reason) == (0, "placeholders-not-worth-it")


def test_a_placeholder_name_someone_else_holds_means_no_placeholders() -> None:
    squatter = placeholder_deployment(0, owner_uid="someone-else")
    outcome = tick(body=policy(), extra=[squatter], pods=BASE_PODS + burst_pods(4, age=3600))
    assert outcome.burst_target == 4, "the policy still bursts"
    assert (outcome.placeholders, outcome.placeholder_reason) == (0, "no-node-growth")
    assert outcome.placeholder_refused is not None and "not owned by this BurstPolicy" in outcome.placeholder_refused
    assert "placeholders_refused" in outcome.decision
    found = status.events(outcome, previous_reason=outcome.reason, previous=None)
    assert [(event.type, event.reason) for event in found] == [("Warning", "PlaceholderNameTaken")]


# -- applying: the handler's calls on a fake API -----------------------------------------------------


class FakeWorkloads:
    """``kube.Workloads`` at the boundary: records the calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any]] = []

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(("create", body["metadata"]["name"], copy.deepcopy(body)))
        return body

    def scale(self, kind: str, namespace: str, name: str, replicas: int) -> None:
        self.calls.append(("scale", name, replicas))

    def patch(self, kind: str, namespace: str, name: str, merge_patch: dict[str, Any]) -> None:
        self.calls.append(("patch", name, merge_patch))

    def replace_template(self, body: dict[str, Any]) -> None:
        self.calls.append(("replace", body["metadata"]["name"], None))


def runtime(fake: FakeWorkloads, *, dry_run: bool = False, image: str = placeholders.DEFAULT_IMAGE) -> handlers.Runtime:
    metrics = operator_metrics.Metrics()
    return handlers.Runtime(
        config=config.OperatorConfig(dry_run=dry_run, placeholder_image=image),
        ticker=ticker.Ticker(planner_=planner.Planner(fetcher=None), interval=1.0, metrics=metrics),
        workloads=fake,  # type: ignore[arg-type]
        metrics=metrics,
    )


def act(
    outcome: planner.Outcome, *, dry_run: bool = False, image: str = placeholders.DEFAULT_IMAGE
) -> list[tuple[str, str, Any]]:
    fake = FakeWorkloads()
    asyncio.run(handlers._act(runtime(fake, dry_run=dry_run, image=image), outcome, policy_uid=UID))
    return [call for call in fake.calls if "placeholder" in call[1]]


def test_the_first_placeholders_create_their_deployment() -> None:
    outcome = tick(body=policy(), extra=[], pods=BASE_PODS + burst_pods(4, age=3600))
    ((verb, name, body),) = act(outcome, image="mirror.local/pause:3.10")
    assert (verb, name, body["spec"]["replicas"]) == ("create", "web-placeholder", 4)
    assert body["metadata"]["ownerReferences"][0]["uid"] == UID
    (container,) = body["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "mirror.local/pause:3.10"
    assert container["resources"]["requests"] == {"cpu": "1000m", "memory": str(2**30)}


@pytest.mark.parametrize(
    ("body", "existing", "expected"),
    [
        pytest.param(policy(bridge={"enabled": False}), None, [], id="none-wanted-nothing-created"),
        pytest.param(policy(bridge={"enabled": False}), 3, [("scale", "web-placeholder", 0)], id="scaled-to-zero"),
        pytest.param(policy(), 1, [("scale", "web-placeholder", 4)], id="scaled-to-the-plan"),
    ],
)
def test_existing_placeholders_follow_the_plan(
    body: dict[str, Any], existing: int | None, expected: list[tuple[str, str, Any]]
) -> None:
    extra = [placeholder_deployment(existing)] if existing is not None else []
    outcome = tick(body=body, extra=extra, pods=BASE_PODS + burst_pods(4, age=3600))
    assert act(outcome) == expected


def test_a_changed_image_refreshes_the_placeholders_template() -> None:
    outcome = tick(body=policy(), extra=[placeholder_deployment(4)], pods=BASE_PODS + burst_pods(4, age=3600))
    assert act(outcome) == []
    assert act(outcome, image="mirror.local/pause:3.10") == [("replace", "web-placeholder", None)]


@pytest.mark.parametrize(
    "body",
    [pytest.param(policy(dryRun=True), id="policy-dry-run"), pytest.param(policy(paused=True), id="paused")],
)
def test_dry_run_and_paused_write_no_placeholders(body: dict[str, Any]) -> None:
    outcome = tick(body=body, extra=[], pods=BASE_PODS + burst_pods(4, age=3600))
    assert act(outcome) == []


def test_operator_dry_run_writes_no_placeholders() -> None:
    outcome = tick(body=policy(), extra=[], pods=BASE_PODS + burst_pods(4, age=3600))
    assert outcome.placeholders == 4
    assert act(outcome, dry_run=True) == []


# -- reporting: Events and the metric ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        pytest.param(0, 4, [("Normal", "PlaceholdersStarted")], id="start"),
        pytest.param(4, 0, [("Normal", "PlaceholdersStopped")], id="stop"),
        pytest.param(2, 4, [], id="more-is-no-news"),
        pytest.param(0, 0, [], id="none"),
    ],
)
def test_events_when_placeholders_start_and_stop(before: int, after: int, expected: list[tuple[str, str]]) -> None:
    outcome = tick(body=policy(), extra=[], pods=BASE_PODS + burst_pods(4, age=3600))
    outcome = dataclasses.replace(outcome, placeholders=after)
    found = status.events(outcome, previous_reason=outcome.reason, previous=None, previous_bridge=status.Bridge(before))
    assert [(event.type, event.reason) for event in found] == expected
    # After a restart the status stands in for what this process saw last.
    from_status = status.events(outcome, previous_reason=outcome.reason, previous={"placeholderReplicas": before})
    assert [(event.type, event.reason) for event in from_status] == expected


def test_the_placeholder_metric() -> None:
    outcome = tick(body=policy(), extra=[], pods=BASE_PODS + burst_pods(4, age=3600))
    run = runtime(FakeWorkloads())
    handlers._export(run, outcome, currency="USD")
    text = prometheus_client.generate_latest(run.metrics.registry).decode()
    assert 'burstscaler_placeholder_replicas{namespace="shop",policy="web"} 4.0' in text
    run.metrics.forget("shop", "web")
    assert "burstscaler_placeholder_replicas{" not in prometheus_client.generate_latest(run.metrics.registry).decode()
