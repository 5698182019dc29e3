"""Deleting a policy hands the twin's replicas back to the base, and touches only the policy's own twin:
owned by the policy, or left by it (the collector dropped the policy's reference in a Foreground or Orphan
deletion; the policy-UID label and the base's reference remain). Once handed back, the twin is left to the
policy alone so it goes with it.

The Kubernetes API is faked at its boundary (``cluster.kube.Workloads``): a record of workloads and of
the calls made on them.
"""

from __future__ import annotations

import copy
from typing import Any

import kopf
import pytest

from burstscaler.cluster import twin
from burstscaler.operator import handlers, planner

UID = "policy-uid"
BASE_UID = "base-uid"
POLICY_REF = {
    "apiVersion": "burstscaler.io/v1alpha1",
    "kind": "BurstPolicy",
    "name": "web",
    "uid": UID,
    "controller": True,
    "blockOwnerDeletion": True,
}
BASE_REF = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": BASE_UID, "controller": False}


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
        metadata = merge_patch.get("metadata", {})
        self.objects[name]["metadata"].setdefault("annotations", {}).update(metadata.get("annotations", {}))
        if "ownerReferences" in metadata:  # a merge patch replaces a list whole
            self.objects[name]["metadata"]["ownerReferences"] = copy.deepcopy(metadata["ownerReferences"])

    def orphan(self, kind: str, namespace: str, name: str, *, why: str) -> None:
        self.calls.append(("orphan", name, why))


