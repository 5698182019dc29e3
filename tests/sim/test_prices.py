"""Price profiles: every figure sourced and dated, assumptions with their basis, overrides marked."""

from __future__ import annotations

import pathlib

import pytest

from burstscaler.sim import errors, prices


@pytest.mark.parametrize("name", [pytest.param(name, id=name) for name in prices.BUILTIN])
def test_builtin_profiles_source_and_date_every_figure(name: str) -> None:
    profile = prices.load(name)
    for key, value in profile.as_dict().items():
        if isinstance(value, dict) and "value" in value:
            assert value["source"] and value["date"], key
            assert value["grade"] != "assumption" or value["basis"], key


def test_subscription_is_cheaper_than_pay_as_you_go_in_both_profiles() -> None:
    for name in prices.BUILTIN:
        profile = prices.load(name)
        assert profile.ecs_node_subscription_per_hour.value < profile.ecs_node_payg_per_hour.value


def test_eci_price_of_an_effective_spec() -> None:
    profile = prices.load("alibaba-intl")
    assert profile.eci_per_second(vcpu=2, memory_gib=4) == pytest.approx(2 * 0.0000077 + 4 * 0.00000096)
    half = profile.with_value("eci_discount", 0.5)
    assert half.eci_per_second(vcpu=2, memory_gib=4) == pytest.approx(profile.eci_per_second(vcpu=2, memory_gib=4) / 2)


def test_node_price_override_keeps_the_pay_as_you_go_ratio_and_says_so() -> None:
    profile = prices.load("alibaba-intl")
    ratio = profile.ecs_node_payg_per_hour.value / profile.ecs_node_subscription_per_hour.value
    changed = profile.with_value("node_price", 0.2)
    assert changed.ecs_node_subscription_per_hour.value == 0.2
    assert changed.ecs_node_payg_per_hour.value == pytest.approx(0.2 * ratio)
    assert changed.ecs_node_subscription_per_hour.grade == "override"


_GOOD = """
currency: EUR
node: {vcpu: 4, memory_gib: 16}
eci_per_vcpu_second: {value: 0.00001, source: s, date: d}
eci_per_gib_second: {value: 0.000001, source: s, date: d}
eci_spot_discount_min: {value: 0.3, source: s, date: d}
eci_spot_discount_max: {value: 0.9, source: s, date: d}
ecs_node_payg_per_hour: {value: 0.3, source: s, date: d}
ecs_node_subscription_per_hour: {value: 0.1, source: s, date: d, grade: assumption, basis: b}
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(_GOOD, None, id="good"),
        pytest.param(_GOOD.replace(", date: d}", "}", 1), "needs value, source and date", id="undated"),
        pytest.param(_GOOD.replace(", basis: b", ""), "must state its basis", id="assumption-without-basis"),
        pytest.param(_GOOD.replace("value: 0.3,", "value: -1,", 1), "non-negative", id="negative"),
        pytest.param(_GOOD.replace("currency: EUR\n", ""), "currency", id="no-currency"),
        pytest.param("[1, 2]", "a mapping", id="not-a-mapping"),
    ],
)
def test_profile_files(tmp_path: pathlib.Path, text: str, message: str | None) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    if message is None:
        assert prices.load(str(path)).currency == "EUR"
    else:
        with pytest.raises(errors.SettingsError, match=message):
            prices.load(str(path))


def test_unknown_profile_names_the_builtins() -> None:
    with pytest.raises(errors.SettingsError, match="alibaba-intl"):
        prices.load("no-such-profile")
