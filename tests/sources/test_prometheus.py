"""The Prometheus source against a tiny local HTTP server posing as Prometheus (KEDA-style unit tests)."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from burstscaler.sources import bounded_http, prometheus


def vector(*values: str) -> list[dict[str, Any]]:
    return [{"metric": {"pod": f"web-{index}"}, "value": [1.0, value]} for index, value in enumerate(values)]


@pytest.mark.parametrize(
    ("result", "value", "reason"),
    [
        pytest.param(vector("42.5"), 42.5, None, id="one-series"),
        pytest.param([1.0, "7"], 7.0, None, id="scalar"),
        pytest.param([], None, "EmptyResult", id="empty"),
        pytest.param(vector("1", "2"), None, "AmbiguousResult", id="two-series"),
        pytest.param(vector("NaN"), None, "InvalidValue", id="nan"),
        pytest.param(vector("+Inf"), None, "InvalidValue", id="inf"),
        pytest.param(vector("-Inf"), None, "InvalidValue", id="minus-inf"),
        pytest.param(vector("abc"), None, "NonNumeric", id="garbage-value"),
        pytest.param([1.0, "hello"], None, "NonNumeric", id="string-result"),
        pytest.param({"oops": 1}, None, "NonNumeric", id="not-a-list"),
        pytest.param([{"metric": {}, "values": [[1, "2"]]}], None, "NonNumeric", id="range-vector"),
    ],
)
def test_parse(result: Any, value: float | None, reason: str | None) -> None:
    reading = prometheus.parse(result)
    assert reading.value == value
    assert (reading.failure.reason if reading.failure else None) == reason


def test_settings_never_show_the_token() -> None:
    settings = prometheus.Settings(url="https://user:hunter2@prom.example:9090", bearer_token="s3cr3t")
    shown = repr(settings) + prometheus.PrometheusSource(settings).describe()
    assert "s3cr3t" not in shown and "hunter2" not in shown
    assert "https://***@prom.example:9090" in shown


class FakePrometheus(http.server.BaseHTTPRequestHandler):
    """Answers /api/v1/query with whatever the test armed; records the headers it saw."""

    answer: tuple[int, bytes] = (200, b"{}")
    delay: float = 0.0
    seen: ClassVar[list[dict[str, str]]] = []

    def do_GET(self) -> None:
        type(self).seen.append(dict(self.headers))
        time.sleep(type(self).delay)
        status, body = type(self).answer
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake() -> Iterator[tuple[str, type[FakePrometheus]]]:
    handler = type("Handler", (FakePrometheus,), {"seen": [], "delay": 0.0})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def ok(*values: str) -> tuple[int, bytes]:
    return 200, json.dumps({"status": "success", "data": {"resultType": "vector", "result": vector(*values)}}).encode()


@pytest.mark.parametrize(
    ("answer", "reason", "fragment"),
    [
        pytest.param(ok("3"), None, "", id="value"),
        pytest.param(
            (400, b'{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected end of input"}'),
            "QueryError",
            "parse error",
            id="bad-promql",
        ),
        pytest.param(
            (503, b'{"status":"error","errorType":"timeout","error":"query timed out"}'),
            "PrometheusTimeout",
            "timed out",
            id="server-timeout",
        ),
        pytest.param((500, b"<html>proxy error</html>"), "PrometheusError", "HTTP 500", id="proxy-error-page"),
        pytest.param((401, b"Unauthorized"), "PrometheusError", "HTTP 401", id="unauthorized"),
        pytest.param((200, b"not json"), "PrometheusError", "unexpected answer", id="garbage-200"),
    ],
)
def test_http_answers(
    fake: tuple[str, type[FakePrometheus]], answer: tuple[int, bytes], reason: str | None, fragment: str
) -> None:
    url, handler = fake
    handler.answer = answer
    reading = prometheus.PrometheusSource(prometheus.Settings(url=url, timeout_seconds=2)).fetch("up")
    if reason is None:
        assert reading.value == 3.0
    else:
        assert reading.failure is not None
        assert reading.failure.reason == reason
        assert fragment in reading.failure.message


def test_bearer_token_is_sent_as_a_header(fake: tuple[str, type[FakePrometheus]]) -> None:
    url, handler = fake
    handler.answer = ok("1")
    prometheus.PrometheusSource(prometheus.Settings(url=url, bearer_token="s3cr3t")).fetch("up")
    assert handler.seen[-1]["Authorization"] == "Bearer s3cr3t"


def test_slow_server_times_out(fake: tuple[str, type[FakePrometheus]]) -> None:
    url, handler = fake
    handler.answer, handler.delay = ok("1"), 1.0
    reading = prometheus.PrometheusSource(prometheus.Settings(url=url, timeout_seconds=0.2)).fetch("up")
    assert reading.failure is not None and reading.failure.reason == "PrometheusTimeout"


def test_unreachable() -> None:
    from tests.fixtures.prometheus import free_port

    reading = prometheus.PrometheusSource(prometheus.Settings(url=f"http://127.0.0.1:{free_port()}")).fetch("up")
    assert reading.failure is not None
    assert (reading.failure.reason, reading.failure.message) == ("PrometheusUnreachable", "Connection refused")


def test_tls_verification_is_on_by_default() -> None:
    import ssl

    import certifi

    verified = bounded_http.tls_context(ca_file=None, insecure=False)
    assert (verified.verify_mode, verified.check_hostname) == (ssl.CERT_REQUIRED, True)
    with_ca = bounded_http.tls_context(ca_file=certifi.where(), insecure=False)
    assert with_ca.verify_mode == ssl.CERT_REQUIRED
    insecure = bounded_http.tls_context(ca_file=None, insecure=True)
    assert (insecure.verify_mode, insecure.check_hostname) == (ssl.CERT_NONE, False)
