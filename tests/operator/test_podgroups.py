"""Pod groups kept between ticks equal a from-scratch grouping, in input order, after rounds of changes."""

from __future__ import annotations

import dataclasses
import random

import pytest

from burstscaler.cluster import objects
from burstscaler.operator import podgroups


def pod(name: str, workload: str) -> objects.PodRecord:
    return objects.pod_record(
        {
            "metadata": {
                "name": name,
                "namespace": "ns",
                "labels": {"pod-template-hash": "h"},
                "ownerReferences": [{"kind": "ReplicaSet", "name": f"{workload}-h", "controller": True}],
            },
            "spec": {"nodeName": "n1"},
            "status": {"phase": "Running"},
        }
    )


def from_scratch(pods: list[objects.PodRecord]) -> dict[tuple[str, str, str], list[objects.PodRecord]]:
    groups: dict[tuple[str, str, str], list[objects.PodRecord]] = {}
    for record in pods:
        groups.setdefault(record.workload, []).append(record)
    return groups


WORKLOADS = [f"w{index}" for index in range(12)]


def change(pods: list[objects.PodRecord], rng: random.Random, *, how: str) -> None:
    """One round of changes of the kind the indices make (or a reordering, which they do not)."""
    if how == "in place":  # a few records rebuilt, some as another workload's pod, two swapped
        for position in rng.sample(range(len(pods)), 3):
            if rng.random() < 0.5:
                pods[position] = dataclasses.replace(pods[position])
            else:
                pods[position] = pod(f"p{rng.randrange(10**6)}", rng.choice(WORKLOADS))
        first, second = rng.sample(range(len(pods)), 2)
        pods[first], pods[second] = pods[second], pods[first]
    elif how == "added and removed":
        del pods[rng.randrange(len(pods))]
        pods.insert(rng.randrange(len(pods)), pod(f"p{rng.randrange(10**6)}", rng.choice(WORKLOADS)))
    else:
        rng.shuffle(pods)


@pytest.mark.parametrize("seed", range(6))
def test_groups_equal_a_from_scratch_grouping_in_order_after_each_round(seed: int) -> None:
    rng = random.Random(seed)
    pods = [pod(f"p{index}", rng.choice(WORKLOADS)) for index in range(200)]
    groups = podgroups.PodGroups()
    seen: dict[tuple[str, str, str], tuple[list[objects.PodRecord], int]] = {}
    for round_ in range(30):
        groups.sync(pods)
        expected = from_scratch(pods)
        for workload in [("ns", "Deployment", name) for name in WORKLOADS]:
            got = list(groups.get(workload))
            assert got == expected.get(workload, []), f"round {round_}, {workload}"
            before = seen.get(workload)
            if before is not None and not _same(before[0], got):
                assert groups.version(workload) != before[1], f"round {round_}, {workload}: a stale version"
            seen[workload] = (got, groups.version(workload))
        change(pods, rng, how=rng.choice(["in place", "in place", "in place", "added and removed", "shuffled"]))


def _same(first: list[objects.PodRecord], second: list[objects.PodRecord]) -> bool:
    return len(first) == len(second) and all(a is b for a, b in zip(first, second, strict=True))


def test_a_version_changes_exactly_when_the_workloads_pods_change() -> None:
    pods = [pod(f"a{index}", "a") for index in range(10)] + [pod(f"b{index}", "b") for index in range(10)]
    groups = podgroups.PodGroups()
    groups.sync(pods)
    a, b = ("ns", "Deployment", "a"), ("ns", "Deployment", "b")
    before = groups.version(a), groups.version(b)
    pods[0] = dataclasses.replace(pods[0])  # a's pod rebuilt in place
    groups.sync(list(pods))
    assert groups.version(a) != before[0]
    assert groups.version(b) == before[1]
    assert groups.version(("ns", "Deployment", "none")) == 0
    assert groups.get(("ns", "Deployment", "none")) == ()


def test_after_pods_are_added_and_removed_an_unchanged_group_keeps_its_version() -> None:
    pods = [pod(f"a{index}", "a") for index in range(10)] + [pod(f"b{index}", "b") for index in range(10)]
    groups = podgroups.PodGroups()
    groups.sync(pods)
    a, b, c = (("ns", "Deployment", name) for name in "abc")
    before = groups.version(a), groups.version(b)
    groups.sync([*pods[:10], *pods[11:], pod("c0", "c")])  # b lost a pod, c is new, a is as it was
    assert groups.version(a) == before[0]
    assert groups.version(b) != before[1]
    assert groups.version(c) != 0
    assert list(groups.get(b)) == pods[11:]
