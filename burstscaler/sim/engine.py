"""The simulation loop: replay a scenario's workloads through each strategy's model cluster.

Each step of ``settings.step_seconds``: time passes (nodes boot, pods become Ready, idle nodes go);
the strategy sees each workload's metric (the mean rate over ``[t - lag - window, t - lag]``, lag one
scrape interval: the future is never visible) and sets replica counts; the model cluster schedules;
the step's demand is served by what was Ready at its start (judged at the trace's own resolution,
``metrics.judge``), and the step's cost is what exists during it.

Seeds: run ``i`` of ``seeds`` uses seed ``first_seed + i`` for the scenario (``make(seed)``: the
built-in cluster's noise) and for the delays and failures drawn (``realism.Draws``); every strategy of
one seed sees the same scenario. Totals are means over seeds with a 95% Student-t interval.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from burstscaler.reports import simulation
from burstscaler.sim import cluster, errors, metrics, realism, scenario, settings, strategies, traces
from burstscaler.sim.strategies import burstscaler as burstscaler_strategy
from burstscaler.sim.strategies import protocol

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
#: Called now and then with a strategy's name and the fraction of its steps done.
Progress = Callable[[str, float], None]
#: Builds the scenario for a seed.
Make = Callable[[int], scenario.Scenario]
#: The figures given a 95% interval: every one of a summary.
INTERVAL_FIELDS = tuple(field.name for field in dataclasses.fields(simulation.StrategySummary))


@dataclasses.dataclass(frozen=True)
class _Outcome:
    cluster: simulation.StrategySummary
    workloads: list[simulation.StrategySummary]
    series: simulation.StrategySeries


def prepare(scn: scenario.Scenario, *, config: settings.Settings, seed: int = 0) -> protocol.Run:
    """The inputs every strategy of one run shares: loads, metrics at t=0, the pool, the policies."""
    for workload in scn.workloads:
        if cluster.slots_of(config.node, workload.pod) == 0:
            raise errors.SettingsError(
                f"{workload.name}: a pod of {workload.pod.cpu:g} vCPU / {workload.pod.memory_gib:g} GiB does not fit "
                f"on a node of {config.node.cpu:g} vCPU / {config.node.memory_gib:g} GiB"
            )
    loads = tuple(traces.resample(w.trace, step=config.step_seconds) for w in scn.workloads)
    policies = tuple(config.policy_for(w) for w in scn.workloads)
    initial = np.array(
        [
            next((float(v) for v in observed_metric(load, realism=config.realism)[:1] if not math.isnan(v)), 0.0)
            for load in loads
        ]
    )
    pool = scn.pool_nodes if scn.pool_nodes is not None else settings.base_pool(config, scn.workloads, loads)
    return protocol.Run(
        settings=config, scenario=scn, loads=loads, initial=initial, pool=pool, policies=policies, seed=seed
    )


def simulate(
    make: Make,
    *,
    config: settings.Settings,
    names: Sequence[str] = strategies.NAMES,
    seeds: int = 1,
    first_seed: int = 0,
    progress: Progress | None = None,
) -> simulation.SimulationReport:
    """Run every strategy in ``names`` on ``make(seed)`` for each seed; means, intervals and series.

    Raises ``KeyError`` for an unknown strategy name, ``errors.SimulationError`` for settings the
    scenario cannot work with.
    """
    entries = [strategies.lookup(name) for name in names]
    savings = np.zeros(0)
    outcomes: dict[str, list[_Outcome]] = {entry.name: [] for entry in entries}
    runs = []
    for index in range(max(1, seeds)):
        scn = make(first_seed + index)
        run = prepare(scn, config=config, seed=first_seed + index)
        runs.append(run)
        counterfactual = [_NO_DRAIN_BACK] if index == 0 and any(e.name == "burstscaler" for e in entries) else []
        recordings = run_strategies([*entries, *counterfactual], run=run, progress=progress)
        for entry in entries:
            outcomes[entry.name].append(_judge(recordings[entry.name], run=run))
        if counterfactual:
            savings = _cumulative_cost(recordings[_NO_DRAIN_BACK.name]) - _cumulative_cost(recordings["burstscaler"])
    first = runs[0]
    summaries = {name: _mean([o.cluster for o in got]) for name, got in outcomes.items()}
    intervals = {name: _intervals([o.cluster for o in got]) for name, got in outcomes.items()}
    workloads = tuple(
        simulation.WorkloadResult(
            name=workload.name,
            summaries={name: _mean([o.workloads[w] for o in got]) for name, got in outcomes.items()},
            intervals={name: _intervals([o.workloads[w] for o in got]) for name, got in outcomes.items()},
        )
        for w, workload in enumerate(first.scenario.workloads)
    )
    described = {
        "scenario": first.scenario.name,
        "seeds": max(1, seeds),
        "first_seed": first_seed,
        "trace_steps": int(max(load.rates.size for load in first.loads)),
        "trace_hours": round(max(load.rates.size for load in first.loads) * config.step_seconds / 3600.0, 3),
        **config.as_dict(),
        "pool_nodes": first.pool,
        "pool_nodes_source": "given" if first.scenario.pool_nodes is not None else "auto (newsvendor rule)",
        "placement": first.cluster(pool=0).placer.name,
        "capacity_rule_for_bare_traces": f"peak step rate / {scenario.AUTO_PEAK_REPLICAS} per replica",
        "workloads": scenario.describe(first.scenario),
        "strategies": {entry.name: entry.summary for entry in entries},
        # The BurstPolicy every autoscaled strategy runs, per workload, exactly as an SRE would write it.
        "policies": {w.name: p.to_wire() for w, p in zip(first.scenario.workloads, first.policies, strict=True)},
    }
    return simulation.SimulationReport(
        title=first.scenario.name,
        start=first.scenario.start,
        settings=described,
        summaries=summaries,
        series={name: got[0].series for name, got in outcomes.items()},
        intervals=intervals,
        workloads=workloads,
        prices=config.prices.as_dict(),
        seeds=max(1, seeds),
        drain_back_savings=savings,
    )


#: burstscaler with drain-back disabled: run beside burstscaler (seed 1) to measure what drain-back saves.
_NO_DRAIN_BACK = strategies.Entry(
    name="burstscaler (no drain-back)",
    summary="counterfactual of drain-back savings",
    build=burstscaler_strategy.build_without_drain_back,
)


def _cumulative_cost(recording: metrics.Recording) -> FloatArray:
    return np.cumsum(recording.ecs_cost + recording.eci_cost.sum(axis=1))


def judge(recording: metrics.Recording, *, run: protocol.Run) -> simulation.StrategySummary:
    """The whole cluster's totals of one strategy's recording (what ``simulate`` reports per seed)."""
    return _judge(recording, run=run).cluster


def _judge(recording: metrics.Recording, *, run: protocol.Run) -> _Outcome:
    workloads = run.scenario.workloads
    judged = [
        metrics.judge(recording, workload=w, trace=workload.trace, capacity=workload.capacity_per_replica)
        for w, workload in enumerate(workloads)
    ]
    slo = run.settings.slo_unserved_fraction
    steps = recording.base_ready.shape[0]
    demand = np.zeros(steps)
    for workload, load in zip(workloads, run.loads, strict=True):
        demand[: load.rates.size] += np.where(load.observed, load.rates, 0.0) / workload.capacity_per_replica
    return _Outcome(
        cluster=metrics.summarize(recording, judged=judged, workload=None, slo_unserved_fraction=slo),
        workloads=[
            metrics.summarize(recording, judged=judged, workload=w, slo_unserved_fraction=slo)
            for w in range(len(workloads))
        ],
        series=metrics.series(recording, demand_replicas=demand),
    )


def run_strategy(entry: strategies.Entry, *, run: protocol.Run, progress: Progress | None = None) -> metrics.Recording:
    """Replay the run's workloads through one strategy and record every step."""
    return run_strategies([entry], run=run, progress=progress)[entry.name]


