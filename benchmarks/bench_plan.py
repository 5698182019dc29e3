"""Benchmark of the planning core: ``core.plan.plan`` against the plain-Python reference.

Three inputs, each planned in one call as the operator's tick does:
- ``synthetic``: 5,000 nodes x 1,000 policies x 4 resources (cpu, memory, ephemeral-storage, pods),
  four node pools at 40-80% use, three quarters of the policies pinned to one pool, a quarter free to
  use any; every policy grows, some already burst (so drain-back runs too).
- ``openb``: the real node shapes of ``alibaba_openb_nodes.csv`` (cpu, memory, GPUs) with the pod
  shapes of ``alibaba_openb_pods_default.csv`` grouped into one policy per distinct shape, each asking
  for as many replicas as the trace has pods of that shape, on empty nodes;
- ``interpod``: ``synthetic`` with inter-pod constraints: hostname anti-affinity (one replica per
  node, none beside an existing one) for a quarter of the policies, a zone spread (maxSkew 1 over
  three zones) for another quarter, their existing base replicas spread over their eligible nodes;
- ``bridge``: ``synthetic`` with economics (issue 16): half the policies on a growable pool with an
  ECS share cheaper than ECI (the rest fixed, a tenth of them unpriced), bursts of every age, a
  fifth in a schedule window, some placeholders already there and bound; so the cost-based
  drain-back, the placeholders and the waiting-for-node base all run.

Run: ``python benchmarks/bench_plan.py`` (table) or ``--json`` (one JSON object per input, one per
line); ``--profile`` prints a cProfile of the core on each input instead. Not a test: nothing here
asserts a time. Timing is wall-clock on whatever core runs it; pin one core with ``taskset -c 0`` to
measure the one-core target. The core's CPU time is reported too: on a busy machine, wall-clock
includes the time other processes held the core. ``control ms`` is a fixed pure-Python loop run
after each core run: on a shared VM the host slows a vCPU down by phases (on the development machine
the loop takes ~15 ms quiet and up to ~25 ms in a slow phase), and it shows which phase a run met.

Measured (73ffc35, ``taskset -c 0 ... --repeat 21 --reference-repeat 1``, four runs on a quiet 2-core
VM): synthetic median 37.3 / 43.3 / 47.6 / 55.1 ms with control 15.8 / 19.6 / 23.3 / 24.1 ms (the
core costs ~2.2 control loops: ~33 ms at the host's full speed), 249-401x the reference; openb
median 19-31 ms, 25-54x (its reference is fast: 151 policies). Peak traced memory 1.7 MiB.

Measured with the inter-pod input (1b11898, ``python benchmarks/bench_plan.py --repeat 5
--reference-repeat 1``, 2-core VM shared with other jobs, control 13.6-14.3 ms): synthetic median
28.5 ms (24.8-34.9), 722x; interpod median 333 ms (313-362), reference 108.6 s, 326x, peak 25.2 MiB;
openb 15.3 ms, 72x. Core and reference agree on all three.

Measured with the bridge (issue 16, ``python benchmarks/bench_plan.py --repeat 7 --reference-repeat 1``,
two runs on the shared 2-core VM, control 13.5-14.2 ms; core median / CPU median, speedup on wall
medians): synthetic 100.4 / 29.0 ms, 524x (load average 12) and 29.0 / 25.3 ms, 507x; interpod
862 / 322 ms, 271x and 421 / 312 ms, 183x (its wall time well over its CPU time: other jobs held
the core; one reference run each, 233 s and 77 s); bridge 26.7 / 26.7 ms, 477x and 25.9 / 25.9 ms,
477x; openb 15.7 ms, 71x and 15.0 ms, 89x (under 200x before the bridge too: 151 policies make its
reference fast). Core and reference agree on all four, placeholders included.

With the operator's default-profile walk (issue 15; the default here since 645660b, ``--first-fit``
for the rows above): openb 165.1 ms (163.6-167.5), reference 42.3 s, 256x (``--cases openb --repeat 7
--reference-repeat 1``, core 1 pinned, load 1.7); at ``--nodes 1000 --policies 200`` (niced beside a
CI run) synthetic 108.6 ms / 6.9 s, 64x; interpod 119.7 ms / 6.5 s, 54x; bridge 107.3 ms / 6.6 s, 61x,
all agreeing (those references still had a quadratic count, removed in d7f792f, so the ratios are upper
bounds). At 5,000 x 1,000 the core takes ~0.8-1.0 s (16k new replicas walked one by one) and the
references over an hour each: not measured.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import dataclasses
import json
import math
import pathlib
import pstats
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from burstscaler.core import plan, podterms, snapshot  # noqa: E402
from tests.core import reference_plan  # noqa: E402

TRACES = REPO.parent / "shared" / "data" / "traces"
NOW = 10_000.0


def synthetic(*, nodes: int, policies: int, seed: int) -> snapshot.Snapshot:
    """A deterministic random cluster of the target size."""
    rng = np.random.default_rng(seed)
    resources = ("cpu", "memory", "ephemeral-storage", "pods")
    pools = 4
    node_pool = np.arange(nodes) % pools
    allocatable = np.column_stack(
        [
            rng.choice([8000, 16000, 32000, 64000], nodes),
            rng.choice([16, 32, 64, 128], nodes) * 2.0**30,
            np.full(nodes, 100 * 2.0**30),
            np.full(nodes, 110),
        ]
    ).astype(np.float64)
    used = rng.uniform(0.4, 0.8, (nodes, 1))
    requested = np.floor(allocatable * used)
    requests = np.column_stack(
        [
            rng.choice([100, 250, 500, 1000, 2000], policies),
            rng.choice([128, 256, 512, 1024, 4096], policies) * 2.0**20,
            rng.choice([0, 2**30], policies),
            np.ones(policies),
        ]
    ).astype(np.float64)
    pinned = rng.uniform(size=policies) < 0.75
    policy_pool = rng.integers(0, pools, policies)
    eligible = np.where(pinned[:, None], node_pool[None, :] == policy_pool[:, None], True)
    base = rng.integers(1, 20, policies)
    burst = np.where(rng.uniform(size=policies) < 0.3, rng.integers(1, 10, policies), 0)
    starts = [(p, NOW - rng.uniform(0, 600)) for p in range(policies) for _ in range(int(burst[p]))]
    names = tuple(f"ns{p % 50}/app{p}" for p in range(policies))
    history = snapshot.History.empty(names)
    history.room_since[:] = np.where(rng.uniform(size=policies) < 0.5, NOW - 120, np.nan)
    return snapshot.Snapshot(
        nodes=snapshot.Nodes(
            names=tuple(f"node-{n}" for n in range(nodes)),
            resources=resources,
            allocatable=allocatable,
            requested=requested,
            unschedulable=rng.uniform(size=nodes) < 0.01,
            virtual=np.zeros(nodes, dtype=bool),
        ),
        policies=_policies(
            names=names,
            requests=requests,
            eligible=eligible,
            recommended=base + burst + rng.integers(0, 30, policies),
            base=base,
            burst=burst,
            starts=starts,
            priority=rng.integers(0, 3, policies),
        ),
        reservations=snapshot.Reservations.empty(nodes=nodes, resources=len(resources)),
        history=history,
    )


def interpod(*, nodes: int, policies: int, seed: int) -> snapshot.Snapshot:
    """``synthetic`` plus hostname anti-affinity on a quarter of the policies and zone spread on another."""
    snap = synthetic(nodes=nodes, policies=policies, seed=seed)
    rng = np.random.default_rng(seed + 1)
    hostname = np.arange(nodes, dtype=np.int64)
    zone = hostname % 3
    terms = []
    for p in range(policies):
        kind = p % 4
        if kind > 1:
            continue
        where = np.flatnonzero(snap.policies.eligible[p])
        count = int(snap.policies.base_replicas[p])
        if kind == 0:
            existing = np.zeros(nodes, dtype=np.int64)
            existing[rng.choice(where, size=min(count, len(where)), replace=False)] = 1
            terms.append(
                snapshot.Term(policy=p, kind=podterms.ANTI, domain=hostname, existing=existing, self_match=True)
            )
        else:
            existing = np.bincount(zone[rng.choice(where, size=count)], minlength=3).astype(np.int64)
            terms.append(snapshot.Term(policy=p, kind=podterms.SPREAD, domain=zone, existing=existing, self_match=True))
    return dataclasses.replace(snap, topology=snapshot.Topology(terms=tuple(terms)))


def bridge(*, nodes: int, policies: int, seed: int) -> snapshot.Snapshot:
    """``synthetic`` plus per-policy economics: growable and fixed pools, bursts young and old, windows."""
    snap = synthetic(nodes=nodes, policies=policies, seed=seed)
    rng = np.random.default_rng(seed + 2)
    eci = snap.policies.burst_cost_per_second
    placeholders = np.where(rng.uniform(size=policies) < 0.2, snap.policies.burst_replicas, 0).astype(np.int64)
    economics = snapshot.Economics(
        pool_growable=rng.uniform(size=policies) < 0.5,
        ecs_cost_per_second=np.where(rng.uniform(size=policies) < 0.1, np.nan, eci * rng.uniform(0.2, 1.2, policies)),
        node_boot_seconds=np.full(policies, 180.0),
        scale_down_delay_seconds=np.full(policies, 600.0),
        pod_startup_seconds=np.full(policies, 60.0),
        min_savings=np.full(policies, np.nan),
        max_placeholders=np.where(rng.uniform(size=policies) < 0.1, 2, snapshot.UNLIMITED).astype(np.int64),
        placeholders=placeholders,
        placeholders_bound=np.minimum(placeholders, rng.integers(0, 3, policies)).astype(np.int64),
        window_ends=np.where(rng.uniform(size=policies) < 0.2, NOW + 1800.0, np.nan),
    )
    began = np.where(snap.policies.burst_replicas > 0, NOW - rng.uniform(0, 3000, policies), np.nan)
    history = dataclasses.replace(snap.history, burst_since=began)
    return dataclasses.replace(snap, history=history, economics=economics)


def openb(*, nodes_csv: pathlib.Path, pods_csv: pathlib.Path) -> snapshot.Snapshot:
    """The openb node shapes, empty, asked to host the trace's pods grouped by shape."""
    with nodes_csv.open() as handle:
        node_rows = list(csv.DictReader(handle))
    with pods_csv.open() as handle:
        pod_rows = list(csv.DictReader(handle))
    resources = ("cpu", "memory", "gpu-milli", "pods")
    allocatable = np.array(
        [[float(r["cpu_milli"]), float(r["memory_mib"]) * 2**20, float(r["gpu"]) * 1000, 110.0] for r in node_rows]
    )
    shapes: dict[tuple[float, float, float], int] = {}
    for r in pod_rows:
        gpu = float(r["num_gpu"]) * float(r["gpu_milli"]) if float(r["num_gpu"]) > 0 else 0.0
        shape = (float(r["cpu_milli"]), float(r["memory_mib"]) * 2**20, gpu)
        shapes[shape] = shapes.get(shape, 0) + 1
    ordered = sorted(shapes)
    count = len(ordered)
    names = tuple(f"openb/shape-{i:03d}" for i in range(count))
    zeros = np.zeros(count, dtype=np.int64)
    return snapshot.Snapshot(
        nodes=snapshot.Nodes(
            names=tuple(r["sn"] for r in node_rows),
            resources=resources,
            allocatable=allocatable,
            requested=np.zeros_like(allocatable),
            unschedulable=np.zeros(len(node_rows), dtype=bool),
            virtual=np.zeros(len(node_rows), dtype=bool),
        ),
        policies=_policies(
            names=names,
            requests=np.array([[*shape, 1.0] for shape in ordered]),
            eligible=np.ones((count, len(node_rows)), dtype=bool),
            recommended=np.array([shapes[shape] for shape in ordered], dtype=np.int64),
            base=zeros,
            burst=zeros,
            starts=[],
            priority=zeros,
        ),
        reservations=snapshot.Reservations.empty(nodes=len(node_rows), resources=len(resources)),
        history=snapshot.History.empty(names),
    )


