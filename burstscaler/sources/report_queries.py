"""Reads the operator's ``burstscaler_*`` metrics over a time range from Prometheus, for `burstscaler report`.

Plain HTTP (requests) against the query API, so every failure becomes one ``ReportError`` line
naming the server and the problem. It reuses ``prometheus.Settings`` and its security rules: TLS
verification on unless asked otherwise (``ca_file`` trusts a private CA), the bearer token only ever
in a header, and URLs shown with user:password redacted.

What it asks, all filtered by ``--policy`` and any extra matchers:

- the series API, to list the policies seen in the range (and to tell "not scraped" from "unknown");
- ``increase(<counter>[range])`` at the range's end for each money and resource counter;
- ``max_over_time(<gauge>[range])`` for the peaks, and range queries of the gauges for the series;
- a range query of the cost counters themselves, per series, turned into growth since the start
  (``cluster_data.counter_growth``): per series, so an operator restart or a leader change, which
  starts a new series, is not mistaken for spend.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import requests
import urllib3

from burstscaler.reports import cluster_data, timerange
from burstscaler.reports.cluster_data import ClusterData, FloatArray, PolicyKey, ReportError, TimeRange
from burstscaler.sources import prometheus

_BY_POLICY = "namespace, policy"
_BY_MONEY = "namespace, policy, currency"


def read(
    settings: prometheus.Settings,
    *,
    window: TimeRange,
    policy: PolicyKey | None = None,
    matchers: str = "",
) -> ClusterData:
    """Everything the report shows over ``window``, or a ``ReportError`` saying what is wrong."""
    reader = Reader(settings)
    try:
        return _read(reader, window=window, policy=policy, matchers=matchers)
    finally:
        reader.close()


class Reader:
    """The three calls of Prometheus' HTTP API the report needs, with failures as ``ReportError``."""

    def __init__(self, settings: prometheus.Settings) -> None:
        self.settings = settings
        self.where = f"Prometheus at {prometheus.redact(settings.url)}"
        self._base = settings.url.rstrip("/")
        self._session = requests.Session()
        # A CA file path, or True (system CAs), or False only when explicitly asked for.
        self._session.verify = settings.ca_file or not settings.insecure_skip_verify
        if settings.insecure_skip_verify:
            # The command line warns once itself; urllib3 would warn on every request.
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        if settings.bearer_token:
            self._session.headers["Authorization"] = f"Bearer {settings.bearer_token}"

    def series(self, match: str, *, window: TimeRange) -> list[dict[str, str]]:
        """Label sets of the series matching ``match`` with samples in ``window``."""
        data = self._call("/api/v1/series", {"match[]": match, "start": window.start, "end": window.end})
        return [series for series in data if isinstance(series, dict)] if isinstance(data, list) else []

    def instant(self, query: str, *, at: int) -> list[dict[str, Any]]:
        """The instant vector of ``query`` evaluated at ``at``."""
        return _result(self._call("/api/v1/query", {"query": query, "time": at}), "vector")

    def range(self, query: str, *, window: TimeRange) -> list[dict[str, Any]]:
        """The matrix of ``query`` over ``window`` at its step."""
        params = {"query": query, "start": window.start, "end": window.end, "step": window.step}
        return _result(self._call("/api/v1/query_range", params), "matrix")

    def close(self) -> None:
        """Release the connection pool."""
        self._session.close()

    def _call(self, path: str, params: Mapping[str, Any]) -> Any:
        # POST: the same API, and long selectors do not hit URL length limits. The server gives up too
        # after ``timeout`` (float seconds), so a heavy range query does not keep burning its CPU.
        timeout = self.settings.timeout_seconds
        try:
            response = self._session.post(self._base + path, data={**params, "timeout": str(timeout)}, timeout=timeout)
        except requests.exceptions.SSLError as error:
            raise ReportError(
                f"{self.where}: TLS verification failed ({_gist(error)}); pass --ca-file with its CA "
                "(or --insecure, on purpose)"
            ) from None
        except requests.Timeout:
            raise ReportError(f"{self.where} did not answer within {timeout:g}s") from None
        except requests.RequestException as error:
            raise ReportError(f"cannot reach {self.where}: {_gist(error)}") from None
        try:
            document = response.json()
        except ValueError:
            document = None
        if not isinstance(document, dict):
            raise ReportError(
                f"{self.where} answered HTTP {response.status_code} with no query API JSON: is the URL its base URL?"
            )
        if response.status_code in (401, 403):
            raise ReportError(f"{self.where} refused access (HTTP {response.status_code}): check --token-file")
        if document.get("status") != "success":
            detail = str(document.get("error", ""))[:300] or f"HTTP {response.status_code}"
            raise ReportError(f"{self.where} rejected a query: {detail}")
        return document.get("data")


