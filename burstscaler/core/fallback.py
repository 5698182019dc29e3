"""What to do when metrics fail: count consecutive failures, hold or go fixed, say so, recover alone.

The most common complaint about KEDA is a scaler that silently does the wrong thing while its metric
source is down. Here every tick reports ``MetricsAvailable`` with a reason, and the rules are:
- a success resets the count, remembers the recommendation as the last good one, and (after a
  failure) recovers on its own: no restart, no manual reset;
- below ``failureThreshold`` consecutive failures, a blip: hold the last good recommendation
  (or the current replicas before there was one), condition still True (reason ``MetricsFlapping``);
- from ``failureThreshold`` on: ``hold`` keeps the last good recommendation, ``fixed`` uses
  ``fallback.replicas``; condition False with the failure's reason (``PrometheusUnreachable``...).
When only some of several metrics fail, the ones that answered may still raise the count (never
lower it): a partial view can show more load, but cannot prove there is less.

Pure: the counter lives in ``FallbackState``, passed in and returned.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from burstscaler.api import spec

#: Machine-readable failure reasons; they become ``MetricsAvailable``'s reason. Append, never rename.
FailureReason = Literal[
    "PrometheusUnreachable",  # connection refused, DNS, TLS handshake
    "PrometheusTimeout",  # no answer within the timeout
    "PrometheusError",  # an HTTP error other than a bad query (5xx, 401/403...)
    "QueryError",  # Prometheus rejected the PromQL (syntax, types)
    "EmptyResult",  # the query matched no series
    "AmbiguousResult",  # several series where one value was expected
    "InvalidValue",  # NaN or +-Inf
    "NonNumeric",  # a value that is not a number (a string result, garbage)
    "CalculationError",  # the value cannot give a replica count
]
Mode = Literal["metrics", "blip", "hold", "fixed"]


@dataclasses.dataclass(frozen=True)
class MetricsFailure:
    """Why a metric gave no value: a reason for machines and a message for people (no credentials)."""

    reason: FailureReason
    message: str


@dataclasses.dataclass(frozen=True)
class FallbackState:
    """The fallback's memory between ticks."""

    failures: int = 0
    last_good: int | None = None


@dataclasses.dataclass(frozen=True)
class MetricsCondition:
    """Data for the ``MetricsAvailable`` condition (the operator stamps times and generation)."""

    status: Literal["True", "False"]
    reason: str
    message: str


@dataclasses.dataclass(frozen=True)
class Outcome:
    """The replicas to aim for before behavior, how they were chosen, the condition, the new state."""

    replicas: int
    mode: Mode
    condition: MetricsCondition
    state: FallbackState


def apply(
    *,
    recommendation: int | None,
    failure: MetricsFailure | None,
    current: int,
    settings: spec.Fallback,
    state: FallbackState,
) -> Outcome:
    """Combine this tick's metric recommendation (None if no metric answered) with its failure, if any."""
    if failure is None and recommendation is not None:
        # Recovery is automatic: one good answer and we are back on metrics.
        recovered = f" (recovered after {state.failures} failed attempts)" if state.failures else ""
        condition = MetricsCondition("True", "MetricsReceived", f"metrics answered{recovered}")
        return Outcome(recommendation, "metrics", condition, FallbackState(0, recommendation))
    failures = state.failures + 1
    failure = failure or MetricsFailure("CalculationError", "no metric gave a value")
    held = state.last_good if state.last_good is not None else current
    partial = recommendation if recommendation is not None else 0
    new_state = FallbackState(failures, state.last_good)
    attempts = f"{failures} consecutive failures, threshold {settings.failure_threshold}"
    if failures < settings.failure_threshold:
        message = f"holding {max(held, partial)} replicas ({attempts}): {failure.message}"
        return Outcome(max(held, partial), "blip", MetricsCondition("True", "MetricsFlapping", message), new_state)
    if settings.on_metrics_failure == "fixed" and settings.replicas is not None:
        replicas = max(settings.replicas, partial)
        message = f"fallback fixed: {replicas} replicas ({attempts}): {failure.message}"
        return Outcome(replicas, "fixed", MetricsCondition("False", failure.reason, message), new_state)
    replicas = max(held, partial)
    message = f"fallback hold: {replicas} replicas, the last good recommendation ({attempts}): {failure.message}"
    return Outcome(replicas, "hold", MetricsCondition("False", failure.reason, message), new_state)