def _policies(
    *,
    names: tuple[str, ...],
    requests: snapshot.FloatArray,
    eligible: snapshot.BoolArray,
    recommended: snapshot.IntArray,
    base: snapshot.IntArray,
    burst: snapshot.IntArray,
    starts: list[tuple[int, float]],
    priority: snapshot.IntArray,
) -> snapshot.Policies:
    count = len(names)

    def full(value: float, dtype: type = np.float64) -> Any:
        return np.full(count, value, dtype=dtype)

    return snapshot.Policies(
        names=names,
        requests=requests,
        eligible=eligible,
        recommended=recommended.astype(np.int64),
        min_replicas=full(1, np.int64),
        max_replicas=full(500, np.int64),
        base_replicas=base.astype(np.int64),
        base_ready=base.astype(np.int64),
        base_unschedulable=full(0, np.int64),
        burst_replicas=burst.astype(np.int64),
        burst_ready=burst.astype(np.int64),
        base_max=full(snapshot.UNLIMITED, np.int64),
        burst_max=full(200, np.int64),
        burst_enabled=full(True, bool),
        eci_compatible=full(True, bool),
        max_cost_per_second=full(math.inf),
        burst_cost_per_second=full(0.00001),
        priority=priority.astype(np.int64),
        drain_enabled=full(True, bool),
        min_burst_seconds=full(120.0),
        stabilization_seconds=full(60.0),
        max_moves_per_tick=full(10, np.int64),
        drain_timeout_seconds=full(300.0),
        burst_pod_policy=np.array([p for p, _ in starts], dtype=np.int64),
        burst_pod_started=np.array([t for _, t in starts], dtype=np.float64),
    )


