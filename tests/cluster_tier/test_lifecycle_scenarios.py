"""A burst's life against a real cluster: burst-first scale-in, drain-back, and deleting the policy.

Each test runs in its own namespace with the session's operator process. The split between ECS and
burst is made by ``base.maxReplicas`` (1): the base holds one replica, the twin the rest, on any
cluster whose ECS nodes have room for one 10m pod, so no count depends on the cluster's size. The
later steps change only the policy, as a user would with ``kubectl patch`` and ``kubectl delete``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.operator_process import OperatorProcess

from .conftest import Kubectl, burst_policy, deployment, eventually

pytestmark = pytest.mark.cluster

#: Quick drain-back: no wait for room to persist or for burst pods to age (the defaults are minutes).
QUICK_DRAIN = {"minBurstSeconds": 0, "stabilizationSeconds": 0}


def counts(kubectl: Kubectl, *, namespace: str) -> tuple[int | None, int | None]:
    """(base, twin) spec.replicas; None for a workload that does not exist."""
    found = [kubectl.get("deployment", name, namespace=namespace) for name in ("web", "web-burst")]
    base, twin = (None if body is None else int(body["spec"].get("replicas") or 0) for body in found)
    return base, twin


def patch_policy(kubectl: Kubectl, spec: dict[str, Any], *, namespace: str) -> None:
    """A merge patch of the policy's spec, as ``kubectl patch bp web --type merge`` does."""
    kubectl.run("patch", "burstpolicy", "web", "-n", namespace, "--type", "merge", "-p", json.dumps({"spec": spec}))


def split(kubectl: Kubectl, *, namespace: str, replicas: int, **spec: Any) -> None:
    """A base of 1 on ECS (base.maxReplicas 1) and a twin of `replicas - 1`, as planned and applied."""
    kubectl.create(deployment("web", namespace=namespace, replicas=1))
    kubectl.create(
        burst_policy(
            "web",
            namespace=namespace,
            target="web",
            minReplicas=replicas,
            maxReplicas=replicas + 3,
            base={"maxReplicas": 1},
            **spec,
        )
    )
    eventually(
        lambda: counts(kubectl, namespace=namespace) == (1, replicas - 1),
        message=f"base 1 (its cap) and a twin of {replicas - 1}",
    )


def test_scale_in_takes_burst_first(kubectl: Kubectl, operator: OperatorProcess, namespace: str) -> None:
    # Without metrics the recommendation holds the current total; a lowered maxReplicas is the scale-in.
    split(kubectl, namespace=namespace, replicas=3)
    patch_policy(kubectl, {"minReplicas": 1, "maxReplicas": 2}, namespace=namespace)
    eventually(lambda: counts(kubectl, namespace=namespace) == (1, 1), message="3 -> 2: the twin gives the replica")
    patch_policy(kubectl, {"maxReplicas": 1}, namespace=namespace)
    eventually(lambda: counts(kubectl, namespace=namespace) == (1, 0), message="2 -> 1: the twin goes to 0 first")


def test_drain_back_moves_burst_to_ecs_without_a_dip(
    kubectl: Kubectl, operator: OperatorProcess, real_server: None, namespace: str
) -> None:
    split(kubectl, namespace=namespace, replicas=3, drainBack=QUICK_DRAIN)
    eventually(
        lambda: (
            ((kubectl.get("burstpolicy", "web", namespace=namespace) or {}).get("status") or {}).get("readyBurst") == 2
        ),
        message="both burst pods Ready on the virtual node",
    )
    patch_policy(kubectl, {"base": {"maxReplicas": 10}}, namespace=namespace)
    seen: list[tuple[int | None, int | None]] = []

    def moved() -> bool:
        seen.append(counts(kubectl, namespace=namespace))
        return seen[-1] == (3, 0)

    eventually(moved, message="the twin's 2 replicas moved back to the base")
    # Make-before-break: the base is raised before the twin is lowered, so the total never dips.
    assert all((base or 0) + (twin or 0) >= 3 for base, twin in seen), seen


@pytest.mark.parametrize("cascade", ["background", "foreground", "orphan"])
def test_deleting_the_policy_hands_the_burst_back_to_the_base(
    kubectl: Kubectl, operator: OperatorProcess, real_server: None, namespace: str, cascade: str
) -> None:
    split(kubectl, namespace=namespace, replicas=3)
    kubectl.run("delete", "burstpolicy", "web", "-n", namespace, f"--cascade={cascade}", "--wait=false")
    seen: list[tuple[int | None, int | None]] = []

    def handed_back() -> bool:
        seen.append(counts(kubectl, namespace=namespace))
        return seen[-1] == (3, None) and kubectl.get("burstpolicy", "web", namespace=namespace) is None

    eventually(handed_back, message=f"--cascade={cascade}: base 3, the twin and the policy gone")
    assert all((base or 0) + (twin or 0) >= 3 for base, twin in seen), seen
