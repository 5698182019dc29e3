"""`burstscaler simulate`: replay workloads through a model cluster and compare strategies fairly.

With no options it runs the built-in cluster (three workloads of different shapes and phases sharing
one ECS pool: ``sim.scenario``). ``--scenario FILE`` runs a scenario file; ``--trace`` (repeatable) one
workload per trace. Every strategy that autoscales runs the same policy (``--policy FILE`` or the
printed default); prices come from a sourced profile (``--prices``), printed with the results with
every source. ``--seeds N`` reports means with 95% intervals; ``--sweep PARAM=LO:HI:N`` reruns over a
range. Errors print one line and exit with code 1, never a traceback.
"""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Annotated

import numpy as np
import typer
from rich import console, progress

from burstscaler.cli import choices
from burstscaler.reports import formats, htmlpage, simulation, table
from burstscaler.sim import engine, errors, placement, prices, realism, scenario, settings, strategies, traces

_SWEEPABLE = ("node_price", "eci_discount", "spot_reclaim")


def simulate(
    trace: Annotated[
        list[pathlib.Path] | None,
        typer.Option(help="CSV load trace (request counts per row), one workload each; repeatable."),
    ] = None,
    scenario_file: Annotated[
        pathlib.Path | None,
        typer.Option("--scenario", help="Scenario YAML: workloads, pool, prices (see sim/scenario.py)."),
    ] = None,
    time_column: Annotated[
        str | None, typer.Option(help="Column of ISO timestamps or a row index. Default: the first column.")
    ] = None,
    value_column: Annotated[
        str | None,
        typer.Option(help="Column of request counts per row. Default: the only other numeric column."),
    ] = None,
    interval: Annotated[
        str | None,
        typer.Option(help="Time one row covers (60s, 1m); needed for an index time column, else inferred."),
    ] = None,
    skip_column: Annotated[
        str | None,
        typer.Option(help="Column flagging outage rows (1/true): skipped as missing data, not zero load."),
    ] = None,
    output: Annotated[choices.Format, typer.Option("--format", help="Output on stdout.")] = choices.Format.table,
    html: Annotated[pathlib.Path | None, typer.Option(help="Also write a self-contained HTML report here.")] = None,
    strategy: Annotated[
        list[str] | None,
        typer.Option(help=f"Strategy to run (repeatable). Default: all of {', '.join(strategies.NAMES)}."),
    ] = None,
    capacity_per_replica: Annotated[
        float | None,
        typer.Option(
            help="Requests/s one replica serves (traces only). Default: the rule printed with the results, "
            f"the trace's peak step rate / {scenario.AUTO_PEAK_REPLICAS}."
        ),
    ] = None,
    step: Annotated[float, typer.Option(help="Decision step, seconds (unserved is judged per trace slot).")] = 30.0,
    pod_cpu: Annotated[float, typer.Option(help="vCPU one replica requests (traces only).")] = 1.0,
    pod_memory: Annotated[float, typer.Option(help="GiB one replica requests (traces only).")] = 2.0,
    pool_nodes: Annotated[
        int | None,
        typer.Option("--pool-nodes", "--base-nodes", help="The fixed ECS pool in nodes. Default: the newsvendor rule."),
    ] = None,
    price_profile: Annotated[
        str, typer.Option("--prices", help=f"Price profile: {', '.join(prices.BUILTIN)} or a YAML file.")
    ] = prices.DEFAULT,
    node_price: Annotated[
        float | None,
        typer.Option(help="Override the subscription node-hour price (pay-as-you-go keeps its ratio)."),
    ] = None,
    eci_discount: Annotated[
        float, typer.Option(min=0.0, max=0.99, help="Discount off ECI list prices (spot, reserved).")
    ] = 0.0,
    policy: Annotated[
        pathlib.Path | None,
        typer.Option(help="BurstPolicy YAML every autoscaled strategy runs (validated as `lint` does)."),
    ] = None,
    min_replicas: Annotated[int, typer.Option(help="Default policy: minReplicas.")] = settings.MIN_REPLICAS,
    max_replicas: Annotated[int, typer.Option(help="Default policy: maxReplicas.")] = settings.MAX_REPLICAS,
    target_utilization: Annotated[
        float,
        typer.Option(min=0.05, max=1.0, help="Default policy: AverageValue target as a share of a replica's capacity."),
    ] = settings.TARGET_UTILIZATION,
    scale_up_tolerance: Annotated[
        float, typer.Option(min=0.0, help="Default policy: behavior.scaleUp.tolerance.")
    ] = settings.SCALE_UP_TOLERANCE,
    scale_down_window: Annotated[
        int, typer.Option(min=0, max=3600, help="Default policy: scale-down stabilization, seconds.")
    ] = settings.SCALE_DOWN_WINDOW_SECONDS,
    node_idle: Annotated[float, typer.Option(help="Seconds an empty autoscaled node lives before removal.")] = 600.0,
    eci_startup: Annotated[
        float, typer.Option(help="Median ECI start-up, seconds (log-normal).")
    ] = realism.Realism.eci_startup_median,
    eci_failure_fraction: Annotated[
        float, typer.Option(min=0.0, max=0.9, help="Share of ECI creations failing (stock-out), retried.")
    ] = realism.Realism.eci_failure_fraction,
    node_boot: Annotated[
        float, typer.Option(help="Median node boot after the autoscaler's reaction, seconds (log-normal).")
    ] = realism.Realism.node_boot_median,
    scrape_interval: Annotated[
        float, typer.Option(min=0.0, help="Metric lag: the scrape interval, seconds.")
    ] = realism.Realism.scrape_interval_seconds,
    fixed_delays: Annotated[
        bool, typer.Option(help="Constant delays at the medians and no ECI failures (exact arithmetic).")
    ] = False,
    slo_unserved_fraction: Annotated[
        float, typer.Option(help="A minute violates the SLO when more than this share of its demand is unserved.")
    ] = 0.01,
    seed: Annotated[int, typer.Option(help="First seed (built-in noise and drawn delays).")] = 0,
    seeds: Annotated[int, typer.Option(min=1, max=200, help="Seeds to run: means and 95% intervals.")] = 1,
    sweep: Annotated[
        str | None,
        typer.Option(help=f"PARAM=LO:HI:N with PARAM one of {', '.join(_SWEEPABLE)}: rerun over the range."),
    ] = None,
    spot: Annotated[
        bool,
        typer.Option(
            "--spot",
            help="Spot ECI for every replica on the virtual node (burst.spot.enabled on the policy in force), "
            "billed at the profile's least spot discount and reclaimed at its assumed rate.",
        ),
    ] = False,
    fixed_pool: Annotated[
        bool,
        typer.Option(
            "--fixed-pool",
            help="burstscaler on the fixed pool only (no node growth; the default grows it as hpa-ca's).",
        ),
    ] = False,
    placement_choice: Annotated[
        str, typer.Option("--placement", help=f"Who places base pods: {', '.join(placement.CHOICES)}.")
    ] = "auto",
) -> None:
    """Replay workloads through static-peak, hpa-ca, eci-only, resourcepolicy and burstscaler; compare."""
    err = console.Console(stderr=True)
    try:
        names = _strategy_names(strategy)
        swept = _parse_sweep(sweep) if sweep is not None else None
        if html is not None and not html.parent.is_dir():
            raise OSError(2, "No such file or directory", str(html))
        profile = prices.load(price_profile)
        if node_price is not None:
            profile = profile.with_value("node_price", node_price)
        profile = profile.with_value("eci_discount", eci_discount) if eci_discount else profile
        if placement_choice not in placement.CHOICES:
            raise errors.SettingsError(f"--placement must be one of {', '.join(placement.CHOICES)}")
        delays = realism.Realism(
            eci_startup_median=eci_startup,
            eci_failure_fraction=eci_failure_fraction,
            node_boot_median=node_boot,
            scrape_interval_seconds=scrape_interval,
        )
        if fixed_delays:
            delays = realism.Realism.fixed(eci_startup=eci_startup, node_boot=node_boot, scrape=scrape_interval)
        config = settings.Settings(
            prices=profile,
            step_seconds=step,
            realism=delays,
            node_idle_seconds=node_idle,
            slo_unserved_fraction=slo_unserved_fraction,
            policy=scenario.load_policy(policy) if policy is not None else None,
            policy_source=str(policy) if policy is not None else "default (printed per workload)",
            target_utilization=target_utilization,
            scale_up_tolerance=scale_up_tolerance,
            scale_down_window_seconds=scale_down_window,
            min_replicas=min_replicas,
            max_replicas=max_replicas,
            placement=placement_choice,
            spot=spot,
            node_autoscaling_for_burstscaler=not fixed_pool,
        )
        make = _scenario_maker(
            trace=trace,
            scenario_file=scenario_file,
            loader={
                "time_column": time_column,
                "value_column": value_column,
                "interval": traces.parse_interval(interval) if interval is not None else None,
                "skip_column": skip_column,
            },
            step=step,
            capacity=capacity_per_replica,
            pod=scenario.PodShape.of(cpu=pod_cpu, memory_gib=pod_memory),
            pool_nodes=pool_nodes,
        )
        if scenario_file is not None and price_profile == prices.DEFAULT:
            named = make(seed).prices
            if named:
                config = dataclasses.replace(config, prices=prices.load(str(named)))
        report = _run(make, config=config, names=names, seeds=seeds, seed=seed, err=err)
        if swept is not None:
            report = dataclasses.replace(
                report, sweep=_sweep(swept, make=make, config=config, names=names, seeds=seeds, seed=seed, err=err)
            )
        if html is not None:
            html.write_text(htmlpage.render_html(report), encoding="utf-8")
    except (errors.SimulationError, NotImplementedError) as error:
        err.print(f"error: {error}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(code=1) from None
    except OSError as error:
        err.print(
            f"error: cannot write {error.filename}: {error.strerror}", markup=False, highlight=False, soft_wrap=True
        )
        raise typer.Exit(code=1) from None
    _print(report, output=output)
    if html is not None:
        err.print(f"HTML report written to {html}", markup=False, highlight=False)


def _scenario_maker(
    *,
    trace: list[pathlib.Path] | None,
    scenario_file: pathlib.Path | None,
    loader: dict[str, object],
    step: float,
    capacity: float | None,
    pod: scenario.PodShape,
    pool_nodes: int | None,
) -> engine.Make:
    if trace and scenario_file is not None:
        raise errors.SettingsError("give --scenario or --trace, not both")
    if scenario_file is not None:
        path = scenario_file

        def from_file(seed: int) -> scenario.Scenario:
            loaded = scenario.load(path, step=step, seed=seed)
            return dataclasses.replace(loaded, pool_nodes=pool_nodes) if pool_nodes is not None else loaded

        return from_file
    if trace:
        loaded = [traces.load_trace(path, **loader) for path in trace]  # type: ignore[arg-type]
        fixed = scenario.from_traces(loaded, step=step, capacity=capacity, pod=pod, pool_nodes=pool_nodes)
        return lambda seed: fixed

    def builtin(seed: int) -> scenario.Scenario:
        made = scenario.builtin(seed=seed)
        return dataclasses.replace(made, pool_nodes=pool_nodes) if pool_nodes is not None else made

    return builtin


def _strategy_names(chosen: list[str] | None) -> list[str]:
    if not chosen:
        return list(strategies.NAMES)
    unknown = [name for name in chosen if name not in strategies.NAMES]
    if unknown:
        raise errors.SettingsError(f"unknown strategy {unknown[0]!r}; choose from {', '.join(strategies.NAMES)}")
    return list(dict.fromkeys(chosen))


def _parse_sweep(text: str) -> tuple[str, np.ndarray[tuple[int], np.dtype[np.float64]]]:
    parameter, _, span = text.partition("=")
    parts = span.split(":")
    if parameter not in _SWEEPABLE or len(parts) != 3:
        raise errors.SettingsError(f"--sweep {text!r}: write PARAM=LO:HI:N with PARAM one of {', '.join(_SWEEPABLE)}")
    try:
        low, high, count = float(parts[0]), float(parts[1]), int(parts[2])
    except ValueError:
        raise errors.SettingsError(f"--sweep {text!r}: LO and HI are numbers, N a whole number") from None
    if count < 2 or count > 50:
        raise errors.SettingsError(f"--sweep {text!r}: N must lie between 2 and 50")
    return parameter, np.linspace(low, high, count)


def _sweep(
    swept: tuple[str, np.ndarray[tuple[int], np.dtype[np.float64]]],
    *,
    make: engine.Make,
    config: settings.Settings,
    names: list[str],
    seeds: int,
    seed: int,
    err: console.Console,
) -> tuple[simulation.SweepPoint, ...]:
    parameter, values = swept
    points = []
    for value in values.tolist():
        changed = dataclasses.replace(config, prices=config.prices.with_value(parameter, value))
        result = _run(make, config=changed, names=names, seeds=seeds, seed=seed, err=err)
        points.append(
            simulation.SweepPoint(
                parameter=parameter, value=value, summaries=result.summaries, intervals=result.intervals
            )
        )
    return tuple(points)


def _run(
    make: engine.Make, *, config: settings.Settings, names: list[str], seeds: int, seed: int, err: console.Console
) -> simulation.SimulationReport:
    with progress.Progress(
        progress.TextColumn("{task.description:<15}"),
        progress.BarColumn(),
        progress.TaskProgressColumn(),
        console=err,
        transient=True,
    ) as bar:
        tasks = {name: bar.add_task(name, total=1.0) for name in names}

        def advance(name: str, done: float) -> None:
            if name in tasks:  # the engine's own counterfactual runs have no bar
                bar.update(tasks[name], completed=done)

        return engine.simulate(make, config=config, names=names, seeds=seeds, first_seed=seed, progress=advance)


def _print(report: simulation.SimulationReport, *, output: choices.Format) -> None:
    if output is choices.Format.json:
        typer.echo(formats.render_json(report), nl=False)
    elif output is choices.Format.csv:
        typer.echo(formats.render_csv(report), nl=False)
    else:
        out = console.Console()
        out.print(table.render_table(report))
        out.print(table.render_workloads(report))
        if report.sweep:
            out.print(table.render_sweep(report))
        out.print(table.render_prices(report))
        out.print(table.render_settings(report))
        for workload in report.settings.get("workloads", []):
            out.print(f"workload: {workload}", markup=False, highlight=False, soft_wrap=True)
        out.print("policies every autoscaled strategy runs:", markup=False)
        for name, wire in dict(report.settings.get("policies", {})).items():
            out.print(f"  {name}: {wire}", markup=False, highlight=False, soft_wrap=True)