def workload(
    name: str,
    *,
    replicas: int,
    ready: int = 0,
    owner: str | None = None,
    references: list[dict[str, Any]] | None = None,
    labels: dict[str, str] | None = None,
    **annotations: str,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": "shop", "annotations": dict(annotations)}
    metadata["uid"] = BASE_UID if name == "web" else f"{name}-uid"
    if owner is not None:
        metadata["ownerReferences"] = [{**POLICY_REF, "uid": owner}]
    if references is not None:
        metadata["ownerReferences"] = copy.deepcopy(references)
    if labels is not None:
        metadata["labels"] = dict(labels)
    return {"metadata": metadata, "spec": {"replicas": replicas}, "status": {"readyReplicas": ready}}


def left_twin(
    *, labels: dict[str, str] | None = None, references: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A twin after a Foreground or Orphan deletion of its policy: only the base's reference remains."""
    return workload(
        "web-burst",
        replicas=5,
        references=[BASE_REF] if references is None else references,
        labels={twin.TIER_LABEL: "burst", twin.POLICY_UID_LABEL: UID} if labels is None else labels,
    )


def hand_back(fake: FakeWorkloads, *, waited: float = 0.0) -> str | None:
    return handlers._hand_back(
        fake,  # type: ignore[arg-type]
        kind="Deployment",
        namespace="shop",
        base_name="web",
        policy_name="web",
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


@pytest.mark.parametrize(
    ("twin_body", "patches"),
    [
        pytest.param(workload("web-burst", replicas=5, owner=UID), 1, id="owned-by-the-policy-alone"),
        pytest.param(workload("web-burst", replicas=5, references=[POLICY_REF, BASE_REF]), 2, id="owned-with-the-base"),
        pytest.param(left_twin(), 2, id="left-by-foreground-or-orphan"),
    ],
)
def test_the_base_takes_over_then_the_twin_goes_to_zero_and_to_its_policy(
    twin_body: dict[str, Any], patches: int
) -> None:
    fake = FakeWorkloads(workload("web", replicas=2, ready=7), twin_body)
    assert hand_back(fake) is None
    expected = [("patch", "web-burst"), ("scale", "web"), ("scale", "web-burst")]
    assert [call[:2] for call in fake.calls] == expected + [("patch", "web-burst")] * (patches - 1)
    assert fake.objects["web"]["spec"]["replicas"] == 7 and fake.objects["web-burst"]["spec"]["replicas"] == 0
    assert fake.objects["web-burst"]["metadata"]["ownerReferences"] == [POLICY_REF], "it goes with the policy"


def test_a_left_twin_waits_for_the_base_like_an_owned_one() -> None:
    fake = FakeWorkloads(workload("web", replicas=2, ready=2), left_twin())
    with pytest.raises(kopf.TemporaryError, match="waiting for 7 Ready replicas"):
        hand_back(fake)
    assert fake.objects["web"]["spec"]["replicas"] == 7 and fake.objects["web-burst"]["spec"]["replicas"] == 5
    assert fake.objects["web-burst"]["metadata"]["ownerReferences"] == [BASE_REF], "kept alive by the base"


@pytest.mark.parametrize(
    "stranger",
    [
        pytest.param(left_twin(labels={twin.TIER_LABEL: "burst"}), id="no-uid-label"),
        pytest.param(left_twin(labels={twin.TIER_LABEL: "burst", twin.POLICY_UID_LABEL: "other"}), id="other-uid"),
        pytest.param(left_twin(labels={twin.POLICY_UID_LABEL: UID}), id="no-tier-label"),
        pytest.param(left_twin(references=[]), id="no-base-reference"),
        pytest.param(
            left_twin(references=[BASE_REF, {**BASE_REF, "kind": "Thing", "uid": "x", "controller": True}]),
            id="someone-else-controls-it",
        ),
    ],
)
def test_a_lookalike_of_a_left_twin_is_never_taken(stranger: dict[str, Any]) -> None:
    fake = FakeWorkloads(workload("web", replicas=2, ready=7), stranger)
    hand_back(fake)
    assert fake.calls == []


def test_a_base_not_ready_in_time_orphans_the_running_twin_and_says_so() -> None:
    fake = FakeWorkloads(workload("web", replicas=2, ready=3), workload("web-burst", replicas=5, owner=UID))
    message = hand_back(fake, waited=301)
    assert fake.calls[-1][:2] == ("orphan", "web-burst") and "3/7 Ready" in fake.calls[-1][2]
    assert message is not None and "gave up" in message and "keeps its 5 replicas" in message
    assert fake.objects["web-burst"]["spec"]["replicas"] == 5, "serving capacity never dropped"


@pytest.mark.parametrize("garbage", [pytest.param("abc", id="text"), pytest.param("-3", id="negative")])
def test_a_garbage_handback_annotation_is_recomputed_not_raised(garbage: str) -> None:
    twin = workload("web-burst", replicas=5, owner=UID, **{handlers.HANDBACK_ANNOTATION: garbage})
    fake = FakeWorkloads(workload("web", replicas=2, ready=1), twin)
    with pytest.raises(kopf.TemporaryError, match="waiting for 7 Ready replicas"):
        hand_back(fake)  # waiting for the base's pods, as with no annotation: never a crash
    assert fake.objects["web-burst"]["metadata"]["annotations"][handlers.HANDBACK_ANNOTATION] == "7"
    assert fake.objects["web"]["spec"]["replicas"] == 7


def indexed(body: dict[str, Any]) -> planner.Workload:
    """A workload as the operator's index holds it."""
    metadata = body["metadata"]
    return planner.Workload(
        namespace="shop",
        kind="Deployment",
        name=metadata["name"],
        replicas=int(body["spec"]["replicas"]),
        ready=0,
        labels=dict(metadata.get("labels") or {}),
        annotations={},
        selector={},
        template={},
        body=body,
    )


@pytest.mark.parametrize(
    ("existing", "patched"),
    [
        pytest.param(lambda rendered: rendered, False, id="as-rendered"),
        pytest.param(
            lambda rendered: {**rendered, "metadata": {**rendered["metadata"], "ownerReferences": [POLICY_REF]}},
            True,
            id="made-before-issue-17",
        ),
        pytest.param(None, False, id="no-twin-yet"),
    ],
)
def test_the_tick_gives_an_existing_twin_its_two_owners(existing: Any, patched: bool) -> None:
    policy = {"apiVersion": POLICY_REF["apiVersion"], "kind": "BurstPolicy", "metadata": {"name": "web", "uid": UID}}
    base = workload("web", replicas=2)
    base["spec"].update(selector={"matchLabels": {"app": "web"}}, template={"metadata": {"labels": {"app": "web"}}})
    rendered = twin.render(base, policy=policy, provider="generic", pod_template_patch={}, replicas=3)
    found = None if existing is None else indexed(existing(rendered))
    outcome = planner.Outcome(namespace="shop", name="web", generation=1, base=indexed(base), twin=found)
    owners = handlers._twin_owners(outcome, twin_body=rendered, policy=policy)
    if not patched:
        assert owners is None
        return
    assert owners is not None
    assert owners["metadata"]["ownerReferences"] == [POLICY_REF, {**BASE_REF, "blockOwnerDeletion": False}]
    assert owners["metadata"]["labels"] == {twin.POLICY_UID_LABEL: UID}
