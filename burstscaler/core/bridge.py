"""The bridge and drain-back by cost (issue 16): when buying ECS capacity or moving a replica pays.

Pure numpy over policies, no I/O: ``plan`` calls these with whole arrays, one row per policy.

**The expected rest of a burst: the rent-or-buy (ski-rental) rule.** The future of a burst is
unknown. A burst that has lasted ``A`` seconds is expected to last about ``A`` more: deciding to
"buy" (a move, a node) only once the burst has lasted as long as the purchase's break-even is the
deterministic break-even strategy of ski rental, which never pays more than twice what an oracle
knowing the burst's end would pay (2-competitive), whatever the trace; it needs no trace-tuned
constant. An active schedule window raising the floor (``Economics.window_ends``) is better
knowledge: the burst is expected to last at least until the window ends.

**Drain-back by cost.** Moving one burst replica back to ECS saves ``e - c_m`` per second for the
rest of the burst ``R`` and costs one churn ``m`` (a new pod's start-up, while the burst pod still
runs and is paid). It is worth it when ``(e - c_m) * R > m``. ``e`` is the replica's ECI price
(``Policies.burst_cost_per_second``, on its effective spec); ``c_m`` the ECS marginal cost: 0 on a
fixed pool (its nodes are paid whether used or not), the replica's share of a node's price where the
pool grows (room on an autoscaled pool is paid only while used: the autoscaler would otherwise
remove the node); ``m`` is ``Economics.min_savings``, by default one start-up at the burst price
(``e * pod_startup_seconds``).

**The bridge's break-even.** On a growable pool a placeholder pod kept Pending on ECS makes the
node autoscaler add a node for one burst replica. Let ``B`` be the node's boot time, ``D`` the
autoscaler's scale-down delay (an empty node is paid that long), ``c`` the replica's share of the
node's price, and ``R`` the rest of the burst (``R > B``). Staying on ECI costs ``e * R``. Buying:
the replica keeps running on ECI while the node boots (``e * B``), the node is billed from its
creation (``c * B`` during the boot, ``c * (R - B)`` carrying the replica after the move), the move
costs one churn ``m``, and the node stays ``D`` after the burst (``c * D``):

    buy = e*B + c*B + c*(R - B) + m + c*D = e*B + c*R + c*D + m

Buying is cheaper when ``e * R > e*B + c*R + c*D + m``, that is when ``R > R*`` with

    R* = (e*B + c*D + m) / (e - c)        (only where c < e; else never)

``R* >= e*B / (e - c) > B``, so a burst worth a node is always longer than the node's boot, and
``R* >= m / (e - c)``, so where placeholders are worth it the move onto the new node is too.

**Placeholder counts.** Where worth it, one placeholder per burst replica that is not already being
moved back, within: ``base + placeholders <= base.maxReplicas`` (base here includes a move's surge),
``Economics.max_placeholders``, and the budget ``burst * e + placeholders * c <= max_cost_per_second``
(both are paid while the node boots). Hysteresis: placeholders that exist stay while the burst lasts,
even when the expectation falls back under ``R*`` (a window ended), so they do not flap.
"""

from __future__ import annotations

import numpy as np
from numpy import typing as npt

from burstscaler.core import reasons, snapshot

Reason = reasons.Reason


def churn(*, economics: snapshot.Economics, eci: snapshot.FloatArray) -> snapshot.FloatArray:
    """A move's churn cost per policy: ``min_savings``, or one pod start-up at the burst price where nan."""
    return np.where(np.isnan(economics.min_savings), eci * economics.pod_startup_seconds, economics.min_savings)


def marginal_ecs_cost(economics: snapshot.Economics) -> snapshot.FloatArray:
    """ECS cost per second of one more base replica: a share of an added node's price on a growable pool, else 0.

    An unknown price (nan) counts as 0, the v0.1 assumption that ECS capacity is already paid for.
    """
    known = np.nan_to_num(economics.ecs_cost_per_second, nan=0.0)
    return np.where(economics.pool_growable, known, 0.0)


def burst_started(
    *,
    since: snapshot.FloatArray,
    pod_policy: snapshot.IntArray,
    pod_started: snapshot.FloatArray,
    now: float,
) -> snapshot.FloatArray:
    """When each policy's current burst began: the history's stamp, else its oldest burst pod, else ``now``.

    The fallback to the oldest pod keeps the burst's age across an operator restart (history lost).
    """
    oldest = np.full(len(since), np.inf)
    if len(pod_policy):
        np.minimum.at(oldest, pod_policy, pod_started)
    fallback = np.where(np.isfinite(oldest), np.minimum(oldest, now), now)
    return np.where(np.isnan(since), fallback, since)


