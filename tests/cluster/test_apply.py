"""The order of calls that applies a policy's slice: create, refresh, burst down, base, burst up."""

from __future__ import annotations

from typing import Any

import pytest

from burstscaler.cluster import apply

TWIN = {"kind": "Deployment", "metadata": {"name": "web-burst", "namespace": "shop"}, "spec": {"replicas": 0}}


def targets(**changes: Any) -> apply.Targets:
    values: dict[str, Any] = {
        "kind": "Deployment",
        "namespace": "shop",
        "base_name": "web",
        "base_current": 4,
        "base_target": 4,
        "twin_name": "web-burst",
        "twin_current": 2,
        "twin_target": 2,
        "twin_body": TWIN,
    }
    values.update(changes)
    return apply.Targets(**values)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({}, [], id="steady"),
        pytest.param({"twin_current": None, "twin_target": 3}, ["create-twin web-burst to 3"], id="first-burst"),
        pytest.param({"twin_current": None, "twin_target": 0}, [], id="no-twin-needed"),
        pytest.param({"twin_stale": True}, ["refresh-twin web-burst"], id="rollout-reaches-burst"),
        pytest.param(
            {"base_target": 2, "twin_target": 0},
            ["scale-twin web-burst to 0", "scale-base web to 2"],
            id="scale-in-burst-first",
        ),
        pytest.param(
            {"base_target": 6, "twin_target": 5},
            ["scale-base web to 6", "scale-twin web-burst to 5"],
            id="growth",
        ),
        pytest.param(
            {"base_target": 6, "drain_record": "{}"},
            ["patch-base web to 6"],
            id="drain-back-starts-with-its-record",
        ),
        pytest.param(
            {"twin_target": 0, "drain_recorded": True, "drain_in_flight": False},
            ["scale-twin web-burst to 0", "patch-base web to 4"],
            id="drain-back-completes-burst-first-then-record-cleared",
        ),
        pytest.param(
            {"drain_recorded": True, "drain_in_flight": True},
            [],
            id="drain-back-waiting",
        ),
    ],
)
def test_actions_in_make_before_break_order(changes: dict[str, Any], expected: list[str]) -> None:
    assert [str(action) for action in apply.actions(targets(**changes))] == expected


class RecordingWorkloads:
    """A fake at the Kubernetes boundary: records calls, can be armed to fail."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(("create", body["metadata"]["name"], body["spec"]["replicas"]))
        return body

    def replace_template(self, body: dict[str, Any]) -> None:
        self.calls.append(("replace_template", body["metadata"]["name"]))

    def scale(self, kind: str, namespace: str, name: str, replicas: int) -> None:
        self.calls.append(("scale", name, replicas))

    def patch(self, kind: str, namespace: str, name: str, merge_patch: dict[str, Any]) -> None:
        self.calls.append(("patch", name, merge_patch))


def test_apply_makes_the_calls() -> None:
    fake = RecordingWorkloads()
    planned = apply.actions(targets(twin_current=None, twin_target=3, base_target=5, drain_record='{"moves": 1}'))
    apply.apply(planned, kind="Deployment", namespace="shop", workloads=fake)  # type: ignore[arg-type]
    assert fake.calls == [
        ("create", "web-burst", 3),
        (
            "patch",
            "web",
            {"spec": {"replicas": 5}, "metadata": {"annotations": {apply.DRAIN_ANNOTATION: '{"moves": 1}'}}},
        ),
    ]
