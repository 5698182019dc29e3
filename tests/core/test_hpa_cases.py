"""Acceptance: the Kubernetes HPA controller's own test tables, replayed through the core.

The file comes from ``$BURSTSCALER_HPA_CASES`` (default ``../shared/data/hpa/hpa_replica_cases.json``
beside the repository) so the same harness runs any file of that format. One test per case id. Each
category maps onto one public function of ``core.replicas`` or ``core.behavior``; categories about HPA
internals burstscaler does not have are skipped with the reason, never passed silently.
"""

from __future__ import annotations

import datetime
import json
import os
import pathlib
from typing import Any

import pytest

from burstscaler.api import spec
from burstscaler.core import behavior, replicas

DEFAULT_PATH = pathlib.Path(__file__).resolve().parents[2].parent / "shared" / "data" / "hpa" / "hpa_replica_cases.json"
CASES_PATH = pathlib.Path(os.environ.get("BURSTSCALER_HPA_CASES", DEFAULT_PATH))

UTC = datetime.UTC
NOW = datetime.datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
#: Go's zero time: fixture samples and Ready transitions carry it ("long ago").
ZERO = datetime.datetime(1, 1, 1, tzinfo=UTC)
CONTAINERS = {"container1": 0, "container2": 1}

#: Categories with no counterpart in burstscaler, and why.
NOT_IN_BURSTSCALER = {
    "calculate_requests": (
        "burstscaler reads pod CPU requests from kube-state-metrics in PromQL (the cpu shortcut), not from "
        "pod specs, so the HPA's request-from-containers rules (init containers, pod-level resources) have "
        "no counterpart"
    ),
    "legacy_rate_limit": (
        "HPA without a `behavior` field (pre-autoscaling/v2 rate limit max(2x, 4)); burstscaler always applies "
        "behavior with the autoscaling/v2 defaults filled in"
    ),
    "legacy_stabilization": (
        "HPA without a `behavior` field (--horizontal-pod-autoscaler-downscale-stabilization log); burstscaler "
        "always applies behavior with the autoscaling/v2 defaults filled in"
    ),
}
NO_BEHAVIOR_FIELD = (
    "HPA without a `behavior` field records no scale events; burstscaler always has a behavior (defaults filled)"
)


def _load() -> tuple[dict[str, Any], list[Any]]:
    if not CASES_PATH.is_file():
        reason = f"HPA acceptance cases not found at {CASES_PATH} (set BURSTSCALER_HPA_CASES or add ../shared/data)"
        return {}, [pytest.param(None, id="no-cases-file", marks=pytest.mark.skip(reason=reason))]
    document = json.loads(CASES_PATH.read_text())
    return document["meta"], [pytest.param(case, id=case["id"]) for case in document["cases"]]


META, CASES = _load()


def _readiness() -> replicas.Readiness:
    conventions = META.get("fixture_conventions", {})
    return replicas.Readiness(
        cpu_initialization_period=datetime.timedelta(seconds=conventions.get("cpu_initialization_period_s", 120)),
        initial_readiness_delay=datetime.timedelta(seconds=conventions.get("delay_of_initial_readiness_status_s", 10)),
    )


def _tolerances(case: dict[str, Any]) -> replicas.Tolerances:
    given = case.get("tolerances") or {}
    return replicas.Tolerances(down=given.get("scale_down", 0.1), up=given.get("scale_up", 0.1))


def _ago(seconds: float) -> datetime.datetime:
    return NOW - datetime.timedelta(seconds=seconds)


def _pods(case: dict[str, Any]) -> list[replicas.Pod]:
    phases = case.get("pod_phase") or []
    readiness = case.get("pod_readiness") or []
    starts = case.get("pod_start_time") or []
    deleted = case.get("pod_deleted") or []
    requests = case.get("per_container_request_milli") or []
    per_pod = 1 if case.get("container") else 2
    starts_at = {"now": NOW, "3m_ago": _ago(180), None: ZERO}
    return [
        replicas.Pod(
            name=f"test-pod-{index}",
            phase=phases[index] if index < len(phases) else "Running",
            deleted=deleted[index] if index < len(deleted) else False,
            ready=readiness[index] == "True" if index < len(readiness) else True,
            ready_since=ZERO,
            started=starts_at[starts[index] if index < len(starts) else None],
            request_milli=requests[index] * per_pod if index < len(requests) else None,
        )
        for index in range(max(case["current_replicas"], len(phases)))
    ]


