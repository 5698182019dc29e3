"""The BurstPolicy spec (DESIGN §3): what an SRE writes.

Field names, defaults and enum values here are the API; the CRD's schema is generated from these
classes. Checks the Kubernetes schema can express (ranges, enums, min <= max) are also emitted as
schema or CEL rules; the rest (cron syntax, time zones, durations, cross-field rules) are validators
whose messages say what to write instead, shown by ``burstscaler lint`` and as status conditions.
"""

from __future__ import annotations

import datetime
import decimal
import urllib.parse
import zoneinfo
from typing import Any, Literal

import croniter
import pydantic

from burstscaler.api import addresses, podpatch, quantity, types

API_GROUP = "burstscaler.io"
API_VERSION = "v1alpha1"
KIND = "BurstPolicy"
PLURAL = "burstpolicies"
SHORT_NAME = "bp"

Provider = Literal["alibaba-eci", "alibaba-vnode", "azure-aci", "aws-fargate", "generic"]

#: Bounds of the free-form parts of a policy (a policy is tenant input; see docs/security.md).
MAX_METRICS = 8
MAX_SCHEDULES = 32
MAX_QUERY_LENGTH = 4096

_DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"


def _cel(*rules: tuple[str, str]) -> dict[str, Any]:
    """Attach CEL validation rules (checked by the API server since Kubernetes 1.25) to a schema."""
    return {"x-kubernetes-validations": [{"rule": rule, "message": message} for rule, message in rules]}


class TargetRef(types.ApiModel):
    """The workload burstscaler scales: the *base*, which runs on ECS nodes."""

    api_version: Literal["apps/v1"] = "apps/v1"
    kind: Literal["Deployment", "StatefulSet"] = "Deployment"
    name: str = pydantic.Field(min_length=1, max_length=253, pattern=_DNS_SUBDOMAIN)


class MetricTarget(types.ApiModel):
    """The HPA's MetricTarget: the value the metric should settle at."""

    model_config = pydantic.ConfigDict(
        json_schema_extra=_cel(
            ("self.type != 'Value' || has(self.value)", "type Value needs target.value"),
            ("self.type != 'AverageValue' || has(self.averageValue)", "type AverageValue needs averageValue"),
            (
                "self.type != 'Utilization' || has(self.averageUtilization)",
                "type Utilization needs averageUtilization",
            ),
        )
    )

    type: Literal["Value", "AverageValue", "Utilization"]
    value: types.Quantity | None = None
    average_value: types.Quantity | None = None
    average_utilization: int | None = pydantic.Field(default=None, ge=1)

    @pydantic.model_validator(mode="after")
    def _value_matches_type(self) -> MetricTarget:
        needed = {"Value": "value", "AverageValue": "averageValue", "Utilization": "averageUtilization"}
        field = needed[self.type]
        present: dict[str, decimal.Decimal | int | None] = {
            "value": self.value,
            "averageValue": self.average_value,
            "averageUtilization": self.average_utilization,
        }
        if present[field] is None:
            raise ValueError(f'target of type {self.type} needs `{field}` (for example {field}: "50")')
        extra = [name for name, given in present.items() if given is not None and name != field]
        if extra:
            raise ValueError(f"target of type {self.type} takes only `{field}`; remove {', '.join(extra)}")
        if present[field] == 0:
            raise ValueError(f"`{field}` must be greater than zero: the replica count divides by it")
        return self


class PrometheusMetric(types.ApiModel):
    """A PromQL query whose instant value drives the replica count, HPA-style."""

    query: str = pydantic.Field(min_length=1, max_length=MAX_QUERY_LENGTH)
    target: MetricTarget
    server_url: str | None = pydantic.Field(
        default=None,
        max_length=2048,
        pattern=r"^https?://",
        description="A Prometheus of the policy's own instead of the operator-wide --prometheus-url; used only "
        "where the operator allows it (--allowed-prometheus-url).",
    )

    @pydantic.field_validator("query")
    @classmethod
    def _query_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("query is empty; write the PromQL whose value drives scaling")
        return value

    @pydantic.field_validator("server_url")
    @classmethod
    def _server_is_a_plain_base_url(cls, value: str | None) -> str | None:
        # The query path is appended to this URL: a `?` or `#` would let the policy choose the path, and
        # credentials in it would land in logs and status (issue 12, SSRF).
        if value is None:
            return value
        parts = urllib.parse.urlsplit(value)
        if parts.query or parts.fragment or "?" in value or "#" in value:
            raise ValueError(f"{value!r}: give the server's base URL only, without `?` or `#`")
        if parts.username is not None or parts.password is not None:
            raise ValueError("credentials do not belong in serverUrl: the operator authenticates to its own server")
        if not parts.hostname:
            raise ValueError(f"{value!r} names no host")
        why = addresses.literal_refusal(value)
        if why:
            raise ValueError(f"{why}, which a policy's server may never be; use a Prometheus Service's address")
        return value