class _Recorder:
    """One strategy's state in a lockstep run, and the rows its steps are recorded into.

    Each step extends flat Python lists of numbers; the arrays are built once, in ``recording`` (a
    numpy row assignment per array and step cost more than the step's own bookkeeping). Flat, not a
    list per row: numbers are not tracked by the garbage collector, and millions of row lists were,
    which made its full collections walk them over and over.
    """

    def __init__(self, entry: strategies.Entry, *, run: protocol.Run, steps: int) -> None:
        self.entry = entry
        setup = entry.build(run)
        self.state, self.strategy = setup.state, setup.strategy
        self.steps = steps
        self.base_ready: list[int] = []
        self.burst_ready: list[int] = []
        self.base_total: list[int] = []
        self.burst_total: list[int] = []
        self.moves: list[int] = []
        self.placeholders: dict[int, IntArray] = {}  # by step; the other rows stay zero
        self.nodes: list[int] = []
        self.ecs_cost: list[float] = []
        self.eci_cost: list[float] = []
        self.ecs_share: list[float] = []
        self._cpu = self.state.requests[:, 0].copy()  # each workload's vCPU request: the ECS share's weight
        self._no_share = np.zeros(self.state.workloads)
        # The ECS share is a function of the placed counts alone, which change on few steps.
        self._share_of: tuple[tuple[int, ...], list[float]] | None = None

    def step(self, k: int, *, now: float, seconds: float, loads: FloatArray) -> None:
        state = self.state
        state.advance(now)
        targets = self.strategy.decide(state=state, loads=loads, now=now)
        for index, target in enumerate(targets):
            state.scale(index, base=target.base, burst=target.burst, now=now, placeholders=target.placeholders)
        self.moves.extend([target.moves for target in targets])
        state.schedule(now)
        placed = state.placed_total
        self.base_ready.extend(state.ready_totals)
        workloads = range(state.workloads)
        self.burst_ready.extend([state.burst_ready(index, now) for index in workloads])
        self.burst_total.extend([state.burst_total(index) for index in workloads])
        placed_counts = placed.tolist()
        waiting = state.pending.tolist()
        self.base_total.extend([count + pods for count, pods in zip(placed_counts, waiting, strict=True)])
        if state.has_placeholders:  # else the row stays zero
            self.placeholders[k] = state.ph_pending + state.ph_placed.sum(axis=0)
        self.ecs_share.extend(self._share(tuple(placed_counts), placed))
        self.nodes.append(state.node_count)
        ecs, eci = state.cost_of(now=now, seconds=seconds)
        self.ecs_cost.append(ecs)
        self.eci_cost.extend(eci.tolist())

    def _share(self, counts: tuple[int, ...], placed: IntArray) -> list[float]:
        # Each workload's share of the vCPU requested on ECS (zero when nothing is placed).
        if self._share_of is not None and self._share_of[0] == counts:
            return self._share_of[1]
        used = placed * self._cpu
        total = used.sum()
        share = (used / total if total > 0 else self._no_share).tolist()
        self._share_of = (counts, share)
        return share

    def recording(self, *, step: float) -> metrics.Recording:
        steps, workloads = self.steps, self.state.workloads
        shape = (steps, workloads)

        def ints(flat: list[int]) -> IntArray:
            return np.array(flat, dtype=np.int64).reshape(shape)

        placeholders = np.zeros(shape, dtype=np.int64)
        for k, row in self.placeholders.items():
            placeholders[k] = row
        return metrics.Recording(
            step=step,
            base_ready=ints(self.base_ready),
            burst_ready=ints(self.burst_ready),
            base_total=ints(self.base_total),
            burst_total=ints(self.burst_total),
            nodes=np.array(self.nodes, dtype=np.int64).reshape(steps),
            ecs_cost=np.array(self.ecs_cost, dtype=np.float64).reshape(steps),
            ecs_share=np.array(self.ecs_share, dtype=np.float64).reshape(shape),
            eci_cost=np.array(self.eci_cost, dtype=np.float64).reshape(shape),
            moves=ints(self.moves),
            placeholders=placeholders,
            spot_reclaims=self.state.spot_reclaimed,
        )


