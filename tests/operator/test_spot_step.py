"""The planner's spot step: fallback to on-demand on refusal (kept across a restart), replacements before
reclamation within the caps, spot pods priced at the discount, spotBurstReplicas."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from burstscaler.cluster import objects, spot, twin
from burstscaler.operator import planner, spot_step, status

NOW = 1_800_000_000.0
UID = "uid-web"
VIRTUAL = [("type", "virtual-kubelet")]
STOCK_OUT = "Create ECI failed because the specified instance is out of stock."


def node(name: str, *, cpu: str, virtual: bool = False) -> objects.NodeRecord:
    body = {
        "metadata": {"name": name, "labels": {"type": "virtual-kubelet"} if virtual else {}},
        "status": {"allocatable": {"cpu": cpu, "memory": "64Gi", "pods": "110"}},
    }
    return objects.node_record(body, virtual_labels=VIRTUAL)


def deployment(name: str, *, replicas: int, annotations: dict[str, str] | None = None) -> planner.Workload:
    """A Deployment record; the `-burst` one is owned by the policy."""
    template = {
        "metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}]},
    }
    metadata: dict[str, Any] = {"name": name, "namespace": "shop", "annotations": dict(annotations or {})}
    if name.endswith("-burst"):
        metadata["ownerReferences"] = [{"kind": "BurstPolicy", "name": "web", "uid": UID, "controller": True}]
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata,
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}}, "template": template},
    }
    return planner.Workload(
        namespace="shop",
        kind="Deployment",
        name=name,
        replicas=replicas,
        ready=replicas,
        labels={},
        annotations=dict(annotations or {}),
        selector=body["spec"]["selector"],
        template=template,
        body=body,
    )


def pod(index: int, *, owner: str, node_name: str = "", spot_pod: bool = False, **status_: Any) -> objects.PodRecord:
    """A pod of `owner` (web or web-burst); Running and Ready on `node_name` unless `status_` says otherwise."""
    status_body: dict[str, Any] = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
    status_body["startTime"] = "2027-01-15T08:00:00Z"
    status_body.update(status_)
    metadata: dict[str, Any] = {
        "name": f"{owner}-{index}",
        "namespace": "shop",
        "creationTimestamp": "2027-01-15T08:00:00Z",
        "ownerReferences": [{"kind": "ReplicaSet", "name": f"{owner}-abcde", "controller": True}],
        "labels": {"pod-template-hash": "abcde"} | ({"burstscaler.io/tier": "burst"} if "burst" in owner else {}),
        "annotations": {spot.STRATEGY_ANNOTATION: "SpotAsPriceGo"} if spot_pod else {},
    }
    spec = {"nodeName": node_name, "containers": [{"name": "c", "resources": {"requests": {"cpu": "1"}}}]}
    return objects.pod_record({"metadata": metadata, "spec": spec, "status": status_body})


def refused_pod(index: int) -> objects.PodRecord:
    return pod(index, owner="web-burst", node_name="vk", spot_pod=True, phase="Pending", reason="ProviderFailed",
               message=STOCK_OUT, conditions=[], startTime=None)  # fmt: skip


def policy(**burst: Any) -> dict[str, Any]:
    spec = {"targetRef": {"name": "web"}, "minReplicas": 6, "maxReplicas": 20, "burst": {"spot": {"enabled": True}}}
    spec["burst"].update(burst)
    return {"metadata": {"name": "web", "namespace": "shop", "generation": 3, "uid": UID}, "spec": spec}


def inputs(
    *, twin_replicas: int, pods: list[objects.PodRecord], body: dict[str, Any] | None = None, twin_annotations=None
) -> planner.TickInputs:
    """Base of 4 filling ECS (4 cpu), a twin of `twin_replicas`, `pods` besides the base's."""
    workloads = [deployment("web", replicas=4), deployment("web-burst", replicas=twin_replicas,
                                                          annotations=twin_annotations)]  # fmt: skip
    base_pods = [pod(i, owner="web", node_name="ecs-1") for i in range(4)]
    return planner.TickInputs(
        policies={("shop", "web"): body or policy()},
        workloads={w.key: w for w in workloads},
        nodes=[node("ecs-1", cpu="4"), node("vk", cpu="1000", virtual=True)],
        pods=base_pods + pods,
    )


def tick(planner_: planner.Planner, tick_inputs: planner.TickInputs, *, now: float = NOW) -> planner.Outcome:
    return asyncio.run(planner_.tick(tick_inputs, now=now))[("shop", "web")]


def test_spot_twin_renders_spot_annotations_and_counts_spot_pods() -> None:
    running = [pod(i, owner="web-burst", node_name="vk", spot_pod=True) for i in range(2)]
    outcome = tick(planner.Planner(fetcher=None), inputs(twin_replicas=2, pods=running))
    assert outcome.burst_target == 2
    kwargs = spot_step.render_kwargs(outcome)
    assert kwargs["spot"] == {spot.STRATEGY_ANNOTATION: "SpotAsPriceGo", spot.DURATION_ANNOTATION: "1"}
    assert kwargs["spot_fallback_until"] is None
    assert outcome.twin_stale, "a twin rendered on-demand is rolled out to spot"
    assert spot_step.status_fields(outcome) == {"spotBurstReplicas": 2}
    assert outcome.decision["spot"]["mode"] == "spot"


