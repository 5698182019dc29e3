"""Acceptance: the scheduler model against cases transcribed from Kubernetes' own plugin tests.

Reads ``BURSTSCALER_SCHED_CASES`` (default ``<repo>/../shared/data/sched/sched_cases.json``), one test
per case id. Each category is checked against the single plugin it names, run on its own as the
source unit tests run it (``burstscaler.scheduler.plugins``, the very functions the whole
``Cluster`` composes). A category the model does not handle fails; only a case that needs what the
model deliberately leaves out (DRA device classes and resource slices) is skipped, saying so.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from burstscaler import scheduler
from burstscaler.scheduler import plugins
from tests.scheduler import cases as case_io

_PATH = case_io.cases_path()


def _load() -> list[Any]:
    if not _PATH.exists():
        return [pytest.param(None, id="no-cases", marks=pytest.mark.skip(reason=f"no scheduler cases at {_PATH}"))]
    data = json.loads(_PATH.read_text())
    return [pytest.param(case, id=case["id"]) for case in data["cases"]]


def _incoming(case: Mapping[str, Any]) -> scheduler.Pod:
    return case_io.pod(case["pod"], name=case["pod"].get("name") or "incoming")


def _check_filter(case: Mapping[str, Any], result: plugins.FilterResult) -> None:
    expected = case["expected"]
    assert sorted(result.feasible) == sorted(expected["feasible_nodes"])
    got_status = {name: s.code for name, s in result.statuses.items() if not s.ok}
    assert got_status == expected["status"]
    for name, reasons in (expected.get("reason") or {}).items():
        assert sorted(result.statuses[name].reasons) == sorted(reasons), name
    if "prefilter_status" in expected:
        assert result.prefilter == expected["prefilter_status"]


def _resources_fit(case: Mapping[str, Any]) -> None:
    args = case["plugin_args"].get("NodeResourcesFitArgs") or {}
    features = case["plugin_args"].get("features") or {}
    model = case_io.cluster(case, pod_level_resources=bool(features.get("EnablePodLevelResources")))
    result = plugins.filter_node_resources_fit(
        model,
        _incoming(case),
        ignored_resources=args.get("ignoredResources") or (),
        ignored_groups=args.get("ignoredResourceGroups") or (),
    )
    _check_filter(case, result)


def _weights(raw: list[Mapping[str, Any]]) -> tuple[tuple[str, int], ...]:
    return tuple((r["name"], int(r.get("weight", 1))) for r in raw)


def _least_allocated(case: Mapping[str, Any]) -> None:
    strategy = case["plugin_args"]["scoringStrategy"]
    assert strategy["type"] == "LeastAllocated", f"scoring strategy {strategy['type']} is not modelled"
    scores = plugins.score_least_allocated(
        case_io.cluster(case), _incoming(case), resources=_weights(strategy["resources"])
    )
    assert scores == case["expected"]["scores"]


def _balanced(case: Mapping[str, Any]) -> None:
    args = case["plugin_args"]["NodeResourcesBalancedAllocationArgs"]
    scores = plugins.score_balanced_allocation(
        case_io.cluster(case), _incoming(case), resources=_weights(args["resources"])
    )
    assert scores == case["expected"]["scores"]


def _taints(case: Mapping[str, Any]) -> None:
    _check_filter(case, plugins.filter_taint_toleration(case_io.cluster(case), _incoming(case)))


def _node_affinity(case: Mapping[str, Any]) -> None:
    added = (case["plugin_args"].get("NodeAffinityArgs") or {}).get("addedAffinity")
    result = plugins.filter_node_affinity(case_io.cluster(case), _incoming(case), added_affinity=added)
    if not case["plugin_args"].get("runPreFilter", True):
        # The source test calls Filter alone: there is no PreFilter outcome to compare.
        result = plugins.FilterResult(statuses=result.statuses)
    _check_filter(case, result)


def _inter_pod(case: Mapping[str, Any]) -> None:
    _check_filter(case, plugins.filter_inter_pod_affinity(case_io.cluster(case), _incoming(case)))


def _spread(case: Mapping[str, Any]) -> None:
    args = case["plugin_args"].get("PodTopologySpreadArgs") or {}
    assert args.get("defaultingType", "List") == "List" and not args.get("defaultConstraints"), (
        f"PodTopologySpreadArgs {args} are not modelled"
    )
    result = plugins.filter_pod_topology_spread(
        case_io.cluster(case),
        _incoming(case),
        inclusion_policies=bool(case["plugin_args"].get("enableNodeInclusionPolicyInPodTopologySpread")),
        system_defaults=False,
    )
    _check_filter(case, result)


def _binpacking(case: Mapping[str, Any]) -> None:
    assert case["plugin_args"].get("estimator") == "binpacking"
    new_nodes, scheduled = case_io.estimate_binpacking(case)
    assert (new_nodes, scheduled) == (case["expected"]["new_nodes"], case["expected"]["scheduled_pods"])


CHECKS: dict[str, Callable[[Mapping[str, Any]], None]] = {
    "node_resources_fit": _resources_fit,
    "least_allocated_score": _least_allocated,
    "balanced_allocation_score": _balanced,
    "taint_toleration_filter": _taints,
    "node_affinity_filter": _node_affinity,
    "interpod_affinity_filter": _inter_pod,
    "topology_spread_filter": _spread,
    "ca_binpacking_constraints": _binpacking,
}

#: plugin_args keys that only DRA-backed cases carry (device classes, resource slices): not modelled.
_DRA_KEYS = ("deviceClasses", "resourceSlices", "resourceClaims")


@pytest.mark.parametrize("case", _load())
def test_case(case: Mapping[str, Any]) -> None:
    if any(key in case["plugin_args"] for key in _DRA_KEYS):
        pytest.skip("needs DRA device classes / resource slices, which the model does not model")
    check = CHECKS.get(case["category"])
    if check is None:
        pytest.fail(f"category {case['category']!r} is not handled by the scheduler model")
    check(case)
