"""The planning tick with plain data in place of Kopf's indices: validation, lint, plan, drain records."""

from __future__ import annotations

import asyncio
import dataclasses
import decimal
from typing import Any

import pytest

from burstscaler.cluster import apply, objects
from burstscaler.core import cost
from burstscaler.operator import planner, status

NOW = 1_800_000_000.0
POLICY_UID = "uid-web"
VIRTUAL = [("type", "virtual-kubelet")]


def node(name: str, *, cpu: str = "4", virtual: bool = False) -> objects.NodeRecord:
    labels = {"type": "virtual-kubelet"} if virtual else {}
    body = {
        "metadata": {"name": name, "labels": labels},
        "status": {"allocatable": {"cpu": cpu, "memory": "64Gi", "pods": "110"}},
    }
    return objects.node_record(body, virtual_labels=VIRTUAL)


def workload(
    name: str = "web",
    *,
    replicas: int,
    annotations: dict[str, str] | None = None,
    owner_uid: str | None = None,
    **pod_spec: Any,
) -> planner.Workload:
    """A Deployment record; a `-burst` one is owned by the policy (uid POLICY_UID) unless `owner_uid` says."""
    pod_spec.setdefault("containers", [{"name": "c", "resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}])
    template = {"metadata": {"labels": {"app": name}}, "spec": pod_spec}
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "shop", "annotations": annotations or {}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}}, "template": template},
    }
    uid = owner_uid if owner_uid is not None else (POLICY_UID if name.endswith("-burst") else "")
    if uid:
        body["metadata"]["ownerReferences"] = [{"kind": "BurstPolicy", "name": "web", "uid": uid, "controller": True}]
    return planner.Workload(
        namespace="shop",
        kind="Deployment",
        name=name,
        replicas=replicas,
        ready=replicas,
        labels={},
        annotations=annotations or {},
        selector=body["spec"]["selector"],
        template=template,
        body=body,
    )


