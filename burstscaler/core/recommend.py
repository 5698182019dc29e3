"""Step 1 of DESIGN §2: how many replicas the workload needs right now, and why.

``recommend(request, now=...)`` is the only decision call (``replicas_for`` is the same decision
without its explanation, for callers that need only the count). It ties together, in the HPA's order:
1. one proposal per metric, with the HPA's arithmetic (``replicas``), the largest winning;
2. ``fallback`` when metrics fail (hold or fixed, with the MetricsAvailable condition);
3. the floor: ``minReplicas`` raised by active scheduled windows (``schedules``);
4. ``behavior``: stabilization windows and rate policies, then min/max;
5. with ``spec.forecast.enabled``, the forecast lead (``core.forecast``): each metric's history plus
   this tick's reading predicts its value one start-up delay ahead; the HPA's arithmetic turns the
   prediction into replicas, and the total is the larger of that and the reactive total, both through
   the same ``behavior`` (reason ``forecast`` when the forecast raised it). Missing or short history,
   or metrics in fallback, leave the reactive total (``inputs.forecast`` says why);
and reports, beside the count, the pending-pod signal (``pending``) for the planner.

Pure: readings come in as values (the sources fetched them), the memory of previous ticks comes in as
``State`` and goes out updated in the ``Recommendation``; the caller stores it. Nothing here reads the
clock.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import math
from typing import Any

from burstscaler.api import spec
from burstscaler.core import behavior, fallback, forecast, pending, replicas, schedules

DEFAULT_TOLERANCE = 0.1

#: Values derived from one frozen spec object, by its identity (see ``_target`` and ``_tolerances``).
_TARGETS: dict[int, tuple[spec.MetricSpec, tuple[str, float, int]]] = {}
_TOLERANCES: dict[int, tuple[spec.Behavior, replicas.Tolerances]] = {}
_CACHE_SIZE = 4096
#: What ``pending.signal`` says of no pods and ``schedules.floor`` of no schedules, whatever the settings.
_NO_PENDING = pending.PendingSignal(0)
_NO_WINDOWS = schedules.Floor(0, ())


@dataclasses.dataclass(frozen=True)
class Reading:
    """One metric's value this tick as its source returned it (plain units), or why there is none."""

    value: float | None = None
    failure: fallback.MetricsFailure | None = None


#: A metric without a reading this tick (``Request.readings`` shorter than the policy's metrics).
_NO_READING = Reading()


@dataclasses.dataclass(frozen=True)
class State:
    """Everything carried from one tick to the next for one policy."""

    history: behavior.History = dataclasses.field(default_factory=behavior.History)
    fallback: fallback.FallbackState = dataclasses.field(default_factory=fallback.FallbackState)


@dataclasses.dataclass(frozen=True)
class Request:
    """The inputs of one decision.

    ``current`` is the workload's total replicas (base + burst), ``ready`` how many of them are Running
    and Ready; ``readings`` has one entry per ``spec.metrics`` entry, in order; ``pending_pods`` are the
    base workload's pods for the pending-pod signal. For the forecast: ``history`` has each metric's
    past values (in order; None or absent: not read), ``ecs_full`` whether the next replica finds no
    room on ECS (None: unknown), which picks the lead (``forecast.lead_for``).
    """

    spec: spec.BurstPolicySpec
    current: int
    ready: int
    readings: tuple[Reading, ...] = ()
    pending_pods: tuple[pending.PendingPod, ...] = ()
    state: State = dataclasses.field(default_factory=State)
    history: tuple[forecast.Series | None, ...] = ()
    ecs_full: bool | None = None