class CpuMetric(types.ApiModel):
    """Shortcut: average CPU utilisation of the target's pods against their requests, in percent."""

    target_average_utilization: int = pydantic.Field(ge=1, le=1000)


class MetricSpec(types.ApiModel):
    """One scaling metric. Exactly one source is set; with several metrics the largest wins."""

    model_config = pydantic.ConfigDict(
        json_schema_extra=_cel(
            ("has(self.prometheus) != has(self.cpu)", "set exactly one of prometheus or cpu"),
        )
    )

    prometheus: PrometheusMetric | None = None
    cpu: CpuMetric | None = None

    @pydantic.model_validator(mode="after")
    def _exactly_one_source(self) -> MetricSpec:
        if (self.prometheus is None) == (self.cpu is None):
            raise ValueError("set exactly one of `prometheus` or `cpu` in each metric")
        return self


class Schedule(types.ApiModel):
    """A cron window that raises the replica floor for a known peak."""

    cron: str = pydantic.Field(
        min_length=1, max_length=128, description="Standard 5-field cron: minute hour dom month dow."
    )
    duration: str = pydantic.Field(min_length=1, max_length=32, description='How long the window lasts: "90m", "2h".')
    min_replicas: int = pydantic.Field(ge=0)
    timezone: str = pydantic.Field(default="UTC", max_length=64)

    @pydantic.field_validator("cron")
    @classmethod
    def _cron_parses(cls, value: str) -> str:
        if len(value.split()) != 5 or not croniter.croniter.is_valid(value):
            raise ValueError(f'{value!r} is not a 5-field cron expression (for example "0 9 * * 1-5")')
        return value

    @pydantic.field_validator("duration")
    @classmethod
    def _duration_parses(cls, value: str) -> str:
        seconds = quantity.parse_duration(value)
        if seconds == 0:
            raise ValueError('duration must be longer than zero (for example "2h")')
        return value

    @pydantic.field_validator("timezone")
    @classmethod
    def _timezone_exists(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f'{value!r} is not an IANA time zone (for example "Asia/Shanghai")') from None
        return value

    @property
    def duration_seconds(self) -> int:
        """The window's length in seconds."""
        return quantity.parse_duration(self.duration)

    @property
    def zone(self) -> datetime.tzinfo:
        """The window's time zone."""
        return zoneinfo.ZoneInfo(self.timezone)


class PendingPods(types.ApiModel):
    """The pending-pod signal: base pods the scheduler cannot place are evidence that ECS is full."""

    enabled: bool = True
    grace_seconds: int = pydantic.Field(default=15, ge=0, le=3600)


class Base(types.ApiModel):
    """Limits of the base workload on ECS nodes."""

    max_replicas: int | None = pydantic.Field(default=None, ge=0)


class Budget(types.ApiModel):
    """A spend cap on burst replicas, in the policy's currency."""

    max_cost_per_hour: types.Money


class Spot(types.ApiModel):
    """Preemptible (spot) instances for burst pods, where the provider has them (ECI: ``eci-spot-*``).

    Spot pods cost the price profile's spot discount less; when the provider refuses spot capacity the
    twin falls back to on-demand, and a spot pod that reports its coming release is replaced first.
    """

    model_config = pydantic.ConfigDict(
        json_schema_extra=_cel(
            (
                "self.strategy != 'SpotWithPriceLimit' || has(self.priceLimitPerHour)",
                "strategy SpotWithPriceLimit needs priceLimitPerHour",
            ),
        )
    )

    enabled: bool = False
    strategy: Literal["SpotAsPriceGo", "SpotWithPriceLimit"] = pydantic.Field(
        default="SpotAsPriceGo",
        description="SpotAsPriceGo: pay the market price, at most the on-demand price; SpotWithPriceLimit: at "
        "most priceLimitPerHour per instance.",
    )
    price_limit_per_hour: types.Money | None = pydantic.Field(
        default=None, description="Highest hourly price per instance (SpotWithPriceLimit only)."
    )
    protection_hours: int = pydantic.Field(
        default=1,
        ge=0,
        le=1,
        description="Hours a spot instance is protected from reclamation after it starts (ECI: 0 or 1).",
    )

    @pydantic.model_validator(mode="after")
    def _limit_matches_strategy(self) -> Spot:
        if self.strategy == "SpotWithPriceLimit" and self.price_limit_per_hour is None:
            raise ValueError('spot.strategy SpotWithPriceLimit needs `priceLimitPerHour` (for example "0.25")')
        if self.strategy == "SpotAsPriceGo" and self.price_limit_per_hour is not None:
            raise ValueError("spot.priceLimitPerHour is used only with strategy SpotWithPriceLimit; remove it")
        return self