def expected_rest(*, started: snapshot.FloatArray, now: float, window_ends: snapshot.FloatArray) -> snapshot.FloatArray:
    """Seconds a burst is expected to last from ``now``: its age (ski rental), at least to an active window's end."""
    age = np.maximum(now - started, 0.0)
    with np.errstate(invalid="ignore"):
        window = np.where(window_ends > now, window_ends - now, 0.0)
    return np.maximum(age, window)


def drain_worth_it(
    *, eci: snapshot.FloatArray, ecs: snapshot.FloatArray, rest: snapshot.FloatArray, churn: snapshot.FloatArray
) -> snapshot.BoolArray:
    """Where moving a burst replica back saves more over the rest of the burst than its churn costs.

    A move with no churn cost (``churn <= 0``) is worth it wherever ECS is not dearer: it cannot lose.
    That keeps ``Economics.fixed_pool`` (no prices, no start-up) at the v0.1 behaviour.
    """
    saving = eci - ecs
    return (saving * rest > churn) | ((churn <= 0) & (saving >= 0))


def break_even(
    *,
    eci: snapshot.FloatArray,
    ecs: snapshot.FloatArray,
    boot: snapshot.FloatArray,
    scale_down_delay: snapshot.FloatArray,
    churn: snapshot.FloatArray,
) -> snapshot.FloatArray:
    """``R* = (e*B + c*D + m) / (e - c)``: the rest of a burst beyond which a new node costs less; inf where c >= e."""
    margin = eci - ecs
    with np.errstate(divide="ignore", invalid="ignore"):
        seconds = (eci * boot + ecs * scale_down_delay + churn) / margin
    return np.where(margin > 0, seconds, np.inf)


def placeholders(
    *,
    economics: snapshot.Economics,
    eci: snapshot.FloatArray,
    rest: snapshot.FloatArray,
    churn: snapshot.FloatArray,
    need: snapshot.IntArray,
    burst: snapshot.IntArray,
    base_room: snapshot.IntArray,
    max_cost_per_second: snapshot.FloatArray,
) -> tuple[snapshot.IntArray, npt.NDArray[np.uint8]]:
    """Placeholder pods to keep per policy, and the reason code of each count.

    ``need``: burst replicas after this tick that no drain-back move is already taking back;
    ``burst``: the burst target (it is paid while the node boots); ``base_room``: base.maxReplicas
    minus the base target (moves' surge included). See the module docstring for the rule.
    """
    ecs = economics.ecs_cost_per_second
    growable = economics.pool_growable & np.isfinite(ecs)
    cheaper = growable & (ecs < eci)
    horizon = break_even(
        eci=eci,
        ecs=np.where(cheaper, ecs, 0.0),
        boot=economics.node_boot_seconds,
        scale_down_delay=economics.scale_down_delay_seconds,
        churn=churn,
    )
    kept = economics.placeholders > 0
    worth = cheaper & ((rest > horizon) | kept)
    with np.errstate(divide="ignore", invalid="ignore"):
        affordable = np.floor((max_cost_per_second - burst * eci) / ecs)
    budgeted = growable & np.isfinite(max_cost_per_second) & (ecs > 0)
    budget_room = np.clip(np.where(budgeted, affordable, snapshot.UNLIMITED), 0, snapshot.UNLIMITED).astype(np.int64)
    base_room = np.maximum(base_room, 0)
    cap = np.maximum(economics.max_placeholders, 0)
    wanted = np.where(worth, np.maximum(need, 0), 0)
    count = np.minimum(np.minimum(wanted, base_room), np.minimum(budget_room, cap))
    capped = count < wanted
    reason = np.select(
        [
            ~growable,
            need <= 0,
            ~worth,
            capped & (count == base_room),
            capped & (count == budget_room),
            capped,
        ],
        [
            Reason.NO_NODE_GROWTH.code,
            Reason.STEADY.code,
            Reason.PLACEHOLDERS_NOT_WORTH_IT.code,
            Reason.BASE_CAP.code,
            Reason.BUDGET.code,
            Reason.PLACEHOLDER_CAP.code,
        ],
        Reason.PLACEHOLDERS.code,
    )
    return count.astype(np.int64), reason.astype(np.uint8)
