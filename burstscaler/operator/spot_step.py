"""The tick's spot step (issue 16): fall back to on-demand when spot is refused, replace spot pods early.

Called by the planner at two points, around the core's plan, so the core itself knows nothing of spot:

1. ``prepare`` (before the recommendation and the plan): read the twin's pods (``cluster.spot.observe``),
   decide this tick's spot mode (``cluster.spot.decide``; the cool-down is kept in the policy's memory and
   recovered from the twin's ``burstscaler.io/spot-fallback-until`` annotation after a restart), and
   recompute whether the twin is stale with the spot annotations this mode renders (a switch rolls the twin
   out). Replacement replicas added on the previous tick are hidden from the recommendation and the core:
   they replace pods about to go, they are not serving capacity the metric or the scale-in should see.
2. ``finish`` (after the policy's slice): raise the twin's target by one replica per spot pod announced for
   reclamation, within ``burst.maxReplicas`` and the budget (bounded on the worst-case price), so the
   replacements are Ready before ECI takes the pods; the raise ends once the announced pods are gone. The
   tick that starts a fallback says ``spot-fallback`` as its reason (and so posts an Event); while the
   cool-down lasts, ``lastDecision.inputs.plan.spot`` says so.

Kopf-free and API-free like the planner: plain data in, plain data out.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from burstscaler.cluster import objects, twin
from burstscaler.cluster import spot as cluster_spot
from burstscaler.core import cost, reasons

if TYPE_CHECKING:  # the planner imports this module: only its types are needed here
    from burstscaler.cluster import snapshot as cluster_snapshot
    from burstscaler.operator import planner


@dataclasses.dataclass
class Memory:
    """What one policy remembers of spot between ticks."""

    until: float | None = None  # on-demand until then (a fallback's cool-down)
    since: float | None = None  # spot last (re)tried at
    surge: int = 0  # replacement replicas added to the twin's target on the last tick
    target: int = 0  # the twin's target on the last tick before them (the core's)
    seen: bool = False  # the twin's annotation was read (once: after a restart)


@dataclasses.dataclass(frozen=True)
class SpotOutcome:
    """One policy's spot step of a tick."""

    decision: cluster_spot.Decision
    annotations: Mapping[str, str]  # the spot annotations the twin renders this tick (none: on-demand)
    twin: planner.Workload | None  # the twin as it is (the outcome's twin hides last tick's surge)
    hidden: int = 0  # replacement replicas hidden from the recommendation and the core
    replacements: int = 0  # replacement replicas this tick adds to the core's burst target

    @property
    def until_text(self) -> str | None:
        """The cool-down's end as the twin's annotation, or None."""
        until = self.decision.until
        return cluster_spot.until_text(until) if until is not None else None


def prepare(
    outcome: planner.Outcome, pods: Sequence[objects.PodRecord], *, memory: Memory, now: float
) -> planner.Outcome:
    """Step 1: decide the spot mode and hide last tick's replacements (see the module docstring)."""
    spec = outcome.spec
    if spec is None or outcome.base is None:
        return outcome
    policy = spec.burst.spot
    if not policy.enabled:
        memory.until = memory.since = None
        memory.surge = 0
        return outcome  # spot never asked for: nothing to do, nothing recomputed
    current = outcome.twin
    if not memory.seen:
        memory.seen = True
        if memory.until is None and current is not None:
            memory.until = cluster_spot.until_from(current.annotations)
    twin_key = (outcome.namespace, outcome.base.kind, twin.twin_name(outcome.base.name))
    twin_pods = [pod for pod in pods if pod.workload == twin_key]
    state = cluster_spot.observe(twin_pods, since=memory.since)
    decision = cluster_spot.decide(
        policy, provider=spec.burst.provider, state=state, until=memory.until, since=memory.since, now=now
    )
    memory.until, memory.since = decision.until, decision.since
    annotations = cluster_spot.pod_annotations(policy) if decision.spot else {}
    patch = spec.burst.pod_template_patch.as_template()
    stale = current is not None and twin.is_stale(
        current.body, base=outcome.base.body, provider=spec.burst.provider, patch=patch, spot=annotations
    )
    # Only the replacements really on the twin are hidden: none when the last target was not applied
    # (dry-run, a failed call), so real replicas are never taken from what the core sees.
    hidden = min(memory.surge, max(0, current.replicas - memory.target)) if current is not None else 0
    shown = dataclasses.replace(current, replicas=current.replicas - hidden) if current is not None else None
    spot_outcome = SpotOutcome(decision=decision, annotations=annotations, twin=current, hidden=hidden)
    return dataclasses.replace(outcome, twin=shown, twin_stale=stale, spot=spot_outcome)


