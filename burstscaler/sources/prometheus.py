"""The Prometheus metric source: one instant query -> one number, or a typed failure.

One bounded GET of ``/api/v1/query`` (``sources.bounded_http``: a total deadline for connect, headers
and body together; a response size cap; no redirects). Every way a query can go wrong becomes a
``fallback.MetricsFailure`` with a reason the policy's ``MetricsAvailable`` condition shows, never an
exception escaping into the operator:

=========================================  ========================
what happened                              reason
=========================================  ========================
refused, DNS, TLS handshake, bad address   PrometheusUnreachable
no full answer within ``timeout_seconds``  PrometheusTimeout
HTTP 4xx/5xx other than a bad query, 3xx   PrometheusError
an answer over ``max_response_bytes``      PrometheusError
HTTP 400/422 ``bad_data`` (PromQL)         QueryError
no series                                  EmptyResult
several series                             AmbiguousResult
NaN, +Inf, -Inf                            InvalidValue
a value that is not a number               NonNumeric
=========================================  ========================

Security: TLS verification is on by default (``ca_file`` to trust a private CA; ``insecure_skip_verify``
only on purpose); the bearer token is sent as a header and never appears in ``repr``, logs or failure
messages; user:password in a URL is redacted wherever the URL is shown. With ``restrict_addresses``
(a policy's own server) loopback, link-local, metadata and unspecified addresses are refused after DNS
resolution (``api.addresses``). Why not prometheus-api-client/requests here: their timeouts are per
socket read, so a dripping server held a read for as long as it dripped (issue 12).

Calls block: the operator runs them in a thread pool (``sources.metrics``), never on the event loop.
No retries inside a call: the next tick is the retry, and ``fallback`` counts the misses.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
import ssl
import urllib.parse
from typing import Any

from burstscaler.api import addresses
from burstscaler.core import fallback, recommend
from burstscaler.sources import bounded_http

_BAD_QUERY_STATUS = (400, 422)
#: An instant query for one value answers in well under a kilobyte; 1 MiB leaves room for error pages
#: and a few hundred series of an AmbiguousResult, and keeps a `{__name__=~".+"}` from costing memory.
DEFAULT_MAX_RESPONSE_BYTES = 1 << 20


@dataclasses.dataclass(frozen=True)
class Settings:
    """How to reach one Prometheus server. Hashable: the registry shares one client per server."""

    url: str
    timeout_seconds: float = 5.0
    bearer_token: str | None = dataclasses.field(default=None, repr=False)
    ca_file: str | None = None
    insecure_skip_verify: bool = False
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    restrict_addresses: bool = False  # True for a policy's own server: see api.addresses

    def __repr__(self) -> str:
        token = "set" if self.bearer_token else "none"
        return (
            f"Settings(url={redact(self.url)!r}, timeout_seconds={self.timeout_seconds}, bearer_token={token}, "
            f"ca_file={self.ca_file!r}, insecure_skip_verify={self.insecure_skip_verify})"
        )


def redact(url: str) -> str:
    """The URL with any user:password replaced, fit for logs and status."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"***@{host}" + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


