"""The twin's two owners (its policy and its base) and the policy-UID label, and the tick that restores them.

Why two: Kubernetes' garbage collector never collects a dependent that has a live owner left, whatever
the propagation policy of the other owner's deletion, so a policy's deletion cannot take the twin's pods
before its finalizer has handed them back (issue 17 item 4).
"""

from __future__ import annotations

from typing import Any

import pytest

from burstscaler.cluster import apply, twin

POLICY = {"apiVersion": "burstscaler.io/v1alpha1", "kind": "BurstPolicy", "metadata": {"name": "web", "uid": "p-1"}}


def base(*, uid: str | None = "b-1", kind: str = "Deployment") -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "web", "namespace": "shop", "labels": {"app": "web"}}
    if uid is not None:
        metadata["uid"] = uid
    template = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "app", "image": "web:1"}]}}
    spec = {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": template}
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": metadata, "spec": spec}


def rendered(workload: dict[str, Any]) -> dict[str, Any]:
    return twin.render(workload, policy=POLICY, provider="alibaba-eci", pod_template_patch={}, replicas=3)


@pytest.mark.parametrize("kind", [pytest.param("Deployment", id="deployment"), pytest.param("StatefulSet", id="sts")])
def test_the_twin_is_owned_by_its_policy_and_its_base(kind: str) -> None:
    metadata = rendered(base(kind=kind))["metadata"]
    policy_ref, base_ref = metadata["ownerReferences"]
    assert (policy_ref["kind"], policy_ref["uid"], policy_ref["controller"]) == ("BurstPolicy", "p-1", True)
    assert (base_ref["kind"], base_ref["uid"], base_ref["name"]) == (kind, "b-1", "web")
    assert base_ref["controller"] is False and base_ref["blockOwnerDeletion"] is False, "never held, never controls"
    assert metadata["labels"][twin.POLICY_UID_LABEL] == "p-1"
    assert twin.owned_by(rendered(base()), uid="p-1")


def test_a_base_without_a_uid_adds_no_reference() -> None:
    assert [ref["kind"] for ref in rendered(base(uid=None))["metadata"]["ownerReferences"]] == ["BurstPolicy"]


def test_a_twin_the_collector_stripped_of_its_policy_is_left_by_that_policy_only() -> None:
    left = rendered(base())
    left["metadata"]["ownerReferences"] = left["metadata"]["ownerReferences"][1:]
    assert twin.left_by(left, uid="p-1", base_uid="b-1")
    assert not twin.left_by(left, uid="p-2", base_uid="b-1"), "another policy's"
    assert not twin.left_by(left, uid="p-1", base_uid="b-2"), "another base's"
    assert not twin.left_by(rendered(base()), uid="p-1", base_uid="b-1"), "still controlled: owned, not left"


@pytest.mark.parametrize(
    ("change", "current"),
    [
        pytest.param(lambda meta: None, True, id="as-rendered"),
        pytest.param(lambda meta: meta.update(ownerReferences=meta["ownerReferences"][:1]), False, id="pre-issue-17"),
        pytest.param(lambda meta: meta["labels"].pop(twin.POLICY_UID_LABEL), False, id="no-uid-label"),
    ],
)
def test_owners_current(change: Any, current: bool) -> None:
    existing = rendered(base())
    change(existing["metadata"])
    assert twin.owners_current(existing, policy=POLICY, base=base()) is current


def targets(**overrides: Any) -> apply.Targets:
    fields: dict[str, Any] = {
        "kind": "Deployment",
        "namespace": "shop",
        "base_name": "web",
        "base_current": 2,
        "base_target": 2,
        "twin_name": "web-burst",
        "twin_current": 3,
        "twin_target": 1,
        "twin_body": rendered(base()),
    }
    return apply.Targets(**{**fields, **overrides})


def test_a_twin_missing_its_owners_gets_them_before_any_scaling() -> None:
    owners = {"metadata": {"ownerReferences": rendered(base())["metadata"]["ownerReferences"]}}
    planned = apply.actions(targets(twin_owners=owners))
    assert [str(action) for action in planned] == ["own-twin web-burst", "scale-twin web-burst to 1"]
    assert planned[0].body == owners


@pytest.mark.parametrize(
    "overrides",
    [pytest.param({}, id="owners-current"), pytest.param({"twin_current": None, "twin_target": 0}, id="no-twin")],
)
def test_no_owner_patch_when_nothing_to_fix(overrides: dict[str, Any]) -> None:
    owners = None if not overrides else {"metadata": {}}
    assert all(action.verb != "own-twin" for action in apply.actions(targets(twin_owners=owners, **overrides)))
