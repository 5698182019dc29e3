"""A Prometheus that misbehaves for some queries: the operator's server, as a tenant can abuse it.

It forwards ``/api/v1/query`` to a real Prometheus, except for queries naming a hostile metric:
- ``drip_*``: the answer's headers come one byte every 0.3 s for a minute (under any per-read timeout);
- ``flood_*``: a 200 OK whose JSON body streams for as long as the client reads (a huge answer, as
  ``{__name__=~".+"}`` on a large Prometheus gives).
Everything else is the real server's answer, so the other policies of the scenario plan as usual. The
fault sits at the boundary the operator really has (its Prometheus), not in the operator.
"""

from __future__ import annotations

import http.server
import threading
import time
import urllib.parse
import urllib.request
from typing import Any


class _Handler(http.server.BaseHTTPRequestHandler):
    upstream = ""
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query).get("query", [""])[0]
        try:
            if "drip_" in query:
                self._drip()
            elif "flood_" in query:
                self._flood()
            else:
                self._forward()
        except OSError:
            pass  # the operator hung up on us: the bound worked

    def _drip(self) -> None:
        started = time.monotonic()
        for byte in b"HTTP/1.1 200 OK\r\nX-Drip: " + b"a" * 200:
            if time.monotonic() - started > 60:
                return
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            time.sleep(0.3)

    def _flood(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"status":"success","data":{"resultType":"vector","result":[')
        series = b'{"metric":{"__name__":"flood_series","pod":"p"},"value":[1,"1"]},' * 2000
        for _ in range(100_000):  # ~10 GB if nobody stops reading
            self.wfile.write(series)

    def _forward(self) -> None:
        with urllib.request.urlopen(self.upstream + self.path, timeout=10) as answer:
            body, status = answer.read(), answer.status
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class HostilePrometheus:
    """The proxy on a free loopback port, in a thread; ``url`` is what the operator is given."""

    def __init__(self, upstream: str) -> None:
        handler = type("Handler", (_Handler,), {"upstream": upstream.rstrip("/")})
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> HostilePrometheus:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
