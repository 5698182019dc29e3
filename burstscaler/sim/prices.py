"""Price profiles: every price the simulator bills with, each with its source, date and grade.

A cost comparison stands or falls with its prices, so none is a bare constant: a profile (YAML, built in
under ``sim/profiles/`` or a user's file via ``--prices FILE``) holds, per figure, ``value``, ``source``,
``date`` (of the copy read) and ``grade`` (``official``, ``third-party`` or ``assumption``; an
assumption also states its ``basis``). The profile is printed with every result.

What is billed how (``../shared/data/prices/README.md``):
- ECI pay-as-you-go per vCPU-second and GiB-second, on the pod's *effective spec*
  (``burstscaler.core.ecispec``), optionally with a discount (spot or reserved; ``eci_discount``);
- ECS per node-hour, twice: a *fixed pool* is bought as subscription (its hourly equivalent), nodes a
  node autoscaler adds on demand are pay-as-you-go. Keeping the two apart is what decides whether ECS
  or ECI is cheaper for steady load.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import pathlib
from collections.abc import Mapping
from typing import Any

import yaml

from burstscaler.sim import errors

#: Built-in profiles, by name (files ``sim/profiles/<name>.yaml``).
BUILTIN = ("alibaba-intl", "alibaba-cn")
DEFAULT = "alibaba-intl"
_FIGURES = (
    "eci_per_vcpu_second",
    "eci_per_gib_second",
    "eci_spot_discount_min",
    "eci_spot_discount_max",
    "ecs_node_payg_per_hour",
    "ecs_node_subscription_per_hour",
)

_GRADES = ("official", "maintainer", "third-party", "assumption", "override")


@dataclasses.dataclass(frozen=True)
class Figure:
    """One price with where it comes from."""

    value: float
    source: str
    date: str
    grade: str
    basis: str = ""

    def as_dict(self) -> dict[str, Any]:
        """Plain data for printing."""
        values: dict[str, Any] = {"value": self.value, "source": self.source, "date": self.date, "grade": self.grade}
        if self.basis:
            values["basis"] = self.basis
        return values


#: A spot ECI's chance per hour of being released after its protection period. No vendor publishes
#: one, so it is an assumption, chosen on the pessimistic side; a profile file may state its own.
SPOT_RECLAIM_ASSUMED = Figure(
    0.02,
    "no published reclamation rate (Alibaba: released when the market price exceeds the bid or stock runs "
    "out, checked every 5 minutes after the protection period)",
    "2026-12-02",
    "assumption",
    "2% per hour after the protection period, ~14 releases per pod-month: pessimistic against AWS Spot "
    "Advisor's most common '<5% per month' interruption bucket. Sweep it with --sweep spot_reclaim=LO:HI:N.",
)


@dataclasses.dataclass(frozen=True)
class Profile:
    """A price profile for one provider and region, for nodes of ``node_vcpu`` / ``node_memory_gib``.

    ``eci_discount`` (0 by default) is taken off every ECI price: 0 is pay-as-you-go list, the spot
    range is ``eci_spot_discount_min`` to ``_max``.
    """

    name: str
    currency: str
    node_vcpu: float
    node_memory_gib: float
    eci_per_vcpu_second: Figure
    eci_per_gib_second: Figure
    eci_spot_discount_min: Figure
    eci_spot_discount_max: Figure
    ecs_node_payg_per_hour: Figure
    ecs_node_subscription_per_hour: Figure
    eci_spot_reclaim_per_hour: Figure = dataclasses.field(default_factory=lambda: SPOT_RECLAIM_ASSUMED)
    eci_discount: float = 0.0

    def eci_per_second(self, *, vcpu: float, memory_gib: float) -> float:
        """What an ECI of this effective spec costs per second, after ``eci_discount``."""
        list_price = vcpu * self.eci_per_vcpu_second.value + memory_gib * self.eci_per_gib_second.value
        return list_price * (1.0 - self.eci_discount)

    def with_value(self, parameter: str, value: float) -> Profile:
        """This profile with one parameter changed (for ``--sweep`` and overrides), marked ``override``.

        ``node_price`` sets the subscription price and scales pay-as-you-go with it (their ratio is
        kept); ``eci_discount`` sets the discount off ECI list prices.
        """
        if parameter == "eci_discount":
            if not 0 <= value < 1:
                raise errors.SettingsError(f"eci_discount must lie in [0, 1), not {value}")
            return dataclasses.replace(self, eci_discount=value)
        if parameter == "spot_reclaim":
            if not 0 <= value <= 1:
                raise errors.SettingsError(f"spot_reclaim must lie in [0, 1] (a per-hour probability), not {value}")
            figure = Figure(value, f"set by the user (was {self.eci_spot_reclaim_per_hour.value})", "", "override")
            return dataclasses.replace(self, eci_spot_reclaim_per_hour=figure)
        if parameter == "node_price":
            if value < 0:
                raise errors.SettingsError(f"node_price must not be negative, not {value}")
            old = self.ecs_node_subscription_per_hour.value
            ratio = self.ecs_node_payg_per_hour.value / old if old > 0 else 1.0
            note = f"set by the user (was {old}); pay-as-you-go kept at {ratio:.3g}x"
            return dataclasses.replace(
                self,
                ecs_node_subscription_per_hour=Figure(value, note, "", "override"),
                ecs_node_payg_per_hour=Figure(value * ratio, note, "", "override"),
            )
        raise errors.SettingsError(
            f"unknown price parameter {parameter!r}; choose node_price, eci_discount or spot_reclaim"
        )

    def as_dict(self) -> dict[str, Any]:
        """The profile as printed with results: every figure with its source."""
        return {
            "name": self.name,
            "currency": self.currency,
            "node": {"vcpu": self.node_vcpu, "memory_gib": self.node_memory_gib},
            "eci_discount": self.eci_discount,
            **{name: getattr(self, name).as_dict() for name in (*_FIGURES, "eci_spot_reclaim_per_hour")},
        }


def load(name_or_path: str) -> Profile:
    """A built-in profile by name, or a profile file; ``SettingsError`` says what is wrong."""
    if name_or_path in BUILTIN:
        text = importlib.resources.files("burstscaler.sim").joinpath(f"profiles/{name_or_path}.yaml").read_text()
        origin = name_or_path
    else:
        path = pathlib.Path(name_or_path)
        if not path.is_file():
            raise errors.SettingsError(
                f"--prices {name_or_path!r} is neither a built-in profile ({', '.join(BUILTIN)}) nor a file"
            )
        text, origin = path.read_text(encoding="utf-8"), str(path)
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise errors.SettingsError(f"{origin}: not YAML: {error}") from None
    return parse(document, origin=origin)


def parse(document: Any, *, origin: str) -> Profile:
    """A profile from its parsed YAML document; every figure must carry value, source and date."""
    if not isinstance(document, Mapping):
        raise errors.SettingsError(f"{origin}: a price profile is a mapping")
    node = document.get("node") or {}
    figures = {name: _figure(document.get(name), origin=origin, name=name) for name in _FIGURES}
    if document.get("eci_spot_reclaim_per_hour") is not None:
        reclaim = _figure(document["eci_spot_reclaim_per_hour"], origin=origin, name="eci_spot_reclaim_per_hour")
        if reclaim.value > 1:
            raise errors.SettingsError(f"{origin}: eci_spot_reclaim_per_hour is a probability, at most 1")
        figures["eci_spot_reclaim_per_hour"] = reclaim
    try:
        return Profile(
            name=str(document.get("name", origin)),
            currency=str(document["currency"]),
            node_vcpu=float(node["vcpu"]),
            node_memory_gib=float(node["memory_gib"]),
            **figures,  # type: ignore[arg-type]  # the six Figure fields, by name
        )
    except (KeyError, TypeError, ValueError) as error:
        raise errors.SettingsError(f"{origin}: missing or bad currency or node shape ({error})") from None


def _figure(value: Any, *, origin: str, name: str) -> Figure:
    if not isinstance(value, Mapping) or not {"value", "source", "date"} <= value.keys():
        raise errors.SettingsError(f"{origin}: {name} needs value, source and date")
    grade = str(value.get("grade", "official"))
    if grade not in _GRADES:
        raise errors.SettingsError(f"{origin}: {name}: grade {grade!r} is not one of {', '.join(_GRADES)}")
    if grade == "assumption" and not value.get("basis"):
        raise errors.SettingsError(f"{origin}: {name} is an assumption and must state its basis")
    number = value["value"]
    if not isinstance(number, int | float) or number < 0:
        raise errors.SettingsError(f"{origin}: {name}: value must be a non-negative number, not {number!r}")
    return Figure(float(number), str(value["source"]), str(value["date"]), grade, str(value.get("basis", "")))
