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
    assert set(document["strategies"]) == {"static-peak", "hpa-ca", "eci-only", "burstscaler"}
    assert document["settings"]["trace_missing_steps"] == 2  # the outage minute, at 30-s steps
    assert document["settings"]["capacity_per_replica_source"].startswith("auto")


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
    assert "static-peak" not in result.stdout.split("Settings")[0]


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
    assert html.read_text().count("<svg") == 5


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param(["--trace", "/nonexistent/trace.csv"], "no such trace file", id="missing-file"),
        pytest.param(["--strategy", "magic"], "unknown strategy 'magic'", id="unknown-strategy"),
        pytest.param(["--interval", "soon", "--trace", "{trace}"], "--interval", id="bad-interval"),
        pytest.param(["--trace", "{trace}", "--interval", "1m"], "several numeric columns", id="ambiguous-columns"),
        pytest.param(["--pod-cpu", "64"], "does not fit", id="pod-fits-no-node"),
        pytest.param(["--html", "/nonexistent/dir/report.html"], "cannot write", id="unwritable-html"),
    ],
)
def test_errors_are_one_line(tmp_path: pathlib.Path, arguments: list[str], message: str) -> None:
    trace = str(_short_trace(tmp_path))
    result = runner.invoke(app, ["simulate", *(argument.replace("{trace}", trace) for argument in arguments)])
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1
