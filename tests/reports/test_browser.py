"""The HTML reports opened in a real browser (issue 17, item 7): headless Chromium over the DevTools protocol.

For the `simulate` page (the real CLI, `--html` and `--format json` of one run) and the `report` page (built
from cluster data as `burstscaler report` builds it; the Prometheus reading is tested in
test_cluster_report_prometheus.py): the page loads with the network off and asks for nothing but itself,
logs no console error or exception (Chromium reports a malformed SVG attribute, a NaN in a path, as a
console error), every chart draws at least one data mark with a non-empty box inside its view, and the
headline numbers as the browser shows them equal the JSON output. Skipped with a message where Chromium is
not installed or cannot start.
"""

from __future__ import annotations

import collections.abc
import json
import math
import pathlib
import shutil
import subprocess
import sys
import time
from typing import Any

import pytest
import websocket

from burstscaler.reports import cluster_formats, cluster_html, cluster_report
from tests.reports.test_cluster_report import data as cluster_data

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: The flags Chromium needs on this machine (its closed network refuses background connections).
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
)
TIMEOUT = 60.0

# Per chart: how many data marks (areas, lines, points) have a non-empty box that meets the chart's view.
CHARTS_JS = """
[...document.querySelectorAll('svg')].map((chart) => {
  const view = chart.viewBox.baseVal;
  const marks = [...chart.querySelectorAll('polygon, path, circle')].filter((mark) => {
    const box = mark.getBBox();
    const inside = box.x <= view.x + view.width && box.x + box.width >= view.x
      && box.y <= view.y + view.height && box.y + box.height >= view.y;
    return inside && (box.width > 0 || box.height > 0);
  });
  return {title: chart.previousElementSibling ? chart.previousElementSibling.innerText : '', drawn: marks.length};
})
"""
TABLE_JS = "[...document.querySelectorAll('table')[0].rows].map((row) => [...row.cells].map((cell) => cell.innerText))"


class Page:
    """One Chromium tab driven over the DevTools protocol; events are kept for the assertions."""

    def __init__(self, socket: websocket.WebSocket) -> None:
        self.socket = socket
        self.events: list[dict[str, Any]] = []
        self._next_id = 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and return its result (events arriving meanwhile are kept)."""
        self._next_id += 1
        self.socket.send(json.dumps({"id": self._next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self._next_id:
                assert "error" not in message, message
                return dict(message["result"])
            self.events.append(message)

    def wait_for(self, method: str) -> None:
        """Read events until ``method`` arrives."""
        while not any(event.get("method") == method for event in self.events):
            self.events.append(json.loads(self.socket.recv()))

    def evaluate(self, expression: str) -> Any:
        """The JSON value of ``expression`` in the page."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, result
        return result["result"]["value"]

    def open_offline(self, path: pathlib.Path) -> None:
        """Load ``path`` with the network emulated off, recording requests, console and exceptions."""
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")
        self.call(
            "Network.emulateNetworkConditions", offline=True, latency=0, downloadThroughput=-1, uploadThroughput=-1
        )
        self.call("Page.navigate", url=path.as_uri())
        self.wait_for("Page.loadEventFired")
        self.evaluate("1")  # a round trip after load, so late console messages have arrived

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and failed loads since the page opened."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(f"exception: {params['exceptionDetails'].get('text')}")
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append(f"console.{params['type']}: {params.get('args')}")
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                found.append(f"log: {params['entry'].get('text')} ({params['entry'].get('url')})")
            elif method == "Network.loadingFailed":
                found.append(f"load failed: {params.get('errorText')}")
        return found

    def requested(self) -> list[str]:
        """Every URL the page asked for."""
        return [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> collections.abc.Iterator[str]:
    """A headless Chromium with a fresh profile; yields its DevTools HTTP address."""
    if CHROMIUM is None:
        pytest.skip("chromium not installed: apt-get install -y --no-install-recommends chromium")
    profile = tmp_path_factory.mktemp("chromium-profile")
    log = profile.parent / "chromium.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"], stdout=output, stderr=subprocess.STDOUT
        )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + TIMEOUT
        while not (port_file.exists() and port_file.read_text().strip()):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.skip(f"chromium did not start: {log.read_text(errors='replace')[-500:]}")
            time.sleep(0.1)
        yield f"127.0.0.1:{port_file.read_text().split()[0]}"
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(15)


