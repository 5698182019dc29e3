"""Defaults and parsing of the BurstPolicy models."""

from __future__ import annotations

import decimal

import pytest

from burstscaler.api import quantity, spec
from tests.api.factories import make_policy


def _spec(**fields: object) -> spec.BurstPolicySpec:
    return spec.BurstPolicy.model_validate(make_policy(**fields)).spec


def test_pricing_defaults_are_alibaba_international_list_prices() -> None:
    pricing = _spec().pricing
    assert pricing.currency == "USD"
    assert pricing.eci_per_vcpu_second == decimal.Decimal("0.0000077")
    assert pricing.eci_per_gib_second == decimal.Decimal("0.00000096")
    assert pricing.ecs_per_vcpu_hour is None


def test_hpa_behavior_defaults() -> None:
    behavior = _spec().behavior
    up, down = behavior.effective_scale_up, behavior.effective_scale_down
    assert up.stabilization_window_seconds == 0
    assert [(p.type, p.value, p.period_seconds) for p in up.policies or []] == [("Pods", 4, 15), ("Percent", 100, 15)]
    assert up.select_policy == "Max"
    assert down.stabilization_window_seconds == 300
    assert [(p.type, p.value, p.period_seconds) for p in down.policies or []] == [("Percent", 100, 15)]


def test_partial_behavior_keeps_the_other_defaults() -> None:
    down = _spec(behavior={"scaleDown": {"stabilizationWindowSeconds": 60}}).behavior.effective_scale_down
    assert down.stabilization_window_seconds == 60
    assert down.policies is not None and down.policies[0].type == "Percent"


def test_other_defaults() -> None:
    model = _spec()
    assert (model.min_replicas, model.priority, model.paused, model.dry_run) == (1, 0, False, False)
    assert model.burst.provider == "alibaba-eci" and model.burst.enabled
    assert (model.drain_back.min_burst_seconds, model.drain_back.stabilization_seconds) == (120, 60)
    assert model.drain_back.max_moves_per_tick == 10
    assert (model.fallback.on_metrics_failure, model.fallback.failure_threshold) == ("hold", 3)
    assert (model.pending_pods.enabled, model.pending_pods.grace_seconds) == (True, 15)


def test_wire_form_round_trips() -> None:
    model = _spec(
        burst={"budget": {"maxCostPerHour": "20"}},
        schedules=[{"cron": "0 9 * * 1-5", "duration": "2h", "minReplicas": 4}],
    )
    wire = model.to_wire()
    assert wire["burst"]["budget"] == {"maxCostPerHour": "20"}
    assert wire["pricing"]["eciPerVCPUSecond"] == "0.0000077"
    assert spec.BurstPolicySpec.model_validate(wire) == model


def test_schedule_helpers() -> None:
    window = _spec(
        schedules=[{"cron": "0 9 * * 1-5", "duration": "1h30m", "minReplicas": 4, "timezone": "Asia/Shanghai"}]
    ).schedules[0]
    assert window.duration_seconds == 5400
    assert str(window.zone) == "Asia/Shanghai"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("500m", decimal.Decimal("0.5"), id="milli"),
        pytest.param("2Gi", decimal.Decimal(2**31), id="gibi"),
        pytest.param("1.5", decimal.Decimal("1.5"), id="plain"),
        pytest.param("1k", decimal.Decimal(1000), id="kilo"),
        pytest.param("1e3", decimal.Decimal(1000), id="exponent"),
        pytest.param(7, decimal.Decimal(7), id="int"),
    ],
)
def test_parse_quantity(text: str | int, expected: decimal.Decimal) -> None:
    assert quantity.parse_quantity(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "1.2.3", "5 Gi", "1Zi"])
def test_parse_quantity_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not a Kubernetes quantity"):
        quantity.parse_quantity(text)


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("2h", 7200), ("1h30m", 5400), ("45", 45), (30, 30)])
def test_parse_duration(text: str | int, seconds: int) -> None:
    assert quantity.parse_duration(text) == seconds


def test_a_full_routing_patch_is_accepted_and_renders_as_written() -> None:
    patch = {
        "metadata": {"labels": {"team": "a"}, "annotations": {"k8s.aliyun.com/eci-use-specs": "2-4Gi"}},
        "spec": {
            "nodeSelector": {"zone": "b"},
            "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoSchedule"}],
            "affinity": {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [{"matchExpressions": [{"key": "z", "operator": "In", "values": ["a"]}]}]
                    }
                },
                "podAntiAffinity": {
                    "preferredDuringSchedulingIgnoredDuringExecution": [
                        {"weight": 50, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname"}}
                    ]
                },
            },
            "topologySpreadConstraints": [
                {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {}}
            ],
        },
    }
    burst = spec.Burst.model_validate({"podTemplatePatch": patch})
    assert burst.pod_template_patch.as_template() == patch
