"""Bad policies get one specific message each, with the field path and what to write instead."""

from __future__ import annotations

import pathlib
from typing import Any

import pytest
import yaml

from burstscaler.api import validation
from tests.api.factories import make_policy, prometheus_metric

EXAMPLES = sorted((pathlib.Path(__file__).parents[2] / "manifests" / "examples").glob("*.yaml"))


def _with(document: dict[str, Any], **top: Any) -> dict[str, Any]:
    document.update(top)
    return document


BAD_POLICIES = [
    pytest.param(
        make_policy(minReplicas=5, maxReplicas=3), "spec", "minReplicas (5) exceeds maxReplicas (3)", id="min>max"
    ),
    pytest.param(make_policy(maxReplicas=0), "spec.maxReplicas", "greater than or equal to 1", id="max-zero"),
    pytest.param(make_policy(minReplicas=-1), "spec.minReplicas", "greater than or equal to 0", id="negative-min"),
    pytest.param(make_policy(maxReplica=3), "spec.maxReplica", "did you mean `maxReplicas`", id="typo-field"),
    pytest.param(
        make_policy(burst={"provider": "aws"}), "spec.burst.provider", "write one of 'alibaba-eci'", id="bad-provider"
    ),
    pytest.param(
        make_policy(pricing={"eciPerVCPUSecond": "-0.1"}),
        "spec.pricing.eciPerVCPUSecond",
        "must not be negative",
        id="negative-price",
    ),
    pytest.param(
        make_policy(pricing={"eciPerGiBSecond": "cheap"}),
        "spec.pricing.eciPerGiBSecond",
        "is not a Kubernetes quantity",
        id="price-not-a-number",
    ),
    pytest.param(
        make_policy(burst={"budget": {"maxCostPerHour": "-5"}}),
        "spec.burst.budget.maxCostPerHour",
        "must not be negative",
        id="negative-budget",
    ),
    pytest.param(
        make_policy(schedules=[{"cron": "0 9 * *", "duration": "2h", "minReplicas": 4}]),
        "spec.schedules[0].cron",
        "is not a 5-field cron expression",
        id="cron-4-fields",
    ),
    pytest.param(
        make_policy(schedules=[{"cron": "0 25 * * *", "duration": "2h", "minReplicas": 4}]),
        "spec.schedules[0].cron",
        "is not a 5-field cron expression",
        id="cron-hour-25",
    ),
    pytest.param(
        make_policy(schedules=[{"cron": "0 9 * * *", "duration": "two hours", "minReplicas": 4}]),
        "spec.schedules[0].duration",
        "is not a duration",
        id="bad-duration",
    ),
    pytest.param(
        make_policy(schedules=[{"cron": "0 9 * * *", "duration": "2h", "minReplicas": 4, "timezone": "Mars/Base"}]),
        "spec.schedules[0].timezone",
        "is not an IANA time zone",
        id="bad-timezone",
    ),
    pytest.param(
        make_policy(schedules=[{"cron": "0 9 * * *", "duration": "2h", "minReplicas": 40}]),
        "spec",
        "schedules[0].minReplicas (40) exceeds maxReplicas (10)",
        id="schedule-above-max",
    ),
    pytest.param(
        make_policy(metrics=[prometheus_metric({"type": "Value"})]),
        "spec.metrics[0].prometheus.target",
        "needs `value`",
        id="value-target-without-value",
    ),
    pytest.param(
        make_policy(metrics=[prometheus_metric({"type": "AverageValue", "averageValue": "0"})]),
        "spec.metrics[0].prometheus.target",
        "must be greater than zero",
        id="zero-target",
    ),
    pytest.param(
        make_policy(metrics=[prometheus_metric({"type": "Average", "averageValue": "5"})]),
        "spec.metrics[0].prometheus.target.type",
        "write one of 'Value', 'AverageValue' or 'Utilization'",
        id="unknown-target-type",
    ),
    pytest.param(
        make_policy(metrics=[prometheus_metric({"type": "AverageValue", "averageValue": "5"}, query="  ")]),
        "spec.metrics[0].prometheus.query",
        "query is empty",
        id="blank-query",
    ),
    pytest.param(
        make_policy(metrics=[{}]), "spec.metrics[0]", "set exactly one of `prometheus` or `cpu`", id="metric-no-source"
    ),
    pytest.param(
        make_policy(fallback={"onMetricsFailure": "fixed"}),
        "spec.fallback",
        "needs `replicas`",
        id="fixed-fallback-without-replicas",
    ),
    pytest.param(
        make_policy(fallback={"onMetricsFailure": "fixed", "replicas": 50}),
        "spec",
        "fallback.replicas (50) must lie within minReplicas..maxReplicas",
        id="fallback-above-max",
    ),
    pytest.param(
        make_policy(fallback={"failureThreshold": 0}),
        "spec.fallback.failureThreshold",
        "greater than or equal to 1",
        id="zero-failure-threshold",
    ),
    pytest.param(
        make_policy(burst={"provider": "generic"}),
        "spec.burst",
        "provider generic has no defaults",
        id="generic-without-routing",
    ),
    pytest.param(
        make_policy(burst={"podTemplatePatch": {"nodeSelector": {"a": "b"}}}),
        "spec.burst.podTemplatePatch.nodeSelector",
        "only metadata.labels, metadata.annotations, spec.nodeSelector",
        id="patch-not-a-template",
    ),
    pytest.param(
        make_policy(targetRef={"kind": "DaemonSet", "name": "agent"}),
        "spec.targetRef.kind",
        "write one of 'Deployment' or 'StatefulSet'",
        id="daemonset-target",
    ),
    pytest.param(
        make_policy(targetRef={"kind": "Deployment", "name": "Web_App"}),
        "spec.targetRef.name",
        "does not match the pattern",
        id="target-name-not-dns",
    ),
    pytest.param(
        make_policy(behavior={"scaleUp": {"selectPolicy": "Largest"}}),
        "spec.behavior.scaleUp.selectPolicy",
        "write one of 'Max', 'Min' or 'Disabled'",
        id="unknown-select-policy",
    ),
    pytest.param(
        make_policy(behavior={"scaleDown": {"policies": [{"type": "Pods", "value": 1, "periodSeconds": 3600}]}}),
        "spec.behavior.scaleDown.policies[0].periodSeconds",
        "less than or equal to 1800",
        id="period-too-long",
    ),
    pytest.param(
        make_policy(drainBack={"maxMovesPerTick": 0}),
        "spec.drainBack.maxMovesPerTick",
        "greater than or equal to 1",
        id="zero-moves",
    ),
    pytest.param(make_policy(paused="sometimes"), "spec.paused", "expected true or false", id="paused-not-bool"),
    pytest.param(
        make_policy(pricing={"currency": "dollars"}), "spec.pricing.currency", "does not match", id="currency-code"
    ),
    pytest.param(
        _with(make_policy(), apiVersion="burstscaler.io/v1"),
        "apiVersion",
        "write one of 'burstscaler.io/v1alpha1'",
        id="wrong-api-version",
    ),
    pytest.param(_with(make_policy(), spec=None), "spec", "expected a mapping of fields", id="spec-null"),
    pytest.param(
        make_policy(pricing={"eciPerVCPUSecond": None}),
        "spec.pricing.eciPerVCPUSecond",
        "expected a quantity written as a string or a number, got NoneType",
        id="price-null",
    ),
    pytest.param(
        make_policy(burst={"budget": {"maxCostPerHour": [5]}}),
        "spec.burst.budget.maxCostPerHour",
        "got list",
        id="budget-list",
    ),
]


