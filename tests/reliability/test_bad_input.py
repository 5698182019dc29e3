"""Bad input: fuzzed BurstPolicy documents through validation and the planning tick; extreme valid values.

A policy is user input. Whatever it holds (wrong types, nulls, huge numbers, unknown fields, not even a
mapping), validation returns either a model or problems that each name a field path, and the planner's
tick turns it into an outcome without raising: planned, or not planned with those problems (shown in
the Ready condition). Extreme but valid values are planned: maxReplicas 100000, no nodes at all,
10,000 policies in one tick.
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from burstscaler.api import validation
from burstscaler.operator import planner
from tests.operator.test_planner import NOW, node, workload

VALID: dict[str, Any] = {
    "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
    "minReplicas": 2,
    "maxReplicas": 20,
    "metrics": [{"prometheus": {"query": "sum(rps)", "target": {"type": "AverageValue", "averageValue": "10"}}}],
    "schedules": [{"cron": "0 9 * * 1-5", "duration": "2h", "minReplicas": 4}],
    "pendingPods": {"enabled": True, "graceSeconds": 15},
    "base": {"maxReplicas": 10},
    "burst": {"enabled": True, "provider": "alibaba-eci", "maxReplicas": 15, "budget": {"maxCostPerHour": "20"}},
    "drainBack": {"enabled": True, "minBurstSeconds": 120, "stabilizationSeconds": 60, "maxMovesPerTick": 10},
    "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
    "fallback": {"onMetricsFailure": "hold", "failureThreshold": 3},
    "pricing": {"currency": "USD", "eciPerVCPUSecond": "0.0000077", "eciPerGiBSecond": "0.00000096"},
    "priority": 0,
    "paused": False,
    "dryRun": False,
}
TOP_FIELDS = {"apiVersion", "kind", "metadata", "spec", "status"}

# Any JSON value, with the corners that break parsers: nulls, huge and negative numbers, NaN and
# infinities (YAML has .nan and .inf), empty and odd strings, nested containers.
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "-1", "1e400", "NaN", "10Gi", "abc", "0 9 * * *", "2h", "web", "Deployment"]),
    st.text(max_size=8),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _paths(document: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(document, dict):
        for key, value in document.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found += _paths(value, (*prefix, index))
    return found


@st.composite
def specs(draw: st.DrawFn) -> Any:
    """A valid spec with a few fields replaced, removed or added, or else any JSON value at all."""
    if draw(st.integers(0, 9)) == 0:
        return draw(values)
    document = copy.deepcopy(VALID)
    for _ in range(draw(st.integers(0, 4))):
        path = draw(st.sampled_from(_paths(document)))
        if not path:
            continue
        parent = document
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "remove", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(values)
        elif action == "remove" and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["unknownField", "maxreplicas", "x-extra"]))] = draw(values)
    return document


def tick(policies: dict[planner.Key, Any], workloads: list[planner.Workload], nodes: list[Any]) -> Any:
    inputs = planner.TickInputs(policies=policies, workloads={w.key: w for w in workloads}, nodes=nodes, pods=[])
    return asyncio.run(planner.Planner(fetcher=None).tick(inputs, now=NOW))


@pytest.mark.parametrize("value", [None, [], {}], ids=["null", "list", "mapping"])
def test_a_quantity_of_the_wrong_type_is_a_problem(value: Any) -> None:
    document = {**copy.deepcopy(VALID), "pricing": {"eciPerVCPUSecond": value}}
    policy = {"apiVersion": "burstscaler.io/v1alpha1", "kind": "BurstPolicy", "metadata": {"name": "web"}}
    model, problems = validation.validate_policy({**policy, "spec": document})
    assert model is None and problems[0].path == "spec.pricing.eciPerVCPUSecond"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs())
def test_validation_returns_a_model_or_problems_naming_a_field(document: Any) -> None:
    policy = {"apiVersion": "burstscaler.io/v1alpha1", "kind": "BurstPolicy", "metadata": {"name": "web"}}
    model, problems = validation.validate_policy({**policy, "spec": document})
    assert (model is None) == bool(problems), "a model xor problems"
    for problem in problems:
        assert problem.path.split(".")[0].split("[")[0] in TOP_FIELDS, problem
        assert problem.message, problem


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs())
def test_the_tick_plans_or_reports_never_raises(document: Any) -> None:
    body = {"metadata": {"name": "web", "namespace": "shop", "generation": 1}, "spec": document}
    outcome = tick({("shop", "web"): body}, [workload(replicas=2)], [node("ecs-1"), node("vk", virtual=True)])[
        ("shop", "web")
    ]
    if outcome.problems:
        assert not outcome.planned
        # Each problem names its field (an exception inside validation would be one problem on `spec`).
        assert all(problem.startswith("spec") for problem in outcome.problems), outcome.problems
    else:
        assert outcome.spec is not None


@pytest.mark.parametrize(
    ("spec", "nodes", "expected"),
    [
        pytest.param(
            {"minReplicas": 100_000, "maxReplicas": 100_000},
            [node("ecs-1"), node("vk", cpu="1000", virtual=True)],
            {"desired": 100_000, "base_target": 4},
            id="maxReplicas-100000",
        ),
        pytest.param({"minReplicas": 3, "maxReplicas": 10}, [], {"desired": 3, "base_target": 2}, id="no-nodes"),
        pytest.param(
            {"minReplicas": 3, "maxReplicas": 10, "burst": {"enabled": False}},
            [node("vk", cpu="1000", virtual=True)],
            {"desired": 3, "burst_target": 0},
            id="only-a-virtual-node-burst-off",
        ),
    ],
)
def test_extreme_valid_values_are_planned(spec: dict[str, Any], nodes: list[Any], expected: dict[str, Any]) -> None:
    body = {
        "metadata": {"name": "web", "namespace": "shop", "generation": 1},
        "spec": {"targetRef": {"name": "web"}, **spec},
    }
    outcome = tick({("shop", "web"): body}, [workload(replicas=2)], nodes)[("shop", "web")]
    assert outcome.planned and not outcome.problems
    assert {key: getattr(outcome, key) for key in expected} == expected
    assert outcome.base_target + outcome.burst_target + outcome.unplaceable == outcome.desired


def test_ten_thousand_policies_in_one_tick() -> None:
    count = 10_000
    policies = {
        ("shop", f"p{i}"): {
            "metadata": {"name": f"p{i}", "namespace": "shop", "generation": 1},
            "spec": {"targetRef": {"name": f"w{i}"}, "minReplicas": 1, "maxReplicas": 3},
        }
        for i in range(count)
    }
    workloads = [workload(f"w{i}", replicas=1) for i in range(count)]
    nodes = [node(f"ecs-{i}", cpu="64") for i in range(50)] + [node("vk", cpu="100000", virtual=True)]
    outcomes = tick(policies, workloads, nodes)
    assert len(outcomes) == count
    assert all(outcome.planned and outcome.desired == 1 for outcome in outcomes.values())
    # 50 nodes x 64 CPU of 1-CPU replicas hold 3,200; the rest must burst, none may vanish.
    assert sum(o.base_target + o.burst_target + o.unplaceable for o in outcomes.values()) == count
