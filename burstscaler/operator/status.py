"""A tick's Outcome -> the BurstPolicy's status block, its conditions, and the Events worth posting.

Conditions keep their lastTransitionTime while their status stays the same, so `kubectl describe`
shows since when a policy has been bursting or limited. Events are posted when something changes,
never every tick: a new headline reason, a condition turning bad, placeholders starting or stopping
(the bridge), a placeholder name found taken.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from typing import Any

from burstscaler.api import status as api_status
from burstscaler.operator import planner


@dataclasses.dataclass(frozen=True)
class Event:
    """An Event to post on the policy."""

    type: str  # Normal | Warning
    reason: str
    message: str


@dataclasses.dataclass(frozen=True)
class Bridge:
    """What the last tick said of a policy's placeholders, to tell when they start or stop."""

    placeholders: int = 0
    refused: str | None = None


def bridge_of(outcome: planner.Outcome) -> Bridge:
    """The bridge's state in `outcome` (none when it was not planned)."""
    if not outcome.planned:
        return Bridge()
    return Bridge(placeholders=outcome.placeholders, refused=outcome.placeholder_refused)


def camel(reason: str) -> str:
    """A kebab-case reason as a condition/Event reason: "ecs-full" -> "EcsFull"."""
    return "".join(part[:1].upper() + part[1:] for part in reason.replace("_", "-").split("-") if part) or "Unknown"


