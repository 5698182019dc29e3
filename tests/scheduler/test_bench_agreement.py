"""The agreement benchmark runs and reports its keys; the planner agrees with the model on fresh clusters."""

from __future__ import annotations

import importlib.util
import json
import pathlib
import sys

import pytest

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "benchmarks" / "bench_agreement.py"


def test_bench_agreement_json(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    spec = importlib.util.spec_from_file_location("bench_agreement", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules while the script is executed.
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    module.main(["--cases", "3", "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert set(summary) == {"cases", "seed", "exact", "over", "under", "over_pods", "under_pods"}
    assert summary["cases"] == 3 and summary["seed"] == 0
    for key in ("exact", "over", "under", "over_pods", "under_pods"):
        assert 0.0 <= summary[key] <= 1.0, key


def test_the_planner_predicts_the_scheduler_model_on_fresh_clusters(monkeypatch: pytest.MonkeyPatch) -> None:
    # The planner's default-profile walk against the independent model, on clusters the benchmark's
    # published seeds do not cover: every planned replica lands and no further one would fit.
    spec = importlib.util.spec_from_file_location("bench_agreement", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    summary, rows = module.run(cases=40, seed=20261202)
    assert sum(row["planned"] for row in rows) > 100  # the clusters do ask for room
    assert summary["over_pods"] == 0.0
    assert summary["under_pods"] == 0.0
    assert summary["exact"] == 1.0
