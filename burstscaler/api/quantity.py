"""Kubernetes quantities ("500m", "2Gi", "1.5") and Go-style durations ("2h", "90s") as numbers.

Why not ``kubernetes.utils.parse_quantity``: ``api`` sits under ``core``, and ``core`` must not import
the Kubernetes client (import-linter checks that transitively). The grammar is small and fixed by the
Kubernetes API conventions, so it is spelled out here once.
"""

from __future__ import annotations

import decimal
import re

import pytimeparse

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": decimal.Decimal("1e-9"),
    "u": decimal.Decimal("1e-6"),
    "m": decimal.Decimal("1e-3"),
    "": decimal.Decimal(1),
    "k": decimal.Decimal("1e3"),
    "M": decimal.Decimal("1e6"),
    "G": decimal.Decimal("1e9"),
    "T": decimal.Decimal("1e12"),
    "P": decimal.Decimal("1e15"),
    "E": decimal.Decimal("1e18"),
}
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")

#: JSON-schema pattern of a non-negative plain decimal, as prices and budgets are written.
NON_NEGATIVE_DECIMAL_PATTERN = r"^\+?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$"
#: JSON-schema pattern of a non-negative Kubernetes quantity.
QUANTITY_PATTERN = r"^\+?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$"


def parse_quantity(value: str | int | float | decimal.Decimal) -> decimal.Decimal:
    """Return a Kubernetes quantity as an exact Decimal ("250m" -> 0.25, "1Gi" -> 1073741824).

    Raises ValueError with the offending text when the value is not a quantity.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a quantity")
    if isinstance(value, int | decimal.Decimal):
        return decimal.Decimal(value)
    if isinstance(value, float):
        return decimal.Decimal(repr(value))
    if not isinstance(value, str):
        raise ValueError(f"expected a quantity written as a string or a number, got {type(value).__name__} {value!r}")
    match = _QUANTITY.match(value.strip())
    if match is None:
        raise ValueError(f"{value!r} is not a Kubernetes quantity (examples: 50, 500m, 1.5, 2Gi)")
    number, suffix = match.group(1), match.group(2) or ""
    scale = _BINARY.get(suffix) or _DECIMAL[suffix]
    return decimal.Decimal(number) * decimal.Decimal(scale)


def parse_duration(value: str | int) -> int:
    """Return a duration in whole seconds from "90s", "2h", "1h30m" or a plain number of seconds.

    Raises ValueError naming the text when it is not a duration or is negative.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, int):
        seconds: float | None = value
    else:
        text = value.strip()
        seconds = int(text) if text.isdigit() else pytimeparse.parse(text)
    if seconds is None or seconds < 0:
        raise ValueError(f"{value!r} is not a duration (examples: 90s, 30m, 2h, 1h30m)")
    return int(seconds)