def _iso(moment: float) -> str:
    return datetime.datetime.fromtimestamp(moment, tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def conditions(outcome: planner.Outcome) -> list[tuple[str, str, str, str]]:
    """(type, status, reason, message) of every condition the outcome determines."""
    result: list[tuple[str, str, str, str]] = []
    if outcome.problems:
        message = "; ".join(outcome.problems)
        return [("Ready", "False", "InvalidSpec", f"fix the BurstPolicy: {message}")]
    spec = outcome.spec
    assert spec is not None
    if outcome.refused is not None:
        reason, message = outcome.refused
        return [("Ready", "False", reason, message)]
    if outcome.base is None:
        target = spec.target_ref
        message = f"{target.kind} {outcome.namespace}/{target.name} does not exist; create it or fix spec.targetRef"
        return [("Ready", "False", "TargetNotFound", message)]
    if spec.paused:
        result.append(("Ready", "False", "Paused", "spec.paused is true: nothing is decided or changed"))
    elif spec.dry_run:
        result.append(("Ready", "True", "DryRun", "deciding and reporting only: spec.dryRun is true"))
    else:
        result.append(("Ready", "True", "Planning", f"planning {spec.target_ref.kind} {spec.target_ref.name}"))
    errors = [finding for finding in outcome.findings if finding.severity == "error"]
    if errors:
        message = "the virtual node cannot run this template, so it is never burst: " + "; ".join(map(str, errors))
        result.append(("EciCompatible", "False", "Incompatible" + camel(errors[0].feature), message))
    else:
        result.append(("EciCompatible", "True", "Compatible", f"{spec.burst.provider} can run the base's template"))
    if outcome.services_missing:
        names = ", ".join(outcome.services_missing)
        message = f"Service(s) {names} select the base's pods but not burst pods; drop labels the twin lacks"
        result.append(("ServicesReachBurst", "False", "ServiceMissesBurstPods", message))
    else:
        result.append(
            ("ServicesReachBurst", "True", "AllServicesReachBurst", "every Service of the base reaches burst")
        )
    recommendation = outcome.recommendation
    if recommendation is not None and recommendation.metrics_condition is not None:
        metrics = recommendation.metrics_condition
        result.append(("MetricsAvailable", metrics.status, camel(metrics.reason), metrics.message))
    if not outcome.planned:
        return result
    decision = outcome.decision
    burst_reason = str(decision.get("burst_reason", "steady"))
    if outcome.burst_target > 0:
        # A steady burst still has a cause: the headline reason (ECS full, a base cap...) says which.
        why = burst_reason if burst_reason != "steady" else str(decision.get("reason", "steady"))
        message = f"{outcome.burst_target} replica(s) on the virtual node ({why})"
        result.append(("Bursting", "True", camel(why), message))
    else:
        result.append(("Bursting", "False", "NotBursting", "every replica runs on ECS"))
    if outcome.drain_in_flight:
        message = f"{outcome.drain_in_flight} replica(s) moving back to ECS; burst shrinks once they are Ready"
        result.append(("Draining", "True", "DrainBack", message))
    else:
        drain_reason = str(decision.get("drain_reason", "steady"))
        result.append(("Draining", "False", camel(drain_reason), f"no drain-back in flight ({drain_reason})"))
    health = outcome.twin_health
    if health is not None and health.degraded:
        # The reason is the pods' commonest cause (ProviderFailed, ImagePullBackOff...); the message has them all.
        result.append(("BurstDegraded", "True", health.condition_reason(), health.message()))
    else:
        result.append(("BurstDegraded", "False", "BurstHealthy", "no burst pod reports a failure"))
    limited = burst_reason == "budget"
    message = "the spend budget caps burst replicas" if limited else "burst is within the spend budget"
    result.append(("BudgetLimited", "True" if limited else "False", "Budget" if limited else "WithinBudget", message))
    return result


def render(
    outcome: planner.Outcome, *, previous: Mapping[str, Any] | None, now: float, currency: str = "USD"
) -> dict[str, Any]:
    """The status block to write (merged over `previous`, the status the policy has now)."""
    previous = previous or {}
    old_conditions = {c.get("type"): c for c in previous.get("conditions") or [] if isinstance(c, Mapping)}
    rendered_conditions = []
    for kind, state, reason, message in conditions(outcome):
        old = old_conditions.get(kind) or {}
        since = old.get("lastTransitionTime") if old.get("status") == state else _iso(now)
        rendered_conditions.append(
            {
                "type": kind,
                "status": state,
                "reason": reason,
                "message": message[:1000],
                "lastTransitionTime": since or _iso(now),
                "observedGeneration": outcome.generation,
            }
        )
    block: dict[str, Any] = {"observedGeneration": outcome.generation, "conditions": rendered_conditions}
    if outcome.planned:
        recommendation = outcome.recommendation
        inputs = dict(recommendation.inputs) if recommendation is not None else {}
        inputs["plan"] = {key: value for key, value in outcome.decision.items() if key != "name"}
        block.update(
            desiredReplicas=outcome.desired,
            baseReplicas=outcome.base_target,
            burstReplicas=outcome.burst_target,
            readyBase=outcome.ready_base,
            readyBurst=outcome.ready_burst,
            unplaceableReplicas=outcome.unplaceable,
            placeholderReplicas=outcome.placeholders,
            lastDecision={
                "time": _iso(now),
                "reason": outcome.reason,
                "message": recommendation.message if recommendation is not None else "",
                "inputs": inputs,
            },
            drainBack={"inFlight": outcome.drain_in_flight},
        )
        if outcome.moves_completed:
            block["lastDrainTime"] = _iso(now)
        if outcome.twin is not None or outcome.burst_target > 0:
            block["twin"] = f"{outcome.base.name}-burst" if outcome.base is not None else None
    if outcome.ledger is not None:
        ledger = outcome.ledger
        block["cost"] = {
            "since": _iso(ledger.since),
            "eciVCPUSeconds": round(ledger.eci_vcpu_seconds, 3),
            "eciGiBSeconds": round(ledger.eci_gib_seconds, 3),
            "eciCost": f"{ledger.eci_cost:.6f}",
            "drainBackSavings": f"{ledger.drain_back_savings:.6f}",
            "currency": currency,
        }
    api_status.BurstPolicyStatus.model_validate(block)  # what we write must satisfy our own schema
    return block


# What changes every tick without changing the decision: the decision's time, its explanation (the
# metric values behind it) and the cost counters. They are refreshed, not written on every tick.
_VOLATILE_DECISION = ("time", "message", "inputs")


def settled(block: Mapping[str, Any], current: Mapping[str, Any] | None) -> bool:
    """Whether writing ``block`` over ``current`` (the status the policy has) would change only what
    changes every tick anyway: ``lastDecision``'s time, message and inputs, and ``cost``."""
    current = current or {}
    return _stable(block) == _stable({key: current.get(key) for key in block})


def _stable(block: Mapping[str, Any]) -> dict[str, Any]:
    stable = {key: value for key, value in block.items() if key != "cost"}
    decision = stable.get("lastDecision")
    if isinstance(decision, Mapping):
        stable["lastDecision"] = {key: value for key, value in decision.items() if key not in _VOLATILE_DECISION}
    return stable


def events(
    outcome: planner.Outcome,
    *,
    previous_reason: str | None,
    previous: Mapping[str, Any] | None,
    previous_bridge: Bridge | None = None,
) -> list[Event]:
    """Events for what changed since the last tick (a new headline reason, a condition turning bad,
    placeholders starting or stopping). `previous_bridge` is what this process saw last; without it
    (first sight after a restart) the status's ``placeholderReplicas`` stands in."""
    found: list[Event] = []
    reason = outcome.reason
    if reason != previous_reason:
        warnings = (
            "invalid-spec",
            "target-not-found",
            "unplaceable",
            "budget",
            "twin-name-taken",
            "conflict",
            "server-not-allowed",
        )
        kind = "Warning" if reason in warnings else "Normal"
        message = _decision_message(outcome)
        found.append(Event(kind, camel(reason), message))
    old = {c.get("type"): c.get("status") for c in (previous or {}).get("conditions") or [] if isinstance(c, Mapping)}
    for kind, state, cond_reason, message in conditions(outcome):
        bad = (kind in ("EciCompatible", "MetricsAvailable", "ServicesReachBurst") and state == "False") or (
            kind in ("BudgetLimited", "BurstDegraded") and state == "True"
        )
        if bad and old.get(kind) != state:
            found.append(Event("Warning", cond_reason, message))
    if outcome.planned:
        found.extend(
            _bridge_events(outcome, previous_bridge or Bridge(_count((previous or {}).get("placeholderReplicas"))))
        )
    return found


def _count(value: Any) -> int:
    return value if isinstance(value, int) and value > 0 else 0


def _bridge_events(outcome: planner.Outcome, before: Bridge) -> list[Event]:
    now = bridge_of(outcome)
    found = []
    if now.refused is not None and now.refused != before.refused:
        found.append(Event("Warning", "PlaceholderNameTaken", now.refused[:1000]))
    if now.placeholders > 0 and before.placeholders == 0:
        message = (
            f"{now.placeholders} placeholder pod(s) ask the ECS pool for nodes: the burst is expected to outlast "
            f"a new node's break-even ({outcome.placeholder_reason})"
        )
        found.append(Event("Normal", "PlaceholdersStarted", message))
    elif now.placeholders == 0 and before.placeholders > 0:
        message = f"placeholders scaled to 0 ({outcome.placeholder_reason})"
        found.append(Event("Normal", "PlaceholdersStopped", message))
    return found


def _decision_message(outcome: planner.Outcome) -> str:
    if outcome.problems:
        return "; ".join(outcome.problems)[:1000]
    if not outcome.planned:
        return conditions(outcome)[0][3]
    return (
        f"desired {outcome.desired}: base {outcome.base_target} on ECS, burst {outcome.burst_target} on the virtual "
        f"node, {outcome.unplaceable} unplaceable ({outcome.reason})"
    )
