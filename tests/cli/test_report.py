"""`burstscaler report` as a user meets it: outputs from a real Prometheus, and every bad input as one line.

The command is mounted on a throwaway Typer app here, so these tests do not depend on where the CLI
registers it. Prometheus holds the two hours of series that ``tests.reports`` seeds (a fixed past).
"""

from __future__ import annotations

import csv
import http.server
import io
import json
import pathlib
import re
import threading
from collections.abc import Iterator
from typing import ClassVar

import pytest
import typer
from typer import testing

from burstscaler.cli import report
from tests.fixtures.prometheus import PrometheusServer, free_port
from tests.reports.test_cluster_report_prometheus import POLICIES, T0, expected, seed

app = typer.Typer(pretty_exceptions_enable=False)
app.command()(report.report)
runner = testing.CliRunner()

SINCE, UNTIL = "2024-06-03T10:00:00Z", "2024-06-03T12:00:00Z"
END = T0 + 7200


@pytest.fixture
def seeded(prometheus_server: PrometheusServer) -> PrometheusServer:
    seed(prometheus_server)
    return prometheus_server


def invoke(url: str, *args: str) -> testing.Result:
    return runner.invoke(app, ["--prometheus", url, *args], env={"COLUMNS": "250"})


@pytest.mark.prometheus
def test_json_spend_per_policy_equals_what_was_pushed(seeded: PrometheusServer) -> None:
    result = invoke(seeded.url, "--since", SINCE, "--until", UNTIL, "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["range"]["start"] == SINCE and document["range"]["end"] == UNTIL
    spend = {f"{row['namespace']}/{row['policy']}": row["burst_cost"] for row in document["policies"]}
    for policy in POLICIES:
        want = expected(policy, "burstscaler_burst_cost_total", start=T0, end=END)
        assert spend[f"{policy.namespace}/{policy.name}"] == pytest.approx(want, abs=1e-6)
    assert {row["namespace"]: row["policies"] for row in document["namespaces"]} == {"batch": 1, "shop": 2}
    assert result.stderr == ""


@pytest.mark.prometheus
def test_csv_and_one_policy(seeded: PrometheusServer) -> None:
    result = invoke(seeded.url, "--since", SINCE, "--until", UNTIL, "--format", "csv", "--policy", "shop/web")
    assert result.exit_code == 0, result.output
    parsed = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(row["scope"], row["namespace"], row["policy"]) for row in parsed] == [
        ("policy", "shop", "web"),
        ("namespace", "shop", ""),
        ("total", "", ""),
    ]
    assert float(parsed[0]["drain_back_moves"]) == 3


@pytest.mark.prometheus
def test_table(seeded: PrometheusServer) -> None:
    result = invoke(seeded.url, "--since", SINCE, "--until", UNTIL)
    assert result.exit_code == 0, result.output
    for needle in ("shop/web", "shop/api", "batch/etl", "Per namespace", "Total", "USD", "EUR", "(2h)"):
        assert needle in result.stdout


@pytest.mark.prometheus
def test_html_is_written_and_self_contained(seeded: PrometheusServer, tmp_path: pathlib.Path) -> None:
    page = tmp_path / "report.html"
    result = invoke(seeded.url, "--since", SINCE, "--until", UNTIL, "--html", str(page), "--step", "5m")
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == f"HTML report written to {page}"
    text = page.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["']?https?:""", text)
    assert "<script" not in text and "<link" not in text
    assert text.count("<svg") == 3 + 2  # replicas per policy; cumulative cost in USD and in EUR
    assert "series every 300s" in text