def budget_price(outcome: planner.Outcome, price: cost.ReplicaPrice) -> float:
    """What one burst replica is bounded with in the budget this tick (``cost.budget_price_per_second``)."""
    if outcome.spec is None or outcome.spot is None:
        return price.eci_per_second
    return cost.budget_price_per_second(price, spot=outcome.spec.burst.spot, spot_rendered=outcome.spot.decision.spot)


def running(outcome: planner.Outcome) -> int:
    """Running spot pods of the twin (``status.spotBurstReplicas``, and what the ledger prices as spot)."""
    return outcome.spot.decision.state.running if outcome.spot is not None else 0


def finish(outcome: planner.Outcome, view: cluster_snapshot.PolicyView, *, memory: Memory) -> planner.Outcome:
    """Step 2: add replacements within the caps, restore the real twin, and explain (module docstring)."""
    spot_outcome = outcome.spot
    if spot_outcome is None:
        return outcome
    if outcome.spec is None or not outcome.planned:
        return dataclasses.replace(outcome, twin=spot_outcome.twin)
    room = _room(outcome, view)
    extra = cluster_spot.replacements(
        state=spot_outcome.decision.state, burst_target=outcome.burst_target, room=room - outcome.burst_target
    )
    memory.surge, memory.target = extra, outcome.burst_target  # what the next tick may hide (see prepare)
    decision = dict(outcome.decision)
    if extra:
        decision["burst"] = outcome.burst_target + extra
    decision["spot"] = _explain(spot_outcome, extra=extra)
    if spot_outcome.decision.started:
        decision["reason"] = str(reasons.Reason.SPOT_FALLBACK)
    return dataclasses.replace(
        outcome,
        twin=spot_outcome.twin,
        burst_target=outcome.burst_target + extra,
        decision=decision,
        spot=dataclasses.replace(spot_outcome, replacements=extra),
    )


def render_kwargs(outcome: planner.Outcome) -> dict[str, Any]:
    """The spot part of ``twin.render``'s arguments for this outcome."""
    if outcome.spot is None:
        return {}
    return {"spot": dict(outcome.spot.annotations), "spot_fallback_until": outcome.spot.until_text}


def status_fields(outcome: planner.Outcome) -> dict[str, Any]:
    """The spot part of the status block: ``spotBurstReplicas`` (a planned policy only)."""
    if not outcome.planned:
        return {}
    return {"spotBurstReplicas": running(outcome)}


def _room(outcome: planner.Outcome, view: cluster_snapshot.PolicyView) -> int:
    """The most burst replicas the policy's caps allow: burst.maxReplicas and the budget."""
    assert outcome.spec is not None
    caps = [outcome.spec.burst.max_replicas if outcome.spec.burst.max_replicas is not None else math.inf]
    budget = view.max_cost_per_second
    if budget is not None and math.isfinite(budget) and view.burst_cost_per_second > 0:
        caps.append(math.floor(budget / view.burst_cost_per_second))
    cap = min(caps)
    if math.isfinite(cap):
        return int(cap)
    releasing = outcome.spot.decision.state.to_be_released if outcome.spot is not None else 0
    return outcome.burst_target + releasing  # no cap: room for every replacement


def _explain(spot_outcome: SpotOutcome, *, extra: int) -> dict[str, Any]:
    state = spot_outcome.decision.state
    return {
        "mode": "spot" if spot_outcome.decision.spot else "on-demand",
        "reason": spot_outcome.decision.reason,
        "until": spot_outcome.until_text,
        "refused": state.refused,
        "toBeReleased": state.to_be_released,
        "running": state.running,
        "replacements": extra,
    }
