"""The one small interface every simulated strategy implements, and what it is built from.

A strategy is built once per run (``Build``: the ``Run`` in, a strategy and its model cluster out) and
then asked at every step what replica counts it wants for every workload (``Strategy.decide``). It
reads the model cluster, never changes it: the engine applies the ``Targets``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from burstscaler.api import spec
from burstscaler.sim import cluster, placement, realism, recommender, scenario, settings, traces

FloatArray = npt.NDArray[np.float64]


@dataclasses.dataclass(frozen=True)
class Targets:
    """What a strategy wants now for one workload: replicas of the base (ECS) and of the burst twin.

    ``moves`` counts drain-back moves (burst replicas moved to ECS) completed at this step;
    ``placeholders`` is how many placeholder pods to keep on ECS (the bridge: only burstscaler asks).
    """

    base: int
    burst: int
    moves: int = 0
    placeholders: int = 0


class Strategy(Protocol):
    """Decides replica counts from the observed loads and the model cluster's state."""

    def decide(self, *, state: cluster.ModelCluster, loads: FloatArray, now: float) -> Sequence[Targets]:
        """One ``Targets`` per workload; ``loads[w]`` is workload w's metric (requests/s, NaN when missing)."""
        ...


@dataclasses.dataclass(frozen=True)
class Setup:
    """A strategy ready to run, with the model cluster it runs on (in its steady state at t=0)."""

    strategy: Strategy
    state: cluster.ModelCluster


@dataclasses.dataclass(frozen=True)
class Run:
    """What every strategy of one run is built from: the same for all of them."""

    settings: settings.Settings
    scenario: scenario.Scenario
    loads: tuple[traces.StepLoad, ...]
    initial: FloatArray  # each workload's metric at t=0
    pool: int  # the fixed ECS pool (subscription) that hpa-ca, resourcepolicy and burstscaler share
    policies: tuple[spec.BurstPolicySpec, ...]
    seed: int = 0
    cache: recommender.StepCache = dataclasses.field(default_factory=recommender.StepCache)

    def recommenders(self) -> list[recommender.CoreRecommender]:
        """One recommender per workload with its policy, sharing the run's step cache."""
        return [
            recommender.CoreRecommender(
                policy=policy,
                start=self.scenario.start,
                state=self.cache.initial(index),
                cache=self.cache,
                workload=index,
            )
            for index, policy in enumerate(self.policies)
        ]

    def spot(self, *, make_before_break: bool) -> cluster.Spot | None:
        """The spot settings of the policies (None when no policy asks for spot burst pods)."""
        enabled = tuple(policy.burst.spot.enabled for policy in self.policies)
        if not any(enabled):
            return None
        protection = min(p.burst.spot.protection_hours for p, on in zip(self.policies, enabled, strict=True) if on)
        return cluster.Spot(
            workloads=enabled,
            protection_seconds=3600.0 * protection,
            reclaim_per_hour=self.settings.prices.eci_spot_reclaim_per_hour.value,
            make_before_break=make_before_break,
            notice_seconds=settings.SPOT_NOTICE_SECONDS,
        )

    def cluster(
        self,
        *,
        pool: int,
        autoscaling: bool = False,
        placer: placement.Placer | None = None,
        make_before_break: bool = False,
    ) -> cluster.ModelCluster:
        """A model cluster of ``pool`` subscription nodes, optionally with pay-as-you-go autoscaling.

        Spot burst pods (where the policy asks) are replaced make-before-break only with
        ``make_before_break`` (burstscaler's operator); otherwise as a ReplicaSet does, after the release.
        """
        config, workloads = self.settings, self.scenario.workloads
        scaler = None
        requests = np.array([cluster.requests_of(workload.pod) for workload in workloads])
        if autoscaling:
            scaler = cluster.NodeAutoscaling(
                shape=config.node,
                price_per_hour=config.prices.ecs_node_payg_per_hour.value,
                idle_seconds=config.node_idle_seconds,
                max_nodes=self.scenario.max_nodes,
            )
        state = cluster.ModelCluster(
            pods=[workload.pod for workload in workloads],
            eci_per_second=[config.eci_per_second(workload) for workload in workloads],
            spot=self.spot(make_before_break=make_before_break),
            draws=realism.Draws.seeded(config.realism, seed=self.seed),
            pool=pool,
            pool_shape=config.node,
            pool_price_per_hour=config.prices.ecs_node_subscription_per_hour.value,
            autoscaling=scaler,
            placer=placer if placer is not None else placement.make_placer(requests, choice=config.placement),
        )
        state.set_priorities([workload.priority for workload in workloads])
        return state

    def initial_replicas(self, workload: int) -> int:
        """What workload's policy asks for at its initial load (its steady state before the trace)."""
        return settings.policy_replicas(self.policies[workload], rate=float(self.initial[workload]))


class Build(Protocol):
    """Builds a strategy and its cluster for a run."""

    def __call__(self, run: Run) -> Setup: ...
