"""Small helpers the reliability scenarios share: the e2e helpers, plus the checks every scenario ends with."""

from __future__ import annotations

from typing import Any

from tests.e2e.harness import client, hosting, objects
from tests.e2e.test_operator import LOAD, condition, load_policy, ready, replicas, workload_pods

from .invariants import Timeline
from .processes import Operator

__all__ = [
    "LOAD",
    "TIMEOUT",
    "condition",
    "load_policy",
    "reached_only_the_operator",
    "ready",
    "ready_pods",
    "replicas",
    "settled",
]

# Generous: the suite must pass on a loaded 2-core machine; nothing here measures time.
TIMEOUT = 90.0


def ready_pods(api: client.RestClient, name: str) -> int:
    """Ready pods of the base `name` and of its twin."""
    return sum(map(ready, workload_pods(api, name)))


def cluster_of(api: client.RestClient, *, ecs_cpu: tuple[str, ...] = ("2",)) -> None:
    """ECS nodes of the given CPU (8 GiB each) and the virtual node."""
    for index, cpu in enumerate(ecs_cpu, start=1):
        api.create(objects.ecs_node(f"ecs-{index}", cpu=cpu, memory="8Gi"))
    api.create(objects.virtual_node())


def settled(operator: Operator) -> None:
    """The checks every scenario ends with: the process is alive and nothing escaped as a traceback."""
    assert operator.alive, f"the operator exited:\n{operator.log()[-3000:]}"
    assert operator.tracebacks() == [], "an exception escaped:\n" + "\n\n".join(operator.tracebacks()[:3])


def bounded(apiserver: hosting.ApiServer, name: str, *, min_replicas: int, max_replicas: int, since: int) -> Timeline:
    """The workload's timeline, checked against the policy's bounds on every write.

    maxReplicas bounds base + burst at all times, except the surge of a drain-back move in flight
    (make-before-break raises base before burst comes down; Row.serving leaves that surge out).
    minReplicas bounds base + burst from `since` on (the scenario's first convergence).
    """
    timeline = Timeline.of(apiserver, name)
    assert timeline.max_serving() <= max_replicas, _worst(timeline, lambda row: row.serving > max_replicas)
    assert timeline.min_total(since=since) >= min_replicas, _worst(timeline, lambda row: row.total < min_replicas)
    return timeline


def _worst(timeline: Timeline, bad: Any) -> str:
    rows = [row for row in timeline.rows if row.base is not None and bad(row)]
    return f"{len(rows)} writes out of bounds, first: {rows[:3]}"


def reached_only_the_operator(apiserver: hosting.ApiServer, armed: list[Any], *, actor_before: int) -> None:
    """Every fault caught the operator at least once and nobody else, while the actor kept polling.

    Faults are armed for the operator's User-Agent (tests/e2e/harness/faults.py); `actor_before` is
    the actor's request count when they were armed, so its growth shows the actor used the API (the
    same cluster-wide paths) all along without consuming a single charge.
    """
    for fault in armed:  # in the test's output: what each row really exercised
        print(f"fault {fault.method} {fault.pattern.pattern}: {fault.hits} hits {dict(fault.caught)}")
    unhit = [(f.method, f.pattern.pattern) for f in armed if f.hits == 0]
    assert unhit == [], f"faults never exercised by the operator: {unhit}"
    strays = [(f.method, f.pattern.pattern, dict(f.caught)) for f in armed if set(f.caught) != {"operator"}]
    assert strays == [], f"faults caught another client: {strays}"
    polled = apiserver.call(lambda emulator: emulator.requests_by_client["actor"]) - actor_before
    assert polled > 0, "the actor made no request while the faults were armed"