def control() -> int:
    """A fixed pure-Python workload: its time tells how fast the host ran us (shared cores vary)."""
    total = 0
    for i in range(200_000):
        total += i * i % 7
    return total


def measure(call: Callable[[], object], *, repeat: int, with_control: bool = False) -> dict[str, float]:
    """Median/min/max wall-clock ms and median CPU ms over ``repeat`` runs, and the peak traced memory of one run.

    ``with_control``: ``control()`` runs after each run, and its median CPU ms is reported too.
    """
    times = []
    cpu = []
    controls = []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        call()
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        if with_control:
            start_cpu = time.process_time()
            control()
            controls.append((time.process_time() - start_cpu) * 1000)
    tracemalloc.start()
    call()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "median_ms": statistics.median(times),
        "min_ms": min(times),
        "max_ms": max(times),
        "cpu_median_ms": statistics.median(cpu),
        "control_median_ms": statistics.median(controls) if controls else math.nan,
        "peak_mib": peak / 2**20,
    }


def run_case(
    name: str, snap: snapshot.Snapshot, *, repeat: int, reference_repeat: int, spread: bool = True
) -> dict[str, Any]:
    """Time the core and the reference on one input (``spread``: the operator's default-profile walk)."""
    core = measure(lambda: plan.plan(snap, now=NOW, spread=spread), repeat=repeat, with_control=True)
    ref = measure(lambda: reference_plan.plan(snap, now=NOW, spread=spread), repeat=reference_repeat)
    fast, slow = plan.plan(snap, now=NOW, spread=spread), reference_plan.plan(snap, now=NOW, spread=spread)
    fields = ("base", "burst", "moves_started", "unplaceable", "placeholders")
    agree = all(getattr(fast, f).tolist() == slow[f] for f in fields)
    return {
        "case": name,
        "nodes": len(snap.nodes.names),
        "policies": len(snap.policies),
        "resources": len(snap.nodes.resources),
        "core_median_ms": round(core["median_ms"], 2),
        "core_min_ms": round(core["min_ms"], 2),
        "core_max_ms": round(core["max_ms"], 2),
        "core_cpu_median_ms": round(core["cpu_median_ms"], 2),
        "core_peak_mib": round(core["peak_mib"], 1),
        "control_median_ms": round(core["control_median_ms"], 1),
        "reference_median_ms": round(ref["median_ms"], 1),
        "reference_min_ms": round(ref["min_ms"], 1),
        "reference_max_ms": round(ref["max_ms"], 1),
        "reference_peak_mib": round(ref["peak_mib"], 1),
        "speedup": round(ref["median_ms"] / core["median_ms"], 1),
        "agree": agree,
        "base_total": int(fast.base.sum()),
        "burst_total": int(fast.burst.sum()),
        "moves_started": int(fast.moves_started.sum()),
        "unplaceable_total": int(fast.unplaceable.sum()),
        "placeholders_total": int(fast.placeholders.sum()),
    }


