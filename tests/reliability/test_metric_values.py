"""How the Prometheus source reads values a load metric should never have (unit level, no server)."""

from __future__ import annotations

import pytest

from burstscaler.sources import prometheus


def series(value: str) -> list[dict[str, object]]:
    return [{"metric": {"app": "web"}, "value": [1_800_000_000, value]}]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        pytest.param("NaN", "InvalidValue", id="nan"),
        pytest.param("+Inf", "InvalidValue", id="inf"),
        pytest.param("-Inf", "InvalidValue", id="minus-inf"),
        pytest.param("1e300", None, id="huge-is-a-number-capped-by-maxReplicas"),
    ],
)
def test_values(value: str, reason: str | None) -> None:
    reading = prometheus.parse(series(value))
    assert (reading.failure.reason if reading.failure else None) == reason


def test_a_negative_value_is_garbage() -> None:
    # A negative load would scale the workload to minReplicas with metrics "available": garbage, not a reading.
    reading = prometheus.parse(series("-50"))
    assert reading.failure is not None and reading.failure.reason == "InvalidValue"