class Burst(types.ApiModel):
    """The burst twin on the virtual node."""

    enabled: bool = True
    provider: Provider = "alibaba-eci"
    max_replicas: int | None = pydantic.Field(default=None, ge=0)
    budget: Budget | None = None
    spot: Spot = pydantic.Field(default_factory=Spot)
    # 300 s: ECI starts a pod in ~45 s (median) and large image pulls take minutes, so a slow start is
    # not called a failure; a pod still not Ready after five times that will not serve soon.
    ready_timeout_seconds: int = pydantic.Field(
        default=300,
        ge=1,
        description="A burst pod not Ready this long after it started (Running but not Ready, or still Pending) "
        "counts as failed (reason NotReadyInTime): not burst capacity, reported in BurstDegraded.",
    )
    pod_template_patch: podpatch.PodTemplatePatch = pydantic.Field(
        default_factory=podpatch.PodTemplatePatch,
        description="Routing and placement of burst pods, merged into the twin's template after the provider "
        "profile: only metadata.labels/annotations and spec.nodeSelector/tolerations/affinity/"
        "topologySpreadConstraints (everything else belongs in the base workload).",
    )

    @pydantic.model_validator(mode="after")
    def _generic_needs_routing(self) -> Burst:
        if self.enabled and self.provider == "generic" and not self.pod_template_patch.routed:
            raise ValueError(
                "provider generic has no defaults: give podTemplatePatch.spec.nodeSelector and "
                "tolerations that route pods to your virtual node"
            )
        return self


class DrainBack(types.ApiModel):
    """Moving burst replicas back to ECS when room frees up, make-before-break."""

    enabled: bool = True
    min_burst_seconds: int = pydantic.Field(default=120, ge=0)
    stabilization_seconds: int = pydantic.Field(default=60, ge=0)
    max_moves_per_tick: int = pydantic.Field(default=10, ge=1)
    ready_timeout_seconds: int = pydantic.Field(
        default=300,
        ge=1,
        description="How long new base replicas may take to become Ready before a move is undone.",
    )
    min_savings: types.Money | None = pydantic.Field(
        default=None,
        description="A burst replica moves back only when its expected saving over the rest of the burst "
        "exceeds this, in the policy's currency. Unset: the cost of one pod start-up (the replica's ECI price "
        "for podStartupSeconds), the churn a move costs.",
    )
    pod_startup_seconds: int = pydantic.Field(
        default=60, ge=0, le=3600, description="How long a new base pod takes to become Ready on ECS."
    )


class Bridge(types.ApiModel):
    """Buying ECS capacity for bursts that last (DESIGN §2 step 4b).

    Where the ECS pool can grow (cluster-autoscaler, Karpenter, an ACK node pool with auto scaling),
    placeholder pods kept Pending on ECS make the node autoscaler add nodes for the part of a burst
    expected to outlast its break-even; drain-back then moves burst replicas onto them.
    """

    enabled: bool | None = pydantic.Field(
        default=None,
        description="The ECS pool this workload may use grows for Pending pods. Unset: the operator's --node-growth.",
    )
    node_boot_seconds: int = pydantic.Field(
        default=180, ge=0, le=3600, description="From a Pending placeholder to a Ready node it asked for."
    )
    scale_down_delay_seconds: int = pydantic.Field(
        default=600,
        ge=0,
        le=86400,
        description="How long the node autoscaler keeps an empty node (cluster-autoscaler's "
        "--scale-down-unneeded-time): paid for after the burst ends.",
    )
    max_placeholders: int | None = pydantic.Field(default=None, ge=0)


