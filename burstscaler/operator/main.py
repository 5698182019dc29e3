"""Start the operator: metrics endpoint, metric sources, Kubernetes client, Kopf with our handlers."""

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


def fetcher_for(
    config: operator_config.PrometheusConfig, *, tick_seconds: float | None = None
) -> metric_sources.Fetcher | None:
    """The metric fetcher for the operator-wide Prometheus, or None when none is configured.

    A tick waits for readings at most one read's deadline and at most one tick interval: a slow server
    delays nobody else's plan by more than a tick (issue 12).
    """
    if not config.url:
        return None
    token = pathlib.Path(config.token_file).read_text().strip() if config.token_file else None
    settings = prometheus.Settings(
        url=config.url,
        timeout_seconds=config.timeout_seconds,
        bearer_token=token or None,
        ca_file=config.ca_file,
        insecure_skip_verify=config.insecure,
        max_response_bytes=config.max_response_bytes,
    )
    return metric_sources.Fetcher(
        settings,
        concurrency=config.max_concurrency,
        allowed_urls=config.allowed_urls,
        tenancy=config.tenancy,
        tick_deadline_seconds=min(config.timeout_seconds, tick_seconds or config.timeout_seconds),
    )


def run(config: operator_config.OperatorConfig) -> None:
    """Run the operator until it is stopped (SIGINT/SIGTERM)."""
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
    client = kube.api_client()
    runtime = handlers.Runtime(
        config=config,
        ticker=ticker.Ticker(
            planner_=planner.Planner(fetcher=fetcher, dry_run=config.dry_run, spend=config.spend),
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
