"""The BurstPolicy status (DESIGN §3): what burstscaler reports back, read by `kubectl get bp`.

Condition types and reasons are part of the API: alerts and dashboards match on them.
"""

from __future__ import annotations

import datetime
import decimal
from typing import Any, Literal

import pydantic

from burstscaler.api import types

ConditionType = Literal[
    "Ready",
    "Bursting",
    "Draining",
    "MetricsAvailable",
    "EciCompatible",
    "BudgetLimited",
    "ServicesReachBurst",
    "BurstDegraded",
]
CONDITION_TYPES: tuple[str, ...] = (
    "Ready",
    "Bursting",
    "Draining",
    "MetricsAvailable",
    "EciCompatible",
    "BudgetLimited",
    "ServicesReachBurst",
    "BurstDegraded",  # twin pods not serving for a cause their status gives (cluster.burst_health)
)


class Condition(types.ApiModel):
    """A Kubernetes-style condition (metav1.Condition)."""

    type: ConditionType
    status: Literal["True", "False", "Unknown"]
    reason: str = pydantic.Field(min_length=1, pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")
    message: str = ""
    last_transition_time: datetime.datetime | None = None
    observed_generation: int | None = None


class Decision(types.ApiModel):
    """The last decision: when, the machine-readable reason, and the inputs it was made from."""

    time: datetime.datetime
    reason: str
    message: str = ""
    inputs: dict[str, Any] = pydantic.Field(
        default_factory=dict, json_schema_extra={"x-kubernetes-preserve-unknown-fields": True}
    )


class CostStatus(types.ApiModel):
    """Accumulated burst spend since `since`, and what drain-back saved."""

    since: datetime.datetime | None = None
    eci_vcpu_seconds: float = pydantic.Field(default=0.0, ge=0, alias="eciVCPUSeconds")
    eci_gib_seconds: float = pydantic.Field(default=0.0, ge=0, alias="eciGiBSeconds")
    eci_cost: types.Money = pydantic.Field(default=decimal.Decimal(0))
    drain_back_savings: types.Money = pydantic.Field(default=decimal.Decimal(0))
    currency: str = "USD"


class DrainBackStatus(types.ApiModel):
    """A drain-back move in flight: base raised by `moves`, burst lowered once they are Ready."""

    in_flight: int = pydantic.Field(default=0, ge=0)
    since: datetime.datetime | None = None
    ready_goal: int | None = pydantic.Field(default=None, ge=0)


class BurstPolicyStatus(types.ApiModel):
    """The whole status block."""

    observed_generation: int | None = None
    desired_replicas: int | None = None
    base_replicas: int | None = None
    burst_replicas: int | None = None
    ready_base: int | None = None
    ready_burst: int | None = None
    unplaceable_replicas: int | None = None
    placeholder_replicas: int | None = None
    spot_burst_replicas: int | None = None
    last_decision: Decision | None = None
    last_drain_time: datetime.datetime | None = None
    drain_back: DrainBackStatus | None = None
    twin: str | None = None
    conditions: list[Condition] = pydantic.Field(default_factory=list)
    cost: CostStatus | None = None
