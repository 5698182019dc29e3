"""The acceptance table of issue 16: every strategy on every shared trace, two price profiles, spot off and on.

Runs the fair simulator with its shipped defaults (one policy for all, the newsvendor pool, drawn
delays, burstscaler on a growable pool) on the built-in cluster (one day, what ``burstscaler
simulate`` runs with no arguments) and on every load trace in ``../shared/data/traces``: NASA July
1995 (``--value-column requests --skip-column server_down``) and the Azure LLM inference hour
(``--value-column requests``). The openb CSVs there are a scheduler dataset (nodes and pods with
GPU requests and lifetimes), not a load trace, so they are not replayed. No default is tuned to a
trace: the bare traces use the printed capacity rule and the CLI's default pod (1 vCPU / 2 GiB).

For each (scenario, profile, spot) it prints every strategy's cost, unserved share, drain-back moves
and placeholder pod-seconds, plus ``burstscaler (fixed pool)`` (the same core on the fixed pool only,
``--fixed-pool``) for reference, and on burstscaler's row the checks of issue 16 as PASS/FAIL:
unserved <= eci-only's + 0.01% of demand; cost < eci-only's, < resourcepolicy's, <= hpa-ca's; with
spot on, cheaper than burstscaler with spot off. Output: a markdown table and the command that
reproduces it. Not a test (it takes minutes). Run::

    python benchmarks/sim_acceptance.py [--seeds 1] [--jobs 2] [--scenarios builtin,nasa,azure]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import pathlib
import sys
import time

import numpy as np

from burstscaler.reports import simulation
from burstscaler.sim import engine, prices, realism, scenario, settings, strategies, traces
from burstscaler.sim.strategies import burstscaler as burstscaler_strategy
from burstscaler.sim.strategies import protocol

TRACES = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "traces"
SCENARIOS = ("builtin", "nasa", "azure")
PROFILES = ("alibaba-intl", "alibaba-cn")
_POD = scenario.PodShape.of(cpu=1.0, memory_gib=2.0)  # the CLI's default pod for a bare trace
_FIXED = "burstscaler (fixed pool)"


def _fixed_pool(run: protocol.Run) -> protocol.Setup:
    return burstscaler_strategy.build(
        dataclasses.replace(run, settings=dataclasses.replace(run.settings, node_autoscaling_for_burstscaler=False))
    )


def make(name: str, seed: int) -> scenario.Scenario:
    """The scenario ``name`` for ``seed``, loaded with the CLI's defaults."""
    if name == "builtin":
        return scenario.builtin(seed=seed)
    if name == "nasa":
        trace = traces.load_trace(
            TRACES / "nasa_http_1995-07_per_minute.csv", value_column="requests", skip_column="server_down"
        )
    elif name == "azure":
        trace = traces.load_trace(
            TRACES / "azure_llm_inference_2023-11-16_code_per_second.csv", value_column="requests"
        )
    else:
        raise SystemExit(f"unknown scenario {name!r}; choose from {', '.join(SCENARIOS)}")
    return scenario.from_traces([trace], step=30.0, capacity=None, pod=_POD, pool_nodes=None)


@dataclasses.dataclass(frozen=True)
class Cell:
    """One (scenario, profile, spot) run: every strategy's mean summary over the seeds, and the pool."""

    scenario: str
    profile: str
    spot: bool
    pool: int
    summaries: dict[str, simulation.StrategySummary]
    seconds: float


def run_cell(name: str, profile: str, spot: bool, seeds: int) -> Cell:
    """Every strategy (and burstscaler on the fixed pool) on one scenario, profile and spot setting."""
    began = time.perf_counter()
    config = settings.Settings(prices=prices.load(profile), spot=spot, realism=realism.Realism())
    entries = [*strategies.REGISTRY, strategies.Entry(_FIXED, "burstscaler on the fixed pool only", _fixed_pool)]
    per_seed: dict[str, list[simulation.StrategySummary]] = {entry.name: [] for entry in entries}
    pool = 0
    for seed in range(seeds):
        run = engine.prepare(make(name, seed), config=config, seed=seed)
        pool = run.pool
        recordings = engine.run_strategies(entries, run=run)
        for entry in entries:
            per_seed[entry.name].append(engine.judge(recordings[entry.name], run=run))
    summaries = {key: _mean(values) for key, values in per_seed.items()}
    return Cell(name, profile, spot, pool, summaries, time.perf_counter() - began)


def _mean(values: list[simulation.StrategySummary]) -> simulation.StrategySummary:
    fields = {}
    for field in dataclasses.fields(simulation.StrategySummary):
        column = [getattr(v, field.name) for v in values]
        mean = float(np.mean(column))
        fields[field.name] = round(mean) if isinstance(column[0], int) else mean
    return simulation.StrategySummary(**fields)  # type: ignore[arg-type]


