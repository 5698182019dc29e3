"""The operator's own Prometheus metrics (`/metrics`): what `burstscaler report` reads back.

Names are a public contract (dashboards, alerts and the report match on them): add, never rename.
Counters carry money and resource-seconds, so rates and increases over any range are meaningful.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping

import prometheus_client

POLICY_LABELS = ("namespace", "policy")


class Metrics:
    """All burstscaler_* metrics, registered in their own registry (one per operator process)."""

    def __init__(self, registry: prometheus_client.CollectorRegistry | None = None) -> None:
        self.registry = registry or prometheus_client.CollectorRegistry()
        r = self.registry
        self.desired = prometheus_client.Gauge(
            "burstscaler_desired_replicas", "Total replicas the policy wants.", POLICY_LABELS, registry=r
        )
        self.base = prometheus_client.Gauge(
            "burstscaler_base_replicas", "Target replicas of the base workload (ECS).", POLICY_LABELS, registry=r
        )
        self.burst = prometheus_client.Gauge(
            "burstscaler_burst_replicas", "Target replicas of the burst twin (virtual node).", POLICY_LABELS, registry=r
        )
        self.ready = prometheus_client.Gauge(
            "burstscaler_ready_replicas", "Ready replicas per tier.", (*POLICY_LABELS, "tier"), registry=r
        )
        self.unplaceable = prometheus_client.Gauge(
            "burstscaler_unplaceable_replicas", "Wanted replicas with no home.", POLICY_LABELS, registry=r
        )
        self.budget_limited = prometheus_client.Gauge(
            "burstscaler_budget_limited", "1 while the spend budget caps burst.", POLICY_LABELS, registry=r
        )
        self.metrics_available = prometheus_client.Gauge(
            "burstscaler_metrics_available", "1 while the policy's metrics are available.", POLICY_LABELS, registry=r
        )
        self.drain_in_flight = prometheus_client.Gauge(
            "burstscaler_drain_back_in_flight", "Drain-back moves awaiting Ready base pods.", POLICY_LABELS, registry=r
        )
        self.placeholders = prometheus_client.Gauge(
            "burstscaler_placeholder_replicas",
            "Placeholder pods kept on ECS so a node autoscaler adds nodes for a lasting burst (the bridge).",
            POLICY_LABELS,
            registry=r,
        )
        self.burst_degraded = prometheus_client.Gauge(
            "burstscaler_burst_degraded_pods",
            "Burst (twin) pods not serving, by the cause their status gives (cluster.burst_health).",
            (*POLICY_LABELS, "reason"),
            registry=r,
        )
        # The reasons each policy's burst_degraded series were last set for, so a cause that went away
        # is dropped rather than left at its last count.
        self._degraded_reasons: dict[tuple[str, str], frozenset[str]] = {}
        self.burst_vcpu_seconds = prometheus_client.Counter(
            "burstscaler_burst_vcpu_seconds", "vCPU-seconds requested by burst pods.", POLICY_LABELS, registry=r
        )
        self.burst_gib_seconds = prometheus_client.Counter(
            "burstscaler_burst_gib_seconds", "GiB-seconds requested by burst pods.", POLICY_LABELS, registry=r
        )
        self.burst_cost = prometheus_client.Counter(
            "burstscaler_burst_cost", "Burst spend, in the policy's currency.", (*POLICY_LABELS, "currency"), registry=r
        )
        self.drain_back_savings = prometheus_client.Counter(
            "burstscaler_drain_back_savings",
            "ECI spend avoided by drain-back, in the policy's currency.",
            (*POLICY_LABELS, "currency"),
            registry=r,
        )
        self.drain_back_moves = prometheus_client.Counter(
            "burstscaler_drain_back_moves", "Replicas moved back to ECS.", POLICY_LABELS, registry=r
        )
        self.decisions = prometheus_client.Counter(
            "burstscaler_decisions", "Decisions by reason (counted when the decision changes).", ("reason",), registry=r
        )
        self.metric_errors = prometheus_client.Counter(
            "burstscaler_metric_source_errors",
            "Failed metric queries by reason.",
            (*POLICY_LABELS, "reason"),
            registry=r,
        )
        self.api_errors = prometheus_client.Counter(
            "burstscaler_api_errors", "Kubernetes API calls that failed, by status.", ("status",), registry=r
        )
        self.tick_seconds = prometheus_client.Histogram(
            "burstscaler_tick_duration_seconds",
            "Duration of one planning tick for all policies.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.policies = prometheus_client.Gauge("burstscaler_policies", "BurstPolicies planned per tick.", registry=r)

    def set_burst_degraded(self, namespace: str, policy: str, *, counts: Mapping[str, int]) -> None:
        """Set the policy's degraded burst pods per reason (every tick); reasons gone since are removed."""
        key = (namespace, policy)
        for reason in self._degraded_reasons.get(key, frozenset()) - set(counts):
            with contextlib.suppress(KeyError):
                self.burst_degraded.remove(namespace, policy, reason)
        for reason, count in counts.items():
            self.burst_degraded.labels(namespace, policy, reason).set(count)
        self._degraded_reasons[key] = frozenset(counts)

    def forget(self, namespace: str, policy: str) -> None:
        """Drop a deleted policy's series so dashboards do not show it forever."""
        for metric in (
            self.desired,
            self.base,
            self.burst,
            self.unplaceable,
            self.budget_limited,
            self.metrics_available,
            self.drain_in_flight,
            self.placeholders,
        ):
            with contextlib.suppress(KeyError):
                metric.remove(namespace, policy)
        self.set_burst_degraded(namespace, policy, counts={})
        self._degraded_reasons.pop((namespace, policy), None)