def profile(name: str, snap: snapshot.Snapshot, *, repeat: int, spread: bool = True) -> None:
    """cProfile of ``repeat`` runs of the core, after one warm-up run: the 25 costliest functions by own time."""
    plan.plan(snap, now=NOW, spread=spread)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(repeat):
        plan.plan(snap, now=NOW, spread=spread)
    profiler.disable()
    print(f"== {name}: {repeat} runs of plan.plan")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(25)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--policies", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=21, help="runs of the core per case")
    parser.add_argument("--reference-repeat", type=int, default=3, help="runs of the reference per case")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--nodes-csv", type=pathlib.Path, default=TRACES / "alibaba_openb_nodes.csv")
    parser.add_argument("--pods-csv", type=pathlib.Path, default=TRACES / "alibaba_openb_pods_default.csv")
    parser.add_argument("--json", action="store_true", help="print one JSON object per case, one per line")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the core per case, no timing")
    parser.add_argument(
        "--first-fit", action="store_true", help="plan with first fit in node order, not the operator's walk"
    )
    parser.add_argument("--cases", default="synthetic,interpod,bridge,openb", help="comma-separated inputs to run")
    args = parser.parse_args(argv)
    wanted = set(args.cases.split(","))

    makers = {
        "synthetic": lambda: synthetic(nodes=args.nodes, policies=args.policies, seed=args.seed),
        "interpod": lambda: interpod(nodes=args.nodes, policies=args.policies, seed=args.seed),
        "bridge": lambda: bridge(nodes=args.nodes, policies=args.policies, seed=args.seed),
    }
    cases = [(name, make()) for name, make in makers.items() if name in wanted]
    if "openb" in wanted and args.nodes_csv.exists() and args.pods_csv.exists():
        cases.append(("openb", openb(nodes_csv=args.nodes_csv, pods_csv=args.pods_csv)))
    elif "openb" in wanted and not args.json:
        print(f"skipping openb: {args.nodes_csv} or {args.pods_csv} not found")
    if args.profile:
        for name, snap in cases:
            profile(name, snap, repeat=args.repeat, spread=not args.first_fit)
        return 0
    results = [
        run_case(name, snap, repeat=args.repeat, reference_repeat=args.reference_repeat, spread=not args.first_fit)
        for name, snap in cases
    ]
    command = "python " + " ".join(["benchmarks/bench_plan.py", *(argv if argv is not None else sys.argv[1:])])
    if args.json:
        for result in results:
            print(json.dumps({**result, "command": command}))
        return 0
    columns = [
        ("case", "case"),
        ("nodes", "nodes"),
        ("policies", "policies"),
        ("core_median_ms", "core med ms"),
        ("core_min_ms", "min"),
        ("core_max_ms", "max"),
        ("core_cpu_median_ms", "core cpu med ms"),
        ("core_peak_mib", "core peak MiB"),
        ("control_median_ms", "control ms"),
        ("reference_median_ms", "ref med ms"),
        ("reference_min_ms", "min"),
        ("reference_max_ms", "max"),
        ("reference_peak_mib", "ref peak MiB"),
        ("speedup", "speedup"),
        ("agree", "agree"),
    ]
    rows = [[str(r[key]) for key, _ in columns] for r in results]
    widths = [max(len(title), *(len(row[i]) for row in rows)) for i, (_, title) in enumerate(columns)]
    print("  ".join(title.rjust(w) for (_, title), w in zip(columns, widths, strict=True)))
    for row in rows:
        print("  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)))
    print(f"reproduce: {command}   (pin one core: taskset -c 0 {command})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
