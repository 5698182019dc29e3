"""Trace loading: columns, intervals, outages, spreading over the row, and clear errors."""

from __future__ import annotations

import math
import pathlib

import numpy as np
import pytest

from burstscaler.sim import errors, traces
from tests.sim import factories


@pytest.mark.parametrize(
    ("text", "options", "interval", "rates"),
    [
        pytest.param(
            "t,requests\n2024-01-01T00:00:00Z,60\n2024-01-01T00:01:00Z,120\n",
            {},
            60.0,
            [1.0, 2.0],
            id="iso-per-minute-spread-over-the-minute",
        ),
        pytest.param("i,n\n0,5\n1,10\n", {"interval": 1.0}, 1.0, [5.0, 10.0], id="index-with-interval"),
        pytest.param(
            "t,requests,server_down\n2024-01-01T00:00:00,60,0\n2024-01-01T00:01:00,0,1\n2024-01-01T00:02:00,30,0\n",
            {"skip_column": "server_down"},
            60.0,
            [1.0, math.nan, 0.5],
            id="outage-row-is-missing-not-zero",
        ),
        pytest.param(
            "t,requests\n2024-01-01T00:00:00,60\n2024-01-01T00:01:00,60\n2024-01-01T00:03:00,60\n",
            {},
            60.0,
            [1.0, 1.0, math.nan, 1.0],
            id="absent-slot-is-missing",
        ),
        pytest.param(
            "when,a,b\n2024-01-01T00:00:00,1,600\n2024-01-01T00:10:00,2,1200\n",
            {"time_column": "when", "value_column": "b"},
            600.0,
            [1.0, 2.0],
            id="chosen-columns",
        ),
        pytest.param("t,requests,note\n0,60,x\n1,,y\n", {"interval": 60.0}, 60.0, [1.0, math.nan], id="blank-value"),
    ],
)
def test_load_trace(
    tmp_path: pathlib.Path, text: str, options: dict[str, object], interval: float, rates: list[float]
) -> None:
    trace = traces.load_trace(factories.write_csv(tmp_path, text), **options)  # type: ignore[arg-type]
    assert trace.interval == interval
    np.testing.assert_allclose(trace.rates, rates, equal_nan=True)


@pytest.mark.parametrize(
    ("text", "options", "message"),
    [
        pytest.param(None, {}, "no such trace file", id="missing-file"),
        pytest.param("t,name\n0,a\n", {"interval": 1.0}, "no numeric column", id="no-numeric-column"),
        pytest.param("t,a,b\n0,1,2\n", {"interval": 1.0}, "several numeric columns", id="ambiguous-column"),
        pytest.param("t,n\n0,5\n1,-2\n", {"interval": 1.0}, "line 3: negative request rate", id="negative-rate"),
        pytest.param("t,n\n", {}, "empty", id="header-only"),
        pytest.param("", {}, "empty", id="empty-file"),
        pytest.param("t,n,down\n0,5,1\n", {"interval": 1.0, "skip_column": "down"}, "empty", id="all-outage"),
        pytest.param("t,n\n0,5\n", {}, "plain index", id="index-without-interval"),
        pytest.param("t,n\nyesterday,5\n", {}, "neither an ISO timestamp nor a number", id="bad-time"),
        pytest.param("t,n\n0,5\n", {"interval": 1.0, "value_column": "x"}, "no column 'x'", id="unknown-column"),
        pytest.param("t,n\n0,abc\n", {"interval": 1.0, "value_column": "n"}, "not a number", id="text-value"),
        pytest.param("t,n\n0,1\n0,2\n", {"interval": 1.0}, "same time", id="duplicate-time"),
    ],
)
def test_bad_trace(tmp_path: pathlib.Path, text: str | None, options: dict[str, object], message: str) -> None:
    path = tmp_path / "absent.csv" if text is None else factories.write_csv(tmp_path, text)
    with pytest.raises(errors.TraceError, match=message) as raised:
        traces.load_trace(path, **options)  # type: ignore[arg-type]
    assert str(path) in str(raised.value)


@pytest.mark.parametrize(
    ("rates", "interval", "step", "expected", "observed"),
    [
        pytest.param([1.0, 2.0], 60.0, 30.0, [1.0, 1.0, 2.0, 2.0], [True] * 4, id="minute-into-half-minutes"),
        pytest.param([1.0, 3.0], 60.0, 120.0, [2.0], [True], id="minutes-averaged"),
        pytest.param([1.0, math.nan, 3.0], 60.0, 60.0, [1.0, math.nan, 3.0], [True, False, True], id="gap-kept"),
        pytest.param([2.0, math.nan], 60.0, 120.0, [2.0], [True], id="half-covered-step-is-observed"),
    ],
)
def test_resample(
    rates: list[float], interval: float, step: float, expected: list[float], observed: list[bool]
) -> None:
    trace = traces.Trace(name="t", interval=interval, start=0.0, rates=np.array(rates))
    load = traces.resample(trace, step=step)
    np.testing.assert_allclose(load.rates, expected, equal_nan=True)
    assert load.observed.tolist() == observed


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        pytest.param("60s", 60.0, id="seconds"),
        pytest.param("1m", 60.0, id="minutes"),
        pytest.param("1h", 3600.0, id="hour"),
    ],
)
def test_parse_interval(text: str, seconds: float) -> None:
    assert traces.parse_interval(text) == seconds


@pytest.mark.parametrize("text", [pytest.param("soon", id="words"), pytest.param("0s", id="zero")])
def test_parse_interval_rejects(text: str) -> None:
    with pytest.raises(errors.TraceError, match="--interval"):
        traces.parse_interval(text)


@pytest.mark.skipif(not factories.NASA.is_file(), reason="../shared/data/traces is absent (not in a user's checkout)")
def test_nasa_trace_loads() -> None:
    trace = traces.load_trace(factories.NASA, value_column="requests", skip_column="server_down")
    assert trace.interval == 60.0
    assert trace.rates.size == 39693
    assert np.nanmax(trace.rates) == pytest.approx(405 / 60)
