"""The agreement benchmark still runs and reports its keys (it must not rot; no threshold here)."""

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
