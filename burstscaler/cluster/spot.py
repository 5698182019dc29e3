"""Spot ECI for burst pods: the annotations the twin renders, what its pods say, and when to fall back.

Alibaba ECI runs a pod on a preemptible (spot) instance when its template carries these annotations
(ECI, "Create a preemptible elastic container instance",
https://www.alibabacloud.com/help/en/eci/user-guide/create-a-preemptible-elastic-container-instance-1, and the
pod annotation list, https://help.aliyun.com/en/eci/user-guide/pod-annotations-1):

- ``k8s.aliyun.com/eci-spot-strategy``: ``SpotAsPriceGo`` (bid the market price, at most the pay-as-you-go
  price) or ``SpotWithPriceLimit`` with ``k8s.aliyun.com/eci-spot-price-limit``, the highest hourly price per
  instance as a decimal with at most three places (ECI's ``SpotPriceLimit``, DescribeContainerGroupPrice:
  https://help.aliyun.com/zh/eci/api-describecontainergroupprice);
- ``k8s.aliyun.com/eci-spot-duration``: the protection period in hours, ``1`` (ECI's default) or ``0``.

What the pods report, read from the operator's pod records (no Event index needed):

- **refused**: a spot pod ECI could not create (no stock at the bid, or a price limit under the market). The
  virtual kubelet then writes the pod's ``status.reason: ProviderFailed`` with the provider's error as
  ``status.message``, keeping a Deployment's pod Pending (restartPolicy Always) or failing it otherwise
  (virtual-kubelet ``node/pod.go``, ``podStatusReasonProviderFailed``); ECI's own words for the stock-out are
  ``NoStock`` "Create ECI failed because the specified instance is out of stock" and its failed creation state
  ``ScheduleFailed`` (https://www.alibabacloud.com/help/en/elastic-container-instance/latest/custom-events-of-elastic-container-instance,
  https://alibabacloud.com/help/en/eci/user-guide/lifecycle-of-an-elastic-container-instance-2). A spot pod
  is refused when one of those reasons comes with a message about stock, spot, bid or price
  (``NoStock`` alone is enough): a ProviderFailed for another cause (a bad volume) is not a spot matter.
- **to be released**: about 3 to 5 minutes before reclaiming a spot instance, ECI posts a
  ``SpotToBeReleased`` Event and ACK's virtual node sets the pod condition ``ContainerInstanceExpired`` to
  True (Alibaba Cloud Native, "Knative supports spot instances", 2024; ACK "Run Jobs using spot ECI
  instances", https://www.alibabacloud.com/help/en/ack/serverless-kubernetes/use-cases/run-jobs-on-a-preemptible-instance-1).
  The condition is on the pod, so the pod record carries it. After the release the pod is Failed with
  reason ``BidFailed`` (no longer active: its ReplicaSet replaces it).
- **running on spot**: a Running pod carrying the strategy annotation.

ECI's own ``k8s.aliyun.com/eci-spot-fallback`` (create on-demand when spot has no stock) is not rendered:
such a pod says it was degraded only in a ``SpotDegraded`` Event, so the ledger could not tell it from a
spot pod. The operator falls back itself, for the whole twin, and the ledger knows what runs on spot.

``decide`` is the fallback's state machine (pure; ``now`` is an argument):
- spot off, or a provider without spot: on-demand, nothing remembered;
- in a cool-down (``until`` in the future): on-demand;
- a refused pod created since spot was (re)tried: on-demand for ``RETRY_SECONDS``, reason ``spot-fallback``;
- else spot. The cool-down's end is written on the twin (``FALLBACK_UNTIL_ANNOTATION``), so a restarted
  operator keeps it rather than retrying at once.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import re
from collections.abc import Iterable, Mapping

from burstscaler.api import spec as api
from burstscaler.cluster import objects, providers

STRATEGY_ANNOTATION = objects.SPOT_STRATEGY_ANNOTATION
PRICE_LIMIT_ANNOTATION = "k8s.aliyun.com/eci-spot-price-limit"
DURATION_ANNOTATION = "k8s.aliyun.com/eci-spot-duration"
ECI_FALLBACK_ANNOTATION = "k8s.aliyun.com/eci-spot-fallback"
#: Every ECI spot annotation: the operator's alone on the twin (stripped from the base, refused in the patch).
OWNED_ANNOTATIONS = (STRATEGY_ANNOTATION, PRICE_LIMIT_ANNOTATION, DURATION_ANNOTATION, ECI_FALLBACK_ANNOTATION)
#: On the twin: until when its pods run on-demand after a spot refusal (RFC 3339), so a restart keeps it.
FALLBACK_UNTIL_ANNOTATION = "burstscaler.io/spot-fallback-until"

#: Providers whose virtual-node pods can run on spot: ECI behind ACK's virtual node or a self-built VNode
#: (every other profile says why not in ``Profile.no_spot``).
PROVIDERS_WITH_SPOT = tuple(name for name, profile in providers.PROFILES.items() if not profile.no_spot)

#: How long the twin stays on-demand after a refusal before spot is tried again: one hour, ECI's default
#: protection period. A spot pod created on a retry is guaranteed that long, and an hour keeps a failing
#: retry (one round of refused pods, each costing a start-up delay of unserved burst) to once an hour.
RETRY_SECONDS = 3600.0

#: Status reasons of a pod whose creation the provider failed (see the module docstring).
_REFUSAL_REASONS = ("ProviderFailed", "ScheduleFailed", "NoStock")
_SPOT_WORDS = re.compile(r"stock|spot|bid|price|inventory", re.IGNORECASE)


def pod_annotations(spot: api.Spot) -> dict[str, str]:
    """The ECI annotations of a spot twin's pods (empty when spot is off)."""
    if not spot.enabled:
        return {}
    rendered = {STRATEGY_ANNOTATION: spot.strategy, DURATION_ANNOTATION: str(spot.protection_hours)}
    if spot.strategy == "SpotWithPriceLimit" and spot.price_limit_per_hour is not None:
        rendered[PRICE_LIMIT_ANNOTATION] = price_limit_text(spot.price_limit_per_hour)
    return rendered


