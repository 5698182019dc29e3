"""The whole ``Cluster``: placement, preemption, terminating pods, symmetry, the first pod of a group."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest

from burstscaler import scheduler
from tests.scheduler import factories as f

GI = f.GI


@dataclasses.dataclass(frozen=True)
class Scenario:
    nodes: Sequence[scheduler.Node]
    bound: Sequence[tuple[scheduler.Pod, str]]
    incoming: scheduler.Pod
    node: str | None
    victims: tuple[str, ...] = ()
    message: str = ""
    terminating: tuple[str, ...] = ()


def _three_zones(cpu: int = 4000) -> list[scheduler.Node]:
    return [f.node(f"n{i}", zone=f"z{i}", cpu=cpu) for i in range(3)]


SCENARIOS = [
    pytest.param(
        Scenario(
            nodes=_three_zones(),
            bound=[(f.pod("a", cpu=2000), "n0"), (f.pod("b", cpu=1000), "n1")],
            incoming=f.pod("c", cpu=500, app="other"),
            node="n2",
        ),
        id="least-allocated-picks-the-emptiest-node",
    ),
    pytest.param(
        Scenario(nodes=_three_zones(), bound=[], incoming=f.pod("c", cpu=500), node="n0"),
        id="ties-go-to-the-first-node",
    ),
    pytest.param(
        Scenario(
            nodes=_three_zones(cpu=1000),
            bound=[(f.pod("a", cpu=800), "n0"), (f.pod("b", cpu=800), "n1"), (f.pod("c", cpu=800), "n2")],
            incoming=f.pod("d", cpu=500),
            node=None,
            message="0/3 nodes are available: 3 Insufficient cpu.",
        ),
        id="nothing-fits-message",
    ),
    pytest.param(
        Scenario(
            nodes=[
                f.node("n0", taints=(scheduler.Taint("k", "v"),)),
                f.node("n1", unschedulable=True),
                f.node("n2", cpu=100),
            ],
            bound=[],
            incoming=f.pod("d", cpu=500),
            node=None,
            message=(
                "0/3 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {k: v}, "
                "1 node(s) were unschedulable."
            ),
        ),
        id="message-lists-each-first-rejection",
    ),
    pytest.param(
        Scenario(
            nodes=[f.node("n0", unschedulable=True)],
            bound=[],
            incoming=f.pod("d", tolerations=({"key": "node.kubernetes.io/unschedulable", "operator": "Exists"},)),
            node="n0",
        ),
        id="cordoned-node-takes-a-pod-tolerating-unschedulable",
    ),
    pytest.param(
        Scenario(
            nodes=_three_zones(),
            bound=[(f.pod("a", affinity=f.anti_affinity("web")), "n0"), (f.pod("b", app="web"), "n1")],
            incoming=f.pod("c", app="web"),
            node="n2",
        ),
        id="symmetry-existing-anti-affinity-keeps-the-pod-away",
    ),
    pytest.param(
        Scenario(
            nodes=_three_zones(),
            bound=[(f.pod("a", app="web"), "n0"), (f.pod("b", app="web"), "n1"), (f.pod("c", app="web"), "n2")],
            incoming=f.pod("d", app="web", affinity=f.anti_affinity("web")),
            node=None,
            message="0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules.",
        ),
        id="hostname-anti-affinity-one-per-node",
    ),
    pytest.param(
        Scenario(
            nodes=_three_zones(),
            bound=[],
            incoming=f.pod("d", app="db", affinity=f.affinity("db")),
            node="n0",
        ),
        id="first-pod-of-a-group-passes-its-own-affinity",
    ),
    pytest.param(
        Scenario(
            nodes=_three_zones(),
            bound=[],
            incoming=f.pod("d", app="web", affinity=f.affinity("db")),
            node=None,
            message="0/3 nodes are available: 3 node(s) didn't match pod affinity rules.",
        ),
        id="affinity-to-a-group-that-does-not-exist",
    ),
    pytest.param(
        Scenario(
            nodes=_three_zones(),
            bound=[(f.pod("a", app="db"), "n2")],
            incoming=f.pod("d", app="web", affinity=f.affinity("db")),
            node="n2",
        ),
        id="affinity-follows-the-group's-zone",
    ),
    pytest.param(
        Scenario(
            nodes=[f.node("n0", zone="z0"), f.node("n1", zone="z0"), f.node("n2", zone="z1")],
            bound=[(f.pod("a", app="web"), "n2"), (f.pod("b", app="web"), "n2")],
            incoming=f.pod("c", app="web", spread=(f.spread("web"),)),
            node="n0",
        ),
        id="zone-spread-goes-to-the-empty-zone",
    ),
    pytest.param(
        Scenario(
            nodes=[f.node("n0", zone="z0"), f.node("n1", zone="z1")],
            bound=[(f.pod("a", app="web"), "n1"), (f.pod("b", app="web"), "n1")],
            incoming=f.pod("c", app="web", spread=(f.spread("web"),)),
            node="n0",
            terminating=("default/b",),
        ),
        id="terminating-pods-do-not-count-for-spread",
    ),
    pytest.param(
        Scenario(
            nodes=[f.node("n0", cpu=1000)],
            bound=[(f.pod("a", cpu=800), "n0")],
            incoming=f.pod("c", cpu=500),
            node=None,
            message="0/1 nodes are available: 1 Insufficient cpu.",
            terminating=("default/a",),
        ),
        id="terminating-pods-hold-their-room",
    ),
    pytest.param(
        Scenario(
            nodes=[f.node("n0", cpu=1000), f.node("n1", cpu=1000)],
            bound=[
                (f.pod("p1", cpu=300, priority=-10, app="placeholder"), "n0"),
                (f.pod("p2", cpu=300, priority=-10, app="placeholder"), "n0"),
                (f.pod("w", cpu=300, priority=0), "n0"),
                (f.pod("p3", cpu=600, priority=-10, app="placeholder"), "n1"),
                (f.pod("x", cpu=300, priority=5), "n1"),
            ],
            incoming=f.pod("c", cpu=500, priority=0),
            node="n1",
            victims=("default/p3",),
            message="0/2 nodes are available: 2 Insufficient cpu.",
        ),
        id="preemption-fewest-victims-lowest-priority",
    ),
    pytest.param(
        Scenario(
            nodes=[f.node("n0", cpu=1000)],
            bound=[
                (f.pod("p1", cpu=400, priority=-10), "n0"),
                (f.pod("p2", cpu=400, priority=-5), "n0"),
            ],
            incoming=f.pod("c", cpu=500, priority=0),
            node="n0",
            victims=("default/p1",),
            message="0/1 nodes are available: 1 Insufficient cpu.",
        ),
        id="preemption-reprieves-the-more-important-pod",
    ),
    pytest.param(
        Scenario(
            nodes=[f.node("n0", cpu=1000)],
            bound=[(f.pod("p1", cpu=800, priority=10), "n0")],
            incoming=f.pod("c", cpu=500, priority=0),
            node=None,
            message="0/1 nodes are available: 1 Insufficient cpu.",
        ),
        id="no-preemption-of-higher-priority",
    ),
    pytest.param(
        Scenario(
            nodes=[f.node("n0", cpu=1000, taints=(scheduler.Taint("k", "v"),))],
            bound=[(f.pod("p1", cpu=800, priority=-10, tolerations=({"operator": "Exists"},)), "n0")],
            incoming=f.pod("c", cpu=500, priority=0),
            node=None,
            message="0/1 nodes are available: 1 node(s) had untolerated taint {k: v}.",
        ),
        id="no-preemption-where-eviction-cannot-help",
    ),
    pytest.param(
        Scenario(
            nodes=[f.node("n0"), f.node("n1")],
            bound=[(f.pod("a", host_port=80), "n0")],
            incoming=f.pod("b", cpu=100, host_port=80),
            node="n1",
        ),
        id="host-port-taken",
    ),
    pytest.param(
        Scenario(
            nodes=[f.node("n0", labels={"disk": "ssd"}), f.node("n1")],
            bound=[(f.pod("a", cpu=3000), "n0")],
            incoming=f.pod("b", cpu=100, node_selector={"disk": "ssd"}),
            node="n0",
        ),
        id="node-selector-beats-free-room",
    ),
    pytest.param(
        Scenario(
            nodes=[f.node("n0", taints=(scheduler.Taint("k", "v", "PreferNoSchedule"),)), f.node("n1")],
            bound=[(f.pod("a", cpu=2000), "n1")],
            incoming=f.pod("b", cpu=100),
            node="n1",
        ),
        id="prefer-no-schedule-taint-weighs-three",
    ),
]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_schedule(scenario: Scenario) -> None:
    cluster = scheduler.Cluster(scenario.nodes)
    for pod, node in scenario.bound:
        cluster.bind(pod, node)
    for key in scenario.terminating:
        cluster.mark_terminating(key)
    before = {n.name: cluster.pods_on(n.name) for n in cluster.nodes()}
    decision = cluster.schedule(scenario.incoming)
    assert decision == scheduler.Decision(node=scenario.node, victims=scenario.victims, message=scenario.message)
    assert {n.name: cluster.pods_on(n.name) for n in cluster.nodes()} == before, "schedule() changed the state"


def test_schedule_and_bind_evicts_victims_and_binds() -> None:
    cluster = scheduler.Cluster([f.node("n0", cpu=1000)])
    cluster.bind(f.pod("placeholder", cpu=900, priority=-10), "n0")
    decision = cluster.schedule_and_bind(f.pod("work", cpu=500))
    assert decision.victims == ("default/placeholder",)
    assert cluster.node_of("default/work") == "n0"
    assert cluster.node_of("default/placeholder") is None


@pytest.mark.parametrize(
    ("replicas", "expected"),
    [
        pytest.param(6, {"n0": 2, "n1": 2, "n2": 2}, id="identical-pods-spread-by-least-allocated"),
        pytest.param(4, {"n0": 2, "n1": 1, "n2": 1}, id="remainder-goes-to-the-first-nodes"),
    ],
)
def test_replicas_spread(replicas: int, expected: dict[str, int]) -> None:
    cluster = scheduler.Cluster(_three_zones())
    for i in range(replicas):
        assert cluster.schedule_and_bind(f.pod(f"r{i}")).node is not None
    assert {n.name: len(cluster.pods_on(n.name)) for n in cluster.nodes()} == expected


def test_hostname_anti_affinity_places_one_per_node_then_stops() -> None:
    cluster = scheduler.Cluster(_three_zones())
    placed = [cluster.schedule_and_bind(f.pod(f"r{i}", affinity=f.anti_affinity("web"))).node for i in range(5)]
    assert placed[:3] == ["n0", "n1", "n2"]
    assert placed[3:] == [None, None]


def test_node_changes() -> None:
    cluster = scheduler.Cluster([f.node("n0", cpu=1000), f.node("n1", cpu=1000)])
    cluster.bind(f.pod("a", cpu=800), "n0")
    assert cluster.schedule(f.pod("b", cpu=500)).node == "n1"
    cluster.update_node(f.node("n1", cpu=1000, unschedulable=True))
    assert cluster.schedule(f.pod("b", cpu=500)).node is None
    cluster.update_node(f.node("n0", cpu=4000))
    assert cluster.schedule(f.pod("b", cpu=500)).node == "n0"
    assert [p.name for p in cluster.pods_on("n0")] == ["a"]
    cluster.remove_node("n0")
    assert cluster.node_of("default/a") is None
    assert [n.name for n in cluster.nodes()] == ["n1"]
    cluster.add_node(f.node("n2", cpu=1000))
    assert cluster.schedule(f.pod("b", cpu=500)).node == "n2"


def test_public_surface_matches_all() -> None:
    public = {name for name in dir(scheduler) if not name.startswith("_")}
    modules = {
        "cluster", "fit", "interpod", "labels", "nodeaffinity", "objects", "podclass", "ports",
        "preemption", "profile", "requests", "spread", "state", "status", "taints",
    }  # fmt: skip
    assert public - modules == set(scheduler.__all__)


def test_profile_arguments_apply_to_every_pod() -> None:
    added = {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [{"key": "pool", "operator": "In", "values": ["b"]}]}]
        }
    }
    settings = scheduler.Profile(
        added_affinity=added,
        fit_args=scheduler.FitArgs(ignored_resource_groups=frozenset({"example.com"})),
    )
    cluster = scheduler.Cluster(
        [f.node("n0", labels={"pool": "a"}), f.node("n1", labels={"pool": "b"})], scheduling_profile=settings
    )
    asks_extended = scheduler.Pod(
        "p", containers=(scheduler.Container(requests={"cpu": 100, "example.com/dongle": 1}),)
    )
    assert cluster.schedule(asks_extended).node == "n1"
    cluster.update_node(f.node("n1", labels={"pool": "c"}))
    assert cluster.schedule(asks_extended) == scheduler.Decision(
        node=None, message="0/2 nodes are available: 2 node(s) didn't match scheduler-enforced node affinity."
    )


def test_large_and_unique_label_groups_count_alike() -> None:
    # 40 replicas cross the size at which a label group's counts move to a dense row; StatefulSet-style
    # pods with a unique pod-name label stay in small groups. Anti-affinity must see every one of them.
    cluster = scheduler.Cluster([f.node(f"n{i:02d}", zone=f"z{i % 3}") for i in range(41)])
    for i in range(40):
        pod = dataclasses.replace(
            f.pod(f"web-{i}", affinity=f.anti_affinity("web")),
            labels={"app": "web", "statefulset.kubernetes.io/pod-name": f"web-{i}"} if i % 10 == 0 else {"app": "web"},
        )
        assert cluster.schedule_and_bind(pod).node is not None, i
    assert len({cluster.node_of(f"default/web-{i}") for i in range(40)}) == 40
    last = cluster.schedule_and_bind(f.pod("web-40", affinity=f.anti_affinity("web")))
    assert last.node is not None and last.node not in {cluster.node_of(f"default/web-{i}") for i in range(40)}
    assert cluster.schedule(f.pod("web-41", affinity=f.anti_affinity("web"))).node is None
    cluster.remove_node("n00")
    assert cluster.schedule(f.pod("web-41", affinity=f.anti_affinity("web"))).node is None


@pytest.mark.parametrize(
    ("incoming", "expected"),
    [
        pytest.param(
            f.pod("c", spread=(f.spread("web", hard=False),)),
            # zone weight ln(2 domains + 2); raw 2.77 / 2.77 / 1.39 rounds to 3 / 3 / 1; 100 * (3 + 1 - s) // 3.
            {"n0": 33, "n1": 33, "n2": 100},
            id="own-soft-zone-constraint",
        ),
        pytest.param(
            f.pod("c"),
            # System defaults: hostname ln(3 + 2) + 2, zone ln(2 + 2) + 4; raw 9.0 / 7.4 / 6 -> 9 / 7 / 6.
            {"n0": 66, "n1": 88, "n2": 100},
            id="system-default-spreading",
        ),
    ],
)
def test_spread_score_follows_kube_formula(incoming: scheduler.Pod, expected: dict[str, int]) -> None:
    cluster = scheduler.Cluster([f.node("n0", zone="z0"), f.node("n1", zone="z0"), f.node("n2", zone="z1")])
    bound = [("a", "n0"), ("b", "n0"), ("d", "n2")] if incoming.topology_spread_constraints else [("a", "n0")]
    for name, node in bound:
        cluster.bind(f.pod(name), node)
    assert scheduler.plugins.score_pod_topology_spread(cluster, incoming) == expected


def _preferred(kind: str, app: str, weight: int) -> dict[str, object]:
    term = {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": "kubernetes.io/hostname"}
    return {kind: {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": weight, "podAffinityTerm": term}]}}


@pytest.mark.parametrize(
    ("score", "incoming", "expected"),
    [
        pytest.param(
            scheduler.plugins.score_inter_pod_affinity,
            f.pod("c", affinity=_preferred("podAntiAffinity", "db", 50)),
            {"n0": 0, "n1": 100},  # raw -50 / 0, min..max onto 0..100
            id="inter-pod-preferred-anti-affinity",
        ),
        pytest.param(
            scheduler.plugins.score_inter_pod_affinity,
            f.pod("c", app="cache"),
            {"n0": 100, "n1": 0},  # the bound db pod's required affinity to cache pods, hard weight 1
            id="inter-pod-existing-required-affinity",
        ),
        pytest.param(
            scheduler.plugins.score_taint_toleration,
            f.pod("c"),
            {"n0": 0, "n1": 100},  # one untolerated PreferNoSchedule taint on n0, reversed
            id="taint-toleration",
        ),
        pytest.param(
            scheduler.plugins.score_node_affinity,
            f.pod(
                "c",
                affinity={
                    "nodeAffinity": {
                        "preferredDuringSchedulingIgnoredDuringExecution": [
                            {"weight": 10, "preference": {"matchExpressions": [{"key": "disk", "operator": "Exists"}]}}
                        ]
                    }
                },
            ),
            {"n0": 100, "n1": 0},
            id="node-affinity",
        ),
    ],
)
def test_scores_follow_kube_normalisation(score, incoming: scheduler.Pod, expected: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    cluster = scheduler.Cluster(
        [
            f.node("n0", labels={"disk": "ssd"}, taints=(scheduler.Taint("k", "v", "PreferNoSchedule"),)),
            f.node("n1", zone="z2"),
        ]
    )
    cluster.bind(f.pod("db", app="db", affinity=f.affinity("cache", key="kubernetes.io/hostname")), "n0")
    assert score(cluster, incoming) == expected
