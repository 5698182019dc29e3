"""Benchmark: a 30-day per-minute trace through all four strategies (target: under 60 s in total).

The trace is 30 days of the built-in scenario (one seed per day), written as a CSV and read back, so
the time includes parsing. Run: ``python benchmarks/bench_sim.py [--step 30]``. Prints the time per
strategy and in total; not a test (no wall-clock assertions in tests).

Measured (2 cores shared with other work, load average 5.5): load 0.31 s, static-peak 2.01 s,
hpa-ca 6.00 s, eci-only 14.56 s, burstscaler 30.16 s, total 53.04 s at 30-s steps (86,400 steps).
eci-only runs ``core.recommend`` every step; burstscaler also plans, but reuses the last plan while
its inputs are unchanged (``strategies.burstscaler._Memo``), which skips ~94% of ``core.plan`` calls.
"""

from __future__ import annotations

import argparse
import datetime
import pathlib
import tempfile
import time

import numpy as np

from burstscaler.sim import engine, scenario, settings, strategies, traces

DAYS = 30
TARGET_SECONDS = 60.0


def write_trace(path: pathlib.Path) -> None:
    """30 days of per-minute request counts, ISO timestamps, as a user's trace would come."""
    days = [scenario.builtin_trace(seed=day).rates for day in range(DAYS)]
    counts = np.rint(np.concatenate(days) * 60.0).astype(np.int64)
    start = scenario.START
    with path.open("w", encoding="utf-8") as stream:
        stream.write("minute,requests\n")
        for minute, count in enumerate(counts.tolist()):
            stamp = (start + datetime.timedelta(minutes=minute)).isoformat()
            stream.write(f"{stamp},{count}\n")


def main() -> None:
    """Time loading and simulating; print one line per phase and the total."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--step", type=float, default=30.0, help="simulation step in seconds (default 30)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        path = pathlib.Path(directory) / "thirty_days.csv"
        write_trace(path)
        began = time.perf_counter()
        trace = traces.load_trace(path)
        loaded = time.perf_counter()
        config = settings.Settings(capacity_per_replica=scenario.CAPACITY_PER_REPLICA, step_seconds=args.step)
        print(f"load {trace.rates.size} rows: {loaded - began:.2f} s")
        timings = {}
        for name in strategies.NAMES:
            started = time.perf_counter()
            engine.simulate(trace, config=config, names=[name])
            timings[name] = time.perf_counter() - started
            print(f"{name:<12} {timings[name]:6.2f} s  ({trace.duration / args.step:,.0f} steps)")
        total = time.perf_counter() - began
    verdict = "within" if total < TARGET_SECONDS else "OVER"
    print(f"total {total:.2f} s for {DAYS} days at {args.step:g}-s steps ({verdict} the {TARGET_SECONDS:g} s target)")


if __name__ == "__main__":
    main()