def _resource_samples(case: dict[str, Any]) -> dict[str, int]:
    names = case.get("pod_names") or []
    container = case.get("container")
    samples: dict[str, int] = {}
    for index, usages in enumerate(case["usage_milli"]):
        name = names[index] if index < len(names) else f"test-pod-{index}"
        if container:
            if CONTAINERS[container] < len(usages):
                samples[name] = usages[CONTAINERS[container]]
        elif usages:
            samples[name] = sum(usages)
    return samples


def _replica_calculator(case: dict[str, Any]) -> None:
    calculator, current, tolerances = case["calculator"], case["current_replicas"], _tolerances(case)
    pods = _pods(case)
    try:
        if calculator == "GetResourceReplicas":
            samples = _resource_samples(case)
            result = replicas.resource_replicas(
                current=current,
                pods=pods,
                samples=samples,
                sample_times={name: replicas.Sample(value, ZERO) for name, value in samples.items()},
                target_utilization=case["target_utilization_percent"],
                tolerances=tolerances,
                now=NOW,
                readiness=_readiness(),
                resource=case["resource"],
            )
        elif calculator == "GetMetricReplicas":
            values = case["metric_values_milli"]
            result = replicas.pods_replicas(
                current=current,
                pods=pods,
                samples={f"test-pod-{index}": value for index, value in enumerate(values)},
                target_milli=case["target_value_milli"],
                tolerances=tolerances,
                now=NOW,
            )
        elif calculator in ("GetObjectMetricReplicas", "GetExternalMetricReplicas"):
            ready = sum(1 for pod in pods if pod.phase == "Running" and pod.ready)
            result = replicas.value_replicas(
                current=current,
                usage_milli=sum(case["metric_values_milli"]),
                target_milli=case["target_value_milli"],
                ready_pods=ready,
                tolerances=tolerances,
            )
        elif calculator in ("GetObjectPerPodMetricReplicas", "GetExternalPerPodMetricReplicas"):
            result = replicas.average_value_replicas(
                current=current,
                usage_milli=sum(case["metric_values_milli"]),
                target_milli=case["per_pod_target_value_milli"],
                tolerances=tolerances,
            )
        else:
            pytest.fail(f"unknown calculator {calculator!r} in case {case['id']}")
    except replicas.CalculationError as error:
        assert case["expected_error"], f"unexpected error: {error}"
        assert case["expected_error"] in str(error)
        return
    assert not case.get("expected_error"), f"expected error {case['expected_error']!r}, got {result}"
    assert result.replicas == case["expected_replicas"]
    if calculator == "GetResourceReplicas":
        assert result.usage == case["expected_utilization_percent"]
        assert result.raw_usage == case["expected_raw_value_milli"]
    else:
        assert result.usage == case["expected_usage_milli"]


def _group_pods(case: dict[str, Any]) -> None:
    def at(offset: float | None) -> datetime.datetime | None:
        return None if offset is None else NOW + datetime.timedelta(seconds=offset)

    pods = [
        replicas.Pod(
            name=pod["name"],
            phase=pod.get("phase", "Running"),
            deleted=pod.get("deleted", False),
            ready=None if "ready" not in pod else pod["ready"] == "True",
            ready_since=at(pod.get("ready_transition_offset_s")),
            started=at(pod.get("start_offset_s")),
        )
        for pod in case["pods"]
    ]
    samples = {
        name: replicas.Sample(
            sample["value"],
            NOW + datetime.timedelta(seconds=sample.get("timestamp_offset_s", 0)),
            datetime.timedelta(seconds=sample.get("window_s", 60)),
        )
        for name, sample in case["metrics"].items()
    }
    groups = replicas.group_pods(pods, samples, cpu=case["resource"] == "cpu", now=NOW, readiness=_readiness())
    assert groups.ready_count == case["expected_ready_pod_count"]
    assert groups.unready == set(case["expected_unready"])
    assert groups.missing == set(case["expected_missing"])
    assert groups.ignored == set(case["expected_ignored"])


