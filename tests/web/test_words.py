"""How the pages put times, durations and schedules into words."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from gnomon.web.formatting import duration, machine_time, relative, shown_time
from gnomon.web.schedules import cron_words, schedule_view

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (-5, "0 ms"),
        (0, "0 ms"),
        (0.4567, "457 ms"),
        (4.25, "4.2 s"),
        (42, "42 s"),
        (60, "1 min"),
        (185, "3 min 5 s"),
        (3600, "1 h"),
        (8040, "2 h 14 min"),
        (3 * 86400 + 4 * 3600 + 59, "3 d 4 h"),
    ],
)
def test_durations_read_in_at_most_two_units(seconds: float, words: str) -> None:
    assert duration(seconds) == words


@pytest.mark.parametrize(
    ("moment", "words"),
    [
        (NOW, "just now"),
        (NOW + timedelta(seconds=0.5), "just now"),
        (NOW + timedelta(minutes=3, seconds=20), "in 3 min"),
        (NOW - timedelta(seconds=40), "40 s ago"),
        (NOW - timedelta(hours=5, minutes=59), "5 h ago"),
        (NOW + timedelta(days=2, hours=23), "in 2 d"),
    ],
)
def test_relative_times(moment: datetime, words: str) -> None:
    assert relative(moment, NOW) == words


def test_times_are_shown_in_utc() -> None:
    berlin = datetime(2026, 3, 2, 13, 0, 5, 120_000, tzinfo=timezone(timedelta(hours=1)))
    assert shown_time(berlin) == "2026-03-02 12:00:05"
    assert machine_time(berlin) == "2026-03-02T12:00:05.120Z"
    assert shown_time(datetime(999, 1, 2, 3, 4, 5)) == "0999-01-02 03:04:05"


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ("* * * * ?", "Every minute"),
        ("*/15 * * * ?", "Every 15 minutes"),
        ("0/5 * ? * *", "Every 5 minutes"),
        ("7 * * * ?", "Every hour at :07"),
        ("30 */6 * * ?", "Every 6 hours at :30"),
        ("0 22 * * ?", "Every day at 22:00"),
        ("15 8 ? * 2-6", "Weekdays at 08:15"),
        ("15 8 ? * MON-FRI", "Weekdays at 08:15"),
        ("0 10 ? * 1,7", "Weekends at 10:00"),
        ("0 9 ? * 2", "Every Monday at 09:00"),
        ("0 9 ? * mon,WED,6", "Every Monday, Wednesday and Friday at 09:00"),
        ("0 3 1 * ?", "Monthly on day 1 at 03:00"),
        ("0 3 L * ?", "Monthly on the last day at 03:00"),
        ("0 3 * 1 ?", None),  # one month only
        ("0 3 15W * ?", None),
        ("0 3 ? * 6#3", None),
        ("0 8,12 * * ?", None),
        ("5-10 * * * ?", None),
    ],
)
def test_common_cron_schedules_in_words(fields: str, words: str | None) -> None:
    assert cron_words(*fields.split()) == words


def cron(**fields: str) -> str:
    every_hour = {"minutes": "0", "hours": "*", "day_of_month": "*", "month": "*"}
    return json.dumps({"cron_schedule": {**every_hour, "day_of_week": "?", **fields}})


def test_a_schedule_the_words_do_not_cover_is_shown_as_written() -> None:
    view = schedule_view(cron(hours="8,12", time_zone="America/New_York"))
    assert (view.words, view.raw, view.zone) == (
        "Cron schedule",
        "0 8,12 * * ?",
        "America/New_York",
    )


def test_a_stored_schedule_that_no_longer_reads_says_why() -> None:
    view = schedule_view(cron(minutes="61"))
    assert view.words == "Unreadable schedule"
    assert view.problem is not None and "minutes" in view.problem


@pytest.mark.parametrize("stored", [None, "null"])
def test_no_schedule_is_manual(stored: str | None) -> None:
    assert schedule_view(stored).words == "Manual"
