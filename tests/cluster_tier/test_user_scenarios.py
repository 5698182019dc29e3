"""What a user relies on, against a real cluster: the CRD, bad input, scaling, the twin, `kubectl get bp`.

Each test runs in its own namespace with the session's operator process. ECS room is whatever the
cluster has (kind's node, kwok's fake nodes), so the assertions hold for any room: the plan's
numbers as status reports them, the objects the operator wrote, never a count only one cluster gives.
A base pinned to a node pool no node has (``POOL_NOBODY_HAS``) has no ECS room anywhere: that is how a
test makes the operator burst on any cluster.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.operator_process import OperatorProcess

from .conftest import Kubectl, burst_policy, condition, deployment, eventually

pytestmark = pytest.mark.cluster

POOL_NOBODY_HAS = {"burstscaler.io/tier-test-pool": "absent"}


def replicas(kubectl: Kubectl, name: str, *, namespace: str) -> int | None:
    """spec.replicas of a Deployment, None when it does not exist."""
    found = kubectl.get("deployment", name, namespace=namespace)
    return None if found is None else int(found["spec"].get("replicas") or 0)


def policy_status(kubectl: Kubectl, name: str, *, namespace: str) -> dict[str, Any]:
    """The BurstPolicy's status (empty until the operator writes one)."""
    return (kubectl.get("burstpolicy", name, namespace=namespace) or {}).get("status") or {}


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        pytest.param({"minReplicas": 1, "maxReplicas": "many"}, "maxReplicas", id="wrong-type"),
        pytest.param({"minReplicas": 5, "maxReplicas": 2}, "minReplicas must not exceed maxReplicas", id="cel-rule"),
    ],
)
def test_the_crd_refuses_a_policy_the_schema_forbids(
    kubectl: Kubectl, crd: None, real_server: None, namespace: str, spec: dict[str, Any], words: str
) -> None:
    refused = kubectl.create(burst_policy("bad", namespace=namespace, target="web", **spec), check=False)
    assert refused.returncode != 0, "the API server accepted what the CRD's schema forbids"
    assert "Invalid value" in refused.stderr and words in refused.stderr
    assert kubectl.get("burstpolicy", "bad", namespace=namespace) is None


def test_a_policy_with_bad_input_gets_its_condition(
    kubectl: Kubectl, operator: OperatorProcess, namespace: str
) -> None:
    kubectl.create(deployment("web", namespace=namespace, replicas=1))
    window = {"cron": "0 9 * * 1-5", "duration": "2h", "minReplicas": 2, "timezone": "Mars/Olympus"}
    kubectl.create(
        burst_policy("web", namespace=namespace, target="web", minReplicas=1, maxReplicas=4, schedules=[window])
    )
    ready = eventually(
        lambda: (
            (found := condition(kubectl.get("burstpolicy", "web", namespace=namespace), "Ready"))
            and found["status"] == "False"
            and found
        ),
        message="Ready=False on a time zone that does not exist",
    )
    assert ready["reason"] == "InvalidSpec"
    assert "timezone" in ready["message"] and "Mars/Olympus" in ready["message"]
    assert replicas(kubectl, "web", namespace=namespace) == 1, "an invalid policy scales nothing"


def test_the_operator_scales_its_target(kubectl: Kubectl, operator: OperatorProcess, namespace: str) -> None:
    kubectl.create(deployment("web", namespace=namespace, replicas=1))
    kubectl.create(burst_policy("web", namespace=namespace, target="web", minReplicas=3, maxReplicas=6))
    found = eventually(
        lambda: (status := policy_status(kubectl, "web", namespace=namespace)).get("desiredReplicas") == 3 and status,
        message="the policy's status says 3 desired",
    )

    def applied() -> bool:
        base = replicas(kubectl, "web", namespace=namespace)
        twin = replicas(kubectl, "web-burst", namespace=namespace) or 0
        status = policy_status(kubectl, "web", namespace=namespace)
        return base == status.get("baseReplicas") and base + twin == 3

    eventually(applied, message=f"base + twin = 3 desired, as planned ({found})")


