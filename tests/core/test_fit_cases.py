"""Acceptance: kube-scheduler fit and cluster-autoscaler bin-packing cases, run through the core.

The file comes from ``BURSTSCALER_FIT_CASES`` (default ``../shared/data/fit/fit_cases.json`` next to
the repository), so the same test runs any file of that format. Categories and cases the core does
not model are skipped with the reason, never passed silently.
"""

from __future__ import annotations

import json
import os
import pathlib
from typing import Any

import numpy as np
import pytest

from burstscaler.core import placement, podrequest, snapshot

REPO = pathlib.Path(__file__).resolve().parents[2]
CASES_PATH = pathlib.Path(
    os.environ.get("BURSTSCALER_FIT_CASES", REPO.parent / "shared" / "data" / "fit" / "fit_cases.json")
)
NOT_MODELLED = {
    "most_allocated_score": "the core counts replicas that fit; it does not score nodes (MostAllocated)",
    "ca_fastpath_group_choice": "the core has no cluster-autoscaler fast-path group heuristic",
}


def _load() -> list[Any]:
    if not CASES_PATH.exists():
        return [pytest.param(None, id="missing", marks=pytest.mark.skip(reason=f"fit cases not found at {CASES_PATH}"))]
    cases = json.loads(CASES_PATH.read_text())["cases"]
    return [pytest.param(case, id=case["id"]) for case in cases]


def _pod_request(entry: dict[str, Any]) -> dict[str, float]:
    request = {
        "cpu": float(entry.get("cpu_milli") or 0),
        "memory": float(entry.get("memory_bytes") or 0),
        "ephemeral-storage": float(entry.get("ephemeral_storage_bytes") or 0),
    }
    request.update({name: float(value) for name, value in (entry.get("scalar") or {}).items()})
    return request


def _node_resources_fit(case: dict[str, Any]) -> None:
    node = case["node_allocatable"]
    pod = case["new_pod"]
    request = podrequest.effective(
        containers=[_pod_request(c) for c in pod["containers"]],
        init_containers=[_pod_request(c) for c in pod["init_containers"]],
        overhead=_pod_request(pod["overhead"]) if pod["overhead"] else None,
        ignored=case["ignored_resources"],
    )
    allocatable = {
        "cpu": node["cpu_milli"],
        "memory": node["memory_bytes"],
        "pods": node["pods"],
        "ephemeral-storage": node.get("ephemeral_storage_bytes", 0),
        **node.get("scalar", {}),
    }
    used: dict[str, float] = {"pods": float(len(case["existing_pods_requests"]))}
    for existing in case["existing_pods_requests"]:
        for name, value in _pod_request(existing).items():
            used[name] = used.get(name, 0.0) + value
    # A resource the node lacks is a column with capacity 0, as the scheduler counts it.
    resources = tuple(sorted(set(allocatable) | set(used) | set(request)))
    free = np.array([[allocatable.get(r, 0) - used.get(r, 0) for r in resources]], dtype=float)
    row = podrequest.vector(request, resources=resources)
    fits = placement.fit(free=free, requests=row[None, :], eligible=np.ones((1, 1), dtype=bool))[0, 0] >= 1
    flags = placement.insufficient(free=free[0], request=row)
    reasons = {
        "Too many pods" if r == snapshot.PODS else f"Insufficient {r}"
        for r, bad in zip(resources, flags, strict=True)
        if bad
    }
    assert bool(fits) == case["expected_fits"]
    assert reasons == set(case["expected_reasons"])


def _ca_binpacking_estimate(case: dict[str, Any]) -> None:
    groups = case["pod_groups"]
    if any("host_port" in g or "topology_spread" in g for g in groups):
        pytest.skip("host ports and topology spread are not modelled by the core's fit")
    template = case["template_node"]
    shape = np.array([template["cpu_milli"], template["memory_mib"] * 2**20, template["pods"]], dtype=float)
    total = sum(g["count"] for g in groups)
    # Each pod needs at most one new node, so `total` template nodes (or the limit) always suffice.
    node_count = case["max_nodes"] or total
    free = np.tile(shape, (node_count, 1))
    requests = np.array([[g["cpu_milli"] or 0, g["memory_bytes"] or 0, 1] for g in groups], dtype=float)
    # Larger pods first, as the estimator orders them; first fit in node order is the allocation rule.
    size = requests[:, 0] / shape[0] + requests[:, 1] / shape[1]
    order = np.argsort(-size, kind="stable").astype(np.int64)
    result = placement.allocate(
        free=free,
        requests=requests,
        eligible=np.ones((len(groups), node_count), dtype=bool),
        asks=np.array([g["count"] for g in groups], dtype=np.int64),
        order=order,
    )
    used_nodes = int(np.count_nonzero(result.free_after[:, 2] < shape[2]))
    assert used_nodes == case["expected_node_count"]
    assert int(result.granted.sum()) == case["expected_pod_count"]
    if case["expected_processed_group"] is not None:
        assert np.flatnonzero(result.granted).tolist() == [case["expected_processed_group"]]


RUNNERS = {"node_resources_fit": _node_resources_fit, "ca_binpacking_estimate": _ca_binpacking_estimate}


@pytest.mark.parametrize("case", _load())
def test_fit_case(case: dict[str, Any]) -> None:
    category = case["category"]
    if category in NOT_MODELLED:
        pytest.skip(NOT_MODELLED[category])
    runner = RUNNERS.get(category)
    if runner is None:
        pytest.skip(f"unknown category {category!r}: no runner")
    runner(case)
