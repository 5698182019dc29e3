"""Placeholder pods in the model cluster (the bridge, issue 16): placed like any pod, Pending when no
node fits (and then growing the pool as Pending workload pods do), preempted by workload pods, free
themselves while the nodes they bring are billed; and burstscaler's economics on a growable pool."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import pytest

from burstscaler.api import spec
from burstscaler.sim import cluster, engine, metrics, placement, prices, realism, strategies
from burstscaler.sim.strategies import burstscaler, protocol
from tests.sim import factories

_PLACERS = [pytest.param("scheduler", id="kube-scheduler-model"), pytest.param("first-fit", id="first-fit")]


def _cluster(choice: str, *, nodes: int, autoscaling: bool) -> cluster.ModelCluster:
    state = factories.small_cluster(nodes=nodes, autoscaling=autoscaling)
    state.placer = placement.make_placer(state.requests, choice=choice)
    # The pool nodes were added before the placer was swapped: tell the new one about them.
    for row in np.flatnonzero(state.active):
        state.placer.add_node(int(row), state.allocatable[row], schedulable=True)
    return state


@pytest.mark.parametrize("choice", _PLACERS)
def test_placeholders_that_fit_nowhere_grow_the_pool_then_bind(choice: str) -> None:
    state = _cluster(choice, nodes=1, autoscaling=True)
    state.scale(0, base=4, burst=0, now=0.0)  # the pool node is full (4 slots)
    state.schedule(0.0)
    state.scale(0, base=4, burst=0, now=0.0, placeholders=2)
    state.schedule(0.0)
    assert (state.placeholders(0), state.placeholders_bound(0), state.node_count) == (2, 0, 2)
    ecs, _ = state.cost_of(now=0.0, seconds=3600.0)
    assert ecs == pytest.approx(0.1 + 0.3)  # the pool node (subscription) + the added node (pay-as-you-go)
    state.advance(200.0)  # booted (fixed realism: 180 s)
    state.schedule(200.0)
    assert (state.placeholders_bound(0), int(state.ph_pending[0])) == (2, 0)
    assert state.base_total(0) == 4  # placeholders are not replicas


@pytest.mark.parametrize("choice", _PLACERS)
def test_a_workload_pod_preempts_a_placeholder_which_is_pending_again(choice: str) -> None:
    state = _cluster(choice, nodes=1, autoscaling=False)
    state.scale(0, base=0, burst=0, now=0.0, placeholders=4)
    state.schedule(0.0)
    assert state.placeholders_bound(0) == 4
    state.scale(0, base=1, burst=0, now=0.0, placeholders=4)
    state.schedule(0.0)
    assert int(state.placed_total[0]) == 1
    assert (state.placeholders_bound(0), int(state.ph_pending[0])) == (3, 1)


def test_a_node_holding_placeholders_stays_until_they_go() -> None:
    state = factories.small_cluster(nodes=0, autoscaling=True)
    state.scale(0, base=0, burst=0, now=0.0, placeholders=1)
    state.schedule(0.0)
    state.advance(200.0)
    state.schedule(200.0)
    state.advance(5000.0)
    assert (state.node_count, state.placeholders_bound(0)) == (1, 1)
    state.scale(0, base=0, burst=0, now=5000.0, placeholders=0)
    state.advance(5000.0 + 599.0)
    assert state.node_count == 1
    state.advance(5000.0 + 601.0)  # idle_seconds 600 after it emptied
    assert state.node_count == 0


@dataclasses.dataclass
class _HandSet:
    """A strategy that asks for fixed targets: the bridge's side tested without the core's decision."""

    placeholders: int

    def decide(
        self, *, state: cluster.ModelCluster, loads: protocol.FloatArray, now: float
    ) -> Sequence[protocol.Targets]:
        return [protocol.Targets(base=2, burst=0, placeholders=self.placeholders)]


def test_placeholder_pod_seconds_are_reported_and_cost_nothing_themselves() -> None:
    run = factories.run(factories.one(np.full(10, 10.0), pool=2))

    def build(placeholders: int) -> protocol.Build:
        def setup(run: protocol.Run) -> protocol.Setup:
            return protocol.Setup(strategy=_HandSet(placeholders), state=run.cluster(pool=2, autoscaling=True))

        return setup

    entries = [strategies.Entry(f"hand-{n}", "test", build(n)) for n in (0, 3)]
    recordings = engine.run_strategies(entries, run=run)
    judged = [metrics.judge(recordings["hand-3"], workload=0, trace=run.scenario.workloads[0].trace, capacity=10.0)]
    with_them = metrics.summarize(recordings["hand-3"], judged=judged, workload=None, slo_unserved_fraction=0.01)
    steps = recordings["hand-3"].base_ready.shape[0]
    assert with_them.placeholder_pod_seconds == pytest.approx(3 * steps * 30.0)
    # Two base pods and three placeholders fit the two pool nodes: no node added, no cost of their own.
    assert recordings["hand-3"].ecs_cost.sum() == pytest.approx(recordings["hand-0"].ecs_cost.sum())


def test_burstscaler_economics_on_a_growable_pool() -> None:
    run = factories.run(factories.one(np.full(10, 10.0), pool=1), realism=realism.Realism())
    setup = burstscaler.build(run)
    assert isinstance(setup.strategy, burstscaler.Burstscaler)
    econ = setup.strategy.economics(setup.state, now=0.0)
    payg = prices.load("alibaba-intl").ecs_node_payg_per_hour.value
    # 1 vCPU / 2 GiB on 4 vCPU / 16 GiB: the dominant share is the vCPU's, a quarter of the node.
    assert econ.ecs_cost_per_second[0] == pytest.approx(payg * 0.25 / 3600.0)
    assert bool(econ.pool_growable[0])
    r = realism.Realism()
    boot = (r.node_reaction_low + r.node_reaction_high) / 2 + r.node_boot_median * math.exp(r.node_boot_sigma**2 / 2)
    assert econ.node_boot_seconds[0] == pytest.approx(boot)
    assert econ.scale_down_delay_seconds[0] == run.settings.node_idle_seconds
    assert np.isnan(econ.min_savings[0]) and np.isnan(econ.window_ends[0])
    fixed = factories.run(factories.one(np.full(10, 10.0), pool=1), node_autoscaling_for_burstscaler=False)
    setup = burstscaler.build(fixed)
    assert isinstance(setup.strategy, burstscaler.Burstscaler)
    assert not setup.strategy.economics(setup.state, now=0.0).pool_growable.any()


def test_a_sustained_burst_buys_nodes_through_placeholders_where_ecs_is_cheaper() -> None:
    # A node price where an added node's replica share is below the ECI price: the bridge's break-even
    # can be met. A sustained burst (3 h) should then get placeholders, new nodes and drain-back.
    rates = np.concatenate([np.full(10, 20.0), np.full(180, 200.0), np.full(20, 20.0)])
    cheap = prices.load("alibaba-intl").with_value("node_price", 0.01)
    report = engine.simulate(
        lambda seed: factories.one(rates, pool=1), config=factories.config(prices=cheap), names=["burstscaler"]
    )
    summary = report.summaries["burstscaler"]
    assert summary.placeholder_pod_seconds > 0
    assert summary.peak_ecs_nodes > 1
    assert summary.drain_back_moves > 0


def test_window_ends_come_from_the_schedule_that_sets_the_floor() -> None:
    base = factories.config()
    workload = factories.workload(np.full(10, 10.0))
    schedule = spec.Schedule.model_validate({"cron": "0 0 * * *", "duration": "2h", "minReplicas": 3})
    policy = base.policy_for(workload).model_copy(update={"schedules": [schedule]})
    run = factories.run(factories.one(np.full(10, 10.0), pool=1), policy=policy)
    setup = burstscaler.build(run)
    assert isinstance(setup.strategy, burstscaler.Burstscaler)
    # The trace starts at the epoch, midnight UTC: the window runs [0, 2 h).
    assert setup.strategy.economics(setup.state, now=60.0).window_ends[0] == pytest.approx(7200.0)
    assert np.isnan(setup.strategy.economics(setup.state, now=7300.0).window_ends[0])
