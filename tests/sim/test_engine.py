"""The simulation loop and the honest acceptance checks of the comparison (issue 14, item 7).

Nothing here asserts that burstscaler wins. What is asserted must hold whatever the result: every
strategy is judged on the same demand; costs add up; like-for-like configurations agree; the default
scenario exercises what it claims to (a contended shared pool, drain-back); and on the shared traces,
with the defaults, the same invariants hold.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pytest

from burstscaler.reports import simulation
from burstscaler.sim import engine, prices, realism, scenario, settings, strategies, traces
from burstscaler.sim.strategies import burstscaler
from tests.sim import factories


def _builtin(seed: int) -> scenario.Scenario:
    return scenario.builtin(seed=seed)


def _first_hours(seed: int, *, hours: int) -> scenario.Scenario:
    # The built-in day cut short, to keep a test fast (the defaults are untouched).
    day = scenario.builtin(seed=seed)
    cut = tuple(
        dataclasses.replace(w, trace=dataclasses.replace(w.trace, rates=w.trace.rates[: hours * 60]))
        for w in day.workloads
    )
    return dataclasses.replace(day, workloads=cut)


@pytest.fixture(scope="module")
def builtin_report() -> simulation.SimulationReport:
    # The shipped defaults: drawn delays, failures and metric lag included (seeded).
    return engine.simulate(_builtin, config=factories.config(realism=realism.Realism()))


def test_builtin_cluster_runs_every_strategy(builtin_report: simulation.SimulationReport) -> None:
    assert list(builtin_report.summaries) == list(strategies.NAMES)
    assert [w.name for w in builtin_report.workloads] == ["web", "api", "batch"]
    for name, series in builtin_report.series.items():
        assert series.seconds.size == 24 * 60 * 2, name


def test_every_strategy_is_judged_on_the_same_demand(builtin_report: simulation.SimulationReport) -> None:
    # Conservation: demand is the traces', whatever the strategy did.
    made = scenario.builtin(seed=0)
    expected = sum(float(np.nansum(w.trace.rates) * w.trace.interval) for w in made.workloads)
    for name, summary in builtin_report.summaries.items():
        assert summary.demand_request_seconds == pytest.approx(expected), name
    for workload, made_workload in zip(builtin_report.workloads, made.workloads, strict=True):
        demand = float(np.nansum(made_workload.trace.rates) * 60.0)
        for summary in workload.summaries.values():
            assert summary.demand_request_seconds == pytest.approx(demand)


def test_costs_add_up(builtin_report: simulation.SimulationReport) -> None:
    for name, summary in builtin_report.summaries.items():
        assert summary.cost == pytest.approx(summary.ecs_cost + summary.eci_cost), name
        per_workload_eci = sum(w.summaries[name].eci_cost for w in builtin_report.workloads)
        per_workload_ecs = sum(w.summaries[name].ecs_cost for w in builtin_report.workloads)
        assert per_workload_eci == pytest.approx(summary.eci_cost), name
        assert per_workload_ecs <= summary.ecs_cost + 1e-9, name


def test_static_peak_pays_subscription_for_every_node_all_day(builtin_report: simulation.SimulationReport) -> None:
    peak = builtin_report.summaries["static-peak"]
    subscription = prices.load("alibaba-intl").ecs_node_subscription_per_hour.value
    assert peak.ecs_cost == pytest.approx(peak.peak_ecs_nodes * subscription * 24)
    assert peak.unserved_request_seconds == 0.0 and peak.eci_cost == 0.0


@pytest.mark.parametrize(
    ("name", "field"),
    [
        pytest.param("hpa-ca", "eci_cost", id="hpa-ca-no-eci"),
        pytest.param("eci-only", "ecs_cost", id="eci-only-no-ecs"),
        pytest.param("resourcepolicy", "drain_back_moves", id="resourcepolicy-never-drains-back"),
    ],
)
def test_baseline_invariants(builtin_report: simulation.SimulationReport, name: str, field: str) -> None:
    assert getattr(builtin_report.summaries[name], field) == 0


def test_drain_back_savings_are_the_cost_of_not_draining_back(builtin_report: simulation.SimulationReport) -> None:
    savings = builtin_report.drain_back_savings
    assert savings.size == builtin_report.series["burstscaler"].seconds.size
    run = engine.prepare(scenario.builtin(seed=0), config=factories.config(realism=realism.Realism()))
    entry = strategies.Entry("no drain-back", "", burstscaler.build_without_drain_back)
    without = engine.run_strategy(entry, run=run)
    assert without.moves.sum() == 0
    expected = without.ecs_cost.sum() + without.eci_cost.sum() - builtin_report.summaries["burstscaler"].cost
    assert savings[-1] == pytest.approx(expected)


@pytest.mark.parametrize("growable", [pytest.param(False, id="fixed-pool"), pytest.param(True, id="growable-pool")])
def test_default_scenario_drains_back_on_a_contended_shared_pool(growable: bool) -> None:
    config = factories.config(realism=realism.Realism(), node_autoscaling_for_burstscaler=growable)
    run = engine.prepare(scenario.builtin(seed=0), config=config)
    recording = engine.run_strategy(strategies.lookup("burstscaler"), run=run)
    assert int(recording.moves.sum()) > 0
    # Contended: at some step at least two workloads hold ECS pods while some workload overflows.
    sharing = (recording.base_total > 0).sum(axis=1) >= 2
    overflowing = recording.burst_total.sum(axis=1) > 0
    assert run.pool > 0 and bool((sharing & overflowing).any())


def test_the_policy_is_printed_once_per_workload(builtin_report: simulation.SimulationReport) -> None:
    policies = builtin_report.settings["policies"]
    assert set(policies) == {"web", "api", "batch"}
    assert policies["web"]["metrics"][0]["prometheus"]["target"] == {"type": "AverageValue", "averageValue": "7"}
    assert policies["web"]["behavior"] == {
        "scaleUp": {"tolerance": "0"},
        "scaleDown": {"stabilizationWindowSeconds": settings.SCALE_DOWN_WINDOW_SECONDS},
    }


def test_same_seed_same_numbers_other_seed_other_numbers() -> None:
    config = factories.config(realism=realism.Realism())
    names = ["eci-only"]
    morning = functools.partial(_first_hours, hours=6)
    first = engine.simulate(morning, config=config, names=names, first_seed=4)
    again = engine.simulate(morning, config=config, names=names, first_seed=4)
    other = engine.simulate(morning, config=config, names=names, first_seed=5)
    assert first.summaries == again.summaries
    assert first.summaries["eci-only"].cost != other.summaries["eci-only"].cost


def test_seeds_give_means_inside_their_intervals() -> None:
    rates = np.concatenate([np.full(30, 40.0), np.full(30, 200.0), np.full(30, 40.0)])
    report = engine.simulate(
        lambda seed: factories.one(rates, pool=2),
        config=factories.config(realism=realism.Realism()),
        names=["burstscaler"],
        seeds=4,
    )
    cost = report.summaries["burstscaler"].cost
    low, high = report.intervals["burstscaler"]["cost"]
    assert report.seeds == 4 and low < cost < high


# --- like for like --------------------------------------------------------------------------------


def _rough(a: simulation.StrategySummary, b: simulation.StrategySummary) -> None:
    assert a.cost == pytest.approx(b.cost, rel=0.01)
    assert a.unserved_request_seconds == pytest.approx(b.unserved_request_seconds, rel=0.01, abs=1.0)


def test_without_an_ecs_pool_burstscaler_and_resourcepolicy_are_eci_only() -> None:
    report = engine.simulate(
        lambda seed: dataclasses.replace(scenario.builtin(seed=seed), pool_nodes=0),
        config=factories.config(),
        names=["eci-only", "resourcepolicy", "burstscaler"],
    )
    _rough(report.summaries["burstscaler"], report.summaries["eci-only"])
    _rough(report.summaries["resourcepolicy"], report.summaries["eci-only"])


def test_burst_disabled_on_the_same_node_autoscaling_is_hpa_ca() -> None:
    config = factories.config(burst_enabled=False, node_autoscaling_for_burstscaler=True)
    report = engine.simulate(functools.partial(_first_hours, hours=14), config=config, names=["hpa-ca", "burstscaler"])
    _rough(report.summaries["burstscaler"], report.summaries["hpa-ca"])


# --- the shared traces, with the defaults ---------------------------------------------------------


def _shared(path: object, **options: object) -> traces.Trace:
    return traces.load_trace(path, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("path", "options", "days"),
    [
        pytest.param(
            factories.NASA,
            {"value_column": "requests", "skip_column": "server_down"},
            1,
            id="nasa-per-minute-first-day",
        ),
        pytest.param(factories.AZURE, {"value_column": "requests"}, None, id="azure-per-second"),
    ],
)
def test_shared_traces_keep_the_invariants(path: object, options: dict[str, object], days: int | None) -> None:
    if not factories.SHARED_TRACES.is_dir():
        pytest.skip(f"{factories.SHARED_TRACES} is absent (not in a user's checkout)")
    trace = _shared(path, **options)
    if days is not None:  # a window keeps the test fast; the defaults are untouched
        trace = dataclasses.replace(trace, rates=trace.rates[: int(days * 86400 / trace.interval)])
    scn = scenario.from_traces([trace], step=30.0, capacity=None, pod=factories.POD, pool_nodes=None)
    config = factories.config(realism=realism.Realism())
    report = engine.simulate(lambda seed: scn, config=config)
    demand = float(np.nansum(trace.rates) * trace.interval)
    for name, summary in report.summaries.items():
        assert summary.demand_request_seconds == pytest.approx(demand), name
        assert summary.cost == pytest.approx(summary.ecs_cost + summary.eci_cost), name
        assert 0.0 <= summary.unserved_request_seconds <= demand, name
    assert report.summaries["static-peak"].eci_cost == 0.0


# --- the metric -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rates", "window", "scrape", "expected"),
    [
        pytest.param([1.0, 2.0, 3.0, 4.0], 60.0, 0.0, [1.0, 1.0, 1.5, 2.5], id="previous-minute-only"),
        pytest.param([1.0, 2.0, 3.0, 4.0], 60.0, 30.0, [1.0, 1.0, 1.0, 1.5], id="one-scrape-old"),
        pytest.param([1.0, np.nan, np.nan, 4.0], 30.0, 0.0, [1.0, 1.0, np.nan, np.nan], id="no-data-no-metric"),
    ],
)
def test_observed_metric_never_sees_the_future(
    rates: list[float], window: float, scrape: float, expected: list[float]
) -> None:
    load = traces.StepLoad(step=30.0, rates=np.array(rates), observed=~np.isnan(np.array(rates)))
    lagged = realism.Realism(metric_window_seconds=window, scrape_interval_seconds=scrape)
    np.testing.assert_allclose(engine.observed_metric(load, realism=lagged), expected, equal_nan=True)


def test_unknown_strategy_is_named() -> None:
    with pytest.raises(KeyError, match="no strategy 'magic'"):
        engine.simulate(lambda seed: factories.one([10.0] * 5), config=factories.config(), names=["magic"])


def test_sharing_recommendations_in_lockstep_changes_nothing() -> None:
    # Strategies stepped together share identical recommender calls (StepCache); alone they share none.
    day = scenario.builtin(seed=2)
    morning = tuple(
        dataclasses.replace(w, trace=dataclasses.replace(w.trace, rates=w.trace.rates[6 * 60 : 12 * 60]))
        for w in day.workloads
    )
    scn = dataclasses.replace(day, workloads=morning)
    config = factories.config(realism=realism.Realism())
    entries = [strategies.lookup(name) for name in ("hpa-ca", "eci-only", "resourcepolicy", "burstscaler")]
    together_run = engine.prepare(scn, config=config)
    together = engine.run_strategies(entries, run=together_run)
    assert together_run.cache.hits > 0  # the case exercises what its name says
    for entry in entries:
        alone = engine.run_strategy(entry, run=engine.prepare(scn, config=config))
        for field in dataclasses.fields(alone):
            np.testing.assert_array_equal(
                getattr(alone, field.name), getattr(together[entry.name], field.name), f"{entry.name}.{field.name}"
            )
