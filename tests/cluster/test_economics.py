"""The bridge's economics per policy: pool growth from the spec or the flag, ECS prices (whose, unknown),
delays, placeholders counted from their pods, the end of the schedule window raising the floor."""

from __future__ import annotations

import datetime
import decimal
import math
from typing import Any

import pytest

from burstscaler.api import spec as api
from burstscaler.cluster import economics, objects
from burstscaler.core import snapshot

NOW = datetime.datetime(2026, 12, 2, 9, 30, tzinfo=datetime.UTC).timestamp()
ONE_REPLICA = {"cpu": 2000.0, "memory": 4.0 * 2**30, "pods": 1.0}  # 2 vCPU, 4 GiB
D = decimal.Decimal


def policy(**spec: Any) -> api.BurstPolicySpec:
    values: dict[str, Any] = {"targetRef": {"name": "web"}, "minReplicas": 1, "maxReplicas": 50}
    values.update(spec)
    return api.BurstPolicySpec.model_validate(values)


def pod(name: str, *, node: str = "", phase: str = "Pending", deleting: bool = False) -> objects.PodRecord:
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": "shop",
        "labels": {"burstscaler.io/placeholder-for": "web", "pod-template-hash": "abc"},
        "ownerReferences": [{"kind": "ReplicaSet", "name": "web-placeholder-abc", "controller": True}],
    }
    if deleting:
        metadata["deletionTimestamp"] = "2026-12-02T09:29:00Z"
    return objects.pod_record({"metadata": metadata, "spec": {"nodeName": node}, "status": {"phase": phase}})


def build(*rows: economics.PolicyInputs, defaults: economics.Defaults | None = None) -> snapshot.Economics:
    return economics.build(list(rows), defaults=defaults or economics.Defaults(), now=NOW)


def row(spec: api.BurstPolicySpec, **kwargs: Any) -> economics.PolicyInputs:
    return economics.PolicyInputs(spec=spec, requests=ONE_REPLICA, **kwargs)


@pytest.mark.parametrize(
    ("bridge", "flag", "allowed", "growable"),
    [
        pytest.param({}, False, True, False, id="default-off"),
        pytest.param({}, True, True, True, id="flag-on"),
        pytest.param({"enabled": True}, False, True, True, id="spec-on-wins-over-flag-off"),
        pytest.param({"enabled": False}, True, True, False, id="spec-off-wins-over-flag-on"),
        pytest.param({"enabled": True}, True, False, False, id="placeholder-name-taken"),
    ],
)
def test_pool_growth_from_the_spec_else_the_flag(
    bridge: dict[str, Any], flag: bool, allowed: bool, growable: bool
) -> None:
    found = build(
        row(policy(bridge=bridge), placeholders_allowed=allowed), defaults=economics.Defaults(node_growth=flag)
    )
    assert found.pool_growable.tolist() == [growable]


@pytest.mark.parametrize(
    ("pricing", "defaults", "per_hour"),
    [
        pytest.param({}, economics.Defaults(), math.nan, id="unknown"),
        pytest.param({"ecsPerVCPUHour": "0.03", "ecsPerGiBHour": "0.004"}, economics.Defaults(), 0.076, id="policy"),
        pytest.param({"ecsPerVCPUHour": "0.05"}, economics.Defaults(), 0.1, id="one-price-is-the-whole-price"),
        pytest.param(
            {},
            economics.Defaults(ecs_per_vcpu_hour=D("0.02"), ecs_per_gib_hour=D("0.001")),
            0.044,
            id="operator-flags",
        ),
        pytest.param(
            {"ecsPerVCPUHour": "0.0001"},
            economics.Defaults(ecs_per_vcpu_hour=D("0.02")),
            0.04,
            id="operator-wins-unless-policy-prices-allowed",
        ),
        pytest.param(
            {"ecsPerVCPUHour": "0.01"},
            economics.Defaults(ecs_per_vcpu_hour=D("0.02"), allow_policy_prices=True),
            0.02,
            id="policy-wins-when-allowed",
        ),
    ],
)
def test_ecs_cost_of_one_replica(pricing: dict[str, Any], defaults: economics.Defaults, per_hour: float) -> None:
    found = float(build(row(policy(pricing=pricing)), defaults=defaults).ecs_cost_per_second[0])
    if math.isnan(per_hour):
        assert math.isnan(found)
    else:
        assert found == pytest.approx(per_hour / 3600.0)