@dataclasses.dataclass(frozen=True)
class Proposal:
    """What one metric asked for, or why it could not."""

    source: str
    target_type: str
    target: float
    value: float | None
    replicas: int | None
    failure: fallback.MetricsFailure | None = None

    def to_input(self) -> dict[str, Any]:
        """The proposal as JSON for ``status.lastDecision.inputs``."""
        entry: dict[str, Any] = {"source": self.source, "targetType": self.target_type, "target": self.target}
        if self.failure is not None:
            return entry | {"failure": self.failure.reason, "message": self.failure.message}
        return entry | {"value": self.value, "replicas": self.replicas}


@dataclasses.dataclass(frozen=True)
class Recommendation:
    """The decision: total replicas, a reason (machine) and message (people), the inputs, the new state.

    ``metrics_condition`` is None when the policy has no metrics (no MetricsAvailable to report);
    ``pending`` is the pending-pod signal for the planner, independent of the count.
    """

    replicas: int
    reason: str
    message: str
    inputs: dict[str, Any]
    metrics_condition: fallback.MetricsCondition | None
    pending: pending.PendingSignal
    state: State


def recommend(request: Request, *, now: datetime.datetime) -> Recommendation:
    """Decide the total replicas for one policy at ``now`` (an aware datetime)."""
    _, _, recommendation = _decide(request, now=now, explain=True)
    assert recommendation is not None
    return recommendation


def replicas_for(request: Request, *, now: datetime.datetime) -> tuple[int, State]:
    """``recommend(request, now=now)``'s replicas and new state, without the explanation.

    The same decision, taken by the same code, minus what only explains it (``inputs``, the reason
    and message, the pending-pod signal), for callers that act on the count alone: the simulator asks
    hundreds of thousands of times per run.
    """
    replicas_, state, _ = _decide(request, now=now, explain=False)
    return replicas_, state