def _read(reader: Reader, *, window: TimeRange, policy: PolicyKey | None, matchers: str) -> ClusterData:
    span = f"[{window.span}s]"
    between = f"between {timerange.iso(window.start)} and {timerange.iso(window.end)}"
    seen = reader.series(_selector('__name__=~"burstscaler_.+"', matchers), window=window)
    if not seen:
        raise ReportError(f"no burstscaler metrics {between}: is the operator scraped?")
    policies = sorted({(s["namespace"], s["policy"]) for s in seen if s.get("namespace") and s.get("policy")})
    if not policies:
        raise ReportError(f"no BurstPolicy metrics {between}: the operator was scraped but planned no policy")
    if policy is not None:
        if policy not in policies:
            shown = ", ".join(f"{ns}/{name}" for ns, name in policies[:10]) + (", ..." if len(policies) > 10 else "")
            raise ReportError(
                f"unknown policy {policy[0]}/{policy[1]}: no burstscaler metrics for it {between} "
                f"(policies seen: {shown})"
            )
        policies = [policy]
    labels = _selector(_policy_matchers(policy), matchers)

    def totals(counter: str, by: str) -> dict[Any, float]:
        return _vector(reader.instant(f"sum by ({by}) (increase({counter}{labels}{span}))", at=window.end), by)

    def peak(gauge: str) -> dict[Any, float]:
        query = f"max by ({_BY_POLICY}) (max_over_time({gauge}{labels}{span}))"
        return _vector(reader.instant(query, at=window.end), _BY_POLICY)

    def over_time(gauge: str) -> dict[Any, FloatArray]:
        query = f"max by ({_BY_POLICY}) ({gauge}{labels})"
        return _matrix(reader.range(query, window=window), _BY_POLICY, window=window)

    grid = np.arange(window.start, window.end + 1, window.step, dtype=np.float64)
    return ClusterData(
        source=prometheus.redact(reader.settings.url),
        window=window,
        policies=tuple(policies),
        burst_cost=totals("burstscaler_burst_cost_total", _BY_MONEY),
        drain_back_savings=totals("burstscaler_drain_back_savings_total", _BY_MONEY),
        burst_vcpu_seconds=totals("burstscaler_burst_vcpu_seconds_total", _BY_POLICY),
        burst_gib_seconds=totals("burstscaler_burst_gib_seconds_total", _BY_POLICY),
        drain_back_moves=totals("burstscaler_drain_back_moves_total", _BY_POLICY),
        peak_base=peak("burstscaler_base_replicas"),
        peak_burst=peak("burstscaler_burst_replicas"),
        peak_desired=peak("burstscaler_desired_replicas"),
        seconds=grid,
        base=over_time("burstscaler_base_replicas"),
        burst=over_time("burstscaler_burst_replicas"),
        desired=over_time("burstscaler_desired_replicas"),
        cumulative_cost=_cumulative(reader.range(f"burstscaler_burst_cost_total{labels}", window=window), window),
    )


def _cumulative(matrix: list[dict[str, Any]], window: TimeRange) -> dict[Any, FloatArray]:
    """Growth since the start per (namespace, policy, currency): each series' growth, then summed."""
    out: dict[Any, FloatArray] = {}
    for series in matrix:
        key = _key(series.get("metric", {}), _BY_MONEY)
        growth = cluster_data.counter_growth(_points(series, window=window))
        out[key] = out[key] + growth if key in out else growth
    return out


def _vector(result: list[dict[str, Any]], by: str) -> dict[Any, float]:
    out = {}
    for series in result:
        value = _float(series.get("value", [None, None])[1])
        if math.isfinite(value):
            out[_key(series.get("metric", {}), by)] = value
    return out


def _matrix(result: list[dict[str, Any]], by: str, *, window: TimeRange) -> dict[Any, FloatArray]:
    return {_key(series.get("metric", {}), by): _points(series, window=window) for series in result}


def _points(series: Mapping[str, Any], *, window: TimeRange) -> FloatArray:
    """A range series on the window's grid (start, start + step, ... <= end); NaN where it has no point."""
    values = np.full((window.end - window.start) // window.step + 1, np.nan)
    for stamp, text in series.get("values", []):
        index = round((float(stamp) - window.start) / window.step)
        if 0 <= index < values.size:
            values[index] = _float(text)
    return values


def _key(metric: Mapping[str, str], by: str) -> tuple[str, ...]:
    return tuple(metric.get(name.strip(), "") for name in by.split(","))


def _float(text: Any) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def _result(data: Any, kind: str) -> list[dict[str, Any]]:
    if not isinstance(data, dict) or data.get("resultType") != kind or not isinstance(data.get("result"), list):
        raise ReportError(f"Prometheus answered a {kind} query with something else: {str(data)[:120]}")
    return [series for series in data["result"] if isinstance(series, dict)]


def _policy_matchers(policy: PolicyKey | None) -> str:
    if policy is None:
        return ""
    return f"namespace={_quote(policy[0])}, policy={_quote(policy[1])}"


def _selector(*parts: str) -> str:
    present = [part for part in parts if part.strip()]
    return "{" + ", ".join(present) + "}" if present else ""


def _quote(value: str) -> str:
    # PromQL strings take Go escapes; backslash and the double quote are the ones that matter.
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _gist(error: Exception) -> str:
    # requests' messages carry pool internals; keep what a person can act on (never headers: the token).
    text = str(error)
    for gist in (
        "Connection refused",
        "Name or service not known",
        "CERTIFICATE_VERIFY_FAILED",
        "WRONG_VERSION_NUMBER",
        "timed out",
        "No route to host",
    ):
        if gist in text:
            return gist
    return type(error).__name__
