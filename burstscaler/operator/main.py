"""Start the operator: start-up checks, metrics endpoint, metric sources, Kubernetes client, Kopf with our handlers.

The start-up checks (issue 17) turn what a new user meets first (no kubeconfig, an API server that does not
answer or refuses the credentials, the CRD not installed, Prometheus down) into one line naming what was
tried and what to do, instead of a library's traceback deep inside Kopf.
"""

from __future__ import annotations

import logging
import os
import pathlib

import kopf
import prometheus_client
import urllib3
import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from burstscaler.api import spec
from burstscaler.cluster import kube
from burstscaler.operator import config as operator_config
from burstscaler.operator import handlers, planner, ticker
from burstscaler.operator import metrics as operator_metrics
from burstscaler.operator.status_writer import StatusWriter
from burstscaler.sources import metrics as metric_sources
from burstscaler.sources import prometheus

logger = logging.getLogger(__name__)


#: How long one start-up probe may take; the operator's own client then uses Kopf's and kubernetes' defaults.
PROBE_TIMEOUT_SECONDS = 10.0


class StartupError(Exception):
    """A start-up failure a person can act on: ``str()`` is one line naming what was tried and what to do."""


def load_cluster_config() -> str:
    """Load in-cluster credentials, else the current kubeconfig context; return where the API server is.

    Raises StartupError when neither is there (a laptop with no cluster configured).
    """
    try:
        k8s_config.load_incluster_config()
        return "in-cluster service account"
    except k8s_config.ConfigException as in_cluster:
        kubeconfig = os.environ.get("KUBECONFIG") or "~/.kube/config"
        try:
            k8s_config.load_kube_config()
        except (k8s_config.ConfigException, OSError, ValueError, yaml.YAMLError) as error:
            raise StartupError(
                f"no Kubernetes configuration: not in a cluster ({in_cluster}) and no usable kubeconfig at "
                f"{kubeconfig} ({_one_line(error)}); set KUBECONFIG or `kubectl config use-context` to a cluster"
            ) from error
        try:
            _, active = k8s_config.list_kube_config_contexts()
            return f"kubeconfig {kubeconfig}, context {active['name']!r}"
        except (k8s_config.ConfigException, KeyError, TypeError):
            return f"kubeconfig {kubeconfig}"


def check_api_server(*, source: str, namespaces: tuple[str, ...] = ()) -> None:
    """Ask the API server for one BurstPolicy: it answers, accepts the credentials, and serves the CRD.

    Raises StartupError saying which of the three failed. Uses its own client without retries so an
    unreachable server fails within one timeout.
    """
    configuration = k8s.Configuration.get_default_copy()
    configuration.retries = 0
    host = configuration.host
    api = k8s.CustomObjectsApi(k8s.ApiClient(configuration))
    where = f"the Kubernetes API server at {host} ({source})"
    try:
        if namespaces:
            api.list_namespaced_custom_object(
                spec.API_GROUP,
                spec.API_VERSION,
                namespaces[0],
                spec.PLURAL,
                limit=1,
                _request_timeout=PROBE_TIMEOUT_SECONDS,
            )
        else:
            api.list_cluster_custom_object(
                spec.API_GROUP, spec.API_VERSION, spec.PLURAL, limit=1, _request_timeout=PROBE_TIMEOUT_SECONDS
            )
    except urllib3.exceptions.HTTPError as error:
        raise StartupError(
            f"cannot reach {where}: {_one_line(getattr(error, 'reason', None) or error)}; check that the cluster "
            "is up and the context's server address (`kubectl cluster-info`)"
        ) from error
    except k8s.ApiException as error:
        resource = f"{spec.PLURAL}.{spec.API_GROUP}"
        if error.status == 401:
            raise StartupError(
                f"{where} refused the credentials (HTTP 401 Unauthorized); renew them (log in to the cluster again, "
                "or refresh the kubeconfig's token or certificate) and check with `kubectl get nodes`"
            ) from error
        if error.status == 403:
            raise StartupError(
                f"{where} forbids listing {resource} (HTTP 403 Forbidden); apply the operator's RBAC "
                "(`kubectl apply -k manifests/base`) or run as an identity bound to it"
            ) from error
        if error.status == 404:
            raise StartupError(
                f"the BurstPolicy CRD ({resource}) is not installed on {where}; install it with "
                "`burstscaler crd | kubectl apply -f -` (or `kubectl apply -k manifests/base`)"
            ) from error
        raise StartupError(
            f"{where} answered HTTP {error.status} {error.reason} listing {resource}; check `kubectl get {resource}`"
        ) from error


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


def _one_line(error: object) -> str:
    return " ".join(str(error).split())


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
    source = load_cluster_config()
    check_api_server(source=source, namespaces=config.namespaces)
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
    client = k8s.ApiClient()  # the configuration load_cluster_config loaded
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
