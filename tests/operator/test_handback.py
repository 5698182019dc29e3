"""Deleting a policy hands the twin's replicas back to the base, and touches only the policy's own twin.

The Kubernetes API is faked at its boundary (``cluster.kube.Workloads``): a record of workloads and of
the calls made on them.
"""

from __future__ import annotations

import copy
from typing import Any

import kopf
import pytest

from burstscaler.operator import handlers

UID = "policy-uid"


class FakeWorkloads:
    """Workloads by name in one namespace; records every write."""

    def __init__(self, *bodies: dict[str, Any]) -> None:
        self.objects = {body["metadata"]["name"]: copy.deepcopy(body) for body in bodies}
        self.calls: list[tuple[str, ...]] = []

    def read(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.objects.get(name))

    def scale(self, kind: str, namespace: str, name: str, replicas: int) -> None:
        self.calls.append(("scale", name, str(replicas)))
        self.objects[name]["spec"]["replicas"] = replicas

    def patch(self, kind: str, namespace: str, name: str, merge_patch: dict[str, Any]) -> None:
        self.calls.append(("patch", name, str(merge_patch)))
        annotations = merge_patch.get("metadata", {}).get("annotations", {})
        self.objects[name]["metadata"].setdefault("annotations", {}).update(annotations)

    def orphan(self, kind: str, namespace: str, name: str, *, why: str) -> None:
        self.calls.append(("orphan", name, why))


def workload(
    name: str, *, replicas: int, ready: int = 0, owner: str | None = None, **annotations: str
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": "shop", "annotations": dict(annotations)}
    if owner is not None:
        metadata["ownerReferences"] = [{"kind": "BurstPolicy", "name": "web", "uid": owner, "controller": True}]
    return {"metadata": metadata, "spec": {"replicas": replicas}, "status": {"readyReplicas": ready}}


def hand_back(fake: FakeWorkloads, *, waited: float = 0.0) -> None:
    handlers._hand_back(
        fake,  # type: ignore[arg-type]
        kind="Deployment",
        namespace="shop",
        base_name="web",
        policy_uid=UID,
        waited=waited,
        timeout=300,
    )


@pytest.mark.parametrize(
    "owner",
    [pytest.param(None, id="no-owner"), pytest.param("someone-else", id="another-policy")],
)
def test_a_twin_the_policy_does_not_own_is_left_as_it_is(owner: str | None) -> None:
    fake = FakeWorkloads(workload("web", replicas=2, ready=2), workload("web-burst", replicas=5, owner=owner))
    hand_back(fake)
    assert fake.calls == []


def test_without_a_base_the_twin_is_left_to_the_garbage_collector() -> None:
    fake = FakeWorkloads(workload("web-burst", replicas=5, owner=UID))
    hand_back(fake)
    assert fake.calls == [], "nothing deleted by the operator: the owner reference removes the twin"


def test_the_base_takes_over_then_the_twin_goes_to_zero() -> None:
    fake = FakeWorkloads(workload("web", replicas=2, ready=7), workload("web-burst", replicas=5, owner=UID))
    hand_back(fake)
    assert [call[:2] for call in fake.calls] == [("patch", "web-burst"), ("scale", "web"), ("scale", "web-burst")]
    assert fake.objects["web"]["spec"]["replicas"] == 7 and fake.objects["web-burst"]["spec"]["replicas"] == 0


@pytest.mark.parametrize("garbage", [pytest.param("abc", id="text"), pytest.param("-3", id="negative")])
def test_a_garbage_handback_annotation_is_recomputed_not_raised(garbage: str) -> None:
    twin = workload("web-burst", replicas=5, owner=UID, **{handlers.HANDBACK_ANNOTATION: garbage})
    fake = FakeWorkloads(workload("web", replicas=2, ready=1), twin)
    with pytest.raises(kopf.TemporaryError, match="waiting for 7 Ready replicas"):
        hand_back(fake)  # waiting for the base's pods, as with no annotation: never a crash
    assert fake.objects["web-burst"]["metadata"]["annotations"][handlers.HANDBACK_ANNOTATION] == "7"
    assert fake.objects["web"]["spec"]["replicas"] == 7