def _decide(request: Request, *, now: datetime.datetime, explain: bool) -> tuple[int, State, Recommendation | None]:
    """The decision of ``recommend``; with ``explain`` also the ``Recommendation`` that explains it."""
    # In UTC: aware datetimes of one zone compare and add by the wall clock, which DST would skew.
    now = now.astimezone(datetime.UTC)
    policy, current, state = request.spec, request.current, request.state
    # No pods or no schedules: the answers are constants (the simulator and most ticks of the operator).
    signal = (
        pending.signal(request.pending_pods, settings=policy.pending_pods, now=now)
        if explain and request.pending_pods
        else _NO_PENDING
    )
    windows = schedules.floor(policy.schedules, now=now) if policy.schedules else _NO_WINDOWS
    floor = min(max(policy.min_replicas, windows.replicas), policy.max_replicas)
    inputs: dict[str, Any] = {}
    if explain:
        inputs = {
            "currentReplicas": current,
            "readyReplicas": request.ready,
            "minReplicas": policy.min_replicas,
            "maxReplicas": policy.max_replicas,
            "scheduleFloor": windows.replicas,
            "activeSchedules": [window.index for window in windows.windows],
            "unplaceableOnEcs": signal.unplaceable,
        }

    def decide(
        replicas_: int, reason: str, message: str, condition: Any, new_state: State
    ) -> tuple[int, State, Recommendation | None]:
        if not explain:
            return replicas_, new_state, None
        return replicas_, new_state, Recommendation(replicas_, reason, message, inputs, condition, signal, new_state)

    # A workload scaled to zero by hand is switched off, as with the HPA: leave it alone.
    if current == 0 and policy.min_replicas != 0:
        return decide(0, "autoscaling-disabled", "the workload was scaled to zero; not autoscaling", None, state)

    condition: fallback.MetricsCondition | None = None
    mode: fallback.Mode = "metrics"
    desired = current
    new_fallback = state.fallback
    if policy.metrics:
        if explain:
            proposals = _proposals(policy, request)
            inputs["metrics"] = [proposal.to_input() for proposal in proposals]
            answered = [proposal.replicas for proposal in proposals if proposal.replicas is not None]
            failure = next((proposal.failure for proposal in proposals if proposal.failure is not None), None)
            asked = max(answered) if answered else None
        else:
            asked, failure = _asked(policy, request)
        outcome = fallback.apply(
            recommendation=asked,
            failure=failure,
            current=current,
            settings=policy.fallback,
            state=state.fallback,
        )
        desired, mode, condition, new_fallback = outcome.replicas, outcome.mode, outcome.condition, outcome.state
        if explain:
            inputs["fallback"] = {"mode": mode, "failures": new_fallback.failures}
    if explain:
        inputs["metricRecommendation"] = desired

    # Out of bounds already (a spec edit, a window opening): go straight to the bound, as the HPA does.
    if current > policy.max_replicas or current < floor:
        target = policy.max_replicas if current > policy.max_replicas else floor
        history = behavior.record_scale(state.history, previous=current, new=target, behavior=policy.behavior, now=now)
        reason = "max-replicas" if current > policy.max_replicas else _floor_reason(policy, floor)
        message = f"{current} replicas are outside {floor}..{policy.max_replicas}: set to {target}"
        return decide(target, reason, message, condition, State(history, new_fallback))

    def normalize(wanted: int) -> tuple[int, int, behavior.Limited, behavior.History]:
        return behavior.normalize(
            wanted,
            current=current,
            min_replicas=floor,
            max_replicas=policy.max_replicas,
            behavior=policy.behavior,
            history=state.history,
            now=now,
        )

    stabilized, final, limited, history = normalize(desired)
    reason = (
        _reason(mode, limited.condition, policy=policy, floor=floor, stabilized=stabilized, desired=desired)
        if explain
        else ""
    )
    ahead = ""
    if policy.forecast.enabled and policy.metrics:
        lead = _lead(request, mode=mode, now=now)
        inputs["forecast"] = lead.inputs
        if lead.replicas is not None and lead.replicas > desired:
            # The same behavior on both: the forecast's total is never below the reactive one (normalize
            # is monotone in what it is asked), and it is taken only where it is above.
            ahead_stabilized, ahead_final, ahead_limited, ahead_history = normalize(lead.replicas)
            lead.inputs["reactiveReplicas"] = final
            if ahead_final > final:
                stabilized, final, limited, history = ahead_stabilized, ahead_final, ahead_limited, ahead_history
                reason = "forecast"
                lead.inputs["reason"] = "forecast"
                ahead = f", forecast asked {lead.replicas} {lead.inputs['leadSeconds']:g}s ahead"
            else:
                lead.inputs["reason"] = "forecast-not-above-reactive"
    if not explain:
        return final, State(history, new_fallback), None
    inputs["stabilized"] = stabilized
    inputs["limit"] = limited.condition
    if final == current and reason == "metrics":
        reason = "steady"
    message = f"{current} -> {final} replicas ({reason}; metrics asked {desired}{ahead}, stabilized {stabilized})"
    return decide(final, reason, message, condition, State(history, new_fallback))


@dataclasses.dataclass(frozen=True)
class _Lead:
    replicas: int | None
    inputs: dict[str, Any]


