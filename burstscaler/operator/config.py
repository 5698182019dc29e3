"""The operator's configuration: one frozen value built from flags and environment variables.

The command line (`burstscaler run`) is the single place options are declared, each with the same
name as a flag and as a `BURSTSCALER_*` variable; this module only holds the result.
"""

from __future__ import annotations

import dataclasses

from burstscaler.cluster import economics, placeholders, providers
from burstscaler.core import cost
from burstscaler.sources import prometheus


@dataclasses.dataclass(frozen=True)
class PrometheusConfig:
    """Where and how to query Prometheus. The token is read from a file and never logged."""

    url: str | None = None
    token_file: str | None = None
    ca_file: str | None = None
    insecure: bool = False
    timeout_seconds: float = 5.0  # the total deadline of one read: connect, headers and body
    max_concurrency: int = 16
    max_response_bytes: int = prometheus.DEFAULT_MAX_RESPONSE_BYTES
    allowed_urls: tuple[str, ...] = ()  # glob patterns of policies' own serverUrls; none by default
    tenancy: str = "none"  # none | namespace: pin tenant queries to their policy's namespace

    def __repr__(self) -> str:  # no credentials in logs, ever: the token file's *path* is harmless too
        url = prometheus.redact(self.url) if self.url else None
        return (
            f"PrometheusConfig(url={url!r}, ca_file={self.ca_file!r}, insecure={self.insecure}, "
            f"allowed_urls={self.allowed_urls!r})"
        )


@dataclasses.dataclass(frozen=True)
class OperatorConfig:
    """Everything `burstscaler run` was told."""

    prometheus: PrometheusConfig = dataclasses.field(default_factory=PrometheusConfig)
    tick_seconds: float = 5.0
    status_refresh_seconds: float = 30.0  # an unchanged status is rewritten (decision time, cost) this often
    namespaces: tuple[str, ...] = ()  # empty: all namespaces
    standalone: bool = False
    peering_name: str = "burstscaler"
    priority: int = 0
    liveness_endpoint: str | None = "http://0.0.0.0:8080/healthz"
    metrics_port: int | None = 9090
    log_format: str = "text"  # text | json
    verbose: bool = False
    dry_run: bool = False
    # Every provider's virtual nodes by default, as `burstscaler run` does: a config built in code must not
    # count a VNode, an AKS v2 or a Fargate node as ECS room.
    virtual_node_labels: tuple[tuple[str, str], ...] = providers.VIRTUAL_NODE_LABELS
    spend: cost.SpendLimits = dataclasses.field(default_factory=cost.SpendLimits)  # who prices and caps burst
    # The bridge (issue 16): no pool growth unless declared, no ECS price unless given (no placeholders then).
    bridge: economics.Defaults = dataclasses.field(default_factory=economics.Defaults)
    placeholder_image: str = placeholders.DEFAULT_IMAGE