def price_limit_text(limit: decimal.Decimal) -> str:
    """A price limit as ECI takes it: a plain decimal with at most three places, rounded down.

    Rounding down never bids above what the policy allows (0.2509 is bid as 0.250).
    """
    rounded = decimal.Decimal(limit).quantize(decimal.Decimal("0.001"), rounding=decimal.ROUND_DOWN)
    if rounded <= 0:
        raise ValueError(f"spot.priceLimitPerHour {limit} is below ECI's smallest step (0.001)")
    return f"{rounded:f}"


def supported(provider: str) -> bool:
    """True when `provider`'s virtual-node pods can run on spot."""
    return provider in PROVIDERS_WITH_SPOT


def refused(pod: objects.PodRecord) -> bool:
    """True when `pod` is a spot pod the provider refused to create (see the module docstring)."""
    if not pod.spot_strategy or pod.status_reason not in _REFUSAL_REASONS:
        return False
    return pod.status_reason == "NoStock" or bool(_SPOT_WORDS.search(pod.status_message))


@dataclasses.dataclass(frozen=True)
class SpotState:
    """What a twin's pods say about spot this tick."""

    refused: int = 0  # spot pods the provider refused (created since `since`)
    to_be_released: int = 0  # spot pods announced for reclamation, not yet gone
    running: int = 0  # Running spot pods (those to be released included)


def observe(pods: Iterable[objects.PodRecord], *, since: float | None = None) -> SpotState:
    """Count a twin's pods by spot state; refusals of pods created before `since` are old news.

    `since` is when spot was (re)tried: pods refused earlier belong to a round that was already answered
    with a fallback, and wait only for the rollout to remove them.
    """
    refusals = releasing = running = 0
    for pod in pods:
        if pod.terminal or not pod.spot_strategy:
            continue
        if refused(pod):
            # A refused pod never started, so `started` is its creation time; whole seconds: a pod
            # created in the retry's own second counts.
            if since is None or pod.started is None or pod.started >= since - 1:
                refusals += 1
            continue
        if pod.phase == "Running":
            running += 1
            releasing += 1 if pod.to_be_released else 0
    return SpotState(refused=refusals, to_be_released=releasing, running=running)


@dataclasses.dataclass(frozen=True)
class Decision:
    """Whether the twin renders spot this tick, and what the planner remembers for the next one."""

    spot: bool  # the twin's pods get the spot annotations
    until: float | None = None  # on-demand until then (a cool-down in force)
    since: float | None = None  # spot (re)tried at; refusals of older pods are ignored
    started: bool = False  # the fallback starts this tick (the decision's reason is spot-fallback)
    state: SpotState = dataclasses.field(default_factory=SpotState)

    @property
    def reason(self) -> str | None:
        """``spot-fallback`` while the twin runs on-demand after a refusal, else None."""
        return "spot-fallback" if self.until is not None else None


def decide(
    spot: api.Spot,
    *,
    provider: str,
    state: SpotState,
    until: float | None,
    since: float | None,
    now: float,
) -> Decision:
    """The twin's spot mode for this tick (the ladder in the module docstring)."""
    if not spot.enabled or not supported(provider):
        return Decision(spot=False, state=state)
    if until is not None and now < until:
        # Cooling down: refusals seen now are of the round already answered.
        return Decision(spot=False, until=until, since=since, state=state)
    if until is not None:
        # The cool-down is over: retry spot; only pods created from now on can refuse it again.
        return Decision(spot=True, since=now, state=dataclasses.replace(state, refused=0))
    if state.refused > 0:
        return Decision(spot=False, until=now + RETRY_SECONDS, since=since, started=True, state=state)
    return Decision(spot=True, since=since, state=state)


def replacements(*, state: SpotState, burst_target: int, room: int) -> int:
    """Extra twin replicas that start before announced spot pods are reclaimed.

    One per pod to be released, at most as many as the target keeps (a pod the target drops needs no
    replacement) and as `room` allows (the burst cap and the budget, minus the target).
    """
    return max(0, min(state.to_be_released, burst_target, room))


def until_from(twin_annotations: Mapping[str, str]) -> float | None:
    """The cool-down's end recorded on a twin, or None when absent or unreadable."""
    return objects.timestamp(twin_annotations.get(FALLBACK_UNTIL_ANNOTATION))


def until_text(until: float) -> str:
    """A cool-down's end as the twin's annotation value."""
    return datetime.datetime.fromtimestamp(until, tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
