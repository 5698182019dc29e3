"""The bounded reader over real TLS: a loopback HTTPS server with a certificate made for the test.

The reader wraps its own sockets (``bounded_http``), so TLS is ours to get right: the server's
certificate must be verified against the system CAs or the given CA file, the host name checked, and
the total deadline must still hold once the handshake is done. The certificate is made by ``openssl``
(the test skips, naming it, where the binary is missing).
"""

from __future__ import annotations

import pathlib
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from burstscaler.core import recommend
from burstscaler.sources import prometheus

OK_BODY = b'{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"7"]}]}}'
Script = Callable[[ssl.SSLSocket], None]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[pathlib.Path, pathlib.Path]:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl binary is needed to make the test's certificate")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    request = "req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost"
    names = "subjectAltName=DNS:localhost,IP:127.0.0.1"
    subprocess.run(
        ["openssl", *request.split(), "-addext", names, "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


def answer(conn: ssl.SSLSocket) -> None:
    """Read one request, answer one vector of 7."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return
        data += chunk
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(OK_BODY) + OK_BODY)


def drip(conn: ssl.SSLSocket) -> None:
    """After the handshake, a status line one byte every 0.2 s for 20 s (within any per-read timeout)."""
    conn.recv(4096)
    for byte in b"HTTP/1.1 200 OK\r\n" * 6:
        conn.sendall(bytes([byte]))
        time.sleep(0.2)


@pytest.fixture
def https(certificate: tuple[pathlib.Path, pathlib.Path]) -> Iterator[Callable[..., int]]:
    cert, key = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listeners: list[socket.socket] = []
    stop = threading.Event()

    def start(script: Script, *, host: str = "127.0.0.1") -> int:
        listener = socket.create_server((host, 0))
        listener.settimeout(0.1)
        listeners.append(listener)

        def serve() -> None:
            while not stop.is_set():
                try:
                    raw, _ = listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    return  # the listener was closed at teardown
                threading.Thread(target=handle, args=(raw,), daemon=True).start()

        def handle(raw: socket.socket) -> None:
            try:
                with context.wrap_socket(raw, server_side=True) as conn:
                    script(conn)
            except (OSError, ssl.SSLError):
                pass  # the client refused our certificate or hung up: what some cases are about

        threading.Thread(target=serve, daemon=True).start()
        return int(listener.getsockname()[1])

    yield start
    stop.set()
    for listener in listeners:
        listener.close()


def fetch(url: str, *, ca_file: str | None = None, insecure_skip_verify: bool = False) -> recommend.Reading:
    settings = prometheus.Settings(
        url=url, timeout_seconds=1, ca_file=ca_file, insecure_skip_verify=insecure_skip_verify
    )
    source = prometheus.PrometheusSource(settings)
    try:
        return source.fetch("up")
    finally:
        source.close()


def test_a_server_signed_by_the_given_ca_is_read(
    https: Callable[..., int], certificate: tuple[pathlib.Path, pathlib.Path]
) -> None:
    port = https(answer)
    reading = fetch(f"https://localhost:{port}", ca_file=str(certificate[0]))
    assert (reading.value, reading.failure) == (7.0, None)


def test_an_unknown_certificate_is_refused_by_default(https: Callable[..., int]) -> None:
    port = https(answer)
    reading = fetch(f"https://localhost:{port}")
    assert reading.failure is not None and reading.failure.reason == "PrometheusUnreachable"
    assert "CERTIFICATE_VERIFY_FAILED" in reading.failure.message


def test_the_host_name_is_checked(https: Callable[..., int], certificate: tuple[pathlib.Path, pathlib.Path]) -> None:
    # The certificate names localhost and 127.0.0.1; a server on 127.0.0.2 presents it under an address
    # it does not carry, so verification must fail on the name alone (the CA is trusted).
    port = https(answer, host="127.0.0.2")
    reading = fetch(f"https://127.0.0.2:{port}", ca_file=str(certificate[0]))
    assert reading.failure is not None and reading.failure.reason == "PrometheusUnreachable"
    assert "CERTIFICATE_VERIFY_FAILED" in reading.failure.message


def test_insecure_skip_verify_reads_an_unknown_certificate(https: Callable[..., int]) -> None:
    port = https(answer)
    assert fetch(f"https://localhost:{port}", insecure_skip_verify=True).value == 7.0


def test_the_deadline_holds_after_the_handshake(
    https: Callable[..., int], certificate: tuple[pathlib.Path, pathlib.Path]
) -> None:
    port = https(drip)
    started = time.monotonic()
    reading = fetch(f"https://localhost:{port}", ca_file=str(certificate[0]))
    assert reading.failure is not None and reading.failure.reason == "PrometheusTimeout"
    # Not a timing assertion: the drip lasts 20 s, so ending before it did proves the deadline held.
    assert time.monotonic() - started < 15
