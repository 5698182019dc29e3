"""One HTTP GET with hard bounds: a total deadline, a response size cap, no redirects, checked addresses.

Why not requests: its timeout applies to each socket read, so a server dripping one byte a second
(headers included) holds a read for as long as it likes, and a 36 MB answer is read whole into memory
(issue 12). Here every bound is enforced by the socket itself:
- **total deadline**: connect, TLS handshake, request, headers and body share one deadline; before
  every ``recv`` the socket's timeout is set to the time left (``_DeadlineSocket``), so a drip is cut
  off at the deadline plus nothing;
- **size cap**: a ``Content-Length`` over the cap is refused before the body is read; otherwise the
  body is read in chunks and the read aborted once the cap is passed; ``Accept-Encoding: identity``,
  so no compressed answer can inflate past the cap;
- **no redirects**: a 3xx is returned as it is (the caller reports it), never followed;
- **addresses**: the host is resolved once, each address is checked by the caller's ``guard`` (for a
  tenant's server: no loopback, link-local, metadata or unspecified addresses) and the connection goes
  to the address that was checked, so DNS cannot answer differently between check and connect.
DNS resolution itself is bounded by the resolver's own timeout (``/etc/resolv.conf``), not by the deadline.
Connections are kept alive in a small idle pool per ``Client`` (one per server).
"""

from __future__ import annotations

import dataclasses
import http.client
import ipaddress
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: Returns why an address must not be used, or None when it may.
Guard = Callable[[IPAddress], str | None]
_CHUNK = 64 * 1024


class FetchError(Exception):
    """A GET that did not produce an answer; ``kind`` says which bound or failure."""

    kind = "error"


class DeadlineExceeded(FetchError):
    """The total deadline passed (connect, headers and body together)."""

    kind = "deadline"


class TooLarge(FetchError):
    """The answer is larger than the cap."""

    kind = "too-large"


class Refused(FetchError):
    """Every address of the host was refused by the guard."""

    kind = "refused"


class Unreachable(FetchError):
    """DNS, connect or TLS failed."""

    kind = "unreachable"


@dataclasses.dataclass(frozen=True)
class Answer:
    """A complete HTTP answer: status and body (headers are not needed)."""

    status: int
    body: bytes