def _lead(request: Request, *, mode: fallback.Mode, now: datetime.datetime) -> _Lead:
    """What the forecast asks for (the largest over metrics), with the inputs that explain it."""
    policy = request.spec
    seconds, tier = forecast.lead_for(policy, ecs_full=request.ecs_full)
    inputs: dict[str, Any] = {"leadSeconds": seconds, "tier": tier}
    if mode != "metrics":
        # Metrics are failing: the fallback decides, and a forecast from stale history must not override it.
        return _Lead(None, inputs | {"reason": "forecast-metrics-unavailable"})
    tolerances = _tolerances(policy.behavior)
    at = now.timestamp()
    predictions = []
    asked: list[int] = []
    for index, metric in enumerate(policy.metrics):
        reading = request.readings[index] if index < len(request.readings) else Reading()
        series = request.history[index] if index < len(request.history) else None
        if series is None or len(series) == 0:
            # This tick's reading alone is no history: say so rather than "short".
            prediction = forecast.predict(None, now=at, lead=seconds)
        else:
            if reading.value is not None:
                series = series.with_sample(at, reading.value)
            prediction = forecast.predict(series, now=at, lead=seconds)
        entry = prediction.to_input()
        if prediction.value is not None:
            proposal = propose(
                metric,
                Reading(value=prediction.value),
                current=request.current,
                ready=request.ready,
                tolerances=tolerances,
            )
            entry["replicas"] = proposal.replicas
            if proposal.replicas is not None:
                asked.append(proposal.replicas)
        predictions.append(entry)
    inputs["metrics"] = predictions
    if not asked:
        missing = next((str(entry.get("missing")) for entry in predictions if entry.get("missing")), "no-history")
        return _Lead(None, inputs | {"reason": f"forecast-{missing}"})
    return _Lead(max(asked), inputs | {"replicas": max(asked), "reason": "forecast-not-above-reactive"})


def _reason(
    mode: fallback.Mode,
    condition: behavior.LimitCondition,
    *,
    policy: spec.BurstPolicySpec,
    floor: int,
    stabilized: int,
    desired: int,
) -> str:
    # Ordered by what an SRE most needs to know: metrics being down trumps everything.
    if mode in ("hold", "fixed"):
        return f"fallback-{mode}"
    if condition == "TooFewReplicas":
        return _floor_reason(policy, floor)
    if condition == "TooManyReplicas":
        return "max-replicas"
    if condition == "ScaleUpLimit":
        return "scale-up-limit"
    if condition == "ScaleDownLimit":
        return "scale-down-limit"
    if stabilized != desired:
        return "stabilized"
    return "metrics"


def _floor_reason(policy: spec.BurstPolicySpec, floor: int) -> str:
    return "schedule" if floor > policy.min_replicas else "min-replicas"


def _tolerances(rules: spec.Behavior) -> replicas.Tolerances:
    """The per-direction tolerances of ``rules``, built once per (frozen) behavior object."""
    entry = _TOLERANCES.get(id(rules))
    if entry is None or entry[0] is not rules:
        if len(_TOLERANCES) >= _CACHE_SIZE:
            _TOLERANCES.clear()  # specs come and go with edits: bound the memory, recomputing is cheap
        up, down = behavior.effective_rules(rules)
        entry = (rules, replicas.Tolerances(down=_tolerance(down), up=_tolerance(up)))
        _TOLERANCES[id(rules)] = entry
    return entry[1]


def _proposals(policy: spec.BurstPolicySpec, request: Request) -> list[Proposal]:
    tolerances = _tolerances(policy.behavior)
    readings = list(request.readings) + [Reading()] * (len(policy.metrics) - len(request.readings))
    return [
        propose(metric, reading, current=request.current, ready=request.ready, tolerances=tolerances)
        for metric, reading in zip(policy.metrics, readings, strict=False)
    ]


def _tolerance(rules: spec.ScalingRules) -> float:
    return DEFAULT_TOLERANCE if rules.tolerance is None else float(rules.tolerance)


def propose(
    metric: spec.MetricSpec, reading: Reading, *, current: int, ready: int, tolerances: replicas.Tolerances
) -> Proposal:
    """The replicas one metric asks for, with the HPA's rules for its target type."""
    target_type, target, target_milli = _target(metric)
    source = "cpu" if metric.cpu is not None else "prometheus"
    value, count, failure = _answer(
        reading,
        target_type=target_type,
        target=target,
        target_milli=target_milli,
        current=current,
        ready=ready,
        tolerances=tolerances,
    )
    return Proposal(source, target_type, target, value, count, failure)


