"""Machine-readable reasons for every number in a plan.

A plan stores reasons as small integer codes in numpy arrays (one per policy and decision), so that
one tick for a thousand policies allocates no strings; ``Reason.from_code`` turns a code back into
the string that goes into ``status.lastDecision.reason``, Events and logs. The string values are a
public contract (dashboards and alerts match on them): add new ones, never rename.
"""

from __future__ import annotations

import enum


class Reason(enum.StrEnum):
    """Why a target took its value. The enum order defines the integer codes; append only."""

    STEADY = "steady"  # nothing to change
    WITHIN_CAPACITY = "within-capacity"  # everything wanted on ECS fits there
    RECOMMENDED = "recommended"  # the total is the recommendation as given
    MIN_REPLICAS = "min-replicas"  # the total was raised to minReplicas
    MAX_REPLICAS = "max-replicas"  # the total was lowered to maxReplicas
    ECS_FULL = "ecs-full"  # ECS has no room (by the model, the scheduler or a failed drain-back)
    BASE_CAP = "base-cap"  # base.maxReplicas stops base from growing
    BURST_CAP = "burst-cap"  # burst.maxReplicas stops burst from growing
    BUDGET = "budget"  # the spend budget stops burst from growing
    BURST_DISABLED = "burst-disabled"  # burst.enabled is false
    ECI_INCOMPATIBLE = "eci-incompatible"  # the pod template cannot run on the virtual node
    UNPLACEABLE = "unplaceable"  # some replicas fit neither ECS nor burst: reported, not dropped
    SCALE_IN = "scale-in"  # base shrinks (burst was already empty)
    SCALE_IN_BURST_FIRST = "scale-in-burst-first"  # burst shrinks before base does
    DRAIN_BACK = "drain-back"  # base raised for a move, or burst lowered once the move is Ready
    DRAIN_BACK_WAITING_READY = "drain-back-waiting-ready"  # new base pods of a move are not Ready yet
    DRAIN_BACK_TIMEOUT = "drain-back-timeout"  # a move's base pods never got Ready: undone
    DRAIN_BACK_CANCELLED = "drain-back-cancelled"  # a scale-in or a lowered cap overtook a move
    DRAIN_BACK_DISABLED = "drain-back-disabled"  # drainBack.enabled is false
    MIN_BURST_SECONDS = "min-burst-seconds"  # no burst pod is old enough to move yet
    STABILIZING = "stabilizing"  # ECS room has not persisted for stabilizationSeconds yet
    ECS_LEARNED_FULL = (
        "ecs-learned-full"  # base pods stayed Pending where the plan saw room: capped until the cluster changes
    )
    BURST_ANTI_AFFINITY = "burst-anti-affinity"  # the template's pod anti-affinity caps pods on the virtual node(s)
    DRAIN_BACK_NOT_WORTH_IT = (
        "drain-back-not-worth-it"  # the expected saving over the rest of the burst does not beat a move's churn
    )
    PLACEHOLDERS = "placeholders"  # placeholder pods ask the growable ECS pool for nodes for a lasting burst
    PLACEHOLDERS_NOT_WORTH_IT = (
        "placeholders-not-worth-it"  # the burst is not expected to outlast a new node's break-even
    )
    NO_NODE_GROWTH = "no-node-growth"  # the ECS pool is not declared growable (spec.bridge / --node-growth)
    FORECAST = "forecast"  # the total follows the load forecast one start-up delay ahead, above the reactive one
    SPOT_FALLBACK = "spot-fallback"  # spot capacity was refused: the twin runs on-demand
    PLACEHOLDER_CAP = "placeholder-cap"  # spec.bridge.maxPlaceholders stops placeholders from growing
    WAITING_FOR_NODE = (
        "waiting-for-node"  # base pods with no home left Pending on a growable pool: the node autoscaler adds a node
    )
    BURST_DEGRADED = (
        "burst-degraded"  # twin pods failed with a provider reason: burst is held at its healthy count for a while
    )

    @property
    def code(self) -> int:
        """The integer stored in plan arrays."""
        return _CODES[self]

    @classmethod
    def from_code(cls, code: int) -> Reason:
        """The reason for an integer code from a plan array."""
        return _ORDER[int(code)]


_ORDER: tuple[Reason, ...] = tuple(Reason)
_CODES: dict[Reason, int] = {reason: index for index, reason in enumerate(_ORDER)}
