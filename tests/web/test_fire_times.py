"""The definition page's next fire times: the scheduler's cron rule, across clock changes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gnomon.web.schedules import FireTime, fire_times, schedule_view

BERLIN = ZoneInfo("Europe/Berlin")


def daily(hours: str, minutes: str, zone: str = "Europe/Berlin") -> Any:
    fields = {"minutes": minutes, "hours": hours, "day_of_month": "*", "month": "*"}
    return schedule_view(
        json.dumps({"cron_schedule": {**fields, "day_of_week": "?", "time_zone": zone}})
    )


def shown(times: list[FireTime]) -> list[tuple[str, str, str | None]]:
    return [(f"{t.local:%a %d %H:%M %Z}", f"{t.at:%d %H:%M}", t.change) for t in times]


def test_a_time_the_spring_change_skips_fires_when_the_clocks_go_forward() -> None:
    # Sunday 29 March 2026, 02:00 CET: clocks jump to 03:00 CEST; 02:30 does not exist.
    times = fire_times(daily("2", "30"), datetime(2026, 3, 27, 12, tzinfo=UTC), 4)
    assert shown(times) == [
        ("Sat 28 02:30 CET", "28 01:30", None),
        ("Sun 29 03:00 CEST", "29 01:00", "clocks go forward at this moment, to UTC+02:00"),
        ("Mon 30 02:30 CEST", "30 00:30", None),
        ("Tue 31 02:30 CEST", "31 00:30", None),
    ]


def test_a_time_the_autumn_change_repeats_fires_once_the_first_time() -> None:
    # Sunday 25 October 2026, 03:00 CEST: clocks go back to 02:00 CET; 02:30 happens twice.
    times = fire_times(daily("2", "30"), datetime(2026, 10, 23, 12, tzinfo=UTC), 4)
    assert shown(times) == [
        ("Sat 24 02:30 CEST", "24 00:30", None),
        (
            "Sun 25 02:30 CEST",
            "25 00:30",
            "this wall time occurs twice today: it fires the first time",
        ),
        ("Mon 26 02:30 CET", "26 01:30", "clocks went back, to UTC+01:00"),
        ("Tue 27 02:30 CET", "27 01:30", None),
    ]


def test_an_hourly_schedule_fires_once_per_wall_hour_through_both_changes() -> None:
    hourly = daily("*", "0")
    spring = fire_times(hourly, datetime(2026, 3, 29, 0, 30, tzinfo=UTC), 3)
    autumn = fire_times(hourly, datetime(2026, 10, 24, 23, 30, tzinfo=UTC), 3)
    assert [t.at.hour for t in spring] == [1, 2, 3]
    assert [f"{t.local:%H:%M %Z}" for t in spring] == ["03:00 CEST", "04:00 CEST", "05:00 CEST"]
    # The repeated hour 02:00-03:00 fires once, in its first (summer) pass.
    assert [t.at.hour for t in autumn] == [0, 2, 3]
    assert [f"{t.local:%H:%M %Z}" for t in autumn] == ["02:00 CEST", "03:00 CET", "04:00 CET"]


def test_a_change_since_the_moment_asked_is_named_on_the_first_time() -> None:
    times = fire_times(daily("12", "0"), datetime(2026, 3, 29, 0, 0, tzinfo=UTC), 1)
    assert times[0].change == "clocks went forward, to UTC+02:00"


@pytest.mark.parametrize(
    "schedule",
    [None, json.dumps({"continuous_schedule": {"buffer_seconds": 60}}), "not json"],
)
def test_only_cron_schedules_have_fire_times(schedule: str | None) -> None:
    assert fire_times(schedule_view(schedule), datetime(2026, 1, 1, tzinfo=UTC), 5) == []


def last_sunday(year: int, month: int) -> datetime:
    """Midnight UTC of the last Sunday of `month`, when Europe changes its clocks."""
    day = datetime(year, month + 1, 1, tzinfo=UTC) - timedelta(days=1)
    return day - timedelta(days=(day.weekday() + 1) % 7)


ANY_TIME = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
)
NEAR_A_CHANGE = st.builds(
    lambda year, month, minutes: last_sunday(year, month) - timedelta(minutes=minutes),
    st.integers(2000, 2090),
    st.sampled_from([3, 10]),
    st.integers(0, 4 * 24 * 60),
)


@given(
    after=st.one_of(ANY_TIME, NEAR_A_CHANGE),
    hour=st.integers(0, 23),
    minute=st.sampled_from([0, 15, 30, 59]),
)
def test_daily_fire_times_are_a_day_apart_and_at_their_wall_time(
    after: datetime, hour: int, minute: int
) -> None:
    times = fire_times(daily(str(hour), str(minute)), after, 5)

    assert len(times) == 5
    assert times[0].at > after
    for earlier, later in zip(times, times[1:], strict=False):
        assert later.at > earlier.at
        assert later.local.date() - earlier.local.date() == timedelta(days=1)
        assert timedelta(hours=22) <= later.at - earlier.at <= timedelta(hours=26)
    for fire in times:
        assert fire.local == fire.at.astimezone(BERLIN)
        wall = fire.local.replace(tzinfo=None)
        if (wall.hour, wall.minute) != (hour, minute):
            # Only a wall time the spring change skips moves: to the moment of the jump.
            assert not exists(wall.replace(hour=hour, minute=minute))
            assert fire.change is not None and fire.change.startswith("clocks go forward")


def exists(wall: datetime) -> bool:
    """Whether the naive `wall` time happens on Berlin's clocks."""
    aware = wall.replace(tzinfo=BERLIN)
    return aware.astimezone(UTC).astimezone(BERLIN).replace(tzinfo=None) == wall