def _time_left(deadline: float) -> float:
    """Seconds left until `deadline` (a ``time.monotonic`` instant); TimeoutError once it has passed."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("deadline")
    return left


class _DeadlineSocket(socket.socket):
    """A socket whose every blocking call gets only the time left until ``deadline``."""

    deadline: float = 0.0

    def _arm(self) -> None:
        self.settimeout(_time_left(self.deadline))

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        self._arm()
        return super().recv_into(buffer, nbytes, flags)

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        self._arm()
        return super().recv(bufsize, flags)

    def sendall(self, data: Any, flags: int = 0) -> None:
        self._arm()
        super().sendall(data, flags)


class _DeadlineSSLSocket(ssl.SSLSocket):
    """The TLS counterpart of ``_DeadlineSocket`` (plugged in through ``SSLContext.sslsocket_class``)."""

    deadline: float = 0.0

    def _arm(self) -> None:
        self.settimeout(_time_left(self.deadline))

    def recv_into(self, buffer: Any, nbytes: int | None = None, flags: int = 0) -> int:
        self._arm()
        return super().recv_into(buffer, nbytes, flags)

    def recv(self, buflen: int = 1024, flags: int = 0) -> bytes:
        self._arm()
        return super().recv(buflen, flags)

    def sendall(self, data: Any, flags: int = 0) -> None:
        self._arm()
        super().sendall(data, flags)


class _Connection(http.client.HTTPConnection):
    """An HTTP/1.1 connection to checked addresses, over deadline sockets, optionally TLS."""

    def __init__(
        self, host: str, port: int, *, tls: ssl.SSLContext | None, guard: Guard | None, deadline: float
    ) -> None:
        super().__init__(host, port)
        self._tls = tls
        self._guard = guard
        self.deadline = deadline

    def connect(self) -> None:
        addresses = _resolve(self.host, self.port)
        allowed = []
        refusals = []
        for family, sockaddr in addresses:
            why = self._guard(ipaddress.ip_address(sockaddr[0])) if self._guard is not None else None
            (refusals.append(f"{sockaddr[0]} ({why})") if why else allowed.append((family, sockaddr)))
        if not allowed:
            raise Refused("refused address " + ", ".join(refusals))
        error: Exception | None = None
        for family, sockaddr in allowed:
            sock = _DeadlineSocket(family, socket.SOCK_STREAM)
            sock.deadline = self.deadline
            try:
                sock._arm()
                sock.connect(sockaddr)
                break
            except OSError as failed:
                sock.close()
                error = failed
        else:
            raise error if isinstance(error, TimeoutError) else Unreachable(_gist(error))
        if self._tls is None:
            self.sock = sock
            return
        wrapped = self._tls.wrap_socket(sock, server_hostname=self.host, do_handshake_on_connect=False)
        assert isinstance(wrapped, _DeadlineSSLSocket)
        wrapped.deadline = self.deadline
        wrapped._arm()  # CPython bounds the whole handshake by the timeout set here
        wrapped.do_handshake()
        self.sock = wrapped

    def arm(self, deadline: float) -> None:
        """Set the deadline of the next request (a kept-alive socket included)."""
        self.deadline = deadline
        if isinstance(self.sock, _DeadlineSocket | _DeadlineSSLSocket):
            self.sock.deadline = deadline


def tls_context(*, ca_file: str | None, insecure: bool) -> ssl.SSLContext:
    """A client TLS context: verified against system CAs (or `ca_file`); no verification only if `insecure`."""
    context = ssl.create_default_context(cafile=ca_file)
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.sslsocket_class = _DeadlineSSLSocket
    return context


class Client:
    """GETs to one server (scheme, host, port) with the bounds above; thread-safe, a few idle connections kept."""

    def __init__(
        self,
        base_url: str,
        *,
        tls: Callable[[], ssl.SSLContext] | None = None,
        guard: Guard | None = None,
        idle: int = 4,
    ) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.base_path = parts.path.rstrip("/")
        self._tls_factory = tls
        self._tls: ssl.SSLContext | None = None
        self._guard = guard
        self._idle: list[_Connection] = []
        self._max_idle = idle
        self._lock = threading.Lock()

    def get(
        self,
        path: str,
        *,
        params: Mapping[str, str],
        headers: Mapping[str, str],
        deadline_seconds: float,
        max_bytes: int,
    ) -> Answer:
        """GET ``base path + path?params`` within `deadline_seconds` and `max_bytes`; raises ``FetchError``."""
        deadline = time.monotonic() + deadline_seconds
        target = self.base_path + path + "?" + urllib.parse.urlencode(params)
        connection = self._connection(deadline)
        try:
            connection.request(
                "GET",
                target,
                headers={"Accept": "application/json", "Accept-Encoding": "identity", **headers},
            )
            response = connection.getresponse()
            body = _read_capped(response, max_bytes=max_bytes)
        except FetchError:
            connection.close()
            raise
        except TimeoutError:
            connection.close()
            raise DeadlineExceeded(f"no complete answer within {deadline_seconds:g}s") from None
        except (ssl.SSLError, OSError, http.client.HTTPException) as error:
            connection.close()
            raise Unreachable(_gist(error)) from None
        if response.will_close:
            connection.close()
        else:
            self._release(connection)
        return Answer(status=response.status, body=body)

    def close(self) -> None:
        """Close the idle connections."""
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _connection(self, deadline: float) -> _Connection:
        with self._lock:
            connection = self._idle.pop() if self._idle else None
            if self.scheme == "https" and self._tls is None:
                self._tls = (self._tls_factory or (lambda: tls_context(ca_file=None, insecure=False)))()
            tls = self._tls
        if connection is None:
            connection = _Connection(self.host, self.port, tls=tls, guard=self._guard, deadline=deadline)
        connection.arm(deadline)
        return connection

    def _release(self, connection: _Connection) -> None:
        with self._lock:
            if len(self._idle) < self._max_idle:
                self._idle.append(connection)
                return
        connection.close()


def _read_capped(response: http.client.HTTPResponse, *, max_bytes: int) -> bytes:
    length = response.getheader("Content-Length")
    if length is not None and length.isdigit() and int(length) > max_bytes:
        raise TooLarge(f"the answer is {int(length)} bytes, more than the {max_bytes}-byte cap")
    # Chunks in a list, joined once: a growing buffer would be reallocated all the way to the cap.
    chunks: list[bytes] = []
    size = 0
    while chunk := response.read1(_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise TooLarge(f"the answer is more than the {max_bytes}-byte cap")
        chunks.append(chunk)
    response.close()  # read to the end: frees the connection for the next request (keep-alive)
    return b"".join(chunks)


def _resolve(host: str, port: int) -> list[tuple[socket.AddressFamily, Any]]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise Unreachable("Name or service not known") from None
    return [(family, sockaddr) for family, _, _, _, sockaddr in infos]


def _gist(error: BaseException | None) -> str:
    # Keep what an SRE can act on; the URL and pool internals stay out of status.
    text = str(error)
    for gist in ("Connection refused", "Name or service not known", "CERTIFICATE_VERIFY_FAILED", "timed out"):
        if gist in text:
            return gist
    return type(error).__name__ if error is not None else "unreachable"
