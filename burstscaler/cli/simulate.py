"""`burstscaler simulate`: replay a load trace through a model cluster and compare strategies.

With no options it replays the built-in scenario (a day of diurnal load with a flash crowd). Every
setting that shapes the result is an option with DESIGN §1/§3's default and is printed with the
results. Errors print one line and exit with code 1, never a traceback.
"""

from __future__ import annotations

import pathlib
from typing import Annotated

import typer
from rich import console, progress

from burstscaler.cli import choices
from burstscaler.reports import formats, htmlpage, simulation, table
from burstscaler.sim import cluster, engine, errors, scenario, settings, strategies, traces


def simulate(
    trace: Annotated[
        pathlib.Path | None,
        typer.Option(help="CSV load trace (request counts per row). Default: the built-in scenario."),
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
            help="Requests/s one replica serves at target utilisation. Default: 10 for the built-in scenario; "
            f"for a trace, its peak / {settings.AUTO_PEAK_REPLICAS} (printed as auto)."
        ),
    ] = None,
    step: Annotated[float, typer.Option(help="Simulation step, seconds.")] = 30.0,
    pod_cpu: Annotated[float, typer.Option(help="vCPU one replica requests.")] = settings.DEFAULT_POD.cpu,
    pod_memory: Annotated[float, typer.Option(help="GiB one replica requests.")] = settings.DEFAULT_POD.memory_gib,
    node_cpu: Annotated[float, typer.Option(help="Allocatable vCPU of an ECS node.")] = settings.DEFAULT_NODE.cpu,
    node_memory: Annotated[
        float, typer.Option(help="Allocatable GiB of an ECS node.")
    ] = settings.DEFAULT_NODE.memory_gib,
    node_price: Annotated[
        float, typer.Option(help="ECS node price per hour (an assumption; set your own).")
    ] = settings.ECS_NODE_PER_HOUR,
    base_nodes: Annotated[
        int | None,
        typer.Option(help="burstscaler's fixed ECS pool in nodes. Default: sized by the ECS/ECI price ratio."),
    ] = None,
    min_replicas: Annotated[int, typer.Option(help="Lowest replica count of every strategy.")] = 2,
    max_replicas: Annotated[int, typer.Option(help="Highest replica count of every strategy.")] = 1000,
    pod_startup: Annotated[float, typer.Option(help="Seconds from scheduling to Ready on ECS.")] = 20.0,
    eci_startup: Annotated[float, typer.Option(help="Seconds from creation to Ready on the virtual node.")] = 45.0,
    node_boot: Annotated[
        float, typer.Option(help="Seconds from a node request (cluster-autoscaler) to schedulable.")
    ] = 180.0,
    node_idle: Annotated[float, typer.Option(help="Seconds an empty node lives before removal.")] = 600.0,
    eci_vcpu_price: Annotated[
        float, typer.Option(help="ECI price per vCPU-second (DESIGN §3).")
    ] = settings.ECI_PER_VCPU_SECOND,
    eci_gib_price: Annotated[
        float, typer.Option(help="ECI price per GiB-second (DESIGN §3).")
    ] = settings.ECI_PER_GIB_SECOND,
    currency: Annotated[str, typer.Option(help="Currency of the prices.")] = "USD",
    slo_unserved_fraction: Annotated[
        float, typer.Option(help="A minute violates the SLO when more than this share of its demand is unserved.")
    ] = 0.01,
    seed: Annotated[int, typer.Option(help="Seed of the built-in scenario's noise.")] = 0,
    target_utilization: Annotated[
        float,
        typer.Option(
            min=0.05,
            max=1.0,
            help="burstscaler/eci-only policy: AverageValue target as a share of what a replica can serve.",
        ),
    ] = settings.TARGET_UTILIZATION,
    scale_up_tolerance: Annotated[
        float, typer.Option(min=0.0, help="burstscaler/eci-only policy: behavior.scaleUp.tolerance.")
    ] = settings.SCALE_UP_TOLERANCE,
    scale_down_window: Annotated[
        int, typer.Option(min=0, max=3600, help="burstscaler/eci-only policy: scale-down stabilization, seconds.")
    ] = settings.SCALE_DOWN_WINDOW_SECONDS,
) -> None:
    """Replay a load trace through static-peak, hpa-ca, eci-only and burstscaler; compare cost and misses."""
    err = console.Console(stderr=True)
    try:
        names = _strategy_names(strategy)
        if trace is None:
            load_trace = scenario.builtin_trace(seed=seed)
            capacity, source = capacity_per_replica or scenario.CAPACITY_PER_REPLICA, "given"
            if capacity_per_replica is None:
                source = "built-in scenario"
        else:
            load_trace = traces.load_trace(
                trace,
                time_column=time_column,
                value_column=value_column,
                interval=traces.parse_interval(interval) if interval is not None else None,
                skip_column=skip_column,
            )
            capacity, source = capacity_per_replica or 0.0, "given"
            if capacity_per_replica is None:
                capacity = settings.auto_capacity(traces.resample(load_trace, step=step))
                source = f"auto: trace peak / {settings.AUTO_PEAK_REPLICAS}"
        config = settings.Settings(
            capacity_per_replica=capacity,
            capacity_source=source,
            step_seconds=step,
            pod=cluster.PodShape(cpu=pod_cpu, memory_gib=pod_memory),
            node=cluster.NodeShape(cpu=node_cpu, memory_gib=node_memory, price_per_hour=node_price),
            base_nodes=base_nodes,
            min_replicas=min_replicas,
            max_replicas=max_replicas,
            pod_startup_seconds=pod_startup,
            eci_startup_seconds=eci_startup,
            node_boot_seconds=node_boot,
            node_idle_seconds=node_idle,
            eci_per_vcpu_second=eci_vcpu_price,
            eci_per_gib_second=eci_gib_price,
            currency=currency,
            slo_unserved_fraction=slo_unserved_fraction,
            target_utilization=target_utilization,
            scale_up_tolerance=scale_up_tolerance,
            scale_down_window_seconds=scale_down_window,
        )
        report = _run(load_trace, config=config, names=names, explicit=strategy is not None, err=err)
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


def _strategy_names(chosen: list[str] | None) -> list[str]:
    if not chosen:
        return list(strategies.NAMES)
    unknown = [name for name in chosen if name not in strategies.NAMES]
    if unknown:
        raise errors.SettingsError(f"unknown strategy {unknown[0]!r}; choose from {', '.join(strategies.NAMES)}")
    return list(dict.fromkeys(chosen))


def _run(
    load_trace: traces.Trace,
    *,
    config: settings.Settings,
    names: list[str],
    explicit: bool,
    err: console.Console,
) -> simulation.SimulationReport:
    with progress.Progress(
        progress.TextColumn("{task.description:<12}"),
        progress.BarColumn(),
        progress.TaskProgressColumn(),
        console=err,
        transient=True,
    ) as bar:
        tasks = {name: bar.add_task(name, total=1.0) for name in names}

        def advance(name: str, done: float) -> None:
            bar.update(tasks[name], completed=done)

        return engine.simulate(load_trace, config=config, names=names, progress=advance, skip_unavailable=not explicit)


def _print(report: simulation.SimulationReport, *, output: choices.Format) -> None:
    if output is choices.Format.json:
        typer.echo(formats.render_json(report), nl=False)
    elif output is choices.Format.csv:
        typer.echo(formats.render_csv(report), nl=False)
    else:
        out = console.Console()
        out.print(table.render_table(report))
        out.print(table.render_settings(report))
        for name, reason in dict(report.settings.get("not_run", {})).items():
            out.print(f"[yellow]{name}: not run: {reason}[/]")