def test_the_twin_is_created_with_its_policys_owner_reference(
    kubectl: Kubectl, operator: OperatorProcess, namespace: str
) -> None:
    kubectl.create(deployment("web", namespace=namespace, replicas=1, nodeSelector=POOL_NOBODY_HAS))
    kubectl.create(burst_policy("web", namespace=namespace, target="web", minReplicas=3, maxReplicas=6))
    twin = eventually(
        lambda: (
            (found := kubectl.get("deployment", "web-burst", namespace=namespace))
            and int(found["spec"].get("replicas") or 0) >= 1
            and found
        ),
        message="a twin with replicas, since no ECS node has the base's pool",
    )
    policy = kubectl.get("burstpolicy", "web", namespace=namespace)
    assert policy is not None
    owners = twin["metadata"].get("ownerReferences") or []
    base = kubectl.get("deployment", "web", namespace=namespace)
    assert base is not None
    # The policy controls the twin; its base is a second owner, so no deletion of the policy collects it
    # before the hand-back (issue 17).
    assert [(o["kind"], o["name"], o["uid"], o.get("controller")) for o in owners] == [
        ("BurstPolicy", "web", policy["metadata"]["uid"], True),
        ("Deployment", "web", base["metadata"]["uid"], False),
    ]
    assert twin["spec"]["template"]["metadata"]["labels"].get("burstscaler.io/tier") == "burst"
    eventually(
        lambda: policy_status(kubectl, "web", namespace=namespace).get("burstReplicas") == twin["spec"]["replicas"],
        message="status.burstReplicas is the twin's",
    )


def test_kubectl_get_bp_shows_the_columns(kubectl: Kubectl, operator: OperatorProcess, namespace: str) -> None:
    kubectl.create(deployment("web", namespace=namespace, replicas=1))
    kubectl.create(burst_policy("web", namespace=namespace, target="web", minReplicas=3, maxReplicas=6))
    eventually(lambda: policy_status(kubectl, "web", namespace=namespace).get("desiredReplicas") == 3)
    lines = kubectl.run("get", "bp", "-n", namespace).stdout.splitlines()
    header, row = lines[0].split(), lines[1].split()
    assert header == ["NAME", "TARGET", "DESIRED", "BASE", "BURST", "BUDGET", "COST", "AGE"]
    assert row[:3] == ["web", "web", "3"]
    status = policy_status(kubectl, "web", namespace=namespace)
    assert row[3:5] == [str(status["baseReplicas"]), str(status["burstReplicas"])]
    wide = kubectl.run("get", "bp", "-n", namespace, "-o", "wide").stdout.splitlines()[0].split()
    assert "PLACEHOLDERS" in wide and "SPOT" in wide


def test_a_hostpath_template_is_refused_with_the_alternative(
    kubectl: Kubectl, operator: OperatorProcess, namespace: str
) -> None:
    volumes = [{"name": "logs", "hostPath": {"path": "/var/log"}}]
    kubectl.create(deployment("web", namespace=namespace, replicas=1, volumes=volumes, nodeSelector=POOL_NOBODY_HAS))
    kubectl.create(burst_policy("web", namespace=namespace, target="web", minReplicas=3, maxReplicas=6))
    refused = eventually(
        lambda: (
            (found := condition(kubectl.get("burstpolicy", "web", namespace=namespace), "EciCompatible"))
            and found["status"] == "False"
            and found
        ),
        message="EciCompatible=False for a hostPath volume",
    )
    assert refused["reason"] == "IncompatibleHostPath"
    assert "emptyDir" in refused["message"]
    assert kubectl.get("deployment", "web-burst", namespace=namespace) is None, "never burst"


def test_burst_pods_run_on_the_virtual_node(
    kubectl: Kubectl, operator: OperatorProcess, real_server: None, namespace: str
) -> None:
    kubectl.create(deployment("web", namespace=namespace, replicas=1, nodeSelector=POOL_NOBODY_HAS))
    kubectl.create(burst_policy("web", namespace=namespace, target="web", minReplicas=3, maxReplicas=6))
    eventually(
        lambda: (policy_status(kubectl, "web", namespace=namespace).get("readyBurst") or 0) >= 1,
        message="a Ready burst pod (kwok's virtual node, or the provider's)",
    )
    pods = kubectl.run("get", "pods", "-n", namespace, "-l", "burstscaler.io/tier=burst", "-o", "json").stdout
    assert '"nodeName"' in pods
    degraded = condition(kubectl.get("burstpolicy", "web", namespace=namespace), "BurstDegraded")
    assert degraded is not None and degraded["status"] == "False"