def checks(cell: Cell, *, spot_off: Cell | None) -> list[tuple[str, bool]]:
    """Issue 16's acceptance checks on burstscaler's row of ``cell``."""
    s = cell.summaries
    bs, eci, rp, hpa = s["burstscaler"], s["eci-only"], s["resourcepolicy"], s["hpa-ca"]
    result = [
        ("unserved<=eci+0.01pp", bs.unserved_fraction <= eci.unserved_fraction + 1e-4),
        ("cost<eci-only", bs.cost < eci.cost),
        ("cost<resourcepolicy", bs.cost < rp.cost),
        ("cost<=hpa-ca", bs.cost <= hpa.cost),
    ]
    if cell.spot and spot_off is not None:
        result.append(("spot cheaper", bs.cost < spot_off.summaries["burstscaler"].cost))
    return result


def replica_prices(profile_name: str) -> str:
    """The structural fact: one 1 vCPU / 2 GiB replica's hourly price on an added ECS node vs on ECI."""
    profile = prices.load(profile_name)
    node = settings.Settings(prices=profile).node
    share = float(np.max(np.array([1000.0, 2.0 * 2**30, 1.0]) / node.allocatable))
    ecs = profile.ecs_node_payg_per_hour.value * share
    sub = profile.ecs_node_subscription_per_hour.value * share
    eci = profile.eci_per_second(vcpu=1.0, memory_gib=2.0) * 3600.0
    spot = eci * (1.0 - profile.eci_spot_discount_min.value)
    return (
        f"{profile_name}: a 1 vCPU / 2 GiB replica costs {ecs:.4g} {profile.currency}/h on an added pay-as-you-go "
        f"node (share {share:g} of {node.cpu:g} vCPU / {node.memory_gib:g} GiB), {sub:.4g} on the subscription pool, "
        f"{eci:.4g} on ECI, {spot:.4g} on spot ECI (discount {profile.eci_spot_discount_min.value:g}); "
        f"pay-as-you-go ECS / ECI = {ecs / eci:.2f}"
    )


def render(cells: list[Cell], *, command: str, seeds: int) -> str:
    """The markdown table, the replica prices and the command that reproduces it."""
    lines = [
        f"Reproduce: `{command}` ({seeds} seed{'s' if seeds != 1 else ''}; means)",
        "",
        *(f"- {replica_prices(name)}" for name in dict.fromkeys(c.profile for c in cells)),
        "",
        "| scenario | profile | spot | pool | strategy | cost | unserved % | drain-back moves | placeholder pod·s "
        "| checks (burstscaler) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    by_key = {(c.scenario, c.profile, c.spot): c for c in cells}
    for cell in cells:
        off = by_key.get((cell.scenario, cell.profile, False))
        for name, summary in cell.summaries.items():
            verdict = ""
            if name == "burstscaler":
                verdict = ", ".join(f"{label} {'PASS' if ok else 'FAIL'}" for label, ok in checks(cell, spot_off=off))
            currency = prices.load(cell.profile).currency
            lines.append(
                f"| {cell.scenario} | {cell.profile} | {'on' if cell.spot else 'off'} | {cell.pool} | {name} "
                f"| {summary.cost:.2f} {currency} | {100 * summary.unserved_fraction:.4f} | {summary.drain_back_moves} "
                f"| {summary.placeholder_pod_seconds:.0f} | {verdict} |"
            )
    lines.append("")
    lines.append(
        "Wall time per cell: " + ", ".join(f"{c.scenario}/{c.profile}/{c.spot}: {c.seconds:.0f} s" for c in cells)
    )
    return "\n".join(lines)


def main() -> None:
    """Run every cell (in ``--jobs`` processes) and print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--profiles", default=",".join(PROFILES))
    args = parser.parse_args()
    names = [n for n in args.scenarios.split(",") if n]
    profiles = [p for p in args.profiles.split(",") if p]
    jobs = [(name, profile, spot) for name in names for profile in profiles for spot in (False, True)]
    with concurrent.futures.ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(run_cell, name, profile, spot, args.seeds) for name, profile, spot in jobs]
        cells = []
        for future in futures:
            cell = future.result()
            print(f"done {cell.scenario}/{cell.profile}/spot={cell.spot} in {cell.seconds:.0f} s", file=sys.stderr)
            cells.append(cell)
    command = "python benchmarks/sim_acceptance.py " + " ".join(sys.argv[1:])
    print(render(cells, command=command.strip(), seeds=args.seeds))


if __name__ == "__main__":
    main()
