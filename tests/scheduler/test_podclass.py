"""The per-class cached path (``podclass``) chooses exactly what the plain profile path chooses."""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest

from burstscaler.scheduler import profile
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
    assert placed, "the scenario placed nothing: it tests nothing"
