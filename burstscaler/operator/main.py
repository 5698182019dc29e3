"""Start the operator: start-up checks, metrics endpoint, metric sources, Kubernetes client, Kopf with our handlers.

The start-up checks (issue 17) turn what a new user meets first (no kubeconfig, an API server that does not
answer or refuses the credentials, the CRD not installed, Prometheus down) into one line naming what was
tried and what to do, instead of a library's traceback deep inside Kopf.
"""

from __future__ import annotations

import logging
import pathlib

import kopf
import prometheus_client

from burstscaler.cluster import kube
from burstscaler.operator import config as operator_config
from burstscaler.operator import handlers, planner, ticker
from burstscaler.operator import metrics as operator_metrics
from burstscaler.operator.status_writer import StatusWriter
from burstscaler.sources import metrics as metric_sources
from burstscaler.sources import prometheus

logger = logging.getLogger(__name__)


#: Re-exported for the CLI: the start-up probes live with the other Kubernetes calls in ``cluster.kube``.
StartupError = kube.StartupError


def check_prometheus(config: operator_config.PrometheusConfig) -> None:
    """Query the operator-wide Prometheus once; raise StartupError when it cannot be reached at all.

    Only unreachable and timed-out count: a server that answers with an error (a label proxy wanting a
    namespace, say) is running, and each policy's MetricsAvailable condition then says what is wrong.
    """
    if not config.url:
        return
    source = prometheus.PrometheusSource(_prometheus_settings(config))
    failure = source.fetch("vector(1)").failure
    if failure is not None and failure.reason in ("PrometheusUnreachable", "PrometheusTimeout"):
        raise StartupError(
            f"Prometheus at {prometheus.redact(config.url)} is unreachable ({failure.message}); check "
            "--prometheus-url (BURSTSCALER_PROMETHEUS_URL), or leave it unset to run without metrics"
        )


def _prometheus_settings(config: operator_config.PrometheusConfig) -> prometheus.Settings:
    assert config.url is not None
    token = pathlib.Path(config.token_file).read_text().strip() if config.token_file else None
    return prometheus.Settings(
        url=config.url,
        timeout_seconds=config.timeout_seconds,
        bearer_token=token or None,
        ca_file=config.ca_file,
        insecure_skip_verify=config.insecure,
        max_response_bytes=config.max_response_bytes,
    )


def fetcher_for(
    config: operator_config.PrometheusConfig, *, tick_seconds: float | None = None
) -> metric_sources.Fetcher | None:
    """The metric fetcher for the operator-wide Prometheus, or None when none is configured.

    A tick waits for readings at most one read's deadline and at most one tick interval: a slow server
    delays nobody else's plan by more than a tick (issue 12).
    """
    if not config.url:
        return None
    return metric_sources.Fetcher(
        _prometheus_settings(config),
        concurrency=config.max_concurrency,
        allowed_urls=config.allowed_urls,
        tenancy=config.tenancy,
        tick_deadline_seconds=min(config.timeout_seconds, tick_seconds or config.timeout_seconds),
    )


def run(config: operator_config.OperatorConfig) -> None:
    """Run the operator until it is stopped (SIGINT/SIGTERM); StartupError when a start-up check fails."""
    source = kube.load_cluster_config()
    kube.check_api_server(source=source, namespaces=config.namespaces)
    check_prometheus(config.prometheus)
    kopf.configure(
        verbose=config.verbose,
        log_format=kopf.LogFormat.JSON if config.log_format == "json" else kopf.LogFormat.FULL,
    )
    metrics = operator_metrics.Metrics()
    if config.metrics_port:
        prometheus_client.start_http_server(config.metrics_port, registry=metrics.registry)
    fetcher = fetcher_for(config.prometheus, tick_seconds=config.tick_seconds)
    if fetcher is None:
        logger.warning("no --prometheus-url: policies with metrics will report MetricsAvailable=False")
    client = kube.default_client()  # the configuration load_cluster_config loaded
    runtime = handlers.Runtime(
        config=config,
        ticker=ticker.Ticker(
            planner_=planner.Planner(
                fetcher=fetcher,
                dry_run=config.dry_run,
                spend=config.spend,
                bridge=config.bridge,
                room_estimated=bool(config.namespaces),
            ),
            interval=config.tick_seconds,
            metrics=metrics,
        ),
        workloads=kube.Workloads(client),
        metrics=metrics,
        status_writer=StatusWriter(
            kube.Policies(client), metrics=metrics, refresh_seconds=config.status_refresh_seconds
        ),
    )
    registry = kopf.OperatorRegistry()
    handlers.register(registry, runtime)
    logger.info("burstscaler starting: %r", config)
    try:
        kopf.run(
            registry=registry,
            standalone=config.standalone,
            clusterwide=not config.namespaces,
            namespaces=config.namespaces,
            liveness_endpoint=config.liveness_endpoint,
            # peering_name is set in the startup handler: passing it here would make peering mandatory.
        )
    finally:
        if fetcher is not None:
            fetcher.close()
