"""Deleting a BurstPolicy under each propagation policy hands the twin's replicas back to the base
with no dip in Ready pods (issue 17 item 4), through the operator process, the cluster actor and the
emulator's garbage collector (Background, Foreground, Orphan: harness/apiserver.py).

How (``cluster/twin.py``): the twin has a second owner, its base, so no propagation policy lets the
collector take it before the policy's finalizer has run the hand-back (Foreground only drops the twin's
reference to the policy, as Orphan does); the hand-back recognises its twin by the policy-UID label the
operator wrote, then leaves it to the policy alone, so the twin goes with the policy in every case.

The cluster: ECS room for 2 replicas, so 4 desired run as 2 base + 2 burst; then a second ECS node
gives room for the other 2, with drain-back off so the burst stays until the policy is deleted. The
hand-back (``operator/handlers.py::_hand_back``) must raise the base to 4, wait for it to be Ready,
then scale the twin to 0; the policy's deletion must never take serving pods first. Ready pods are
sampled every 50 ms from the deletion until the end.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import pytest

from .harness import actor, client, objects, sampling, scenario
from .harness.waiting import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.prometheus]

TIMEOUT = 60.0
HAND_BACK_TIMEOUT = 30.0  # the base's new pods are Ready in 1 s; the hand-back retries every 5 s
SERVING = 4


def handed_back(api: client.RestClient) -> bool:
    """The base runs every replica Ready on ECS and nothing runs on the virtual node."""
    return scenario.ready_on(api, "web", virtual=False) == SERVING and scenario.ready_on(api, "web", virtual=True) == 0


@pytest.mark.parametrize(
    "propagation",
    [
        pytest.param("Background", id="background"),
        pytest.param("Foreground", id="foreground"),
        pytest.param("Orphan", id="orphan"),
    ],
)
def test_deleting_a_policy_hands_the_burst_back_without_a_dip(
    api: client.RestClient,
    run_cluster: Callable[..., actor.ClusterActor],
    start_operator: Callable[..., Any],
    propagation: str,
) -> None:
    run_cluster()
    api.create(objects.ecs_node("ecs-1", cpu="1", memory="4Gi"))  # room for 2 replicas of 500m
    api.create(objects.virtual_node())
    api.create(objects.deployment("web", replicas=2, cpu="500m"))
    api.create(
        objects.burst_policy(
            "web", target="web", minReplicas=SERVING, maxReplicas=SERVING, drainBack={"enabled": False}
        )
    )
    start_operator()
    eventually(
        lambda: scenario.ready_on(api, "web", virtual=False) == 2 and scenario.ready_on(api, "web", virtual=True) == 2,
        timeout=TIMEOUT,
        message="2 base + 2 burst Ready",
    )
    api.create(objects.ecs_node("ecs-2", cpu="1", memory="4Gi"))  # room for the hand-back
    before = api.find("Deployment", "web-burst")
    assert before is not None
    owners = [(ref["kind"], ref["name"], bool(ref.get("controller"))) for ref in before["metadata"]["ownerReferences"]]
    assert owners == [("BurstPolicy", "web", True), ("Deployment", "web", False)], "owned by its policy and its base"

    with sampling.Sampler(lambda: sum(map(scenario.ready, scenario.workload_pods(api, "web")))) as sampler:
        api.delete("BurstPolicy", "web", propagationPolicy=propagation)
        eventually(lambda: api.find("BurstPolicy", "web") is None, timeout=TIMEOUT, message="the policy is gone")
        with contextlib.suppress(TimeoutError):  # the assertions below say where it stopped
            eventually(lambda: handed_back(api), timeout=HAND_BACK_TIMEOUT)
    twin = api.find("Deployment", "web-burst")
    state = {
        "base": scenario.replicas(api, "web"),
        "twin": None if twin is None else twin["spec"]["replicas"],
        "twin owned": bool(twin and twin["metadata"].get("ownerReferences")),
        "ready on ECS": scenario.ready_on(api, "web", virtual=False),
        "ready on ECI": scenario.ready_on(api, "web", virtual=True),
        "min Ready": min(sampler.samples),
    }
    assert min(sampler.samples) >= SERVING, f"Ready pods dipped during the deletion: {state}"
    assert handed_back(api) and state["base"] == SERVING, f"the base serves all {SERVING}, burst none: {state}"
    assert twin is None or twin["spec"]["replicas"] == 0, f"the twin is gone or at 0: {state}"
    eventually(
        lambda: api.find("Deployment", "web-burst") is None, timeout=TIMEOUT, message="the twin goes with its policy"
    )
