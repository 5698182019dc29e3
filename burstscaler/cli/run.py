"""`burstscaler run`: the operator. Every option is a flag and a BURSTSCALER_* environment variable."""

from __future__ import annotations

import decimal
import random
import traceback
from typing import Annotated

import pydantic
import typer

from burstscaler.api import spec
from burstscaler.cluster import economics, placeholders, providers
from burstscaler.core import cost


def run(
    prometheus_url: Annotated[
        str | None, typer.Option(envvar="BURSTSCALER_PROMETHEUS_URL", help="Operator-wide Prometheus server.")
    ] = None,
    prometheus_token_file: Annotated[
        str | None,
        typer.Option(envvar="BURSTSCALER_PROMETHEUS_TOKEN_FILE", help="File holding a bearer token for Prometheus."),
    ] = None,
    prometheus_ca_file: Annotated[
        str | None, typer.Option(envvar="BURSTSCALER_PROMETHEUS_CA_FILE", help="CA bundle to verify Prometheus TLS.")
    ] = None,
    prometheus_insecure: Annotated[
        bool,
        typer.Option(
            envvar="BURSTSCALER_PROMETHEUS_INSECURE", help="Skip TLS verification of Prometheus (not advised)."
        ),
    ] = False,
    prometheus_timeout: Annotated[
        float,
        typer.Option(
            envvar="BURSTSCALER_PROMETHEUS_TIMEOUT",
            help="Seconds one query may take in all (connect, headers and body) before it counts as failed.",
        ),
    ] = 5.0,
    prometheus_max_response_bytes: Annotated[
        int,
        typer.Option(
            envvar="BURSTSCALER_PROMETHEUS_MAX_RESPONSE_BYTES",
            min=1024,
            help="Largest answer read from Prometheus; a larger one is aborted and counts as failed.",
        ),
    ] = 1 << 20,
    allowed_prometheus_url: Annotated[
        list[str] | None,
        typer.Option(
            envvar="BURSTSCALER_ALLOWED_PROMETHEUS_URLS",
            help="Glob pattern of a policy's own serverUrl the operator may read (repeat), matched against "
            "scheme://host:port/path, e.g. 'http://prometheus.*.svc:9090'; default: none (policies use "
            "--prometheus-url). Loopback, link-local and metadata addresses are refused regardless.",
        ),
    ] = None,
    prometheus_tenancy: Annotated[
        str,
        typer.Option(
            envvar="BURSTSCALER_PROMETHEUS_TENANCY",
            help="namespace: add the policy's namespace as a label matcher to every selector of its queries on "
            "--prometheus-url (as prom-label-proxy does), so a tenant reads only its own series; none: as "
            "written (put prom-label-proxy in front instead, see docs/security.md).",
        ),
    ] = "none",
    tick_seconds: Annotated[
        float, typer.Option(envvar="BURSTSCALER_TICK_SECONDS", min=0.5, help="Seconds between planning ticks.")
    ] = 5.0,
    status_refresh_seconds: Annotated[
        float,
        typer.Option(
            envvar="BURSTSCALER_STATUS_REFRESH_SECONDS",
            min=0,
            help="A status that changed only in its decision time, inputs and cost is rewritten this often.",
        ),
    ] = 30.0,
    namespace: Annotated[
        list[str] | None,
        typer.Option(envvar="BURSTSCALER_NAMESPACES", help="Watch only these namespaces (repeat); default: all."),
    ] = None,
    standalone: Annotated[
        bool,
        typer.Option(envvar="BURSTSCALER_STANDALONE", help="No leader election (single replica only)."),
    ] = False,
    peering_name: Annotated[
        str, typer.Option(envvar="BURSTSCALER_PEERING_NAME", help="Kopf peering object for leader election.")
    ] = "burstscaler",
    priority: Annotated[
        int | None,
        typer.Option(
            envvar="BURSTSCALER_PRIORITY",
            help="Peering priority (the highest leads); default: random per process, so replicas never tie.",
        ),
    ] = None,
    virtual_node_label: Annotated[
        list[str] | None,
        typer.Option(
            envvar="BURSTSCALER_VIRTUAL_NODE_LABELS",
            help="key=value label marking a virtual node (repeat; replaces the default): default "
            + ", ".join(f"{key}={value}" for key, value in providers.VIRTUAL_NODE_LABELS)
            + " (ACK/AKS v1, self-built VNode, AKS v2, EKS Fargate). Nodes with a virtual-kubelet.io/* taint "
            "are virtual too.",
        ),
    ] = None,
    liveness: Annotated[
        str, typer.Option(envvar="BURSTSCALER_LIVENESS", help="Liveness endpoint URL; empty to disable.")
    ] = "http://0.0.0.0:8080/healthz",
    metrics_port: Annotated[
        int, typer.Option(envvar="BURSTSCALER_METRICS_PORT", help="Port of /metrics; 0 to disable.")
    ] = 9090,
    log_format: Annotated[
        str, typer.Option(envvar="BURSTSCALER_LOG_FORMAT", help="Log format: text or json.")
    ] = "text",
    verbose: Annotated[bool, typer.Option(envvar="BURSTSCALER_VERBOSE", help="Debug logging.")] = False,
    dry_run: Annotated[
        bool,
        typer.Option(envvar="BURSTSCALER_DRY_RUN", help="Decide and report for every policy; change no workload."),
    ] = False,
    eci_price_per_vcpu_second: Annotated[
        str,
        typer.Option(
            envvar="BURSTSCALER_ECI_PRICE_PER_VCPU_SECOND",
            help="ECI price of one vCPU-second, for every policy's budget, cost and metrics (default: Alibaba "
            "Cloud's international list price).",
        ),
    ] = "0.0000077",
    eci_price_per_gib_second: Annotated[
        str,
        typer.Option(envvar="BURSTSCALER_ECI_PRICE_PER_GIB_SECOND", help="ECI price of one GiB-second of memory."),
    ] = "0.00000096",
    eci_spot_discount: Annotated[
        float,
        typer.Option(
            envvar="BURSTSCALER_ECI_SPOT_DISCOUNT",
            min=0.0,
            max=0.99,
            help="Fraction off the ECI price a spot burst pod is counted at in cost and metrics (Alibaba "
            "publishes 30% to 90%; the default is the least). Budgets bound spot pods on the worst case "
            "instead (the on-demand price, or SpotWithPriceLimit's limit).",
        ),
    ] = 0.3,
    currency: Annotated[
        str, typer.Option(envvar="BURSTSCALER_CURRENCY", help="Currency of the prices and budgets (ISO 4217).")
    ] = "USD",
    allow_policy_prices: Annotated[
        bool,
        typer.Option(
            envvar="BURSTSCALER_ALLOW_POLICY_PRICES",
            help="Count and bound spend with each policy's own spec.pricing (its authors then set their own "
            "budget's prices); default: the operator's prices above.",
        ),
    ] = False,
    max_burst_cost_per_hour_per_namespace: Annotated[
        str | None,
        typer.Option(
            envvar="BURSTSCALER_MAX_BURST_COST_PER_HOUR_PER_NAMESPACE",
            help="Cap on the burst spend of all policies of a namespace together, per hour (split equally "
            "among its bursting policies); default: none.",
        ),
    ] = None,
    node_growth: Annotated[
        bool,
        typer.Option(
            envvar="BURSTSCALER_NODE_GROWTH",
            help="A node autoscaler (cluster-autoscaler, Karpenter, an ACK node pool with auto scaling) adds ECS "
            "nodes for Pending pods: bursts expected to outlast a new node's break-even get placeholder pods "
            "that ask it for nodes. A policy's spec.bridge.enabled overrides this. Default: off.",
        ),
    ] = False,
    paid_node_label: Annotated[
        list[str] | None,
        typer.Option(
            envvar="BURSTSCALER_PAID_NODE_LABELS",
            help="key=value label of ECS nodes paid whether used or not (a subscription node pool, one that never "
            "scales down; repeat): with --node-growth, drain-back onto their room costs nothing more, where room "
            "on other nodes is priced at an added node's share. Default: none known.",
        ),
    ] = None,
    ecs_price_per_vcpu_hour: Annotated[
        str | None,
        typer.Option(
            envvar="BURSTSCALER_ECS_PRICE_PER_VCPU_HOUR",
            help="Price of one vCPU-hour of an added ECS node, for the bridge's break-even (wins over a policy's "
            "pricing.ecsPerVCPUHour unless --allow-policy-prices); default: none (then the policy's).",
        ),
    ] = None,
    ecs_price_per_gib_hour: Annotated[
        str | None,
        typer.Option(
            envvar="BURSTSCALER_ECS_PRICE_PER_GIB_HOUR",
            help="Price of one GiB-hour of memory of an added ECS node (see --ecs-price-per-vcpu-hour).",
        ),
    ] = None,
    placeholder_image: Annotated[
        str,
        typer.Option(
            envvar="BURSTSCALER_PLACEHOLDER_IMAGE",
            help="Image of the placeholder pods' one container (a pause image; mirror it for air-gapped clusters).",
        ),
    ] = placeholders.DEFAULT_IMAGE,
    default_burst_budget_per_hour: Annotated[
        str | None,
        typer.Option(
            envvar="BURSTSCALER_DEFAULT_BURST_BUDGET_PER_HOUR",
            help="Budget of a policy that sets no spec.burst.budget, per hour; default: none.",
        ),
    ] = None,
) -> None:
    """Run the operator against the cluster of the current kubeconfig context (or in-cluster)."""
    from burstscaler.operator import config, main  # imported here: kopf is heavy for `lint` and `crd`

    if prometheus_tenancy not in ("none", "namespace"):
        typer.echo(f"--prometheus-tenancy must be none or namespace, got {prometheus_tenancy!r}", err=True)
        raise typer.Exit(code=2)
    if log_format not in ("text", "json"):
        typer.echo(f"--log-format must be text or json, got {log_format!r}", err=True)
        raise typer.Exit(code=2)
    labels = []
    for text in virtual_node_label or ():
        key, equals, value = text.partition("=")
        if not equals or not key:
            typer.echo(f"--virtual-node-label must be key=value, got {text!r}", err=True)
            raise typer.Exit(code=2)
        labels.append((key, value))
    labels = labels or list(providers.VIRTUAL_NODE_LABELS)
    spend = _spend_limits(
        vcpu=eci_price_per_vcpu_second,
        gib=eci_price_per_gib_second,
        spot_discount=eci_spot_discount,
        currency=currency,
        allow_policy_prices=allow_policy_prices,
        namespace_cap=max_burst_cost_per_hour_per_namespace,
        default_budget=default_burst_budget_per_hour,
    )
    paid_labels = []
    for text in paid_node_label or ():
        key, equals, value = text.partition("=")
        if not equals or not key:
            typer.echo(f"--paid-node-label must be key=value, got {text!r}", err=True)
            raise typer.Exit(code=2)
        paid_labels.append((key, value))
    bridge = _bridge_defaults(
        paid_node_labels=tuple(paid_labels),
        node_growth=node_growth,
        vcpu_hour=ecs_price_per_vcpu_hour,
        gib_hour=ecs_price_per_gib_hour,
        allow_policy_prices=allow_policy_prices,
    )
    if not placeholder_image.strip():
        typer.echo("--placeholder-image must name an image", err=True)
        raise typer.Exit(code=2)
    operator_config = config.OperatorConfig(
        prometheus=config.PrometheusConfig(
            url=prometheus_url or None,
            token_file=prometheus_token_file,
            ca_file=prometheus_ca_file,
            insecure=prometheus_insecure,
            timeout_seconds=prometheus_timeout,
            max_response_bytes=prometheus_max_response_bytes,
            allowed_urls=tuple(allowed_prometheus_url or ()),
            tenancy=prometheus_tenancy,
        ),
        tick_seconds=tick_seconds,
        status_refresh_seconds=status_refresh_seconds,
        namespaces=tuple(namespace or ()),
        standalone=standalone,
        peering_name=peering_name,
        priority=priority if priority is not None else random.SystemRandom().randrange(1, 2**31),
        virtual_node_labels=tuple(labels),
        liveness_endpoint=liveness or None,
        metrics_port=metrics_port or None,
        log_format=log_format,
        verbose=verbose,
        dry_run=dry_run,
        spend=spend,
        bridge=bridge,
        placeholder_image=placeholder_image,
    )
    try:
        main.run(operator_config)
    except main.StartupError as error:
        # One line a person can act on; the traceback only for whoever asked for it (issue 17).
        if verbose:
            traceback.print_exc()
        typer.echo(f"burstscaler run: {error}", err=True)
        raise typer.Exit(code=1) from None


