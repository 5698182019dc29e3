"""Bounded reads against raw TCP servers that misbehave on purpose: drips, floods, redirects, loopback.

Each server is a socket script, so the misbehaviour is exact (a byte every 0.2 s, a 64 MiB stream) and
finite (a drip ends after a while with a valid answer): a bound that did not hold would show as a
success, not as a hung test.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from burstscaler.api import addresses
from burstscaler.sources import bounded_http, prometheus

Script = Callable[[socket.socket], None]
OK_BODY = b'{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"7"]}]}}'


class RawServer:
    """Accepts connections on loopback and runs `script` on each; counts connections."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            self.connections += 1
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn: socket.socket) -> None:
        try:
            self.script(conn)
        except OSError:
            pass  # the client hung up: that is the point of most scripts
        finally:
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._listener.close()


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def drip_headers(conn: socket.socket) -> None:
    _read_request(conn)
    for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100:  # 100 bytes at 0.2 s: 20 s in all
        conn.sendall(bytes([byte]))
        time.sleep(0.2)
    conn.sendall(b"\r\nContent-Length: %d\r\n\r\n" % len(OK_BODY) + OK_BODY)


def drip_body(conn: socket.socket) -> None:
    _read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(OK_BODY))
    for byte in OK_BODY:
        conn.sendall(bytes([byte]))
        time.sleep(0.2)


def flood(conn: socket.socket, *, announce: bool) -> None:
    _read_request(conn)
    size = 64 << 20
    headers = b"HTTP/1.1 200 OK\r\n" + (b"Content-Length: %d\r\n" % size if announce else b"") + b"\r\n"
    conn.sendall(headers + b'{"status":"success","data":{"result":[')
    chunk = b'{"metric":{"__name__":"x"},"value":[1,"1"]},' * 1000
    sent = 0
    while sent < size:
        conn.sendall(chunk)
        sent += len(chunk)


def redirect(conn: socket.socket) -> None:
    _read_request(conn)
    conn.sendall(
        b"HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/latest/meta-data/\r\nContent-Length: 0\r\n\r\n"
    )


def keep_alive(conn: socket.socket) -> None:
    while _read_request(conn):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(OK_BODY) + OK_BODY)


@pytest.fixture
def serve() -> Iterator[Callable[[Script], RawServer]]:
    servers: list[RawServer] = []

    def start(script: Script) -> RawServer:
        servers.append(RawServer(script))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def get(
    url: str, *, deadline: float = 1.0, max_bytes: int = 1 << 20, guard: bounded_http.Guard | None = None
) -> bounded_http.Answer:
    client = bounded_http.Client(url, guard=guard)
    try:
        return client.get(
            "/api/v1/query", params={"query": "up"}, headers={}, deadline_seconds=deadline, max_bytes=max_bytes
        )
    finally:
        client.close()


@pytest.mark.parametrize(
    ("script", "error"),
    [
        # Each byte comes well within any per-read timeout; only a total deadline ends these reads.
        pytest.param(drip_headers, bounded_http.DeadlineExceeded, id="dripping-headers"),
        pytest.param(drip_body, bounded_http.DeadlineExceeded, id="dripping-body"),
        pytest.param(lambda conn: flood(conn, announce=True), bounded_http.TooLarge, id="huge-announced"),
        pytest.param(lambda conn: flood(conn, announce=False), bounded_http.TooLarge, id="huge-streamed"),
    ],
)
def test_reads_are_bounded(serve: Callable[[Script], RawServer], script: Script, error: type[Exception]) -> None:
    server = serve(script)
    started = time.monotonic()
    with pytest.raises(error):
        get(server.url, deadline=1.0, max_bytes=1 << 20)
    # Not a timing assertion: a drip takes 20 s to finish, so ending before it did proves the bound held.
    assert time.monotonic() - started < 15


def test_redirects_are_not_followed(serve: Callable[[Script], RawServer]) -> None:
    server = serve(redirect)
    assert get(server.url).status == 302
    reading = prometheus.PrometheusSource(prometheus.Settings(url=server.url, timeout_seconds=1)).fetch("up")
    assert reading.failure is not None and "redirects are not followed" in reading.failure.message


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("http://127.0.0.1:{port}", id="loopback-literal"),
        pytest.param("http://localhost:{port}", id="loopback-by-name"),
    ],
)
def test_a_guarded_client_refuses_loopback_after_resolution(serve: Callable[[Script], RawServer], url: str) -> None:
    server = serve(keep_alive)
    port = server.url.rsplit(":", 1)[1]
    with pytest.raises(bounded_http.Refused, match="loopback"):
        get(url.format(port=port), guard=addresses.refusal)
    assert server.connections == 0, "the refused address was connected to"


def test_a_policy_server_source_refuses_loopback(serve: Callable[[Script], RawServer]) -> None:
    server = serve(keep_alive)
    settings = prometheus.Settings(url=server.url, timeout_seconds=1, restrict_addresses=True)
    reading = prometheus.PrometheusSource(settings).fetch("up")
    assert reading.failure is not None and reading.failure.reason == "PrometheusUnreachable"
    assert "loopback" in reading.failure.message and server.connections == 0


def test_connections_are_kept_alive(serve: Callable[[Script], RawServer]) -> None:
    server = serve(keep_alive)
    source = prometheus.PrometheusSource(prometheus.Settings(url=server.url, timeout_seconds=1))
    readings = [source.fetch("up") for _ in range(5)]
    source.close()
    assert [reading.value for reading in readings] == [7.0] * 5
    assert server.connections == 1