def test_delays_savings_and_cap_from_the_spec() -> None:
    spec = policy(
        bridge={"nodeBootSeconds": 90, "scaleDownDelaySeconds": 300, "maxPlaceholders": 4},
        drainBack={"podStartupSeconds": 20, "minSavings": "0.002"},
    )
    found = build(row(spec), row(policy()))
    assert found.node_boot_seconds.tolist() == [90.0, 180.0]
    assert found.scale_down_delay_seconds.tolist() == [300.0, 600.0]
    assert found.pod_startup_seconds.tolist() == [20.0, 60.0]
    assert found.min_savings[0] == pytest.approx(0.002) and math.isnan(found.min_savings[1])
    assert found.max_placeholders.tolist() == [4, snapshot.UNLIMITED]


def test_placeholders_are_counted_from_their_pods() -> None:
    pods = [
        pod("a"),
        pod("b", node="ecs-new", phase="Running"),
        pod("c", node="ecs-new", phase="Running"),
        pod("d", node="ecs-new", phase="Running", deleting=True),  # preempted: going, holds nothing for us
        pod("e", node="ecs-new", phase="Failed"),
    ]
    found = build(row(policy(), placeholder_pods=pods), row(policy()))
    assert found.placeholders.tolist() == [3, 0]
    assert found.placeholders_bound.tolist() == [2, 0]


@pytest.mark.parametrize(
    ("schedules", "end"),
    [
        pytest.param([], None, id="none"),
        pytest.param([{"cron": "0 9 * * *", "duration": "2h", "minReplicas": 10}], "11:00", id="active"),
        pytest.param([{"cron": "0 7 * * *", "duration": "1h", "minReplicas": 10}], None, id="closed"),
        pytest.param(
            [
                {"cron": "0 9 * * *", "duration": "1h", "minReplicas": 20},
                {"cron": "0 8 * * *", "duration": "6h", "minReplicas": 5},
            ],
            "10:00",
            id="the-window-raising-the-floor",
        ),
        pytest.param(
            [{"cron": "0 17 * * *", "duration": "2h", "minReplicas": 10, "timezone": "Asia/Shanghai"}],
            "11:00",
            id="in-its-own-time-zone",
        ),
    ],
)
def test_window_end(schedules: list[dict[str, Any]], end: str | None) -> None:
    found = float(build(row(policy(schedules=schedules))).window_ends[0])
    if end is None:
        assert math.isnan(found)
    else:
        hour, minute = map(int, end.split(":"))
        assert found == datetime.datetime(2026, 12, 2, hour, minute, tzinfo=datetime.UTC).timestamp()


def test_no_policies_is_an_empty_row_set() -> None:
    assert len(build().pool_growable) == 0


def test_a_negative_operator_price_is_refused_with_its_name() -> None:
    with pytest.raises(ValueError, match="ecs_per_gib_hour"):
        economics.Defaults(ecs_per_gib_hour=D("-1"))


def node(name: str, *, virtual: bool = False, **labels: str) -> objects.NodeRecord:
    return objects.NodeRecord(
        name=name, allocatable={"cpu": 4000.0}, labels=labels, taints=(), unschedulable=False, virtual=virtual
    )


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        pytest.param((), None, id="none-configured-none-known"),
        pytest.param((("pool", "subscription"),), [True, False, True], id="by-label"),
        pytest.param((("pool", "subscription"), ("pool", "reserved")), [True, True, True], id="any-label"),
        pytest.param((("pool", "other"),), [False, False, True], id="virtual-counts-as-paid"),
    ],
)
def test_paid_nodes_by_label(labels: tuple[tuple[str, str], ...], expected: list[bool] | None) -> None:
    records = [node("a", pool="subscription"), node("b", pool="reserved"), node("vk", virtual=True)]
    paid = economics.paid_nodes(["a", "b", "vk"], records, defaults=economics.Defaults(paid_node_labels=labels))
    assert (None if paid is None else paid.tolist()) == expected