def _spend_limits(
    *,
    vcpu: str,
    gib: str,
    currency: str,
    spot_discount: float = 0.3,
    allow_policy_prices: bool,
    namespace_cap: str | None,
    default_budget: str | None,
) -> cost.SpendLimits:
    """The operator's prices and caps from the flags; a bad value exits with the flag's name."""
    try:
        pricing = spec.Pricing.model_validate(
            {"currency": currency, "eciPerVCPUSecond": vcpu, "eciPerGiBSecond": gib, "eciSpotDiscount": spot_discount}
        )
    except pydantic.ValidationError as error:
        typer.echo(f"--eci-price-per-*/--currency: {error.errors()[0]['msg']}", err=True)
        raise typer.Exit(code=2) from None
    amounts: dict[str, decimal.Decimal | None] = {}
    for flag, text in (
        ("--max-burst-cost-per-hour-per-namespace", namespace_cap),
        ("--default-burst-budget-per-hour", default_budget),
    ):
        try:
            amounts[flag] = spec.Budget.model_validate({"maxCostPerHour": text}).max_cost_per_hour if text else None
        except pydantic.ValidationError:
            typer.echo(f"{flag} must be a non-negative decimal, got {text!r}", err=True)
            raise typer.Exit(code=2) from None
    try:
        return cost.SpendLimits(
            pricing=pricing,
            allow_policy_prices=allow_policy_prices,
            namespace_cap_per_hour=amounts["--max-burst-cost-per-hour-per-namespace"],
            default_budget_per_hour=amounts["--default-burst-budget-per-hour"],
        )
    except ValueError as error:
        typer.echo(f"--eci-price-per-*: {error}", err=True)
        raise typer.Exit(code=2) from None


