"""Who drives each workload: one autoscaler per target, or none of them scales it (issue 12).

Two controllers setting the same ``spec.replicas`` fight every few seconds. A target is claimed by
every BurstPolicy naming it and by every HPA and KEDA ScaledObject whose ``scaleTargetRef`` names it.
The rule, in order:
1. an HPA or a ScaledObject wins over every BurstPolicy (they were there first in practice, and
   burstscaler cannot tell them to stop);
2. among BurstPolicies, the oldest (``creationTimestamp``, then name) wins; the others get
   ``Ready=False``, reason ``Conflict``, naming the winner, and scale nothing.
Pure: plain data in, the winner of each target out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

Target = tuple[str, str, str]  # (namespace, kind, name)
PolicyKey = tuple[str, str]  # (namespace, name)


@dataclasses.dataclass(frozen=True)
class Autoscaler:
    """Another controller scaling a workload: an HPA or a KEDA ScaledObject."""

    namespace: str
    kind: str  # HorizontalPodAutoscaler | ScaledObject
    name: str
    target_kind: str
    target_name: str


@dataclasses.dataclass(frozen=True)
class Drivers:
    """Per target: the autoscalers that are not BurstPolicies, and the BurstPolicy that wins it."""

    autoscalers: Mapping[Target, tuple[Autoscaler, ...]]
    policies: Mapping[Target, PolicyKey]


def autoscaler_of(*, kind: str, namespace: str, name: str, spec: Mapping[str, Any]) -> Autoscaler | None:
    """The record of an HPA or ScaledObject (``spec.scaleTargetRef``), or None when it targets nothing."""
    ref = spec.get("scaleTargetRef") or {}
    if not isinstance(ref, Mapping) or not ref.get("name"):
        return None
    return Autoscaler(namespace, kind, name, str(ref.get("kind") or "Deployment"), str(ref["name"]))


def drivers(*, policies: Mapping[PolicyKey, Mapping[str, Any]], autoscalers: Sequence[Autoscaler]) -> Drivers:
    """Who claims each target this tick (policies are raw bodies: a policy with no readable target is skipped)."""
    others: dict[Target, list[Autoscaler]] = {}
    for scaler in autoscalers:
        others.setdefault((scaler.namespace, scaler.target_kind, scaler.target_name), []).append(scaler)
    claims: dict[Target, list[tuple[str, str, PolicyKey]]] = {}
    for key, body in policies.items():
        ref = (body.get("spec") or {}).get("targetRef") if isinstance(body.get("spec"), Mapping) else None
        if not isinstance(ref, Mapping) or not ref.get("name"):
            continue
        created = str((body.get("metadata") or {}).get("creationTimestamp") or "")
        target = (key[0], str(ref.get("kind") or "Deployment"), str(ref["name"]))
        claims.setdefault(target, []).append((created or "~", key[1], key))  # "~": unknown age sorts last
    winners = {target: min(claimed)[2] for target, claimed in claims.items()}
    return Drivers(autoscalers={t: tuple(a) for t, a in others.items()}, policies=winners)


def other_driver(found: Drivers, *, policy: PolicyKey, target: Target) -> str | None:
    """The other controller that drives `target` instead of `policy`, named for a message; None if none."""
    scalers = found.autoscalers.get(target)
    if scalers:
        first = sorted(scalers, key=lambda s: (s.kind, s.name))[0]
        return f"{first.kind} {first.namespace}/{first.name}"
    winner = found.policies.get(target)
    if winner is not None and winner != policy:
        return f"the older BurstPolicy {winner[0]}/{winner[1]}"
    return None