class Forecast(types.ApiModel):
    """Scale for the load expected one start-up delay ahead (off by default)."""

    enabled: bool = False
    lookback: str = pydantic.Field(
        default="6h",
        min_length=1,
        max_length=32,
        description='History the trend is fitted on (a Prometheus range query, cached between ticks): "6h". '
        "With at least two days of history a daily-seasonal model is used as well.",
    )
    burst_startup_seconds: int = pydantic.Field(
        default=45, ge=0, le=3600, description="Lead for replicas that land on the virtual node."
    )

    @pydantic.field_validator("lookback")
    @classmethod
    def _lookback_parses(cls, value: str) -> str:
        if quantity.parse_duration(value) < 300:
            raise ValueError('forecast.lookback must cover at least 5 minutes (for example "6h")')
        return value

    @property
    def lookback_seconds(self) -> int:
        """The lookback window in seconds."""
        return quantity.parse_duration(self.lookback)


class ScalingPolicy(types.ApiModel):
    """autoscaling/v2 HPAScalingPolicy: at most `value` pods or percent per `periodSeconds`."""

    type: Literal["Pods", "Percent"]
    value: int = pydantic.Field(ge=1)
    period_seconds: int = pydantic.Field(ge=1, le=1800)


class ScalingRules(types.ApiModel):
    """autoscaling/v2 HPAScalingRules for one direction; unset fields take the HPA's defaults."""

    stabilization_window_seconds: int | None = pydantic.Field(default=None, ge=0, le=3600)
    select_policy: Literal["Max", "Min", "Disabled"] | None = None
    policies: list[ScalingPolicy] | None = pydantic.Field(default=None, max_length=8)
    tolerance: types.Quantity | None = pydantic.Field(
        default=None, description="Relative change ignored in this direction (HPA default 0.1)."
    )


#: The HPA's defaults (k8s.io/kubernetes pkg/apis/autoscaling/v2/defaults.go).
DEFAULT_SCALE_UP = ScalingRules(
    stabilization_window_seconds=0,
    select_policy="Max",
    policies=[
        ScalingPolicy(type="Pods", value=4, period_seconds=15),
        ScalingPolicy(type="Percent", value=100, period_seconds=15),
    ],
)
DEFAULT_SCALE_DOWN = ScalingRules(
    stabilization_window_seconds=300,
    select_policy="Max",
    policies=[ScalingPolicy(type="Percent", value=100, period_seconds=15)],
)


class Behavior(types.ApiModel):
    """autoscaling/v2 HorizontalPodAutoscalerBehavior; see ``effective_scale_up``/``_down``."""

    scale_up: ScalingRules | None = None
    scale_down: ScalingRules | None = None

    @property
    def effective_scale_up(self) -> ScalingRules:
        """Scale-up rules with the HPA's defaults filled into every unset field."""
        return _with_defaults(self.scale_up, DEFAULT_SCALE_UP)

    @property
    def effective_scale_down(self) -> ScalingRules:
        """Scale-down rules with the HPA's defaults filled into every unset field."""
        return _with_defaults(self.scale_down, DEFAULT_SCALE_DOWN)


def _with_defaults(rules: ScalingRules | None, defaults: ScalingRules) -> ScalingRules:
    if rules is None:
        return defaults
    given = {name: value for name, value in rules if value is not None}
    return defaults.model_copy(update=given)


class Fallback(types.ApiModel):
    """What to do when the metric source keeps failing."""

    model_config = pydantic.ConfigDict(
        json_schema_extra=_cel(
            ("self.onMetricsFailure != 'fixed' || has(self.replicas)", "onMetricsFailure fixed needs replicas"),
        )
    )

    on_metrics_failure: Literal["hold", "fixed"] = "hold"
    failure_threshold: int = pydantic.Field(default=3, ge=1)
    replicas: int | None = pydantic.Field(default=None, ge=0)

    @pydantic.model_validator(mode="after")
    def _replicas_match_mode(self) -> Fallback:
        if self.on_metrics_failure == "fixed" and self.replicas is None:
            raise ValueError("onMetricsFailure: fixed needs `replicas` (the count to run without metrics)")
        if self.on_metrics_failure == "hold" and self.replicas is not None:
            raise ValueError("`replicas` is used only with onMetricsFailure: fixed; remove it or set fixed")
        return self


