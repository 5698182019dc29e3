"""The Prometheus metric source: one instant query -> one number, or a typed failure.

Built on prometheus-api-client's ``PrometheusConnect`` (requests underneath; no pandas). Every way a
query can go wrong becomes a ``fallback.MetricsFailure`` with a reason the policy's ``MetricsAvailable``
condition shows, never an exception escaping into the operator:

====================================  ========================
what happened                         reason
====================================  ========================
refused, DNS, TLS handshake           PrometheusUnreachable
no answer within ``timeout_seconds``  PrometheusTimeout
HTTP 4xx/5xx other than a bad query   PrometheusError
HTTP 400/422 ``bad_data`` (PromQL)    QueryError
no series                             EmptyResult
several series                        AmbiguousResult
NaN, +Inf, -Inf                       InvalidValue
a value that is not a number          NonNumeric
====================================  ========================

Security: TLS verification is on by default (``ca_file`` to trust a private CA; ``insecure_skip_verify``
only on purpose); the bearer token is sent as a header and never appears in ``repr``, logs or failure
messages; user:password in a URL is redacted wherever the URL is shown.

Calls block (requests): the operator runs them in a thread pool (``sources.metrics``), never on the
event loop. No retries inside a call: the next tick is the retry, and ``fallback`` counts the misses.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import urllib.parse
from typing import Any

import prometheus_api_client
import requests
import urllib3

from burstscaler.core import fallback, recommend

_BAD_QUERY_STATUS = (400, 422)


@dataclasses.dataclass(frozen=True)
class Settings:
    """How to reach one Prometheus server. Hashable: the registry shares one client per server."""

    url: str
    timeout_seconds: float = 5.0
    bearer_token: str | None = dataclasses.field(default=None, repr=False)
    ca_file: str | None = None
    insecure_skip_verify: bool = False

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
        self._session = requests.Session()
        # A CA file path, or True (system CAs), or False only when explicitly asked for.
        self._session.verify = settings.ca_file or not settings.insecure_skip_verify
        headers = {"Authorization": f"Bearer {settings.bearer_token}"} if settings.bearer_token else None
        self._client = prometheus_api_client.PrometheusConnect(
            url=settings.url.rstrip("/"),
            headers=headers,
            session=self._session,
            # No retries (the next tick is the retry); read=False lets a read timeout surface as one.
            retry=urllib3.util.Retry(total=0, read=False, raise_on_status=False),
            timeout=settings.timeout_seconds,  # requests takes floats
        )

    def fetch(self, query: str) -> recommend.Reading:
        """Run ``query`` as an instant query; a value or a typed failure, never an exception."""
        # Ask the server to give up too, so a slow query does not keep burning its CPU after we left.
        params = {"timeout": str(self.settings.timeout_seconds)}  # seconds, as a float
        try:
            result = self._client.custom_query(query, params=params)
        except requests.Timeout:
            return _failed("PrometheusTimeout", f"no answer within {self.settings.timeout_seconds}s")
        except (requests.ConnectionError, requests.exceptions.SSLError) as error:
            return _failed("PrometheusUnreachable", _connection_message(error))
        except prometheus_api_client.PrometheusApiClientException as error:
            return _http_failure(str(error))
        except (requests.RequestException, ValueError, KeyError, TypeError) as error:
            # Garbage instead of the query API's JSON (a proxy's error page, a wrong URL).
            return _failed("PrometheusError", f"unexpected answer: {type(error).__name__}")
        return parse(result)

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
        """Release the connection pool."""
        self._session.close()


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


def _http_failure(text: str) -> recommend.Reading:
    # prometheus-api-client reports "HTTP Status Code 400 (b'{...json...}')".
    match = re.match(r"HTTP Status Code (\d+) \((.*)\)$", text, re.DOTALL)
    status = int(match.group(1)) if match else 0
    error_type, error = _prometheus_error(match.group(2)) if match else ("", "")
    if status in _BAD_QUERY_STATUS:
        return _failed("QueryError", f"Prometheus rejected the query: {error or 'bad data'}")
    if error_type == "timeout" or "timed out" in error:
        return _failed("PrometheusTimeout", f"the query timed out in Prometheus: {error}")
    return _failed("PrometheusError", f"HTTP {status}" + (f": {error}" if error else ""))


def _prometheus_error(body: str) -> tuple[str, str]:
    # The body is a Python bytes literal of Prometheus's JSON error document: keep its type and message.
    raw = body[2:-1] if body[:2] in ("b'", 'b"') else body
    try:
        document = json.loads(raw.encode().decode("unicode_escape"))
    except ValueError:
        return "", ""
    if not isinstance(document, dict):
        return "", ""
    return str(document.get("errorType", "")), str(document.get("error", ""))[:300]


def _connection_message(error: Exception) -> str:
    # requests' messages carry the URL (already safe: credentials are headers) and pool internals; keep the gist.
    text = str(error)
    for gist in ("Connection refused", "Name or service not known", "CERTIFICATE_VERIFY_FAILED", "timed out"):
        if gist in text:
            return gist
    return type(error).__name__


def _failed(reason: fallback.FailureReason, message: str) -> recommend.Reading:
    return recommend.Reading(failure=fallback.MetricsFailure(reason, message))