@pytest.mark.parametrize(("document", "path", "fragment"), BAD_POLICIES)
def test_bad_policy_gets_a_specific_message(document: dict[str, Any], path: str, fragment: str) -> None:
    model, problems = validation.validate_policy(document)
    assert model is None
    matching = [problem for problem in problems if problem.path == path and fragment in problem.message]
    assert matching, f"expected {path}: ...{fragment}... among {[str(p) for p in problems]}"


def test_every_problem_is_reported_not_just_the_first() -> None:
    document = make_policy(minReplicas=-1, burst={"provider": "aws"}, pricing={"eciPerVCPUSecond": "-1"})
    _, problems = validation.validate_policy(document)
    assert {problem.path for problem in problems} >= {
        "spec.minReplicas",
        "spec.burst.provider",
        "spec.pricing.eciPerVCPUSecond",
    }


@pytest.mark.parametrize("document", [None, [], "text", 3], ids=["null", "list", "string", "number"])
def test_non_mapping_documents_are_problems_not_crashes(document: Any) -> None:
    model, problems = validation.validate_policy(document)
    assert model is None
    assert "expected a mapping" in problems[0].message


@pytest.mark.parametrize("path", EXAMPLES, ids=[path.stem for path in EXAMPLES])
def test_examples_are_valid(path: pathlib.Path) -> None:
    model, problems = validation.validate_policy(yaml.safe_load(path.read_text()))
    assert problems == []
    assert model is not None


def test_examples_cover_the_three_shapes() -> None:
    providers = set()
    base_caps = []
    for path in EXAMPLES:
        model, _ = validation.validate_policy(yaml.safe_load(path.read_text()))
        assert model is not None
        providers.add(model.spec.burst.provider)
        base_caps.append(model.spec.base.max_replicas)
    assert {"alibaba-eci", "generic"} <= providers
    assert 0 in base_caps, "the ASK example has no ECS room: base.maxReplicas 0"


def test_validate_spec_paths_start_at_spec() -> None:
    model, problems = validation.validate_spec({"targetRef": {"name": "web"}, "maxReplicas": 3, "minReplicas": 9})
    assert model is None
    assert problems[0].path == "spec"