def test_refusal_falls_back_for_the_cool_down_and_a_restart_keeps_it() -> None:
    planner_ = planner.Planner(fetcher=None)
    refused = [refused_pod(0), refused_pod(1)]
    first = tick(planner_, inputs(twin_replicas=2, pods=refused))
    assert first.reason == "spot-fallback", "the tick that falls back says so (and posts an Event)"
    assert any(event.reason == "SpotFallback" for event in status.events(first, previous_reason="ecs-full",
                                                                           previous=None))  # fmt: skip
    kwargs = spot_step.render_kwargs(first)
    assert kwargs["spot"] == {}, "on-demand: no spot annotation"
    until = NOW + spot.RETRY_SECONDS
    assert kwargs["spot_fallback_until"] == spot.until_text(until)
    assert first.twin_stale and first.burst_target == 2

    # The refused pods are still there (the rollout removes them): no new fallback, the cool-down holds.
    second = tick(planner_, inputs(twin_replicas=2, pods=refused), now=NOW + 60)
    assert second.reason != "spot-fallback"
    assert (second.decision["spot"]["mode"], second.decision["spot"]["reason"]) == ("on-demand", "spot-fallback")

    # A restarted operator reads the cool-down off the twin it rendered.
    rendered = twin.render(deployment("web", replicas=4).body, policy={"metadata": {"name": "web", "uid": UID}},
                           provider="alibaba-eci", pod_template_patch={}, replicas=2, **kwargs)  # fmt: skip
    annotations = rendered["metadata"]["annotations"]
    restarted = tick(
        planner.Planner(fetcher=None), inputs(twin_replicas=2, pods=[], twin_annotations=annotations), now=NOW + 120
    )
    assert spot_step.render_kwargs(restarted)["spot"] == {}
    assert not restarted.twin_stale, "the twin already runs on-demand with its cool-down recorded"

    # After the cool-down spot is tried again; the old refusals do not count.
    retried = tick(planner_, inputs(twin_replicas=2, pods=refused), now=until + 1)
    assert spot_step.render_kwargs(retried)["spot"] != {}
    assert retried.decision["spot"]["mode"] == "spot"


@pytest.mark.parametrize(
    ("burst", "expected"),
    [
        pytest.param({}, 3, id="one-replacement-per-announced-pod"),
        pytest.param({"maxReplicas": 2}, 2, id="within-burst-max"),
        pytest.param({"budget": {"maxCostPerHour": "0.07"}}, 2, id="within-the-budget"),
    ],
)
def test_a_pod_to_be_released_is_replaced_before_it_goes(burst: dict[str, Any], expected: int) -> None:
    planner_ = planner.Planner(fetcher=None)
    expiring = [{"type": "Ready", "status": "True"}, {"type": "ContainerInstanceExpired", "status": "True"}]
    pods = [
        pod(0, owner="web-burst", node_name="vk", spot_pod=True),
        pod(1, owner="web-burst", node_name="vk", spot_pod=True, conditions=expiring),
    ]
    outcome = tick(planner_, inputs(twin_replicas=2, pods=pods, body=policy(**burst)))
    assert outcome.burst_target == expected
    assert outcome.decision["spot"]["toBeReleased"] == 1
    assert outcome.twin is not None and outcome.twin.replicas == 2, "the real twin goes to apply"

    # Next tick, with the replacement applied and the announced pod still there: the target holds, no growth.
    pods.append(pod(2, owner="web-burst", node_name="vk", spot_pod=True))
    again = tick(planner_, inputs(twin_replicas=expected, pods=pods, body=policy(**burst)), now=NOW + 15)
    assert again.burst_target == expected

    # The announced pod is gone: the replacement is no longer needed.
    gone = tick(planner_, inputs(twin_replicas=expected, pods=[pods[0], pods[2]], body=policy(**burst)), now=NOW + 30)
    assert gone.burst_target == 2


def test_spot_pods_are_charged_at_the_discount() -> None:
    def spent(*, spot_pods: bool) -> float:
        planner_ = planner.Planner(fetcher=None)
        pods = [pod(i, owner="web-burst", node_name="vk", spot_pod=spot_pods) for i in range(2)]
        tick(planner_, inputs(twin_replicas=2, pods=pods))
        outcome = tick(planner_, inputs(twin_replicas=2, pods=pods), now=NOW + 100)
        assert outcome.ledger is not None
        return outcome.ledger.eci_cost

    assert spent(spot_pods=True) == pytest.approx(spent(spot_pods=False) * (1 - 0.3))


def test_replacements_never_applied_hide_no_real_replica() -> None:
    """In dry-run (or after a failed call) the twin never got the replacement: nothing is hidden."""
    planner_ = planner.Planner(fetcher=None)
    expiring = [{"type": "Ready", "status": "True"}, {"type": "ContainerInstanceExpired", "status": "True"}]
    pods = [
        pod(0, owner="web-burst", node_name="vk", spot_pod=True),
        pod(1, owner="web-burst", node_name="vk", spot_pod=True, conditions=expiring),
    ]
    body = policy()
    body["spec"]["minReplicas"] = 1  # no metrics (no Prometheus): the recommendation holds the current total
    first = tick(planner_, inputs(twin_replicas=2, pods=pods, body=body))
    assert first.burst_target == 3
    # The twin still has 2 replicas (not applied): the core sees 2, and still one replacement is asked for.
    again = tick(planner_, inputs(twin_replicas=2, pods=pods, body=body), now=NOW + 15)
    assert (again.burst_target, again.decision["spot"]["replacements"]) == (3, 1)