class PrometheusSource:
    """A MetricSource for one Prometheus server (see ``sources.metrics.MetricSource``)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        parts = urllib.parse.urlsplit(settings.url)
        # user:password in the operator-wide URL is sent as basic auth, never as part of a shown URL.
        self._headers: dict[str, str] = {}
        if settings.bearer_token:
            self._headers["Authorization"] = f"Bearer {settings.bearer_token}"
        elif parts.username is not None:
            pair = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
            self._headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        self._client = bounded_http.Client(
            settings.url, tls=self.tls_context, guard=addresses.refusal if settings.restrict_addresses else None
        )

    def tls_context(self) -> ssl.SSLContext:
        """The TLS client context for this server: verified unless ``insecure_skip_verify``."""
        return bounded_http.tls_context(ca_file=self.settings.ca_file, insecure=self.settings.insecure_skip_verify)

    @property
    def headers(self) -> dict[str, str]:
        """The headers sent with every query (the credentials among them; never log these)."""
        return dict(self._headers)

    def fetch(self, query: str) -> recommend.Reading:
        """Run ``query`` as an instant query; a value or a typed failure, never an exception."""
        timeout = self.settings.timeout_seconds
        # Ask the server to give up too, so a slow query does not keep burning its CPU after we left.
        params = {"query": query, "timeout": str(timeout)}
        try:
            answer = self._client.get(
                "/api/v1/query",
                params=params,
                headers=self._headers,
                deadline_seconds=timeout,
                max_bytes=self.settings.max_response_bytes,
            )
        except bounded_http.DeadlineExceeded:
            return _failed("PrometheusTimeout", f"no complete answer within {timeout}s")
        except bounded_http.TooLarge as error:
            return _failed("PrometheusError", f"{error}; aggregate the query (for example with sum(...))")
        except (bounded_http.Refused, bounded_http.Unreachable) as error:
            return _failed("PrometheusUnreachable", str(error))
        if not 200 <= answer.status < 300:
            return _http_failure(answer.status, answer.body)
        try:
            document = json.loads(answer.body)
            return parse(document["data"]["result"])
        except (ValueError, KeyError, TypeError) as error:
            # Garbage instead of the query API's JSON (a proxy's error page, a wrong URL).
            return _failed("PrometheusError", f"unexpected answer: {type(error).__name__}")

    def describe(self) -> str:
        """One line for logs: where, and which security options are on (never their secrets)."""
        tls = (
            "insecure"
            if self.settings.insecure_skip_verify
            else ("CA " + self.settings.ca_file if self.settings.ca_file else "verified")
        )
        token = "bearer token" if self.settings.bearer_token else "no token"
        return (
            f"prometheus at {redact(self.settings.url)} (tls {tls}, {token}, timeout {self.settings.timeout_seconds}s)"
        )

    def close(self) -> None:
        """Release the idle connections."""
        self._client.close()


def parse(result: Any) -> recommend.Reading:
    """Turn the ``data.result`` of an instant query into one number, or the reason it is not one.

    A vector must hold exactly one series; a scalar (``[time, "value"]``) is taken as is.
    """
    if isinstance(result, list) and len(result) == 2 and not isinstance(result[0], dict):
        return _number(result[1])
    if not isinstance(result, list):
        return _failed("NonNumeric", f"unexpected result of type {type(result).__name__}")
    if not result:
        return _failed("EmptyResult", "the query returned no series (is the metric scraped? are the labels right?)")
    if len(result) > 1:
        shown = ", ".join(_labels(series) for series in result[:3])
        return _failed(
            "AmbiguousResult",
            f"the query returned {len(result)} series where one value is needed ({shown}...); aggregate it, "
            "for example with sum(...)",
        )
    series = result[0]
    if not isinstance(series, dict) or "value" not in series:
        return _failed("NonNumeric", "a range or malformed result where an instant vector was expected")
    return _number(series["value"][1])


def _number(text: Any) -> recommend.Reading:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return _failed("NonNumeric", f"the value {str(text)[:40]!r} is not a number")
    if not math.isfinite(value):
        return _failed("InvalidValue", f"the value is {text} (a division by zero or no data in a ratio?)")
    if value < 0:
        # Load (requests, CPU, queue length) is never negative: a negative reading is a broken query or
        # exporter, and acting on it would scale the workload down to minReplicas.
        return _failed("InvalidValue", f"the value is {text}: a load metric cannot be negative (a counter reset?)")
    return recommend.Reading(value=value)


def _labels(series: Any) -> str:
    metric = series.get("metric", {}) if isinstance(series, dict) else {}
    return "{" + ",".join(f'{key}="{value}"' for key, value in sorted(metric.items())) + "}"


def _http_failure(status: int, body: bytes) -> recommend.Reading:
    error_type, error = _prometheus_error(body)
    if status in _BAD_QUERY_STATUS:
        return _failed("QueryError", f"Prometheus rejected the query: {error or 'bad data'}")
    if error_type == "timeout" or "timed out" in error:
        return _failed("PrometheusTimeout", f"the query timed out in Prometheus: {error}")
    if 300 <= status < 400:
        return _failed("PrometheusError", f"HTTP {status}: redirects are not followed; give the final URL")
    return _failed("PrometheusError", f"HTTP {status}" + (f": {error}" if error else ""))


def _prometheus_error(body: bytes) -> tuple[str, str]:
    # Prometheus's JSON error document: keep its type and (a bounded part of) its message.
    try:
        document = json.loads(body)
    except ValueError:
        return "", ""
    if not isinstance(document, dict):
        return "", ""
    return str(document.get("errorType", ""))[:40], str(document.get("error", ""))[:300]


def _failed(reason: fallback.FailureReason, message: str) -> recommend.Reading:
    return recommend.Reading(failure=fallback.MetricsFailure(reason, message))