def bound_pods(count: int, *, on: str, owner: str = "web") -> list[objects.PodRecord]:
    pods = []
    for index in range(count):
        body = {
            "metadata": {
                "name": f"{owner}-{index}",
                "namespace": "shop",
                "ownerReferences": [{"kind": "ReplicaSet", "name": f"{owner}-abcde", "controller": True}],
                "labels": {"pod-template-hash": "abcde"}
                | ({"burstscaler.io/tier": "burst"} if "burst" in owner else {}),
            },
            "spec": {
                "nodeName": on,
                "containers": [{"name": "c", "resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}],
            },
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
        }
        pods.append(objects.pod_record(body))
    return pods


def policy(**spec: Any) -> dict[str, Any]:
    body_spec = {"targetRef": {"name": "web"}, "minReplicas": 6, "maxReplicas": 20}
    body_spec.update(spec)
    return {"metadata": {"name": "web", "namespace": "shop", "generation": 3, "uid": POLICY_UID}, "spec": body_spec}


def tick(inputs: planner.TickInputs, planner_: planner.Planner | None = None) -> planner.Outcome:
    outcomes = asyncio.run((planner_ or planner.Planner(fetcher=None)).tick(inputs, now=NOW))
    return outcomes[("shop", "web")]


def inputs(
    *, body: dict[str, Any], workloads: list[planner.Workload], pods: list[objects.PodRecord]
) -> planner.TickInputs:
    return planner.TickInputs(
        policies={("shop", "web"): body},
        workloads={w.key: w for w in workloads},
        nodes=[node("ecs-1"), node("vk", cpu="1000", virtual=True)],
        pods=pods,
    )


def test_overflow_goes_to_burst() -> None:
    outcome = tick(inputs(body=policy(), workloads=[workload(replicas=2)], pods=bound_pods(2, on="ecs-1")))
    assert (outcome.desired, outcome.base_target, outcome.burst_target) == (6, 4, 2)
    assert outcome.decision["burst_reason"] == "ecs-full"
    rendered = status.render(outcome, previous=None, now=NOW)
    assert rendered["burstReplicas"] == 2
    bursting = next(c for c in rendered["conditions"] if c["type"] == "Bursting")
    assert (bursting["status"], bursting["reason"]) == ("True", "EcsFull")


def test_namespaced_mode_says_node_room_is_estimated() -> None:
    def decided(room_estimated: bool) -> planner.Outcome:
        body = inputs(body=policy(), workloads=[workload(replicas=2)], pods=bound_pods(2, on="ecs-1"))
        return tick(body, planner.Planner(fetcher=None, room_estimated=room_estimated))

    namespaced, clusterwide = decided(True), decided(False)
    assert namespaced.decision["node_room"] == planner.ROOM_ESTIMATED
    assert "node_room" not in clusterwide.decision
    rendered = status.render(namespaced, previous=None, now=NOW)
    assert "estimated" in str(rendered)  # status.lastDecision carries it to the SRE
    assert (namespaced.base_target, namespaced.burst_target) == (clusterwide.base_target, clusterwide.burst_target)


def test_invalid_spec_is_reported_not_planned() -> None:
    outcome = tick(inputs(body=policy(minReplicas=50), workloads=[workload(replicas=2)], pods=[]))
    assert not outcome.planned
    ready = status.render(outcome, previous=None, now=NOW)["conditions"][0]
    assert (ready["type"], ready["status"], ready["reason"]) == ("Ready", "False", "InvalidSpec")
    assert "minReplicas (50) exceeds maxReplicas (20)" in ready["message"]


def test_missing_target_is_a_condition() -> None:
    outcome = tick(inputs(body=policy(), workloads=[], pods=[]))
    assert outcome.reason == "target-not-found"
    message = status.render(outcome, previous=None, now=NOW)["conditions"][0]["message"]
    assert message == "Deployment shop/web does not exist; create it or fix spec.targetRef"


def test_a_template_eci_cannot_run_is_never_burst() -> None:
    base = workload(replicas=2, volumes=[{"name": "logs", "hostPath": {"path": "/var/log"}}])
    outcome = tick(inputs(body=policy(), workloads=[base], pods=bound_pods(2, on="ecs-1")))
    assert (outcome.base_target, outcome.burst_target, outcome.unplaceable) == (4, 0, 2)
    compatible = next(
        c for c in status.render(outcome, previous=None, now=NOW)["conditions"] if c["type"] == "EciCompatible"
    )
    assert compatible["status"] == "False"
    assert "use an emptyDir, a cloud disk or a NAS volume instead" in compatible["message"]


def test_drain_record_on_the_base_restores_a_move_in_flight_after_a_restart() -> None:
    record = planner.DrainRecord(moves=2, since=NOW - 30, goal=4, base_from=2, burst_from=4)
    base = workload(replicas=4, annotations={apply.DRAIN_ANNOTATION: record.to_annotation()})
    twin = workload("web-burst", replicas=4)
    pods = bound_pods(2, on="ecs-1") + bound_pods(4, on="vk", owner="web-burst")
    outcome = tick(inputs(body=policy(minReplicas=6), workloads=[base, twin], pods=pods))
    # Two of the four base replicas are not Ready yet (only two pods exist): the move waits, burst stays.
    assert outcome.drain_in_flight == 2
    assert outcome.burst_target == 4
    assert outcome.decision["drain_reason"] == "drain-back-waiting-ready"


def test_a_move_that_was_never_applied_is_dropped() -> None:
    # History from a plan that started a move, but nothing confirmed it was applied (dry-run or a failed call).
    planner_ = planner.Planner(fetcher=None)
    pods = bound_pods(4, on="ecs-1") + bound_pods(2, on="vk", owner="web-burst")
    base, twin = workload(replicas=4), workload("web-burst", replicas=2)
    first = tick(
        inputs(
            body=policy(minReplicas=6, drainBack={"stabilizationSeconds": 0, "minBurstSeconds": 0}),
            workloads=[base, twin],
            pods=pods,
        ),
        planner_,
    )
    assert first.burst_target == 2
    second = tick(inputs(body=policy(minReplicas=6), workloads=[base, twin], pods=pods), planner_)
    assert second.base_target >= 4, "an unapplied move must never be undone below the real base"


def test_paused_policy_is_not_planned_and_says_so() -> None:
    outcome = tick(inputs(body=policy(paused=True), workloads=[workload(replicas=2)], pods=bound_pods(2, on="ecs-1")))
    assert not outcome.planned
    ready = status.render(outcome, previous=None, now=NOW)["conditions"][0]
    assert (ready["status"], ready["reason"]) == ("False", "Paused")


def test_dry_run_plans_and_reports_but_keeps_no_move_in_flight() -> None:
    planner_ = planner.Planner(fetcher=None)
    record = planner.DrainRecord(moves=2, since=NOW - 30, goal=4, base_from=2, burst_from=4)
    base = workload(replicas=4, annotations={apply.DRAIN_ANNOTATION: record.to_annotation()})
    twin = workload("web-burst", replicas=4)
    pods = bound_pods(2, on="ecs-1") + bound_pods(4, on="vk", owner="web-burst")
    outcome = tick(inputs(body=policy(dryRun=True), workloads=[base, twin], pods=pods), planner_)
    assert outcome.planned and outcome.drain_in_flight == 0, "nothing is applied in dry-run, so nothing is in flight"
    ready = status.render(outcome, previous=None, now=NOW)["conditions"][0]
    assert (ready["status"], ready["reason"]) == ("True", "DryRun")


def test_conditions_keep_their_transition_time_while_unchanged() -> None:
    outcome = tick(inputs(body=policy(), workloads=[workload(replicas=2)], pods=bound_pods(2, on="ecs-1")))
    first = status.render(outcome, previous=None, now=NOW)
    later = status.render(outcome, previous=first, now=NOW + 60)
    assert [c["lastTransitionTime"] for c in later["conditions"]] == [
        c["lastTransitionTime"] for c in first["conditions"]
    ]
    events = status.events(outcome, previous_reason=outcome.reason, previous=first)
    assert events == [], "no Event when nothing changed"


def burst_for(body: dict[str, Any], *, spend: cost.SpendLimits | None = None) -> planner.Outcome:
    """The outcome of one tick where 12 replicas are wanted and ECS has room for 4."""
    return tick(
        inputs(body=body, workloads=[workload(replicas=2)], pods=bound_pods(2, on="ecs-1")),
        planner.Planner(fetcher=None, spend=spend),
    )


# One replica of 1 vCPU / 1 GiB is billed as ECI's 1 vCPU / 2 GiB: 0.0346 USD/h at list prices;
# as 8 vCPU / 16 GiB (eci-use-specs): 0.277 USD/h.
SIZED_BY_PATCH = {"metadata": {"annotations": {"k8s.aliyun.com/eci-use-specs": "8-16Gi"}}}


@pytest.mark.parametrize(
    ("burst", "spend", "expected"),
    [
        pytest.param({"budget": {"maxCostPerHour": "0.6"}}, None, 8, id="base-requests-fit-the-budget"),
        pytest.param(
            {"budget": {"maxCostPerHour": "0.6"}, "podTemplatePatch": SIZED_BY_PATCH}, None, 2, id="patch-sizes-it"
        ),
        pytest.param(
            {},
            cost.SpendLimits(default_budget_per_hour=decimal.Decimal("0.1")),
            2,
            id="operator-default-budget",
        ),
        pytest.param(
            {"budget": {"maxCostPerHour": "100"}},
            cost.SpendLimits(namespace_cap_per_hour=decimal.Decimal("0.1")),
            2,
            id="namespace-cap",
        ),
    ],
)
def test_the_budget_bounds_the_rendered_twins_effective_spec(
    burst: dict[str, Any], spend: cost.SpendLimits | None, expected: int
) -> None:
    outcome = burst_for(policy(minReplicas=12, burst=burst), spend=spend)
    assert (outcome.base_target, outcome.burst_target) == (4, expected)
    assert outcome.price is not None and outcome.price.eci_per_second * expected * 3600 <= float(
        (burst.get("budget") or {}).get("maxCostPerHour", "0.6")
    )


def test_policy_prices_do_not_lift_the_budget_unless_allowed() -> None:
    cheap = {"eciPerVCPUSecond": "0.000000001", "eciPerGiBSecond": "0.000000001"}
    body = policy(minReplicas=12, burst={"budget": {"maxCostPerHour": "0.05"}}, pricing=cheap)
    assert burst_for(body).burst_target == 1  # the operator's list prices: 0.0346 USD/h a replica
    assert burst_for(body, spend=cost.SpendLimits(allow_policy_prices=True)).burst_target == 8


def refusal(outcome: planner.Outcome) -> tuple[str, str, str]:
    ready = status.render(outcome, previous=None, now=NOW)["conditions"][0]
    return ready["status"], ready["reason"], ready["message"]


def test_an_unowned_twin_name_is_refused_and_nothing_is_planned() -> None:
    squatter = workload("web-burst", replicas=3, owner_uid="someone-else")
    outcome = tick(inputs(body=policy(), workloads=[workload(replicas=2), squatter], pods=bound_pods(2, on="ecs-1")))
    assert not outcome.planned and outcome.reason == "twin-name-taken"
    assert refusal(outcome)[:2] == ("False", "TwinNameTaken")
    assert status.events(outcome, previous_reason=None, previous=None)[0].reason == "TwinNameTaken"


@pytest.mark.parametrize(
    ("autoscaler", "named"),
    [
        pytest.param(planner.Autoscaler("shop", "HorizontalPodAutoscaler", "web-hpa", "Deployment", "web"),
                     "HorizontalPodAutoscaler shop/web-hpa", id="hpa"),
        pytest.param(planner.Autoscaler("shop", "ScaledObject", "web-keda", "Deployment", "web"),
                     "ScaledObject shop/web-keda", id="keda"),
    ],
)  # fmt: skip
def test_a_target_another_autoscaler_drives_is_a_conflict(autoscaler: planner.Autoscaler, named: str) -> None:
    base = inputs(body=policy(), workloads=[workload(replicas=2)], pods=bound_pods(2, on="ecs-1"))
    outcome = tick(dataclasses.replace(base, autoscalers=[autoscaler]))
    assert not outcome.planned
    state, reason, message = refusal(outcome)
    assert (state, reason) == ("False", "Conflict") and named in message


def test_of_two_policies_on_one_target_the_older_drives_it() -> None:
    older = policy()
    older["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z"
    newer = {**policy(), "metadata": {**policy()["metadata"], "name": "web-2", "uid": "u2"}}
    newer["metadata"]["creationTimestamp"] = "2026-06-01T00:00:00Z"
    both = planner.TickInputs(
        policies={("shop", "web"): older, ("shop", "web-2"): newer},
        workloads={w.key: w for w in [workload(replicas=2)]},
        nodes=[node("ecs-1"), node("vk", cpu="1000", virtual=True)],
        pods=bound_pods(2, on="ecs-1"),
    )
    outcomes = asyncio.run(planner.Planner(fetcher=None).tick(both, now=NOW))
    assert outcomes[("shop", "web")].planned
    assert refusal(outcomes[("shop", "web-2")])[:2] == ("False", "Conflict")
    assert "shop/web" in refusal(outcomes[("shop", "web-2")])[2]


def test_a_patch_relabelling_the_selector_is_refused_with_its_path() -> None:
    body = policy(burst={"podTemplatePatch": {"metadata": {"labels": {"app": "evil"}}}})
    outcome = tick(inputs(body=body, workloads=[workload(replicas=2)], pods=bound_pods(2, on="ecs-1")))
    state, reason, message = refusal(outcome)
    assert (state, reason) == ("False", "InvalidSpec")
    assert "spec.burst.podTemplatePatch.metadata.labels.app" in message


def test_the_eci_lint_runs_on_the_rendered_twin() -> None:
    # An ECI-sized twin (eci-use-specs in the patch) is what is priced; the base's hostPath is still found.
    base = workload(replicas=2, volumes=[{"name": "l", "hostPath": {"path": "/x"}}])
    body = policy(burst={"podTemplatePatch": {"metadata": {"annotations": {"k8s.aliyun.com/eci-use-specs": "4-8Gi"}}}})
    outcome = tick(inputs(body=body, workloads=[base], pods=bound_pods(2, on="ecs-1")))
    assert not outcome.eci_compatible
    assert outcome.eci_spec is not None and (outcome.eci_spec.vcpu, outcome.eci_spec.memory_gib) == (4, 8)