@pytest.fixture
def page(browser: str) -> collections.abc.Iterator[Page]:
    """A new tab, closed afterwards."""
    target = _devtools_json(browser, "/json/new?about:blank", method="PUT")
    socket = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=TIMEOUT, suppress_origin=True)
    try:
        yield Page(socket)
    finally:
        socket.close()
        _devtools_json(browser, f"/json/close/{target['id']}", method="GET", parse=False)


def _devtools_json(address: str, path: str, *, method: str, parse: bool = True) -> dict[str, Any]:
    import urllib.request

    request = urllib.request.Request(f"http://{address}{path}", method=method)
    with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
        body = answer.read()
    return dict(json.loads(body)) if parse else {}


def _number(text: str) -> float | None:
    """The first number a cell shows ('1,234.50 [1.2, 3.4]', '0.125%', '-'), or None for '-'."""
    first = text.strip().split()[0].rstrip("%").replace(",", "")
    return None if first == "-" else float(first)


def _assert_page_sound(page: Page, path: pathlib.Path, *, charts: int) -> None:
    assert page.errors() == []
    assert set(page.requested()) == {path.as_uri()}, "a report asks for nothing but itself"
    drawn = page.evaluate(CHARTS_JS)
    assert len(drawn) == charts
    assert [chart for chart in drawn if chart["drawn"] == 0] == [], "every chart draws data"


def test_simulate_page_in_chromium(page: Page, tmp_path: pathlib.Path) -> None:
    trace = tmp_path / "load.csv"
    trace.write_text(
        "t,requests\n"
        + "".join(f"{i},{int(20 + 15 * math.sin(i / 20) + (60 if 100 < i < 120 else 0))}\n" for i in range(240))
    )
    html_path = tmp_path / "simulation.html"
    command = [sys.executable, "-m", "burstscaler", "simulate", "--trace", str(trace), "--interval", "60s"]
    result = subprocess.run(
        [*command, "--html", str(html_path), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    document = json.loads(result.stdout)
    page.open_offline(html_path)
    # tradeoff, one capacity chart per strategy, moves, savings (burstscaler ran), cumulative cost.
    _assert_page_sound(page, html_path, charts=len(document["strategies"]) + 4)

    header, *rows = page.evaluate(TABLE_JS)
    assert [row[0] for row in rows] == list(document["strategies"])
    for row in rows:
        shown = dict(zip(header, row, strict=True))
        want = document["strategies"][row[0]]
        assert _number(shown["cost"]) == pytest.approx(want["cost"], abs=0.005)
        assert _number(shown["unserved %"]) == pytest.approx(want["unserved_fraction"] * 100, abs=0.0005)
        assert _number(shown["SLO-violating min"]) == pytest.approx(want["slo_violation_minutes"], abs=0.005)
        assert _number(shown["drain-back moves"]) == want["drain_back_moves"]


def test_report_page_in_chromium(page: Page, tmp_path: pathlib.Path) -> None:
    report = cluster_report.build(cluster_data())
    html_path = tmp_path / "report.html"
    html_path.write_text(cluster_html.render_html(report))
    document = json.loads(cluster_formats.render_json(report))
    page.open_offline(html_path)
    # One replica chart per policy, one cumulative-cost chart per currency (a policy that never spent: "").
    _assert_page_sound(page, html_path, charts=len(report.series) + len(set(report.currencies.values())))

    labels = {label: key for key, label in (*cluster_report.SUMS, *cluster_report.REPLICAS)}
    header, *rows = page.evaluate(TABLE_JS)
    assert len(rows) == len(document["policies"])
    for row, want in zip(rows, document["policies"], strict=True):
        shown = dict(zip(header, row, strict=True))
        assert shown["policy"] == f"{want['namespace']}/{want['policy']}"
        for label, key in labels.items():
            expected = want[key]
            if expected is None:
                assert shown[label] == "-", (label, shown)
            else:
                assert _number(shown[label]) == pytest.approx(expected, abs=0.005), (label, shown)
