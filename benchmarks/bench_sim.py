"""Benchmark: the built-in cluster over 30 days through all five strategies (target: <= 60 s in total).

Three workloads (web, api, nightly batch; ``sim.scenario``) on one shared pool, 30 days at 30-s steps
(86,400 steps), the shipped defaults (drawn delays, ECI failures, metric lag, the kube-scheduler model
placing base pods), all five strategies stepped in lockstep as ``engine.simulate`` steps them (so
identical recommender calls are shared: ``recommender.StepCache``). Prints the time per strategy and
per step, the share of recommender calls answered from the cache, and the total. Run:
``python benchmarks/bench_sim.py [--step 30] [--days 30] [--placement auto|first-fit]``; on one core:
``taskset -c 0 python benchmarks/bench_sim.py``. Not a test (no wall-clock assertions in tests).

Measured numbers are in ``docs/design.md`` ("Simulator results").
"""

from __future__ import annotations

import argparse
import time

from burstscaler.sim import engine, placement, prices, scenario, settings, strategies

TARGET_SECONDS = 60.0


def main() -> None:
    """Time each strategy on the same run; print one line per strategy and the total."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--step", type=float, default=30.0, help="decision step in seconds (default 30)")
    parser.add_argument("--days", type=int, default=30, help="days of the built-in cluster (default 30)")
    parser.add_argument("--placement", default="auto", choices=placement.CHOICES)
    args = parser.parse_args()
    began = time.perf_counter()
    config = settings.Settings(prices=prices.load(prices.DEFAULT), step_seconds=args.step, placement=args.placement)
    run = engine.prepare(scenario.builtin(seed=0, days=args.days), config=config)
    steps = max(load.rates.size for load in run.loads)
    prepared = time.perf_counter() - began
    print(f"prepare {len(run.loads)} workloads x {steps:,} steps, pool {run.pool} nodes: {prepared:.2f} s")
    timings: dict[str, float] = {}
    recordings = engine.run_strategies(strategies.REGISTRY, run=run, timings=timings)
    for name, spent in timings.items():
        recording = recordings[name]
        print(
            f"{name:<15} {spent:6.2f} s  {spent / steps * 1e6:6.1f} us/step  "
            f"moves {int(recording.moves.sum()):4d}  peak nodes {int(recording.nodes.max()):3d}"
        )
    calls = run.cache.hits + run.cache.misses
    print(f"core.recommend calls: {run.cache.misses:,} made, {run.cache.hits:,} of {calls:,} shared")
    total = time.perf_counter() - began
    verdict = "within" if total <= TARGET_SECONDS else "OVER"
    print(
        f"total {total:.2f} s for {args.days} days at {args.step:g}-s steps ({verdict} the {TARGET_SECONDS:g} s target)"
    )


if __name__ == "__main__":
    main()
