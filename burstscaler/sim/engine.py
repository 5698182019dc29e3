"""The simulation loop: replay one trace through each strategy's model cluster, step by step.

Each step of ``settings.step_seconds``: time passes (nodes boot, pods become Ready, idle nodes go);
the strategy sees the metric (the mean rate over the last ``metric_window_seconds``, as a Prometheus
``rate(...[1m])`` would show it: the future is never visible) and sets replica counts; the model
cluster schedules; the step's demand is served by what was Ready at its start, and the step's cost
is what exists during it. A pod whose start-up ends inside a step serves from the next step on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from burstscaler.reports import simulation
from burstscaler.sim import metrics, settings, strategies, traces
from burstscaler.sim.strategies import burstscaler

FloatArray = npt.NDArray[np.float64]
#: Called now and then with a strategy's name and the fraction of its steps done.
Progress = Callable[[str, float], None]


def simulate(
    trace: traces.Trace,
    *,
    config: settings.Settings,
    names: Sequence[str] = strategies.NAMES,
    progress: Progress | None = None,
    skip_unavailable: bool = False,
) -> simulation.SimulationReport:
    """Run every strategy in ``names`` on ``trace`` and return the totals and time series.

    A strategy that cannot run yet raises ``NotImplementedError`` when built; with
    ``skip_unavailable`` it is left out and listed with its reason under ``settings["not_run"]``
    instead (never with made-up numbers). Raises ``KeyError`` for an unknown strategy name,
    ``errors.SimulationError`` for settings the trace cannot work with.
    """
    entries = [strategies.lookup(name) for name in names]
    load = traces.resample(trace, step=config.step_seconds)
    metric = observed_metric(load, window=config.metric_window_seconds)
    summaries: dict[str, simulation.StrategySummary] = {}
    series: dict[str, simulation.StrategySeries] = {}
    not_run: dict[str, str] = {}
    for entry in entries:
        try:
            recording = run_strategy(entry, config=config, load=load, metric=metric, progress=progress)
        except NotImplementedError as error:
            if not skip_unavailable:
                raise
            not_run[entry.name] = str(error)
            continue
        capacity = config.capacity_per_replica
        summaries[entry.name] = metrics.summarize(
            recording, capacity_per_replica=capacity, slo_unserved_fraction=config.slo_unserved_fraction
        )
        series[entry.name] = metrics.series(recording, capacity_per_replica=capacity)
    described = {
        "trace": trace.name,
        "trace_interval_seconds": trace.interval,
        "trace_steps": int(load.rates.size),
        "trace_hours": round(load.rates.size * load.step / 3600.0, 3),
        "trace_missing_steps": int((~load.observed).sum()),
        **config.as_dict(),
        "base_nodes": settings.base_pool(config, load=load),
        "base_nodes_source": "given" if config.base_nodes is not None else "auto (price ratio vs. node utilisation)",
        "strategies": {entry.name: entry.summary for entry in entries if entry.name not in not_run},
        # The BurstPolicy that burstscaler and eci-only run, exactly as an SRE would write it.
        "policy": burstscaler.default_policy(config).to_wire(),
        **({"not_run": not_run} if not_run else {}),
    }
    return simulation.SimulationReport(
        title=trace.name, start=trace.start, settings=described, summaries=summaries, series=series
    )


def run_strategy(
    entry: strategies.Entry,
    *,
    config: settings.Settings,
    load: traces.StepLoad,
    metric: FloatArray,
    progress: Progress | None = None,
) -> metrics.Recording:
    """Replay ``load`` through one strategy and record every step."""
    steps, step = load.rates.size, load.step
    initial = float(metric[0]) if not math.isnan(metric[0]) else 0.0
    setup = entry.build(config, load=load, initial_load=initial)
    state, strategy = setup.state, setup.strategy
    columns = {name: np.zeros(steps, dtype=np.int64) for name in metrics.Recording.__dataclass_fields__}
    ecs_cost, eci_cost = np.zeros(steps), np.zeros(steps)
    every = max(1, steps // 100)
    for k in range(steps):
        now = k * step
        state.advance(now)
        targets = strategy.decide(state=state, load=float(metric[k]), now=now)
        state.scale(base=targets.base, burst=targets.burst, now=now)
        state.schedule(now)
        columns["base_ready"][k] = state.base_ready
        columns["burst_ready"][k] = state.burst_ready(now)
        columns["base_total"][k] = state.base_total
        columns["burst_total"][k] = state.burst_total
        columns["nodes"][k] = state.node_count
        columns["moves"][k] = targets.moves
        ecs_cost[k], eci_cost[k] = state.cost_of(step)
        if progress is not None and (k % every == 0 or k == steps - 1):
            progress(entry.name, (k + 1) / steps)
    return metrics.Recording(
        step=step,
        demand=load.rates,
        observed=load.observed,
        base_ready=columns["base_ready"],
        burst_ready=columns["burst_ready"],
        base_total=columns["base_total"],
        burst_total=columns["burst_total"],
        nodes=columns["nodes"],
        ecs_cost=ecs_cost,
        eci_cost=eci_cost,
        moves=columns["moves"],
    )


def observed_metric(load: traces.StepLoad, *, window: float) -> FloatArray:
    """The load as a metric sees it at each step's start: the mean over the preceding ``window``.

    Step 0 sees its own rate (the steady state before the trace). NaN where the window has no data.
    """
    width = max(1, round(window / load.step))
    values = np.where(load.observed, load.rates, 0.0)
    sums = np.concatenate([[0.0], np.cumsum(values)])
    counts = np.concatenate([[0], np.cumsum(load.observed)])
    ends = np.arange(load.rates.size)
    starts = np.maximum(ends - width, 0)
    seen = counts[ends] - counts[starts]
    with np.errstate(invalid="ignore", divide="ignore"):
        metric = np.where(seen > 0, (sums[ends] - sums[starts]) / np.maximum(seen, 1), np.nan)
    metric[0] = load.rates[0]
    return metric