def run_strategies(
    entries: Sequence[strategies.Entry],
    *,
    run: protocol.Run,
    progress: Progress | None = None,
    timings: dict[str, float] | None = None,
) -> dict[str, metrics.Recording]:
    """Replay the run's workloads through every strategy in lockstep (one step of each, then the next).

    Lockstep lets strategies that see the same recommender inputs at a step share the answer
    (``recommender.StepCache``); each strategy's own state is untouched by the others. With
    ``timings``, each strategy's seconds (build and steps) are added to it under its name.
    """
    clock = time.perf_counter
    step = run.settings.step_seconds
    steps = max(load.rates.size for load in run.loads)
    run.cache.enabled = len(entries) > 1  # alone, a strategy has no one to share answers with
    spent = dict.fromkeys((entry.name for entry in entries), 0.0)
    recorders = []
    for entry in entries:
        began = clock()
        recorders.append(_Recorder(entry, run=run, steps=steps))
        spent[entry.name] += clock() - began
    metric = np.full((steps, len(run.loads)), np.nan)
    for index, load in enumerate(run.loads):
        metric[: load.rates.size, index] = observed_metric(load, realism=run.settings.realism)
    every = max(1, steps // 100)
    for k in range(steps):
        now = k * step
        for recorder in recorders:
            if timings is None:
                recorder.step(k, now=now, seconds=step, loads=metric[k])
            else:
                began = clock()
                recorder.step(k, now=now, seconds=step, loads=metric[k])
                spent[recorder.entry.name] += clock() - began
        if progress is not None and (k % every == 0 or k == steps - 1):
            for recorder in recorders:
                progress(recorder.entry.name, (k + 1) / steps)
    if timings is not None:
        for name, seconds in spent.items():
            timings[name] = timings.get(name, 0.0) + seconds
    return {recorder.entry.name: recorder.recording(step=step) for recorder in recorders}


def observed_metric(load: traces.StepLoad, *, realism: realism.Realism) -> FloatArray:
    """The load as a metric sees it at each step's start: the mean over the window, one scrape old.

    Exact for the step function of ``load``: the integral of the rate over
    ``[t - lag - window, t - lag]`` over the observed time in it. Step 0 sees its own rate (the steady
    state before the trace). NaN where the window has no data.
    """
    step, window, lag = load.step, realism.metric_window_seconds, realism.metric_lag_seconds
    # Before the trace the load was step 0's (the steady state the strategies start in).
    pad = window + lag
    values = np.concatenate([[load.rates[0] if load.observed[0] else 0.0], np.where(load.observed, load.rates, 0.0)])
    seen_slots = np.concatenate([[bool(load.observed[0])], load.observed])
    widths = np.concatenate([[pad], np.full(load.rates.size, step)])
    edges = np.concatenate([[-pad], np.arange(load.rates.size + 1) * step])
    area = np.concatenate([[0.0], np.cumsum(values * widths)])
    seen = np.concatenate([[0.0], np.cumsum(seen_slots * widths)])
    now = np.arange(load.rates.size) * step
    ends, starts = now - lag, now - lag - window
    covered = np.interp(ends, edges, seen) - np.interp(starts, edges, seen)
    total = np.interp(ends, edges, area) - np.interp(starts, edges, area)
    with np.errstate(invalid="ignore", divide="ignore"):
        metric = np.where(covered > 1e-9, total / np.maximum(covered, 1e-12), np.nan)
    metric[0] = load.rates[0]
    return metric


def _mean(summaries: list[simulation.StrategySummary]) -> simulation.StrategySummary:
    if len(summaries) == 1:
        return summaries[0]
    values = {}
    for field in dataclasses.fields(simulation.StrategySummary):
        column = [getattr(s, field.name) for s in summaries]
        mean = float(np.mean(column))
        values[field.name] = round(mean) if isinstance(column[0], int) else mean
    return simulation.StrategySummary(**values)  # type: ignore[arg-type]


def _intervals(summaries: list[simulation.StrategySummary]) -> dict[str, tuple[float, float]]:
    result = {}
    for name in INTERVAL_FIELDS:
        _, low, high = realism.t_interval(np.array([float(getattr(s, name)) for s in summaries]))
        result[name] = (low, high)
    return result
