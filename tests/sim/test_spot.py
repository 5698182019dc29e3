"""Spot ECI in the simulator (issue 16, item 3): the discount, reclamation after the protection period,
and the replacement: make-before-break for burstscaler's operator, after the release for a ReplicaSet."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest
import typer
from typer import testing

from burstscaler.cli import simulate
from burstscaler.sim import cluster, prices, realism, settings
from tests.sim import factories


def _spot_cluster(*, make_before_break: bool, protection: float = 0.0, prewarm: bool = True) -> cluster.ModelCluster:
    # reclaim_per_hour 1: every exposed pod is reclaimed at the next step.
    spot = cluster.Spot(
        workloads=(True,),
        protection_seconds=protection,
        reclaim_per_hour=1.0,
        make_before_break=make_before_break,
        notice_seconds=settings.SPOT_NOTICE_SECONDS,
    )
    state = cluster.ModelCluster(
        pods=[factories.POD],
        eci_per_second=[0.001],
        draws=realism.Draws.seeded(realism.Realism.fixed(eci_startup=45.0), seed=0),
        pool=0,
        pool_shape=factories.NODE,
        pool_price_per_hour=0.1,
        spot=spot,
    )
    if prewarm:  # Ready before the trace (age unknown: past any protection period)
        state.prewarm(0, base=0, burst=3)
    else:
        state.scale(0, base=0, burst=3, now=0.0)
    return state


def test_make_before_break_keeps_the_ready_count_and_pays_the_overlap() -> None:
    state = _spot_cluster(make_before_break=True)
    state.advance(30.0)  # reclaimed now; replacements Ready at 75 s
    assert state.spot_reclaimed == 3
    assert state.burst_total(0) == 3
    _, eci = state.cost_of(now=30.0, seconds=30.0)
    assert eci[0] == pytest.approx(2 * 3 * 30 * 0.001)  # old and new pods both billed while they overlap
    state.advance(60.0)
    for now in (60.0, 75.0, 80.0):  # (not advanced to 75: at rate 1 the new pods would go at once)
        assert state.burst_ready(0, now) == 3, now
    _, eci = state.cost_of(now=75.0, seconds=10.0)
    assert eci[0] == pytest.approx(3 * 10 * 0.001)  # the old pods went when the new were Ready


def test_a_replicaset_replaces_after_the_release_so_ready_dips() -> None:
    state = _spot_cluster(make_before_break=False)
    state.advance(30.0)
    notice = settings.SPOT_NOTICE_SECONDS
    assert state.burst_ready(0, 30.0 + notice - 1) == 3  # the old pods serve until the release
    state.advance(30.0 + notice + 1)
    assert state.burst_ready(0, 30.0 + notice + 1) == 0  # gone; replacements start only now
    assert state.burst_ready(0, 30.0 + notice + 45.0) == 3


def test_the_protection_period_holds_reclamation_off() -> None:
    state = _spot_cluster(make_before_break=True, protection=3600.0, prewarm=False)
    state.advance(30.0)
    assert state.spot_reclaimed == 0
    state.advance(3630.0)
    assert state.spot_reclaimed == 3


def test_spot_prices_burst_at_the_least_published_discount() -> None:
    profile = prices.load("alibaba-intl")
    on_demand = factories.config(prices=profile)
    spot = factories.config(prices=profile, spot=True)
    workload = factories.workload([10.0])
    assert spot.policy_for(workload).burst.spot.enabled
    assert spot.eci_per_second(workload) == pytest.approx(
        on_demand.eci_per_second(workload) * (1 - profile.eci_spot_discount_min.value)
    )
    assert profile.eci_spot_reclaim_per_hour.grade == "assumption"


def test_spot_on_the_command_line_is_printed_and_cheaper(tmp_path: pathlib.Path) -> None:
    rows = "t,requests\n" + "".join(f"{m},{600 if 20 <= m < 140 else 60}\n" for m in range(160))
    path = factories.write_csv(tmp_path, rows)
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command("simulate")(simulate.simulate)
    app.command("noop", hidden=True)(lambda: None)
    runner = testing.CliRunner()
    common = ["simulate", "--trace", str(path), "--interval", "60s", "--format", "json", "--strategy", "burstscaler"]
    documents = []
    for extra in ([], ["--spot"]):
        result = runner.invoke(app, [*common, *extra])
        assert result.exit_code == 0, result.output
        documents.append(json.loads(result.stdout))
    off, on = documents
    assert on["settings"]["spot"] is True and on["settings"]["spot_discount"] == pytest.approx(0.3)
    assert off["settings"]["spot"] is False
    assert on["strategies"]["burstscaler"]["eci_cost"] < off["strategies"]["burstscaler"]["eci_cost"]
    assert np.isfinite(on["strategies"]["burstscaler"]["cost"])