def _asked(policy: spec.BurstPolicySpec, request: Request) -> tuple[int | None, fallback.MetricsFailure | None]:
    """What ``fallback`` is given of ``_proposals``: the largest count asked (None: no metric answered)
    and the first failure, from the same ``_answer`` of each metric, without building the proposals."""
    tolerances = _tolerances(policy.behavior)
    readings = request.readings
    largest: int | None = None
    first_failure: fallback.MetricsFailure | None = None
    for index, metric in enumerate(policy.metrics):
        target_type, target, target_milli = _target(metric)
        _, count, failure = _answer(
            readings[index] if index < len(readings) else _NO_READING,
            target_type=target_type,
            target=target,
            target_milli=target_milli,
            current=request.current,
            ready=request.ready,
            tolerances=tolerances,
        )
        if count is not None and (largest is None or count > largest):
            largest = count
        if failure is not None and first_failure is None:
            first_failure = failure
    return largest, first_failure


def _answer(
    reading: Reading,
    *,
    target_type: str,
    target: float,
    target_milli: int,
    current: int,
    ready: int,
    tolerances: replicas.Tolerances,
) -> tuple[float | None, int | None, fallback.MetricsFailure | None]:
    """One metric's value as proposed, the replicas it asks for, or why it cannot ask (``propose``)."""
    if reading.failure is not None or reading.value is None:
        return None, None, reading.failure or fallback.MetricsFailure("EmptyResult", "the source returned no reading")
    value = reading.value
    if not math.isfinite(value):
        return value, None, fallback.MetricsFailure("InvalidValue", f"the metric's value is {value}")
    try:
        count = _count(
            target_type,
            target,
            target_milli=target_milli,
            value=value,
            current=current,
            ready=ready,
            tolerances=tolerances,
        )
    except replicas.CalculationError as error:
        return value, None, fallback.MetricsFailure("CalculationError", str(error))
    return value, count, None


def _target(metric: spec.MetricSpec) -> tuple[str, float, int]:
    """The metric's target type and value, as a float and in milli-units rounded up (as the HPA's quantity)."""
    # Spec models are frozen: a metric's target never changes, so it is parsed once per object (the
    # entry keeps the object alive, so its id cannot be reused while it is cached).
    entry = _TARGETS.get(id(metric))
    if entry is None or entry[0] is not metric:
        if len(_TARGETS) >= _CACHE_SIZE:
            _TARGETS.clear()
        target_type, target = _parse_target(metric)
        entry = (metric, (target_type, float(target), math.ceil(target * 1000)))
        _TARGETS[id(metric)] = entry
    return entry[1]


def _parse_target(metric: spec.MetricSpec) -> tuple[str, decimal.Decimal]:
    if metric.cpu is not None:
        return "Utilization", decimal.Decimal(metric.cpu.target_average_utilization)
    assert metric.prometheus is not None  # the model guarantees exactly one source
    target = metric.prometheus.target
    given = {"Value": target.value, "AverageValue": target.average_value, "Utilization": target.average_utilization}
    return target.type, decimal.Decimal(given[target.type] or 0)


def _count(
    target_type: str,
    target: float,
    *,
    target_milli: int,
    value: float,
    current: int,
    ready: int,
    tolerances: replicas.Tolerances,
) -> int:
    if target_type == "Utilization":
        # An aggregate utilization (the cpu shortcut): the HPA's fast path over the ready pods.
        if ready == 0:
            raise replicas.CalculationError("no ready pods to measure utilization on (pods might be unready)")
        ratio = value / target
        return current if tolerances.within(ratio) else math.ceil(ratio * ready)
    # Milli-units as the HPA's quantities: the value truncated (int64(v*1000)), the target rounded up.
    usage = min(int(value * 1000), replicas.MAX_INT64)
    if target_type == "Value":
        return replicas.value_replicas(
            current=current, usage_milli=usage, target_milli=target_milli, ready_pods=ready, tolerances=tolerances
        ).replicas
    return replicas.average_value_replicas(
        current=current, usage_milli=usage, target_milli=target_milli, tolerances=tolerances
    ).replicas
