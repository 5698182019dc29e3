"""`burstscaler run --eci-spot-discount`: the operator's spot discount, which wins over a policy's as its ECI
prices do (issue 16 item 3)."""

from __future__ import annotations

import pytest
import typer
from typer import testing

from burstscaler import cli
from burstscaler.api import spec
from burstscaler.cli import run
from burstscaler.core import cost


def spend(discount: float) -> cost.SpendLimits:
    return run._spend_limits(
        vcpu="0.0000077",
        gib="0.00000096",
        spot_discount=discount,
        currency="USD",
        allow_policy_prices=False,
        namespace_cap=None,
        default_budget=None,
    )


@pytest.mark.parametrize("discount", [0.0, 0.3, 0.9])
def test_the_flag_sets_the_operators_spot_discount(discount: float) -> None:
    limits = spend(discount)
    assert limits.pricing.eci_spot_discount == discount
    assert limits.pricing_for(spec.Pricing(eci_spot_discount=0.95)).eci_spot_discount == discount


def test_a_discount_out_of_range_is_refused_naming_the_flag() -> None:
    result = testing.CliRunner().invoke(cli.app, ["run", "--eci-spot-discount", "1.5"])
    assert result.exit_code == 2
    assert "--eci-spot-discount" in result.output


def test_the_helper_refuses_what_the_api_refuses() -> None:
    with pytest.raises(typer.Exit):
        spend(1.0)
