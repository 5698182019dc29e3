"""sim.recommender.StepCache: a step's repeat call is answered by the state's identity or its value, never wrongly."""

from __future__ import annotations

from typing import Any

import numpy as np

from burstscaler.api import spec
from burstscaler.core import recommend
from burstscaler.sim import recommender

STEP = 30.0
LOADS = np.concatenate([np.full(10, 100.0), np.full(30, 400.0), np.full(40, 150.0)])


def make_policy() -> spec.BurstPolicySpec:
    document: dict[str, Any] = {
        "targetRef": {"name": "web"},
        "minReplicas": 1,
        "maxReplicas": 1000,
        "metrics": [{"prometheus": {"query": "q", "target": {"type": "AverageValue", "averageValue": "10"}}}],
    }
    return spec.BurstPolicySpec.model_validate(document)


def test_identity_and_value_hits_give_what_a_recommender_alone_gives() -> None:
    cache = recommender.StepCache()
    policy = make_policy()
    # Two share the cache's initial state object (identity hits), one starts from an equal copy (value
    # hits), one runs ahead by a replica (its own answers: the key holds current replicas).
    same = [recommender.CoreRecommender(policy=policy, cache=cache, state=cache.initial(0)) for _ in range(2)]
    equal = recommender.CoreRecommender(policy=policy, cache=cache, state=recommend.State())
    ahead = recommender.CoreRecommender(policy=policy, cache=cache, state=cache.initial(0))
    alone = recommender.CoreRecommender(policy=policy)
    assert equal.state == cache.initial(0) and equal.state is not cache.initial(0)
    currents = {"same0": 10, "same1": 10, "equal": 10, "ahead": 11, "alone": 10}
    recs = {"same0": same[0], "same1": same[1], "equal": equal, "ahead": ahead, "alone": alone}
    got: dict[str, list[int]] = {name: [] for name in recs}
    for step, load in enumerate(LOADS):
        for name, rec in recs.items():
            current = currents[name]
            currents[name] = rec.recommend(load=float(load), current=current, ready=current, now=step * STEP)
            got[name].append(currents[name])
    assert got["same0"] == got["same1"] == got["equal"] == got["alone"]
    assert got["ahead"] != got["alone"]  # a different input is never answered from another's entry
    # Per step: one miss for the first and one for ``ahead``; the other two are hits.
    assert (cache.misses, cache.hits) == (2 * LOADS.size, 2 * LOADS.size)
    assert same[0].state is same[1].state is equal.state  # the value hit hands on the same object