class Pricing(types.ApiModel):
    """Prices for cost accounting. Defaults: Alibaba Cloud international ECI pay-as-you-go list prices."""

    currency: str = pydantic.Field(default="USD", pattern=r"^[A-Z]{3}$")
    eci_per_vcpu_second: types.Money = pydantic.Field(default=decimal.Decimal("0.0000077"), alias="eciPerVCPUSecond")
    eci_per_gib_second: types.Money = pydantic.Field(
        default=decimal.Decimal("0.00000096"),
        alias="eciPerGiBSecond",
        json_schema_extra={"default": "0.00000096"},  # str(Decimal) would write 9.6E-7
    )
    ecs_per_vcpu_hour: types.Money | None = pydantic.Field(default=None, alias="ecsPerVCPUHour")
    ecs_per_gib_hour: types.Money | None = pydantic.Field(default=None, alias="ecsPerGiBHour")
    eci_spot_discount: float = pydantic.Field(
        default=0.3,
        ge=0,
        le=0.99,
        description="Fraction off the ECI price a spot pod is counted at (Alibaba publishes 30% to 90%; the "
        "default is the least of that range).",
    )


class BurstPolicySpec(types.ApiModel):
    """The whole spec of a BurstPolicy."""

    model_config = pydantic.ConfigDict(
        json_schema_extra=_cel(
            ("self.minReplicas <= self.maxReplicas", "minReplicas must not exceed maxReplicas"),
        )
    )

    target_ref: TargetRef
    min_replicas: int = pydantic.Field(default=1, ge=0)
    max_replicas: int = pydantic.Field(ge=1)
    # Bounded: every metric is a read each tick, every window a cron walk (issue 12: no tenant may
    # make the operator's tick arbitrarily long).
    metrics: list[MetricSpec] = pydantic.Field(default_factory=list, max_length=MAX_METRICS)
    schedules: list[Schedule] = pydantic.Field(default_factory=list, max_length=MAX_SCHEDULES)
    pending_pods: PendingPods = pydantic.Field(default_factory=PendingPods)
    base: Base = pydantic.Field(default_factory=Base)
    burst: Burst = pydantic.Field(default_factory=Burst)
    drain_back: DrainBack = pydantic.Field(default_factory=DrainBack)
    bridge: Bridge = pydantic.Field(default_factory=Bridge)
    forecast: Forecast = pydantic.Field(default_factory=Forecast)
    behavior: Behavior = pydantic.Field(default_factory=Behavior)
    fallback: Fallback = pydantic.Field(default_factory=Fallback)
    pricing: Pricing = pydantic.Field(default_factory=Pricing)
    priority: int = 0
    paused: bool = False
    dry_run: bool = False

    @pydantic.model_validator(mode="after")
    def _counts_are_coherent(self) -> BurstPolicySpec:
        if self.min_replicas > self.max_replicas:
            raise ValueError(
                f"minReplicas ({self.min_replicas}) exceeds maxReplicas ({self.max_replicas}); "
                "raise maxReplicas or lower minReplicas"
            )
        for index, window in enumerate(self.schedules):
            if window.min_replicas > self.max_replicas:
                raise ValueError(
                    f"schedules[{index}].minReplicas ({window.min_replicas}) exceeds maxReplicas "
                    f"({self.max_replicas}); the window could never be honoured"
                )
        prices = self.pricing
        if self.burst.budget is not None and prices.eci_per_vcpu_second == 0 and prices.eci_per_gib_second == 0:
            raise ValueError(
                "pricing.eciPerVCPUSecond and eciPerGiBSecond are both 0: every burst replica would be free and "
                "burst.budget no cap at all; give the real prices (or drop them for the defaults)"
            )
        replicas = self.fallback.replicas
        if replicas is not None and not self.min_replicas <= replicas <= self.max_replicas:
            raise ValueError(
                f"fallback.replicas ({replicas}) must lie within minReplicas..maxReplicas "
                f"({self.min_replicas}..{self.max_replicas})"
            )
        return self


class ObjectMeta(pydantic.BaseModel):
    """The part of metadata burstscaler reads; everything else passes through untouched."""

    model_config = pydantic.ConfigDict(extra="allow", frozen=True)

    name: str = pydantic.Field(min_length=1)
    namespace: str = "default"


class BurstPolicy(types.ApiModel):
    """A whole BurstPolicy document as it appears in YAML (status ignored when validating a spec)."""

    model_config = pydantic.ConfigDict(extra="forbid")

    api_version: Literal["burstscaler.io/v1alpha1"] = "burstscaler.io/v1alpha1"
    kind: Literal["BurstPolicy"] = "BurstPolicy"
    metadata: ObjectMeta
    spec: BurstPolicySpec
    status: dict[str, Any] | None = None