def _events(entries: list[dict[str, Any]]) -> tuple[behavior.ScaleEvent, ...]:
    return tuple(
        behavior.ScaleEvent(entry["replica_change"], _ago(entry["age_seconds"]), entry.get("outdated", False))
        for entry in entries
    )


def _rules(rules: dict[str, Any] | None) -> spec.ScalingRules | None:
    return None if rules is None else spec.ScalingRules.model_validate(rules)


def _behavior_rate_limit(case: dict[str, Any]) -> None:
    up, down = _rules(case["scale_up_rules"]), _rules(case["scale_down_rules"])
    policy_behavior = spec.Behavior(scale_up=up, scale_down=down)
    history = behavior.History(
        scale_up_events=_events(case["scale_up_events"]), scale_down_events=_events(case["scale_down_events"])
    )
    limited = behavior.limit(
        case["prenormalized_desired_replicas"],
        current=case["current_replicas"],
        min_replicas=case["min_replicas"],
        max_replicas=case["max_replicas"],
        behavior=policy_behavior,
        history=history,
        now=NOW,
    )
    assert (limited.replicas, limited.condition) == (case["expected_replicas"], case["expected_condition"])


def _behavior_single_limit(case: dict[str, Any]) -> None:
    rules = spec.ScalingRules.model_validate(case["rules"])
    history = behavior.History(
        scale_up_events=_events(case["scale_up_events"]), scale_down_events=_events(case["scale_down_events"])
    )
    compute = {
        "calculateScaleUpLimitWithScalingRules": behavior.scale_up_limit,
        "calculateScaleDownLimitWithBehaviors": behavior.scale_down_limit,
    }[case["function"]]
    assert compute(rules, current=case["current_replicas"], history=history, now=NOW) == case["expected_limit"]


def _behavior_stabilization(case: dict[str, Any]) -> None:
    past = tuple(
        behavior.TimedRecommendation(entry["replicas"], _ago(entry["age_seconds"])) for entry in case["recommendations"]
    )
    stabilized, kept = behavior.stabilize(
        past,
        desired=case["prenormalized_desired_replicas"],
        current=case["current_replicas"],
        up_window=case["scale_up_stabilization_window_seconds"],
        down_window=case["scale_down_stabilization_window_seconds"],
        now=NOW,
    )
    assert stabilized == case["expected_stabilized_replicas"]
    if case.get("expected_recommendations_after") is not None:
        assert [entry.replicas for entry in kept] == case["expected_recommendations_after"]


def _scale_event_store(case: dict[str, Any]) -> None:
    if case["scaling_rules"] is None:
        pytest.skip(NO_BEHAVIOR_FIELD)
    events = _events(case["prev_events"])
    assert behavior.change_in_period(events, period=60, now=NOW) == case["expected_replicas_change_last_60s"]
    history = behavior.record_scale(
        behavior.History(scale_up_events=events),
        previous=case["prev_replicas"],
        new=case["prev_replicas"] + case["replica_change"],
        behavior=spec.Behavior(scale_up=_rules(case["scaling_rules"])),
        now=NOW,
    )
    after = [{"replica_change": event.change, "outdated": event.outdated} for event in history.scale_up_events]
    assert after == case["expected_events_after"]


def _per_pod_usage(case: dict[str, Any]) -> None:
    assert replicas.per_replica_usage(case["usage_milli"], case["status_replicas"]) == case["expected_milli"]


CHECKS = {
    "replica_calculator": _replica_calculator,
    "group_pods": _group_pods,
    "per_pod_usage": _per_pod_usage,
    "behavior_rate_limit": _behavior_rate_limit,
    "behavior_single_limit": _behavior_single_limit,
    "behavior_stabilization": _behavior_stabilization,
    "scale_event_store": _scale_event_store,
}


@pytest.mark.parametrize("case", CASES)
def test_hpa_case(case: dict[str, Any]) -> None:
    category = case["category"]
    if category in NOT_IN_BURSTSCALER:
        pytest.skip(f"{category}: {NOT_IN_BURSTSCALER[category]}")
    check = CHECKS.get(category)
    if check is None:
        pytest.fail(f"unknown category {category!r}: teach this harness what it means before trusting it")
    check(case)
