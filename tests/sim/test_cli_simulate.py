"""`burstscaler simulate` from the command line: outputs, options and one-line errors.

The command is registered in ``burstscaler/cli/__init__.py`` by its owner; these tests mount the
function on a local Typer app so they do not depend on that registration.
"""

from __future__ import annotations

import json
import pathlib

import pytest
import typer
from typer import testing

from burstscaler.cli import simulate
from tests.sim import factories

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
app.command("simulate")(simulate.simulate)
app.command("noop", hidden=True)(lambda: None)  # a second command keeps `simulate` a subcommand
runner = testing.CliRunner()

_SHORT = "t,requests,down\n" + "".join(f"{minute},{60 * (5 + minute % 7)},{int(minute == 3)}\n" for minute in range(30))


def _short_trace(tmp_path: pathlib.Path) -> pathlib.Path:
    return factories.write_csv(tmp_path, _SHORT)


def test_json_output_on_a_trace(tmp_path: pathlib.Path) -> None:
    path = _short_trace(tmp_path)
    result = runner.invoke(
        app,
        [
            "simulate",
            "--trace",
            str(path),
            "--interval",
            "60s",
            "--value-column",
            "requests",
            "--skip-column",
            "down",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert set(document["strategies"]) == {"static-peak", "hpa-ca", "eci-only", "resourcepolicy", "burstscaler"}
    for key in ("cost", "unserved_request_seconds", "unserved_fraction", "slo_violation_minutes"):
        assert key in document["strategies"]["burstscaler"]
    assert {"demand_request_seconds", "workloads", "prices"} <= set(document)
    assert document["demand_request_seconds"] == 60 * sum(5 + minute % 7 for minute in range(30) if minute != 3)
    assert document["workloads"][0]["strategies"]["hpa-ca"]["eci_cost"] == 0.0
    assert document["prices"]["eci_per_vcpu_second"]["source"].startswith("https://")
    assert document["settings"]["workloads"][0]["capacity_source"].startswith("auto")


@pytest.mark.parametrize(
    ("fmt", "marker"),
    [pytest.param("csv", "strategy,cost,", id="csv"), pytest.param("table", "Settings", id="table")],
)
def test_formats(tmp_path: pathlib.Path, fmt: str, marker: str) -> None:
    result = runner.invoke(
        app,
        [
            "simulate",
            "--trace",
            str(_short_trace(tmp_path)),
            "--interval",
            "1m",
            "--value-column",
            "requests",
            "--strategy",
            "hpa-ca",
            "--strategy",
            "eci-only",
            "--format",
            fmt,
        ],
    )
    assert result.exit_code == 0, result.output
    assert marker in result.stdout
    assert "static-peak" not in result.stdout.split("Prices")[0]


def test_html_report_written(tmp_path: pathlib.Path) -> None:
    html = tmp_path / "report.html"
    result = runner.invoke(
        app,
        [
            "simulate",
            "--trace",
            str(_short_trace(tmp_path)),
            "--interval",
            "1m",
            "--value-column",
            "requests",
            "--capacity-per-replica",
            "2",
            "--html",
            str(html),
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    page = html.read_text()
    assert page.count("<svg") == 9  # trade-off, one capacity chart per strategy, moves, savings, cost
    assert "Prices and their sources" in page and "Per workload" in page


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param(["--trace", "/nonexistent/trace.csv"], "no such trace file", id="missing-file"),
        pytest.param(["--strategy", "magic"], "unknown strategy 'magic'", id="unknown-strategy"),
        pytest.param(["--interval", "soon", "--trace", "{trace}"], "--interval", id="bad-interval"),
        pytest.param(["--trace", "{trace}", "--interval", "1m"], "several numeric columns", id="ambiguous-columns"),
        pytest.param(
            ["--trace", "{trace}", "--interval", "1m", "--value-column", "requests", "--pod-cpu", "6"],
            "does not fit",
            id="pod-fits-no-node",
        ),
        pytest.param(["--prices", "mars"], "neither a built-in profile", id="unknown-prices"),
        pytest.param(["--sweep", "node_price=1:2"], "PARAM=LO:HI:N", id="bad-sweep"),
        pytest.param(["--policy", "{policy}"], "spec.maxReplicas", id="policy-invalid-as-lint-says"),
        pytest.param(["--html", "/nonexistent/dir/report.html"], "cannot write", id="unwritable-html"),
    ],
)
def test_errors_are_one_line(tmp_path: pathlib.Path, arguments: list[str], message: str) -> None:
    trace = str(_short_trace(tmp_path))
    policy = factories.write_csv(tmp_path, "targetRef: {name: web}\nminReplicas: 1\n", name="policy.yaml")
    given = [argument.replace("{trace}", trace).replace("{policy}", str(policy)) for argument in arguments]
    result = runner.invoke(app, ["simulate", *given])
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


def test_policy_file_sweep_and_seeds(tmp_path: pathlib.Path) -> None:
    policy = factories.write_csv(
        tmp_path,
        "apiVersion: burstscaler.io/v1alpha1\nkind: BurstPolicy\nmetadata: {name: web}\nspec:\n"
        "  targetRef: {name: web}\n  minReplicas: 1\n  maxReplicas: 50\n"
        "  metrics: [{prometheus: {query: q, target: {type: AverageValue, averageValue: '3'}}}]\n",
        name="policy.yaml",
    )
    result = runner.invoke(
        app,
        [
            "simulate",
            "--trace",
            str(_short_trace(tmp_path)),
            "--interval",
            "1m",
            "--value-column",
            "requests",
            "--policy",
            str(policy),
            "--strategy",
            "eci-only",
            "--strategy",
            "burstscaler",
            "--seeds",
            "3",
            "--sweep",
            "eci_discount=0:0.5:2",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["seeds"] == 3
    assert document["settings"]["policies"]["workload"]["maxReplicas"] == 50
    low, high = document["intervals"]["eci-only"]["cost"]
    assert low <= document["strategies"]["eci-only"]["cost"] <= high
    costs = [point["strategies"]["eci-only"]["cost"] for point in document["sweep"]]
    assert [point["value"] for point in document["sweep"]] == [0.0, 0.5]
    assert costs[1] == pytest.approx(costs[0] * 0.5, rel=1e-4)  # ECI at half price, same replicas (JSON rounds)


def test_scenario_file_with_two_workloads_sharing_a_pool(tmp_path: pathlib.Path) -> None:
    _short_trace(tmp_path)
    (tmp_path / "scenario.yaml").write_text(
        "pool: {nodes: 1}\nprices: alibaba-cn\nworkloads:\n"
        "  - {name: front, trace: {path: trace.csv, interval: 1m, value_column: requests}, priority: 10}\n"
        "  - {name: back, trace: {path: trace.csv, interval: 1m, value_column: requests},\n"
        "     pod: {cpu: 2, memory_gib: 4}}\n",
        encoding="utf-8",
    )
    result = runner.invoke(
        app,
        ["simulate", "--scenario", str(tmp_path / "scenario.yaml"), "--strategy", "burstscaler", "--format", "json"],
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [w["name"] for w in document["workloads"]] == ["front", "back"]
    assert document["prices"]["currency"] == "CNY" and document["settings"]["pool_nodes"] == 1
    cluster = document["strategies"]["burstscaler"]
    parts = [w["strategies"]["burstscaler"] for w in document["workloads"]]
    assert cluster["demand_request_seconds"] == pytest.approx(sum(p["demand_request_seconds"] for p in parts))
    assert cluster["eci_cost"] == pytest.approx(sum(p["eci_cost"] for p in parts), abs=1e-5)
