"""The per-class cached path (``podclass``) chooses exactly what the plain profile path chooses."""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest

from burstscaler import scheduler
from burstscaler.scheduler import preemption, profile
from tests.scheduler import factories


def _plain_choice(cluster, pod) -> int | None:  # type: ignore[no-untyped-def]
    filtered = profile.run_filters(cluster.state, pod, cluster.profile)
    idx = np.flatnonzero(filtered.feasible)
    if idx.size == 0:
        return None
    totals = profile.score(cluster.state, pod, feasible=filtered.feasible, profile=cluster.profile)
    return int(idx[int(np.argmax(totals))])


@pytest.mark.parametrize("seed", [pytest.param(seed, id=f"seed-{seed}") for seed in range(4)])
def test_cached_path_matches_plain_path(seed: int) -> None:
    rng = random.Random(seed)
    cluster = factories.random_cluster(rng, nodes=24)
    templates = factories.random_templates(rng)
    placed = []
    for step in range(160):
        template = rng.choice(templates)
        pod = dataclasses.replace(template, name=f"{template.name}-{step}")
        expected = _plain_choice(cluster, pod)
        got = cluster._evaluator.choose(pod)
        assert got == expected, f"step {step}: {pod.name}"
        if got is not None:
            cluster.bind(pod, cluster.state.nodes[got].name)
            placed.append(pod.key)
        if placed and rng.random() < 0.1:
            cluster.delete_pod(placed.pop(rng.randrange(len(placed))))
        if placed and rng.random() < 0.05:
            cluster.mark_terminating(rng.choice(placed))
        if rng.random() < 0.03:
            # A node cordoned or uncordoned: the node-static answers must be recomputed.
            chosen = rng.choice(cluster.nodes())
            cluster.update_node(dataclasses.replace(chosen, unschedulable=not chosen.unschedulable))
        if rng.random() < 0.02:
            # A node leaves with its pods, and a fresh one joins: indexes shift, arrays shrink and grow.
            gone = rng.choice(cluster.nodes()).name
            placed = [key for key in placed if cluster.node_of(key) != gone]
            cluster.remove_node(gone)
            cluster.add_node(factories.node(f"new-{step}", zone=f"z{step % 3}", cpu=4000))
    assert placed, "the scenario placed nothing: it tests nothing"


@pytest.mark.parametrize("seed", [pytest.param(seed, id=f"seed-{seed}") for seed in range(3)])
def test_preemption_with_cached_fits_matches_plain_fits(seed: int) -> None:
    rng = random.Random(seed)
    cluster = factories.random_cluster(rng, nodes=6)
    # Fill the cluster with low-priority placeholders of mixed sizes.
    for i in range(400):
        placeholder = factories.pod(f"ph-{i}", cpu=rng.choice([200, 500]), app="placeholder", priority=-10)
        if cluster.schedule_and_bind(placeholder).node is None:
            break
    templates = factories.random_templates(rng)
    preempted = 0
    for step in range(24):
        template = rng.choice(templates)
        pod = dataclasses.replace(template, name=f"{template.name}-{step}", priority=rng.choice([0, 5]))
        filtered = profile.run_filters(cluster.state, pod, cluster.profile)
        if filtered.feasible.any():
            cluster.schedule_and_bind(pod)
            continue

        def plain(node: int, pod: scheduler.Pod = pod) -> bool:
            return bool(profile.run_filters(cluster.state, pod, cluster.profile).feasible[node])

        expected = preemption.preempt(cluster.state, pod, filtered=filtered, fits=plain, needs=None)
        decision = cluster.schedule_and_bind(pod)
        got = None if decision.node is None else (decision.node, decision.victims)
        want = None if expected is None else (cluster.state.nodes[expected.node].name, expected.victims)
        assert got == want, f"step {step}: {pod.name}"
        preempted += bool(decision.victims)
    assert preempted, "no pod preempted: the scenario tests nothing"
