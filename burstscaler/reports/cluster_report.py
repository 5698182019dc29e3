"""Rows of a cluster report (`burstscaler report`): pure functions from ``ClusterData`` to plain values.

Three levels share one set of column names so every renderer shows the same numbers: a row per
policy, a row per namespace (sums of its policies) and a total row per currency. Money counters carry
a ``currency`` label; a policy whose currency changed within the range gets one row per currency, and
its currency-less measures (vCPU/GiB-seconds, moves, replicas) sit on the first one only, so sums never
count them twice.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from burstscaler.reports import simulation, timerange
from burstscaler.reports.cluster_data import ClusterData, FloatArray, MoneyKey, PolicyKey, TimeRange

#: Additive measures, in display order, with a short label: summed into namespace and total rows.
SUMS: tuple[tuple[str, str], ...] = (
    ("burst_cost", "burst cost"),
    ("drain_back_savings", "drain-back savings"),
    ("burst_vcpu_seconds", "burst vCPU·s"),
    ("burst_gib_seconds", "burst GiB·s"),
    ("drain_back_moves", "drain-back moves"),
)
#: Per-policy replica measures (targets the operator set), with a short label; None when never sampled.
REPLICAS: tuple[tuple[str, str], ...] = (
    ("peak_base_replicas", "base peak"),
    ("mean_base_replicas", "base mean"),
    ("peak_burst_replicas", "burst peak"),
    ("mean_burst_replicas", "burst mean"),
    ("peak_desired_replicas", "desired peak"),
)
#: Money measures (in the row's currency).
MONEY = ("burst_cost", "drain_back_savings")


@dataclasses.dataclass(frozen=True)
class ClusterReport:
    """A report ready to render: the rows, and per-policy series for charts.

    ``series`` reuses the simulation's series shape for its downsampling and charts: ``demand`` carries
    the desired replicas, ``base_capacity``/``burst_capacity`` the base and burst target replicas, and
    ``cumulative_cost`` the policy's spend since ``window.start`` in ``currencies[label]``.
    """

    title: str
    source: str
    window: TimeRange
    policies: list[dict[str, Any]]
    namespaces: list[dict[str, Any]]
    totals: list[dict[str, Any]]
    series: Mapping[str, simulation.StrategySeries]
    currencies: Mapping[str, str]


def build(data: ClusterData) -> ClusterReport:
    """The report of ``data``: rows at every level and the chart series, in namespace/policy order."""
    policies = policy_rows(data)
    namespaces = namespace_rows(policies)
    return ClusterReport(
        title=f"{data.source}, {_describe(data.window)}",
        source=data.source,
        window=data.window,
        policies=policies,
        namespaces=namespaces,
        totals=total_rows(namespaces),
        series={label(key): _series(data, key) for key in sorted(data.policies)},
        currencies={label(key): _currencies(data, key)[0] for key in sorted(data.policies)},
    )


def label(key: PolicyKey) -> str:
    """``namespace/policy``, as ``--policy`` takes it."""
    return f"{key[0]}/{key[1]}"


def policy_rows(data: ClusterData) -> list[dict[str, Any]]:
    """A row per policy and currency: ``{"namespace", "policy", "currency", <SUMS>, <REPLICAS>}``."""
    out = []
    for key in sorted(data.policies):
        for index, currency in enumerate(_currencies(data, key)):
            money_key = (*key, currency)
            first = index == 0
            row: dict[str, Any] = {"namespace": key[0], "policy": key[1], "currency": currency}
            row["burst_cost"] = data.burst_cost.get(money_key, 0.0)
            row["drain_back_savings"] = data.drain_back_savings.get(money_key, 0.0)
            for name, values in (
                ("burst_vcpu_seconds", data.burst_vcpu_seconds),
                ("burst_gib_seconds", data.burst_gib_seconds),
                ("drain_back_moves", data.drain_back_moves),
            ):
                row[name] = values.get(key, 0.0) if first else 0.0
            row["peak_base_replicas"] = data.peak_base.get(key) if first else None
            row["mean_base_replicas"] = _mean(data.base.get(key)) if first else None
            row["peak_burst_replicas"] = data.peak_burst.get(key) if first else None
            row["mean_burst_replicas"] = _mean(data.burst.get(key)) if first else None
            row["peak_desired_replicas"] = data.peak_desired.get(key) if first else None
            out.append(_rounded(row))
    return out


def namespace_rows(policies: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A row per namespace and currency: ``{"namespace", "currency", "policies", <SUMS>}``."""
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    by_namespace: dict[str, list[Mapping[str, Any]]] = {}
    for row in policies:
        by_namespace.setdefault(row["namespace"], []).append(row)
    for namespace, rows in by_namespace.items():
        for currency, members in _by_currency(rows).items():
            groups[(namespace, currency)] = members
    return [
        {
            "namespace": namespace,
            "currency": currency,
            "policies": len({row["policy"] for row in members}),
            **_sums(members),
        }
        for (namespace, currency), members in sorted(groups.items())
    ]


def total_rows(namespaces: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A row per currency over every namespace: ``{"currency", "namespaces", "policies", <SUMS>}``."""
    rows = list(namespaces)
    return [
        {
            "currency": currency,
            "namespaces": len({row["namespace"] for row in members}),
            "policies": sum(int(row["policies"]) for row in members),
            **_sums(members),
        }
        for currency, members in sorted(_by_currency(rows).items())
    ]


def _by_currency(rows: list[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    # A policy that never burst has no money series, hence no currency ("" here): count it with the
    # group's currency when there is exactly one, rather than showing a row with a blank currency.
    named = sorted({row["currency"] for row in rows if row["currency"]})
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        currency = row["currency"] or (named[0] if len(named) == 1 else "")
        groups.setdefault(currency, []).append(row)
    return groups


def _sums(rows: list[Mapping[str, Any]]) -> dict[str, float]:
    return {name: round(sum(float(row[name]) for row in rows), 6) for name, _ in SUMS}


def _currencies(data: ClusterData, key: PolicyKey) -> list[str]:
    """The policy's currencies, the one it spent most in first; ``[""]`` when it has no money series."""
    spent: dict[str, float] = {}
    for money in (data.burst_cost, data.drain_back_savings):
        for (namespace, policy, currency), value in money.items():
            if (namespace, policy) == key:
                spent[currency] = spent.get(currency, 0.0) + value
    return sorted(spent, key=lambda currency: (-spent[currency], currency)) or [""]


def _series(data: ClusterData, key: PolicyKey) -> simulation.StrategySeries:
    size = data.seconds.size
    missing = np.full(size, np.nan)
    money_key: MoneyKey = (*key, _currencies(data, key)[0])
    return simulation.StrategySeries(
        seconds=data.seconds - data.window.start,
        demand=data.desired.get(key, missing),
        base_capacity=data.base.get(key, missing),
        burst_capacity=data.burst.get(key, missing),
        cumulative_cost=data.cumulative_cost.get(money_key, np.zeros(size)),
    )


def _mean(values: FloatArray | None) -> float | None:
    """The time-weighted mean over the grid points that have a sample; None when none has."""
    if values is None or not np.any(~np.isnan(values)):
        return None
    return float(np.nanmean(values))


def _rounded(row: dict[str, Any]) -> dict[str, Any]:
    return {
        key: round(value, 6) if isinstance(value, float) and math.isfinite(value) else value
        for key, value in row.items()
    }


def _describe(window: TimeRange) -> str:
    hours = window.span / 3600
    span = f"{hours:g}h" if hours < 72 else f"{hours / 24:.1f}d"
    return f"{timerange.iso(window.start)} to {timerange.iso(window.end)} ({span})"
