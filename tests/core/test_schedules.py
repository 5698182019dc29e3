"""schedules: cron windows raising the floor, in their own time zone, across DST, overlapping."""

from __future__ import annotations

import datetime
import zoneinfo

import pydantic
import pytest

from burstscaler.api import spec
from burstscaler.core import schedules

UTC = datetime.UTC
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def make_schedule(cron: str = "0 9 * * 1-5", duration: str = "2h", min_replicas: int = 40, timezone: str = "UTC"):
    return spec.Schedule(cron=cron, duration=duration, min_replicas=min_replicas, timezone=timezone)


def local(zone: datetime.tzinfo, *args: int, fold: int = 0) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=zone, fold=fold)


@pytest.mark.parametrize(
    ("now", "active"),
    [
        pytest.param(local(SHANGHAI, 2024, 6, 3, 8, 59), False, id="monday-before"),
        pytest.param(local(SHANGHAI, 2024, 6, 3, 9, 0), True, id="monday-at-start"),
        pytest.param(local(SHANGHAI, 2024, 6, 3, 10, 59), True, id="monday-inside"),
        pytest.param(local(SHANGHAI, 2024, 6, 3, 11, 0), False, id="monday-at-end-exclusive"),
        pytest.param(local(SHANGHAI, 2024, 6, 1, 9, 30), False, id="saturday"),
        pytest.param(datetime.datetime(2024, 6, 3, 1, 30, tzinfo=UTC), True, id="same-instant-in-utc"),
    ],
)
def test_window_in_its_time_zone(now: datetime.datetime, active: bool) -> None:
    window = schedules.active_window(make_schedule(timezone="Asia/Shanghai"), now=now)
    assert (window is not None) == active


def test_overlapping_windows_take_the_largest_floor() -> None:
    windows = [
        make_schedule(cron="0 9 * * *", duration="3h", min_replicas=10),
        make_schedule(cron="0 10 * * *", duration="1h", min_replicas=30),
        make_schedule(cron="0 20 * * *", duration="1h", min_replicas=99),
    ]
    now = datetime.datetime(2024, 6, 3, 10, 30, tzinfo=UTC)
    result = schedules.floor(windows, now=now)
    assert result.replicas == 30
    assert [window.index for window in result.windows] == [0, 1]


def test_window_longer_than_its_period_stays_open() -> None:
    # Fires hourly, lasts 90 minutes: always open once started.
    schedule = make_schedule(cron="0 * * * *", duration="90m")
    assert schedules.active_window(schedule, now=datetime.datetime(2024, 6, 3, 10, 45, tzinfo=UTC)) is not None


def test_window_across_midnight() -> None:
    schedule = make_schedule(cron="0 23 * * *", duration="2h")
    window = schedules.active_window(schedule, now=datetime.datetime(2024, 6, 4, 0, 30, tzinfo=UTC))
    assert window is not None
    assert window.start == datetime.datetime(2024, 6, 3, 23, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("cron", "now", "start"),
    [
        # 2024-03-10: New York clocks jump 02:00 -> 03:00; a 02:30 window opens at the jump.
        pytest.param(
            "30 2 * * *", local(NEW_YORK, 2024, 3, 10, 3, 10), local(NEW_YORK, 2024, 3, 10, 3, 0), id="spring-gap"
        ),
        # The day after, the same cron fires at 02:30 again.
        pytest.param(
            "30 2 * * *", local(NEW_YORK, 2024, 3, 11, 2, 40), local(NEW_YORK, 2024, 3, 11, 2, 30), id="after-gap"
        ),
        # 2024-11-03: 01:00-02:00 happens twice; the window opens at the first 01:30 only.
        pytest.param(
            "30 1 * * *",
            local(NEW_YORK, 2024, 11, 3, 1, 45, fold=1),
            local(NEW_YORK, 2024, 11, 3, 1, 30, fold=0),
            id="fall-back-once",
        ),
    ],
)
def test_dst(cron: str, now: datetime.datetime, start: datetime.datetime) -> None:
    # Compared in UTC: PEP 495 makes repeated wall times unequal to every other zone's datetimes.
    assert schedules.last_start(cron, zone=NEW_YORK, now=now) == start.astimezone(UTC)


def test_duration_is_elapsed_time_across_dst() -> None:
    # 01:30 EDT + 2h of real time = 02:30 EST on the fall-back night (wall clock shows only 1h later).
    schedule = make_schedule(cron="30 1 * * *", duration="2h", timezone="America/New_York")
    inside = local(NEW_YORK, 2024, 11, 3, 2, 20)  # 1h50m after the start, by the real clock
    after = local(NEW_YORK, 2024, 11, 3, 2, 31)
    assert schedules.active_window(schedule, now=inside) is not None
    assert schedules.active_window(schedule, now=after) is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("cron", "61 9 * * *", id="minute-out-of-range"),
        pytest.param("cron", "0 9 * *", id="four-fields"),
        pytest.param("timezone", "Mars/Olympus", id="unknown-zone"),
        pytest.param("duration", "0s", id="zero-duration"),
    ],
)
def test_invalid_schedule_names_the_field(field: str, value: str) -> None:
    fields = {"cron": "0 9 * * *", "duration": "2h", "minReplicas": 3, "timezone": "UTC"} | {field: value}
    with pytest.raises(pydantic.ValidationError) as raised:
        spec.Schedule.model_validate(fields)
    assert raised.value.errors()[0]["loc"] == (field,)
    assert value in str(raised.value) or "zero" in str(raised.value)