@pytest.mark.prometheus
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "yesterday"], "error: --since 'yesterday' is not a duration (24h, 90m, 7d) or a time"),
        (["--since", SINCE, "--until", "2024-06-03T09:00:00Z"], "error: --since (2024-06-03T10:00:00Z) must be before"),
        (["--step", "0s"], "error: --step '0s' must be longer than zero"),
        (
            ["--since", "2024-06-01T00:00:00Z", "--until", "2024-06-02T00:00:00Z"],
            "error: no burstscaler metrics between 2024-06-01T00:00:00Z and 2024-06-02T00:00:00Z: "
            "is the operator scraped?",
        ),
        (
            ["--since", SINCE, "--until", UNTIL, "--policy", "shop/nope"],
            "error: unknown policy shop/nope: no burstscaler metrics for it between 2024-06-03T10:00:00Z and "
            "2024-06-03T12:00:00Z (policies seen: batch/etl, shop/api, shop/web)",
        ),
        (["--policy", "web"], "error: --policy 'web' is not NAMESPACE/NAME (for example shop/web)"),
        (["--since", SINCE, "--until", UNTIL, "--match", "job=~"], "error: Prometheus at http://127.0.0.1:"),
        (["--timeout", "0"], "error: --timeout 0 must be more than zero seconds"),
        (["--ca-file", "/nonexistent/ca.pem"], "error: cannot read --ca-file /nonexistent/ca.pem: no such file"),
        (["--ca-file", "/etc/hostname", "--insecure"], "error: --ca-file and --insecure contradict each other"),
        (["--token-file", "/nonexistent/token"], "error: cannot read --token-file /nonexistent/token: No such file"),
        (
            ["--since", SINCE, "--until", UNTIL, "--html", "/nonexistent/dir/r.html"],
            "error: cannot write /nonexistent/dir/r.html: No such file or directory",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_1(seeded: PrometheusServer, args: list[str], message: str) -> None:
    result = invoke(seeded.url, *args)
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert result.stderr.startswith(message), result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("prometheus:9090", "error: --prometheus 'prometheus:9090' is not an http(s) URL"),
        ("http://admin:hunter2@127.0.0.1:{port}", "error: cannot reach Prometheus at http://***@127.0.0.1:{port}: "),
    ],
)
def test_bad_urls_never_show_credentials(url: str, message: str) -> None:
    port = free_port()  # nothing listens there: connection refused
    result = invoke(url.format(port=port))
    assert result.exit_code == 1
    assert result.stderr.startswith(message.format(port=port)), result.stderr
    assert "hunter2" not in result.output


@pytest.mark.prometheus
def test_a_killed_prometheus_is_unreachable(prometheus_server: PrometheusServer) -> None:
    prometheus_server.kill()
    result = invoke(prometheus_server.url)
    assert result.exit_code == 1
    assert result.stderr == f"error: cannot reach Prometheus at {prometheus_server.url}: Connection refused\n"


@pytest.mark.prometheus
def test_a_url_that_is_not_the_query_api(prometheus_server: PrometheusServer) -> None:
    result = invoke(prometheus_server.url + "/graph")
    assert result.exit_code == 1
    assert "answered HTTP 404 with no query API JSON: is the URL its base URL?" in result.stderr


class _Refusing(http.server.BaseHTTPRequestHandler):
    """Answers every request 401 like an authenticating proxy, remembering the Authorization header."""

    seen: ClassVar[list[str | None]] = []

    def do_POST(self) -> None:
        _Refusing.seen.append(self.headers.get("Authorization"))
        body = b'{"status":"error","errorType":"unauthorized","error":"bad token"}'
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def refusing() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Refusing.seen.clear()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_token_goes_in_a_header_and_never_in_the_output(refusing: str, tmp_path: pathlib.Path) -> None:
    token = tmp_path / "token"
    token.write_text("s3cret-token\n")
    result = invoke(refusing, "--token-file", str(token))
    assert result.exit_code == 1
    assert _Refusing.seen == ["Bearer s3cret-token"]
    assert result.stderr.splitlines() == [
        "warning: sending the bearer token over plain http",
        f"error: Prometheus at {refusing} refused access (HTTP 401): check --token-file",
    ]
    assert "s3cret" not in result.output


def test_insecure_says_so(refusing: str) -> None:
    result = invoke(refusing, "--insecure")
    assert result.stderr.startswith("warning: TLS verification is off (--insecure)")
