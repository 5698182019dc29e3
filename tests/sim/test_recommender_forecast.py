"""sim.recommender with spec.forecast: the trace's past loads only, shared by strategies, ahead on a ramp."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from burstscaler.api import spec
from burstscaler.sim import recommender

STEP = 30.0


def make_policy(*, forecast: bool) -> spec.BurstPolicySpec:
    document: dict[str, Any] = {
        "targetRef": {"name": "web"},
        "minReplicas": 1,
        "maxReplicas": 1000,
        "metrics": [{"prometheus": {"query": "q", "target": {"type": "AverageValue", "averageValue": "10"}}}],
        "behavior": {"scaleUp": {"tolerance": "0"}},
        "forecast": {"enabled": forecast},
    }
    return spec.BurstPolicySpec.model_validate(document)


def replay(rec: recommender.CoreRecommender, loads: np.ndarray) -> list[int]:
    current, totals = 10, []
    for step, load in enumerate(loads):
        current = rec.recommend(load=float(load), current=current, ready=current, now=step * STEP)
        totals.append(current)
    return totals


RAMP = np.concatenate([np.full(20, 100.0), 100.0 + 5.0 * np.arange(40)])


def test_forecast_leads_on_a_ramp() -> None:
    reactive = replay(recommender.CoreRecommender(policy=make_policy(forecast=False)), RAMP)
    ahead = replay(recommender.CoreRecommender(policy=make_policy(forecast=True)), RAMP)
    assert all(a >= r for a, r in zip(ahead, reactive, strict=True))
    # +5 req/s per 30 s step, a 45 s lead: 7.5 req/s ahead, about one replica of 10 more on the ramp.
    assert sum(ahead[30:]) > sum(reactive[30:])
    assert ahead[:20] == reactive[:20]  # flat: nothing to lead


@pytest.mark.parametrize("cut", [pytest.param(25, id="on-the-ramp"), pytest.param(45, id="late")])
def test_never_peeks_ahead(cut: int) -> None:
    # Loads after step `cut` changed beyond recognition: every total up to `cut` stays the same.
    other = RAMP.copy()
    other[cut + 1 :] = 10_000.0
    first = replay(recommender.CoreRecommender(policy=make_policy(forecast=True)), RAMP)
    second = replay(recommender.CoreRecommender(policy=make_policy(forecast=True)), other)
    assert first[: cut + 1] == second[: cut + 1]


def test_strategies_of_a_run_share_the_history() -> None:
    # Two recommenders in lockstep on one cache give what one alone gives (and share one history).
    cache = recommender.StepCache()
    pair = [recommender.CoreRecommender(policy=make_policy(forecast=True), cache=cache) for _ in range(2)]
    alone = replay(recommender.CoreRecommender(policy=make_policy(forecast=True)), RAMP)
    currents, got = [10, 10], [[], []]
    for step, load in enumerate(RAMP):
        for index, rec in enumerate(pair):
            currents[index] = rec.recommend(
                load=float(load), current=currents[index], ready=currents[index], now=step * STEP
            )
            got[index].append(currents[index])
    assert got[0] == got[1] == alone
    assert pair[0].history is pair[1].history and len(pair[0].history or []) == RAMP.size


def test_load_history_keeps_one_lookback() -> None:
    history = recommender.LoadHistory(lookback=600.0)
    for step in range(1000):
        history.observe(time=step * STEP, value=float(step))
    series = history.series(now=999 * STEP)
    assert series.times[0] == pytest.approx(999 * STEP - 600.0)
    assert series.values[-1] == 999.0
    history.observe(time=10.0, value=1.0)  # older than the last: ignored
    assert history.series(now=999 * STEP).values[-1] == 999.0
