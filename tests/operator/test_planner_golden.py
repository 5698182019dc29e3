"""The planner's tick on a fixed generated cluster gives, tick after tick, exactly the saved outcomes.

The saved digest (``data/planner_golden.json``) was computed by the planner before it cached derived data
between ticks: a cache serving a stale value (a policy edited, a workload rolled out, pods changed) shows as
a difference here. See ``tickgolden`` for the cluster and how to regenerate the file (only for an intended
change of the plans).
"""

from __future__ import annotations

import json

import pytest

from tests.operator import tickgolden


@pytest.fixture(scope="module")
def saved() -> list[dict[str, object]]:
    return json.loads(tickgolden.GOLDEN.read_text())


@pytest.fixture(scope="module")
def ran() -> list[dict[str, object]]:
    # Through JSON as the saved file went: tuples become lists on both sides.
    return json.loads(tickgolden.dumps(tickgolden.run()))


def test_every_tick_plans_every_policy_as_saved(saved: list[dict[str, object]], ran: list[dict[str, object]]) -> None:
    assert len(ran) == len(saved) == tickgolden.TICKS
    for tick, (got, want) in enumerate(zip(ran, saved, strict=True)):
        assert sorted(got) == sorted(want), f"tick {tick}: other policies"
        for key in want:
            assert got[key] == want[key], f"tick {tick}, policy {key}"


def test_the_cluster_exercises_what_the_caches_hold(saved: list[dict[str, object]]) -> None:
    # Guards the fixture: a golden run planning nothing interesting would let any cache pass.
    last = saved[-1]
    reasons = {outcome["decision"].get("reason") for outcome in last.values() if outcome["decision"]}  # type: ignore[index, union-attr]
    assert {"within-capacity", "unplaceable", "budget", "ecs-full"} <= reasons
    assert sum(outcome["burst_target"] for outcome in last.values()) > 0  # type: ignore[index, misc]
    assert any(outcome["problems"] for outcome in last.values())  # type: ignore[index]
    assert any(outcome["refused"] for outcome in last.values())  # type: ignore[index]
    first, later = saved[0], saved[-1]
    assert first["shop/app-5"]["replica_requests"] != later["shop/app-5"]["replica_requests"]  # type: ignore[index]
    assert first["shop/app-1"]["spec"] != later["shop/app-1"]["spec"]  # type: ignore[index]