def _bridge_defaults(
    *,
    node_growth: bool,
    vcpu_hour: str | None,
    gib_hour: str | None,
    allow_policy_prices: bool,
    paid_node_labels: tuple[tuple[str, str], ...] = (),
) -> economics.Defaults:
    """The bridge's operator-wide settings from the flags; a bad price exits with the flag's name."""
    prices: dict[str, decimal.Decimal | None] = {}
    for flag, alias, field, text in (
        ("--ecs-price-per-vcpu-hour", "ecsPerVCPUHour", "ecs_per_vcpu_hour", vcpu_hour),
        ("--ecs-price-per-gib-hour", "ecsPerGiBHour", "ecs_per_gib_hour", gib_hour),
    ):
        try:
            prices[flag] = getattr(spec.Pricing.model_validate({alias: text}), field) if text else None
        except pydantic.ValidationError:
            typer.echo(f"{flag} must be a non-negative decimal, got {text!r}", err=True)
            raise typer.Exit(code=2) from None
    return economics.Defaults(
        node_growth=node_growth,
        ecs_per_vcpu_hour=prices["--ecs-price-per-vcpu-hour"],
        ecs_per_gib_hour=prices["--ecs-price-per-gib-hour"],
        allow_policy_prices=allow_policy_prices,
        paid_node_labels=paid_node_labels,
    )
