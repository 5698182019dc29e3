"""forecast: the trend (Theil-Sen, clipped), the daily-seasonal term, too little history, the lead rule."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from burstscaler.api import spec
from burstscaler.core import forecast

NOW = 1_700_000_000.0
STEP = 15.0


def ramp(*, slope: float, start: float = 100.0, seconds: float = 600.0, step: float = STEP) -> forecast.Series:
    """A linear ramp ending at NOW: ``start`` at NOW - seconds, rising ``slope`` per second."""
    times = np.arange(NOW - seconds, NOW + step / 2, step)
    return forecast.Series.of(times, start + slope * (times - times[0]))


def make_spec(**fields: Any) -> spec.BurstPolicySpec:
    document: dict[str, Any] = {"targetRef": {"name": "web"}, "minReplicas": 1, "maxReplicas": 100}
    return spec.BurstPolicySpec.model_validate(document | fields)


@pytest.mark.parametrize(
    ("slope", "lead"),
    [
        pytest.param(1.0, 45.0, id="rising-45s"),
        pytest.param(0.2, 60.0, id="slow-rise-60s"),
        pytest.param(0.0, 45.0, id="flat"),
        pytest.param(-0.1, 45.0, id="falling"),
    ],
)
def test_a_line_is_extrapolated_exactly(slope: float, lead: float) -> None:
    series = ramp(slope=slope)
    now_value = series.values[-1]
    prediction = forecast.predict(series, now=NOW, lead=lead)
    assert prediction.model == "trend"
    assert prediction.value == pytest.approx(now_value + slope * lead)
    assert prediction.slope == pytest.approx(slope)


def test_outliers_do_not_move_the_trend() -> None:
    series = ramp(slope=0.5)
    values = series.values.copy()
    values[[-2, -5, -9]] = [5000.0, 0.0, 4000.0]  # a spike, a scrape read as zero, another spike
    noisy = forecast.Series.of(series.times, values)
    prediction = forecast.predict(noisy, now=NOW, lead=45.0)
    assert prediction.value == pytest.approx(series.values[-1] + 0.5 * 45.0, rel=0.02)


def test_noise_cannot_run_away() -> None:
    # One jump at the very end: the median ignores it and the clip bounds the rise by the window's range.
    rng = np.random.default_rng(0)
    times = np.arange(NOW - 180, NOW + 1, STEP)
    values = 100.0 + rng.normal(0, 2, times.size)
    prediction = forecast.predict(forecast.Series.of(times, values), now=NOW, lead=45.0)
    assert prediction.value is not None
    assert prediction.value - prediction.level <= values.max() - values.min()
    assert abs(prediction.value - 100.0) < 10.0


def test_the_rise_is_clipped_to_the_window_range() -> None:
    # A step at the end of the window: slope and rise never exceed what the window itself did.
    times = np.arange(NOW - 400, NOW + 1, STEP)
    values = np.where(times > NOW - 200, 200.0, 100.0)
    prediction = forecast.predict(forecast.Series.of(times, values), now=NOW, lead=100.0)
    assert prediction.value is not None
    assert 0 < prediction.value - prediction.level <= 100.0 + 1e-9


def test_never_below_zero() -> None:
    prediction = forecast.predict(ramp(slope=-1.0, start=300.0, seconds=300.0), now=NOW, lead=100.0)
    assert prediction.value == 0.0


@pytest.mark.parametrize(
    ("series", "shortfall"),
    [
        pytest.param(None, "no-history", id="none"),
        pytest.param(forecast.Series.empty(), "no-history", id="empty"),
        pytest.param(ramp(slope=1.0, seconds=30.0), "short-history", id="too-few-points"),
        pytest.param(
            forecast.Series.of([NOW - 170, NOW - 20, NOW - 10, NOW], [1, 2, 3, 4]), None, id="enough-span-and-points"
        ),
        pytest.param(forecast.Series.of([NOW - 50, NOW - 40, NOW - 20, NOW], [1, 2, 3, 4]), "short-history", id="span"),
    ],
)
def test_too_little_history_gives_no_prediction(series: forecast.Series | None, shortfall: str | None) -> None:
    prediction = forecast.predict(series, now=NOW, lead=45.0)
    assert prediction.shortfall == shortfall
    assert (prediction.value is None) == (shortfall is not None)


def test_samples_after_now_are_not_seen() -> None:
    # The simulator replays a trace: nothing after `now` may shape the prediction.
    series = ramp(slope=1.0)
    later = forecast.Series.of(np.append(series.times, NOW + 15), np.append(series.values, 1e6))
    assert forecast.predict(later, now=NOW, lead=45.0) == forecast.predict(series, now=NOW, lead=45.0)


def daily(*, days: float, flash: bool = False, step: float = 60.0) -> forecast.Series:
    """A sinusoidal day (peak at noon), flat otherwise; ``flash``: a one-off spike yesterday just ahead of now."""
    times = np.arange(NOW - days * forecast.DAY, NOW + 1, step)
    values = 1000.0 + 500.0 * np.sin(2 * np.pi * (times - NOW) / forecast.DAY)
    if flash:
        yesterday = (times > NOW - forecast.DAY + 30) & (times < NOW - forecast.DAY + 600)
        values = np.where(yesterday, values + 3000.0, values)
    return forecast.Series.of(times, values)


def test_two_days_of_history_add_the_daily_shape() -> None:
    # At NOW the sine rises fastest: the trend sees a line, the seasonal term the day's own curve.
    lead = 900.0
    prediction = forecast.predict(daily(days=3), now=NOW, lead=lead)
    expected = 1000.0 + 500.0 * np.sin(2 * np.pi * lead / forecast.DAY)
    assert prediction.model == "seasonal"
    assert prediction.value == pytest.approx(expected, rel=0.005)
    assert prediction.seasonal_change > 0


def test_less_than_two_days_is_trend_only() -> None:
    assert forecast.predict(daily(days=1.5), now=NOW, lead=900.0).model == "trend"


def test_a_one_off_yesterday_is_not_forecast() -> None:
    # Only yesterday had the flash crowd: the two days disagree, the smaller change counts.
    plain = forecast.predict(daily(days=3), now=NOW, lead=300.0)
    flashed = forecast.predict(daily(days=3, flash=True), now=NOW, lead=300.0)
    assert flashed.value == pytest.approx(plain.value, rel=0.01)


@pytest.mark.parametrize(
    ("fields", "ecs_full", "expected"),
    [
        pytest.param({}, False, (60.0, "ecs"), id="ecs-room"),
        pytest.param({}, True, (45.0, "burst"), id="ecs-full-burst"),
        pytest.param({}, None, (45.0, "burst"), id="unknown-burst"),
        pytest.param({"forecast": {"burstStartupSeconds": 30}}, None, (30.0, "burst"), id="burst-startup-given"),
        pytest.param({"burst": {"enabled": False}, "bridge": {"enabled": True}}, True, (180.0, "node"), id="node"),
        pytest.param({"burst": {"enabled": False}}, True, (60.0, "ecs"), id="nowhere-else"),
        pytest.param({"drainBack": {"podStartupSeconds": 20}}, False, (20.0, "ecs"), id="pod-startup-given"),
    ],
)
def test_lead_of_the_tier_the_next_replica_lands_on(
    fields: dict[str, Any], ecs_full: bool | None, expected: tuple[float, str]
) -> None:
    assert forecast.lead_for(make_spec(**fields), ecs_full=ecs_full) == expected


def test_series_of_cleans_its_input() -> None:
    series = forecast.Series.of([3, 1, 2, 2, 4], [30, 10, 20, 21, float("nan")])
    assert series.times.tolist() == [1, 2, 3]
    assert series.values.tolist() == [10, 21, 30]
    with pytest.raises(ValueError, match="3 times but 2 values"):
        forecast.Series.of([1, 2, 3], [1, 2])


def test_with_sample_keeps_only_newer() -> None:
    series = forecast.Series.of([1, 2], [1, 2])
    assert len(series.with_sample(2, 5)) == 2
    assert series.with_sample(3, 5).values.tolist() == [1, 2, 5]
