"""`burstscaler report`: burst spend, drain-back savings and replicas of the real cluster, from Prometheus.

Reads the operator's ``burstscaler_*`` metrics over a time range and renders them like `simulate`:
a terminal table, ``--format json|csv``, and ``--html FILE``. Errors print one line naming the problem
and exit with code 1, never a traceback; credentials (the token, user:password in the URL) are never
printed.
"""

from __future__ import annotations

import pathlib
import re
import time
import urllib.parse
from typing import Annotated

import typer
from rich import console

from burstscaler.cli import choices
from burstscaler.reports import cluster_formats, cluster_html, cluster_report, cluster_table, timerange
from burstscaler.reports.cluster_data import PolicyKey, ReportError
from burstscaler.sources import prometheus, report_queries

#: A Kubernetes namespace or object name (DNS-1123 subdomain), for ``--policy NS/NAME``.
_NAME = r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?"


def report(
    url: Annotated[
        str,
        typer.Option("--prometheus", help="Base URL of the Prometheus that scrapes the operator.", show_default=False),
    ],
    since: Annotated[
        str, typer.Option(help="Start: a duration before now (24h, 7d) or a time (ISO 8601 / unix seconds).")
    ] = "24h",
    until: Annotated[
        str | None, typer.Option(help="End: a duration before now or a time. Default: now.", show_default=False)
    ] = None,
    policy: Annotated[
        str | None, typer.Option(help="Only this BurstPolicy, as NAMESPACE/NAME.", show_default=False)
    ] = None,
    output: Annotated[choices.Format, typer.Option("--format", help="Output on stdout.")] = choices.Format.table,
    html: Annotated[pathlib.Path | None, typer.Option(help="Also write a self-contained HTML report here.")] = None,
    step: Annotated[
        str, typer.Option(help="Resolution of the series over time (widened to at most 11,000 points).")
    ] = "60s",
    match: Annotated[
        str | None,
        typer.Option(
            help="Extra label matchers for every series, e.g. 'cluster=\"prod\"' when operators share a Prometheus.",
            show_default=False,
        ),
    ] = None,
    token_file: Annotated[
        pathlib.Path | None, typer.Option(help="File holding a bearer token for Prometheus.", show_default=False)
    ] = None,
    ca_file: Annotated[
        pathlib.Path | None, typer.Option(help="CA bundle to verify Prometheus' TLS certificate.", show_default=False)
    ] = None,
    insecure: Annotated[bool, typer.Option(help="Skip TLS verification (only on purpose).")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each query.")] = 30.0,
) -> None:
    """Burst spend per policy and namespace, drain-back savings and replicas over a range, from Prometheus."""
    err = console.Console(stderr=True)
    try:
        window = timerange.parse_window(since=since, until=until, step=step, now=time.time())
        settings = prometheus.Settings(
            url=_checked_url(url),
            timeout_seconds=_checked_timeout(timeout),
            bearer_token=_read_token(token_file),
            ca_file=_checked_ca(ca_file, insecure=insecure),
            insecure_skip_verify=insecure,
        )
        for warning in _warnings(settings):
            err.print(f"warning: {warning}", markup=False, highlight=False, soft_wrap=True)
        data = report_queries.read(
            settings, window=window, policy=_parse_policy(policy) if policy else None, matchers=match or ""
        )
        result = cluster_report.build(data)
        if html is not None:
            html.write_text(cluster_html.render_html(result), encoding="utf-8")
    except ReportError as error:
        err.print(f"error: {error}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(code=1) from None
    except OSError as error:
        err.print(
            f"error: cannot write {error.filename}: {error.strerror}", markup=False, highlight=False, soft_wrap=True
        )
        raise typer.Exit(code=1) from None
    _print(result, output=output)
    if html is not None:
        err.print(f"HTML report written to {html}", markup=False, highlight=False)


def _parse_policy(text: str) -> PolicyKey:
    namespace, _, name = text.partition("/")
    if not (re.fullmatch(_NAME, namespace) and re.fullmatch(_NAME, name)):
        raise ReportError(f"--policy {text!r} is not NAMESPACE/NAME (for example shop/web)")
    return namespace, name


def _checked_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ReportError(
            f"--prometheus {prometheus.redact(url)!r} is not an http(s) URL (for example http://prometheus:9090)"
        )
    return url


def _checked_timeout(timeout: float) -> float:
    if not timeout > 0:
        raise ReportError(f"--timeout {timeout:g} must be more than zero seconds")
    return timeout


def _read_token(path: pathlib.Path | None) -> str | None:
    if path is None:
        return None
    try:
        token = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not text"
        raise ReportError(f"cannot read --token-file {path}: {reason}") from None
    if not token:
        raise ReportError(f"--token-file {path} is empty")
    return token


def _checked_ca(path: pathlib.Path | None, *, insecure: bool) -> str | None:
    if path is None:
        return None
    if insecure:
        raise ReportError("--ca-file and --insecure contradict each other: choose one")
    if not path.is_file():
        raise ReportError(f"cannot read --ca-file {path}: no such file")
    return str(path)


def _warnings(settings: prometheus.Settings) -> list[str]:
    out = []
    if settings.insecure_skip_verify:
        out.append("TLS verification is off (--insecure): the server's identity is not checked")
    if settings.bearer_token and urllib.parse.urlsplit(settings.url).scheme == "http":
        out.append("sending the bearer token over plain http")
    return out


def _print(result: cluster_report.ClusterReport, *, output: choices.Format) -> None:
    if output is choices.Format.json:
        typer.echo(cluster_formats.render_json(result), nl=False)
    elif output is choices.Format.csv:
        typer.echo(cluster_formats.render_csv(result), nl=False)
    else:
        out = console.Console()
        for grid in cluster_table.render_tables(result):
            out.print(grid)
